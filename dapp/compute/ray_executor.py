"""The Ray executor: each job's run is one Ray task on some node of a Ray cluster, inside the
same bubblewrap sandbox (`dapp.compute.sandbox`) as the local executor, on that node.

The gateway connects to the cluster (`DAPP_COMPUTE_RAY_ADDRESS`, a GCS address `host:port`
as `ray start --head` prints it) when its job worker boots: an address that does not answer is
a clear error then (`ExecutorUnavailable`, the job routes say 503 with it), the worker does
not start, and jobs stay open on chain until the cluster answers (then they are scanned and
run). The task gets the job's inputs as one tar in Ray's object store, unpacks them into a
private folder of its node, runs the sandbox there and returns the run's `$OUTPUT` as a tar
(so nodes share no disk with the gateway). Each task asks for one CPU: jobs spread over the
nodes with free CPUs.

A node lost mid-run (killed, partitioned) is Ray's to retry: the task runs again from the
start on another node, at most `retries` times. When Ray gives up, or the cluster does not
finish the run in time, the executor raises `ExecutorLost`: the runner declines the job and the
buyer is refunded (not the algorithm's fault: the provider lost its run).

Each node needs this package (`dapp`, importable by Ray's workers), bubblewrap and the same
Python as the gateway. `ray` itself is imported only when this executor is used.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapp.compute.executor import (
    ExecutionOutcome,
    ExecutionRequest,
    ExecutorLost,
    ExecutorUnavailable,
)
from dapp.compute.sandbox import SandboxLimits

log = logging.getLogger("dapp.compute.ray")
CONNECT_TIMEOUT_SECONDS = 3.0
#: on top of the sandbox's wall-clock limit per attempt: scheduling, moving the inputs
ATTEMPT_SLACK_SECONDS = 60.0


@dataclass(frozen=True)
class NodeOutcome:
    """What the task sends back from its node."""

    succeeded: bool
    reason: str | None
    seconds: float
    log_tail: str
    output_tar: bytes
    node_id: str


def gcs_endpoint(address: str) -> tuple[str, int]:
    """`host:port` of a Ray address (`ray://` or bare); ValueError when it names no port."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"not a Ray address host:port: {address!r}")
    return host, int(port)


class RayExecutor:
    def __init__(self, address: str, retries: int = 2, cpus: float = 1.0) -> None:
        self.address = address
        self.retries = retries
        self.cpus = cpus
        self._task: Any = None
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Join the cluster as a driver (once). ExecutorUnavailable when it does not answer:
        checked with a plain TCP connect first, as `ray.init` waits minutes for an absent GCS."""
        with self._lock:
            if self._task is not None:
                return
            hint = "start it (`ray start --head`) or fix DAPP_COMPUTE_RAY_ADDRESS"
            try:
                host, port = gcs_endpoint(self.address)
                socket.create_connection((host, port), CONNECT_TIMEOUT_SECONDS).close()
            except (OSError, ValueError) as error:
                raise ExecutorUnavailable(
                    f"the Ray cluster at {self.address} is unreachable: {error}",
                    hint=hint) from error
            import ray

            if not ray.is_initialized():
                ray.init(address=self.address, log_to_driver=False,
                         logging_level=logging.WARNING)
            self._task = ray.remote(run_on_node)
            nodes = [node for node in ray.nodes() if node.get("Alive")]
            log.info("compute jobs run on the Ray cluster at %s (%d node(s) alive)",
                     self.address, len(nodes))

    def run(self, request: ExecutionRequest) -> ExecutionOutcome:
        self.connect()
        import ray
        from ray import exceptions

        attempts = self.retries + 1
        give_up = attempts * (request.limits.wall_seconds + ATTEMPT_SLACK_SECONDS)
        ref = self._task.options(num_cpus=self.cpus, max_retries=self.retries,
                                 retry_exceptions=False,
                                 name=f"datadao-job-{request.job_id}").remote(
            pack_inputs(request), request.script.relative_to(request.algorithm_dir).as_posix(),
            request.dataset.name, request.limits)
        try:
            outcome: NodeOutcome = ray.get(ref, timeout=give_up)
        except exceptions.GetTimeoutError as error:
            ray.cancel(ref, force=True)
            raise ExecutorLost(f"the Ray cluster did not finish the run in {give_up:.0f} s"
                               ) from error
        except exceptions.RayTaskError as error:  # the task's code raised on the node
            raise ExecutorLost(f"the run failed on its Ray node: {error.cause!r}") from error
        except exceptions.RayError as error:  # node or worker died past the retries
            raise ExecutorLost(f"the Ray cluster lost the run after {attempts} attempt(s): "
                               f"{type(error).__name__}") from error
        log.info("job %d ran on ray node %s", request.job_id, outcome.node_id)
        output_dir = request.workdir / "output"
        output_dir.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(outcome.output_tar)) as archive:
            archive.extractall(output_dir, filter="data")
        return ExecutionOutcome(outcome.succeeded, outcome.reason, output_dir, outcome.seconds,
                                outcome.log_tail)


def pack_inputs(request: ExecutionRequest) -> bytes:
    """The dataset (as `dataset/<its name>`) and the algorithm's folder (as `algorithm/`)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(request.dataset, f"dataset/{request.dataset.name}")
        archive.add(request.algorithm_dir, "algorithm")
    return buffer.getvalue()


def pack_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.iterdir()):
            archive.add(path, path.name)
    return buffer.getvalue()


def run_on_node(inputs: bytes, script: str, dataset_name: str,
                limits: SandboxLimits) -> NodeOutcome:
    """The Ray task: unpack the inputs into a private folder of this node, run the sandbox on
    them, send back the output."""
    import ray

    from dapp.compute.executor import LocalSandboxExecutor

    node_id = ray.get_runtime_context().get_node_id()
    root = Path(tempfile.mkdtemp(prefix="datadao-ray-job-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(inputs)) as archive:
            archive.extractall(root / "in", filter="data")
        (root / "run").mkdir()
        algorithm_dir = root / "in" / "algorithm"
        request = ExecutionRequest(job_id=0, script=algorithm_dir / script,
                                   algorithm_dir=algorithm_dir,
                                   dataset=root / "in" / "dataset" / dataset_name,
                                   workdir=root / "run", limits=limits)
        outcome = LocalSandboxExecutor().run(request)
        return NodeOutcome(outcome.succeeded, outcome.reason, outcome.seconds,
                           outcome.log_tail, pack_folder(outcome.output_dir), node_id)
    finally:
        for path, _dirs, _files in os.walk(root):  # read-only inputs included
            os.chmod(path, 0o700)
        shutil.rmtree(root, ignore_errors=True)
