"""Hypothesis settings for the stateful suites (`tests/contracts/test_*invariants*.py`).

Without environment variables: the given numbers, derandomized and without an example database, so
CI runs the same short sample every time. `make fuzz` and longer runs set:
- FUZZ_EXAMPLES: examples per suite (overrides `max_examples`);
- FUZZ_SEED: random exploration, reproducible from the seed (derandomize off, Python's `random`
  seeded: Hypothesis draws its run seed from it);
- FUZZ_SECONDS: accepted but not enforced here — Hypothesis 6.27 has no run-time limit setting;
  bound a long run with FUZZ_EXAMPLES (or the runner's timeout).
"""

from __future__ import annotations

import os
import random
from typing import Any

from hypothesis import HealthCheck


def stateful_settings(max_examples: int, steps: int) -> dict[str, Any]:
    """Settings for Brownie's `state_machine(..., settings=...)`."""
    settings: dict[str, Any] = {
        "max_examples": int(os.environ.get("FUZZ_EXAMPLES") or max_examples),
        "stateful_step_count": steps,
        "derandomize": True,
        "database": None,
        "suppress_health_check": [HealthCheck.data_too_large, HealthCheck.too_slow],
    }
    seed = os.environ.get("FUZZ_SEED")
    if seed:
        settings["derandomize"] = False
        random.seed(int(seed))
    return settings
