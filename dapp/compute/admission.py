"""May this job run now? The one place the job worker decides it (`may_run`), before it fetches
anything or accepts anything on chain; a later check (a trusted-algorithm list, a result size
cap) goes here too.

Accepting locks the provider's collateral until the job is settled, and a missed deadline
slashes it, so a job is accepted only by a free worker that starts it at once, and only when its
deadline leaves that run the sandbox's wall-clock limit plus `accept_margin_seconds` (fetching
the inputs, publishing, posting the result). With N workers at most N accepted jobs run, each
on its own worker with that much time: no accepted job ever waits behind another. Jobs accepted
before a restart (on chain already) go first, and no new job is accepted while one of them
still waits for a worker. A job that waits in the queue until its deadline is too close is
declined (the buyer is refunded, nothing is slashed).

One buyer holds at most `jobs_per_buyer` workers at once: a buyer who starts many jobs whose
algorithms sleep to the wall-clock limit delays another buyer's job by at most one run, not by
all of theirs. Each of those runs is still charged: a run that fails after acceptance is
answered with a failure report as its result (`dapp.compute.runner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dapp.chain.constants import JobStatus
from dapp.compute.jobs import JobRecord
from dapp.market.reader import ChainJob


class Verdict(Enum):
    RUN = "run"  # take it now, on a free worker
    WAIT = "wait"  # leave it queued for a later round
    DECLINE = "decline"  # decline it now: the buyer is refunded


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True)
class Load:
    """What the worker is busy with when it looks at a job."""

    workers: int  # job workers in all
    busy: int  # of them running a job
    of_buyer: int  # jobs of this job's buyer running now
    accepted_waiting: int  # jobs accepted on chain (before a restart) waiting for a worker


@dataclass(frozen=True)
class Policy:
    wall_seconds: float  # the sandbox's wall-clock limit of one run
    accept_margin_seconds: float
    jobs_per_buyer: int

    @property
    def seconds_needed(self) -> float:
        """The least time before its deadline a job must have to be accepted."""
        return self.wall_seconds + self.accept_margin_seconds


def may_run(job: JobRecord, chain: ChainJob, now: int, load: Load, policy: Policy
            ) -> Admission:
    """Whether the worker may take `job` (as the chain has it: `chain`, at chain time `now`)."""
    accepted = chain.status == JobStatus.ACCEPTED
    left = chain.deadline - now
    if not accepted and left < policy.seconds_needed:
        return Admission(Verdict.DECLINE,
                         f"deadline too close: {left} s left, this provider needs "
                         f"{policy.seconds_needed:.0f} s (wall-clock limit "
                         f"{policy.wall_seconds:.0f} s + margin)")
    if load.busy >= load.workers:
        return Admission(Verdict.WAIT, f"all {load.workers} job workers are busy")
    if accepted:
        return Admission(Verdict.RUN)  # collateral locked already: it goes first
    if load.accepted_waiting:
        return Admission(Verdict.WAIT, "accepted jobs wait for a worker")
    if load.of_buyer >= policy.jobs_per_buyer:
        return Admission(Verdict.WAIT, f"its buyer has {load.of_buyer} job(s) running")
    return Admission(Verdict.RUN)
