"""Where a job's algorithm actually runs: an `Executor` takes a prepared job directory and
returns what came out. The default runs it here, in the local sandbox; a cluster engine (a
Kubernetes Job, a Ray task, a Bacalhau job...) implements the same one method and is passed to
the `JobWorker` instead.

The algorithm sees: `$INPUT` (the dataset: one file, or a folder for a packed dataset, both
read-only), `$ALGORITHM` (the folder its own files are in) and `$OUTPUT` (an empty folder for
its results; one file there is the result as is, several are packed as a tar). The working
directory is an empty scratch folder. With the local sandbox each run is one bubblewrap
sandbox that mounts only `/usr` and these (its own uid when the gateway is root); see
`dapp.compute.sandbox` for what that isolates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dapp.compute.sandbox import SandboxLimits, protect_data_dir, run_python_in_sandbox
from dapp.errors import DappError, ServiceUnavailable


@dataclass(frozen=True)
class ExecutionRequest:
    job_id: int
    script: Path  # the algorithm's entry point (a .py file)
    algorithm_dir: Path  # the folder the entry point and its siblings are in
    dataset: Path  # file or folder, read-only
    workdir: Path  # the gateway's private folder for this run; the result goes to workdir/output
    limits: SandboxLimits


@dataclass(frozen=True)
class ExecutionOutcome:
    succeeded: bool
    reason: str | None  # why it failed, naming the limit when one was hit
    output_dir: Path
    seconds: float
    log_tail: str  # the end of stderr, for the provider's log (never shown to others)


class ExecutorUnavailable(ServiceUnavailable):
    """A cluster executor cannot reach its cluster: the job waits (not the job's fault)."""

    code = "executor-unavailable"


class ExecutorLost(DappError):
    """A cluster executor lost the run (its node died more often than it retries, or the run
    timed out there): the runner declines the job and the buyer is refunded."""

    code = "executor-lost"


class Executor(Protocol):
    def run(self, request: ExecutionRequest) -> ExecutionOutcome:
        """Run the algorithm to completion (or to a limit); never raise for the algorithm's
        own failure, only for the executor's: `ExecutorUnavailable` (the job waits for the
        next round), `ExecutorLost` (the job is declined, the buyer refunded); anything else
        and the job is retried later."""
        ...


def connect(executor: Executor) -> None:
    """Reach the executor's cluster before the job worker starts (ExecutorUnavailable when it
    does not answer); nothing for the local executor."""
    connecting = getattr(executor, "connect", None)
    if connecting is not None:
        connecting()


class LocalSandboxExecutor:
    """Runs each job in `dapp.compute.sandbox`: its own bubblewrap sandbox (and uid, as
    root) that sees only its inputs, no network, rlimits. Given the gateway's data folder,
    makes it 0700 before the first run (defence in depth: the sandbox does not mount it)."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._protected = False

    def run(self, request: ExecutionRequest) -> ExecutionOutcome:
        if self.data_dir is not None and not self._protected:
            protect_data_dir(self.data_dir)
            self._protected = True
        result = run_python_in_sandbox(
            request.script, request.workdir,
            {"INPUT": request.dataset, "ALGORITHM": request.algorithm_dir}, request.limits)
        return ExecutionOutcome(result.succeeded, result.reason, result.output_dir,
                                result.wall_seconds, result.stderr_tail)
