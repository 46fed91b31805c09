"""Compute jobs on a Ray cluster (`DAPP_COMPUTE_RAY_ADDRESS`): a provider gateway whose
jobs run as Ray tasks, each in the bubblewrap sandbox on its node, on a cluster of this machine
(`ray.cluster_utils.Cluster`: a head without CPUs and two worker nodes of one CPU each).

In order, on one gateway: while nothing answers at the Ray address, the gateway says why (its
log, the job routes' 503) and a job created meanwhile stays open on chain; the cluster starts
at that address and the job runs. Two jobs at once run on two different nodes. A node killed
mid-job: every job ends on chain with its result posted or refunded, none stuck (with Ray's
retries: both posted; on a second gateway without retries: the lost job declined, refunded).

Marked `scale` (`make scale`): starting the cluster takes 30-40 s here."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from dapp.ports import free_port
from tests.dapp.conftest import fund_account, start_gateway
from tests.dapp.helpers.compute import (
    BUYER,
    EXPECTED,
    SUM_COLUMN,
    Stack,
    bind_stack,
    compute_provider_settings,
    create_job,
    job_events,
    publish_algorithm,
    publish_dataset,
    wait_status,
)
from tests.dapp.helpers.gateway import session

pytestmark = pytest.mark.scale
ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

OPEN, SUBMITTED, REFUNDED = 1, 3, 6  # IComputeMarket.JobStatus
STATUS = 2  # field of getJob
WALL = 40.0
PROVIDER_ACCOUNT: LocalAccount = Account.create()
RAY_IP = ray.util.get_node_ip_address()
RAY_PORT = free_port()
RAN_ON = re.compile(r"job (\d+) ran on ray node ([0-9a-f]+)")


@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A fresh provider account, 2 workers, 2 jobs per buyer at once, jobs on the Ray cluster
    at RAY_IP:RAY_PORT (started by `ray_cluster`, not before)."""
    fund_account(chain, deployments_file, PROVIDER_ACCOUNT.address, 1000 * 10**18)
    settings = compute_provider_settings(tmp_path_factory.mktemp("ray-provider"), chain, kubo,
                                         deployments_file, PROVIDER_ACCOUNT)
    return settings.with_overrides(compute_workers=2, compute_jobs_per_buyer=2,
                                   compute_wall_seconds=WALL,
                                   compute_ray_address=f"{RAY_IP}:{RAY_PORT}")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "gcs_server_port": RAY_PORT, "node_ip_address": RAY_IP})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def slow_sum(seconds: float) -> str:
    return f"import time\ntime.sleep({seconds})\n" + textwrap.dedent(SUM_COLUMN)


def start(stack: Stack, dataset_id: int, algorithm_id: int) -> int:
    return create_job(stack, dataset_id, algorithm_id, provider=PROVIDER_ACCOUNT.address)


def chain_status(stack: Stack, job_id: int) -> int:
    return int(stack.market.functions.getJob(job_id).call()[STATUS])


def wait_registered(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    while not int(stack.market.functions.getProvider(PROVIDER_ACCOUNT.address).call()[0], 16):
        assert time.monotonic() < deadline, "provider not registered"
        time.sleep(0.3)


def wait_runs(script: str, count: int, timeout: float = 60) -> None:
    """Until `count` sandboxed interpreters run `script` (on this machine's Ray nodes): the
    tasks are on their nodes, not still waiting for a worker process there."""
    deadline = time.monotonic() + timeout
    while True:
        running = 0
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"python" in argv[0] and any(arg.endswith(script.encode()) for arg in argv):
                running += 1
        if running >= count:
            return
        assert time.monotonic() < deadline, f"{running} of {count} runs of {script} started"
        time.sleep(0.2)


def ran_on(stack: Stack) -> dict[int, str]:
    """Job id -> the Ray node its run finished on, from the gateway's log."""
    text = (stack.gateway.settings.data_dir / "gateway.log").read_text(errors="replace")
    return {int(job): node for job, node in RAN_ON.findall(text)}


def test_an_unreachable_ray_cluster_is_a_clear_error_and_a_job_waits_on_chain_for_it(
        compute_stack: Stack, compute_dataset_id: int, provider_settings,  # type: ignore[no-untyped-def]
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    stack = compute_stack
    address = f"{RAY_IP}:{RAY_PORT}"
    wait_registered(stack)  # by the gateway's metered-call side, which needs no Ray
    algorithm = publish_algorithm(stack, tmp_path, "sum_waiting", SUM_COLUMN,
                                  trusted_on=compute_dataset_id)
    job_id = start(stack, compute_dataset_id, algorithm)
    buyer = session(stack.gateway, BUYER)

    response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=buyer, timeout=30)
    assert response.status_code == 503, response.text
    assert f"the Ray cluster at {address} is unreachable" in response.text, response.text
    log = (provider_settings.data_dir / "gateway.log").read_text(errors="replace")
    assert f"compute worker not started yet: the Ray cluster at {address} is unreachable" in log
    time.sleep(5)  # several boot attempts later: still open, neither declined nor lost
    assert chain_status(stack, job_id) == OPEN
    assert not job_events(stack, "JobDeclined", job_id)

    started = time.monotonic()
    request.getfixturevalue("ray_cluster")  # the cluster comes up at that address
    status = wait_status(stack, job_id, buyer, {"submitted", "failed"}, timeout=120)
    print(f"\ncluster up and the waiting job's result posted in {time.monotonic() - started:.1f} s")
    assert status["status"] == "submitted", status
    assert httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=buyer,
                     timeout=30).content == EXPECTED
    assert job_id in ran_on(stack)


def test_two_jobs_at_once_run_on_two_ray_nodes(
        compute_stack: Stack, compute_dataset_id: int, ray_cluster: Cluster,
        tmp_path: Path) -> None:
    stack = compute_stack
    buyer = session(stack.gateway, BUYER)
    algorithm = publish_algorithm(stack, tmp_path, "slow_sum", slow_sum(3),
                                  trusted_on=compute_dataset_id)
    jobs = [start(stack, compute_dataset_id, algorithm) for _ in range(2)]
    for job_id in jobs:
        status = wait_status(stack, job_id, buyer, {"submitted", "failed"}, timeout=120)
        assert status["status"] == "submitted", status
        assert httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=buyer,
                         timeout=30).content == EXPECTED
    nodes = ran_on(stack)
    worker_nodes = {node.node_id for node in ray_cluster.worker_nodes}
    print(f"\njobs {jobs} ran on nodes {[nodes[job_id] for job_id in jobs]}")
    assert {nodes[job_id] for job_id in jobs} == worker_nodes  # one job on each node


def test_a_ray_node_killed_mid_job_loses_no_job(
        compute_stack: Stack, compute_dataset_id: int, ray_cluster: Cluster,
        tmp_path: Path) -> None:
    """Two 12-second jobs run, one on each node; one node is killed once both run (their
    sandboxed interpreters are up). The job it ran is run again by Ray on the other node (or,
    when Ray gives up, declined and refunded): each job ends Submitted with the right result
    or Refunded, never stuck."""
    stack = compute_stack
    buyer = session(stack.gateway, BUYER)
    algorithm = publish_algorithm(stack, tmp_path, "slower_sum", slow_sum(12),
                                  trusted_on=compute_dataset_id)
    jobs = [start(stack, compute_dataset_id, algorithm) for _ in range(2)]
    wait_runs("slower_sum.py", 2)  # one on each node (one CPU each)
    time.sleep(1)
    killed, survivor = ray_cluster.worker_nodes
    started = time.monotonic()
    ray_cluster.remove_node(killed, allow_graceful=False)

    for job_id in jobs:
        status = wait_status(stack, job_id, buyer, {"submitted", "failed"},
                             timeout=3 * (WALL + 60))
        print(f"\njob {job_id}: {status['status']} ({status.get('reason')}) "
              f"{time.monotonic() - started:.1f} s after the kill")
        on_chain = chain_status(stack, job_id)
        assert on_chain in (SUBMITTED, REFUNDED), (job_id, on_chain)
        if on_chain == SUBMITTED:
            assert status["status"] == "submitted", status
            assert httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=buyer,
                             timeout=30).content == EXPECTED
            assert ran_on(stack)[job_id] == survivor.node_id
        else:
            assert job_events(stack, "JobDeclined", job_id)


def test_a_ray_node_killed_mid_job_without_retries_refunds_its_job(
        ray_cluster: Cluster, chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
        tmp_path_factory: pytest.TempPathFactory,
        tmp_path: Path) -> None:
    """A second provider gateway on the same cluster with DAPP_COMPUTE_RAY_RETRIES=0 (two
    nodes again: one is added back after the test before). Two 12-second jobs, one node
    killed once both run: Ray does not retry, the executor reports the run lost and the worker
    declines that job even though it was accepted: Refunded on chain (JobDeclined); the other
    job's result is posted."""
    while len(ray_cluster.worker_nodes) < 2:  # the node the test before killed
        ray_cluster.add_node(num_cpus=1)
    ray_cluster.wait_for_nodes()
    account: LocalAccount = Account.create()
    fund_account(chain, deployments_file, account.address, 1000 * 10**18)
    settings = compute_provider_settings(tmp_path_factory.mktemp("ray-provider-0"), chain, kubo,
                                         deployments_file, account).with_overrides(
        compute_workers=2, compute_jobs_per_buyer=2, compute_wall_seconds=WALL,
        compute_ray_address=f"{RAY_IP}:{RAY_PORT}", compute_ray_retries=0)
    gateway = start_gateway(settings, settings.data_dir / "gateway.log")
    try:
        stack = bind_stack(gateway, kubo, deployments_file)
        deadline = time.monotonic() + 90
        params = stack.market.functions.params().call()
        while stack.market.functions.getProvider(account.address).call()[2] < \
                params[5] + 2 * params[0]:  # registered and staked by the booted worker
            assert time.monotonic() < deadline, "second provider not staked"
            time.sleep(0.5)
        buyer = session(gateway, BUYER)
        dataset = publish_dataset(stack, tmp_path)  # its key sealed to this gateway
        algorithm = publish_algorithm(stack, tmp_path, "lost_sum", slow_sum(12),
                                      trusted_on=dataset)
        jobs = [create_job(stack, dataset, algorithm, provider=account.address)
                for _ in range(2)]
        wait_runs("lost_sum.py", 2)
        time.sleep(1)
        ray_cluster.remove_node(next(iter(ray_cluster.worker_nodes)), allow_graceful=False)
        finals = {}
        for job_id in jobs:
            status = wait_status(stack, job_id, buyer, {"submitted", "failed"}, timeout=200)
            finals[job_id] = chain_status(stack, job_id)
            print(f"\njob {job_id}: {status['status']} ({status.get('reason')}), "
                  f"chain status {finals[job_id]}")
        assert sorted(finals.values()) == [SUBMITTED, REFUNDED], finals
        (lost,) = [job_id for job_id, state in finals.items() if state == REFUNDED]
        assert job_events(stack, "JobAccepted", lost) and job_events(stack, "JobDeclined", lost)
    finally:
        gateway.process.stop()
