"""The job worker with several workers, on the real stack (ganache, Kubo, a provider gateway
running bubblewrap sandboxes): a buyer whose algorithms sleep to the wall-clock limit holds one
worker, not all of them, and pays for each run; and the worker's scan of `JobCreated` logs
follows a chain rollback (ganache's evm_snapshot/evm_revert), as the indexer does (issue 18).

The provider gateway here acts for a fresh account with 2 workers, at most 1 job per buyer
at once and a wall-clock limit of WALL seconds. Both tests fail on the worker before issues
14/18 (one worker, a cursor without hashes): the honest job's result took 29 s there (it
waited behind the three sleepers), and the job created after the revert stayed open on chain
while the gateway showed the dropped job's result under its id."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from dapp.compute.jobs import JobStore
from dapp.store.db import make_engine
from tests.dapp.conftest import fund_account
from tests.dapp.helpers.buying import buy_call
from tests.dapp.helpers.compute import (
    BUYER,
    EXPECTED,
    LICENSE_PRICE,
    STRANGER,
    SUM_COLUMN,
    Stack,
    compute_provider_settings,
    create_job,
    job_events,
    publish_algorithm,
    transact,
    wait_status,
)
from tests.dapp.helpers.gateway import session

WALL = 8.0  # seconds: the sandbox's wall-clock limit of one run here
#: how soon another buyer's honest job has its result on chain (measured: about 2-3 s)
HONEST_BOUND = 7.0  # < WALL: B waits for none of A's runs
SLEEPER = "import time; time.sleep(600)\n"  # holds its worker until the wall-clock limit
SUBMITTED, FINALIZED = 3, 5  # IComputeMarket.JobStatus
STATUS = 2  # field of getJob
PROVIDER_ACCOUNT: LocalAccount = Account.create()


@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A fresh provider account (its jobs stay out of the other compute suites'), 2 workers,
    1 job per buyer at once."""
    fund_account(chain, deployments_file, PROVIDER_ACCOUNT.address, 1000 * 10**18)
    settings = compute_provider_settings(tmp_path_factory.mktemp("workers-provider"), chain,
                                         kubo, deployments_file, PROVIDER_ACCOUNT)
    return settings.with_overrides(compute_workers=2, compute_jobs_per_buyer=1,
                                   compute_wall_seconds=WALL)


@pytest.fixture(scope="module")
def second_buyer_licensed(compute_stack: Stack, compute_dataset_id: int) -> str:
    """STRANGER holds a COMPUTE license on the dataset too."""
    stack = compute_stack
    transact(stack, stack.token.functions.approve(stack.registry.address, LICENSE_PRICE),
             STRANGER.address)
    transact(stack, buy_call(stack.registry, compute_dataset_id, 1, STRANGER.address),
             STRANGER.address)
    return STRANGER.address


def start(stack: Stack, dataset_id: int, algorithm_id: int, buyer: str) -> int:
    return create_job(stack, dataset_id, algorithm_id, buyer=buyer,
                      provider=PROVIDER_ACCOUNT.address)


def submitted_block(stack: Stack, job_id: int) -> int:
    (event,) = job_events(stack, "ResultSubmitted", job_id)
    return int(event["blockNumber"])


def wait_registered(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    params = stack.market.functions.params().call()
    while True:
        token, _price, stake, *_ = stack.market.functions.getProvider(
            PROVIDER_ACCOUNT.address).call()
        if int(token, 16) and stake >= params[5] + 8 * params[0]:
            return
        assert time.monotonic() < deadline, "provider not registered/staked"
        time.sleep(0.3)


def test_a_buyers_sleeping_jobs_hold_one_worker_and_another_buyers_job_runs_meanwhile(
        compute_stack: Stack, compute_dataset_id: int, second_buyer_licensed: str,
        tmp_path: Path) -> None:
    """Buyer A starts 3 jobs whose algorithm sleeps past the wall-clock limit, buyer B one
    honest job after them. With 2 workers and 1 job per buyer, B's job takes the second worker
    at once: its result is on chain within HONEST_BOUND seconds (measured here: about 2-3 s;
    a run of A's takes WALL = 8 s, so B waited for none of them) and before A's later jobs'.
    A's jobs end as failed runs whose failure report is the result: accepted, never declined,
    and finalized, so A paid for each."""
    stack = compute_stack
    wait_registered(stack)
    a_session, b_session = session(stack.gateway, BUYER), session(stack.gateway, STRANGER)
    sleeper = publish_algorithm(stack, tmp_path, "sleeper", SLEEPER,
                                trusted_on=compute_dataset_id)
    honest = publish_algorithm(stack, tmp_path, "honest_sum", SUM_COLUMN,
                               trusted_on=compute_dataset_id, licensed_to=(second_buyer_licensed,))
    a_jobs = [start(stack, compute_dataset_id, sleeper, BUYER.address) for _ in range(3)]
    wait_status(stack, a_jobs[0], a_session, {"running", "accepted"})
    started = time.monotonic()
    b_job = start(stack, compute_dataset_id, honest, second_buyer_licensed)
    b_status = wait_status(stack, b_job, b_session, {"submitted", "failed"}, timeout=60)
    b_seconds = time.monotonic() - started
    print(f"\nB's honest job: created → result on chain in {b_seconds:.2f} s")
    assert b_status["status"] == "submitted", b_status
    assert httpx.get(f"{stack.gateway.url}/v1/jobs/{b_job}/result", headers=b_session,
                     timeout=30).content == EXPECTED
    assert b_seconds < HONEST_BOUND

    a_statuses = [wait_status(stack, job_id, a_session, {"failed", "submitted"},
                              timeout=6 * WALL + 60) for job_id in a_jobs]
    assert submitted_block(stack, b_job) < min(submitted_block(stack, job_id)
                                               for job_id in a_jobs[1:])
    for job_id, status in zip(a_jobs, a_statuses, strict=True):
        assert status["status"] == "failed", status
        assert status["reason"] == "wall time limit exceeded", status
        assert status["chain_status"] == "submitted" and not status["refunded"], status
        assert job_events(stack, "JobAccepted", job_id)
        assert not job_events(stack, "JobDeclined", job_id)
    # one buyer, one worker: A's runs did not overlap (each accepted after the last result),
    # in whichever order the worker took them
    accepted_at = {job_id: int(job_events(stack, "JobAccepted", job_id)[0]["blockNumber"])
                   for job_id in a_jobs}
    for earlier, later in itertools.pairwise(sorted(a_jobs, key=accepted_at.__getitem__)):
        assert submitted_block(stack, earlier) < accepted_at[later]

    window = stack.market.functions.params().call()[2]
    stack.web3.provider.make_request("evm_increaseTime", [window + 1])  # type: ignore[arg-type]
    stack.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    for job_id in a_jobs:  # unchallenged: the provider is paid for each run A made fail
        receipt = transact(stack, stack.market.functions.finalize(job_id), STRANGER.address)
        assert stack.market.functions.getJob(job_id).call()[STATUS] == FINALIZED
        credited = [e for e in stack.market.events.Credited().process_receipt(
            receipt, errors=DISCARD) if e["args"]["account"] == PROVIDER_ACCOUNT.address]
        assert credited and credited[0]["args"]["amount"] > 0


def test_a_job_created_after_a_chain_rollback_is_picked_up(
        compute_stack: Stack, compute_dataset_id: int, provider_settings,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    """Issue 18: job N is created, run and its result posted; blocks are mined and the worker
    scans past them; the chain is reverted to before job N. A new job then gets the same id N
    in a block below the worker's old cursor: the worker notices the rollback (the hash of the
    block before its cursor changed), scans those blocks again and runs the new job."""
    stack = compute_stack
    wait_registered(stack)
    buyer = session(stack.gateway, BUYER)
    first_algorithm = publish_algorithm(stack, tmp_path, "before_revert", SUM_COLUMN,
                                        trusted_on=compute_dataset_id)
    second_algorithm = publish_algorithm(stack, tmp_path, "after_revert", SUM_COLUMN,
                                         trusted_on=compute_dataset_id)
    web3 = stack.web3
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    dropped = start(stack, compute_dataset_id, first_algorithm, BUYER.address)
    wait_status(stack, dropped, buyer, {"submitted"})
    for _ in range(5):
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    store = JobStore(make_engine(provider_settings.resolved_database_url),
                     stack.market.address, PROVIDER_ACCOUNT.address)
    head = web3.eth.block_number
    deadline = time.monotonic() + 30
    while store.next_block(0) <= head:  # the worker scanned past the mined blocks
        assert time.monotonic() < deadline, "the worker did not scan the mined blocks"
        time.sleep(0.2)
    old_cursor = store.next_block(0)

    assert web3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    job_id = start(stack, compute_dataset_id, second_algorithm, BUYER.address)
    assert job_id == dropped  # the id of the dropped job, in a block the old cursor passed
    (created,) = job_events(stack, "JobCreated", job_id)
    assert int(created["blockNumber"]) < old_cursor

    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=buyer, timeout=30)
        status = response.json()
        if status.get("algorithm_id") == second_algorithm and status["status"] == "submitted":
            break
        assert time.monotonic() < deadline, f"the new job {job_id} was not picked up: {status}"
        time.sleep(0.3)
    assert stack.market.functions.getJob(job_id).call()[STATUS] == SUBMITTED
    assert len(job_events(stack, "ResultSubmitted", job_id)) == 1  # on this branch
    result = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=buyer,
                       timeout=30)
    assert result.status_code == 200 and result.content == EXPECTED
