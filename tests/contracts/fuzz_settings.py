"""Hypothesis settings for the stateful (invariant) suites, shared by every `*invariants*.py`.

`make test` runs each suite's short derandomized sample (the same sequences every time, so a
coverage assertion cannot flake). `make fuzz` sets the environment and the same suites run long:

    FUZZ_EXAMPLES   random sequences (examples) per suite, default 10000
    FUZZ_SEED       seed of the run, default 1: the same seed draws the same sequences
    FUZZ_SECONDS    time budget per suite; the run stops between chunks when it is spent
    FUZZ_STEPS      rules per sequence (stateful_step_count), default: the suite's own

A suite adopts it in two lines:

    from fuzz_settings import run_stateful
    run_stateful(state_machine, Machine, *args, examples=20, steps=25)  # was state_machine(...)

A long run is cut into chunks of `CHUNK` examples; chunk k runs with seed (FUZZ_SEED, k), so a
failure report names the chunk and `FUZZ_SEED=s FUZZ_FIRST_CHUNK=k` replays it first. Chain time
follows the wall clock between transactions, so a replay draws the same rules and arguments but a
timing-dependent branch may differ.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import hypothesis.core
from brownie import chain
from hypothesis import HealthCheck

CHUNK = 50
#: the stateful suites draw big, slow examples on purpose (many odd amounts, many rules)
SUPPRESSED = [HealthCheck.data_too_large, HealthCheck.too_slow]


def fuzzing() -> bool:
    """True under `make fuzz` (FUZZ_EXAMPLES or FUZZ_SECONDS set)."""
    return bool(os.environ.get("FUZZ_EXAMPLES") or os.environ.get("FUZZ_SECONDS"))


def sample_settings(examples: int, steps: int) -> dict[str, Any]:
    """The short, derandomized sample of `make test`."""
    return {
        "max_examples": examples,
        "stateful_step_count": steps,
        "derandomize": True,
        "database": None,
        "deadline": None,
        "suppress_health_check": SUPPRESSED,
    }


def fuzz_settings(steps: int, max_examples: int = CHUNK) -> dict[str, Any]:
    """One seeded chunk of a long run (the seed is set by `run_stateful`)."""
    return {
        "max_examples": max_examples,
        "stateful_step_count": int(os.environ.get("FUZZ_STEPS", steps)),
        "derandomize": False,
        "database": None,
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": SUPPRESSED,
    }


def run_stateful(
    state_machine: Callable[..., None],
    machine: type,
    *args: Any,
    examples: int,
    steps: int,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run `machine` through Brownie's `state_machine` fixture: the short sample, or under
    `make fuzz` chunks of seeded random examples until FUZZ_EXAMPLES are done or FUZZ_SECONDS
    are spent. Returns (and prints) what ran: examples, chunks, seconds, seed."""
    if not fuzzing():
        started = time.monotonic()
        state_machine(machine, *args, settings=sample_settings(examples, steps), **kwargs)
        return {"examples": examples, "seconds": round(time.monotonic() - started, 1)}
    target = int(os.environ.get("FUZZ_EXAMPLES", 10_000))
    seed = int(os.environ.get("FUZZ_SEED", 1))
    budget = float(os.environ.get("FUZZ_SECONDS", 0)) or float("inf")
    chunk = int(os.environ.get("FUZZ_FIRST_CHUNK", 0))
    started, done = time.monotonic(), 0
    try:
        while done < target and time.monotonic() - started < budget:
            if done:
                chain.revert()  # back to the suite's clean state before the next chunk snapshots it
            size = min(CHUNK, target - done)
            hypothesis.core.global_force_seed = seed * 1_000_003 + chunk
            print(f"\nfuzz {machine.__name__}: chunk {chunk} (FUZZ_SEED={seed}), {size} examples")
            state_machine(machine, *args, settings=fuzz_settings(steps, size), **kwargs)
            done += size
            chunk += 1
    finally:
        hypothesis.core.global_force_seed = None
    stats = {
        "examples": done,
        "chunks": chunk,
        "seconds": round(time.monotonic() - started, 1),
        "seed": seed,
    }
    print(f"\nfuzz {machine.__name__}: {stats}")
    return stats
