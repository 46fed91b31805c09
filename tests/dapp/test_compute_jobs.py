"""Compute jobs end to end on the real stack: ganache with the deployed ComputeMarket, Kubo, and
the gateway as a subprocess acting as provider with a dev account from its keystore.

A dataset (CSV) and an algorithm are published encrypted and sealed to the gateway; the buyer
buys a COMPUTE license and escrows a job; the gateway's worker accepts it on chain (locking its
collateral), runs it in the sandbox, posts the encrypted result on chain, serves the plaintext
to the buyer only, and withdraws its fee once the job is finalized. A job due too soon for the
worker's wall-clock limit is declined (refund, no slash), never accepted. Runs that fail by the
algorithm's doing (crash, network, memory, CPU) after acceptance end as failed with their
reason, answered with a failure report as the result (declining an accepted job would slash
the provider to a buyer who built the job to fail); a gateway killed mid-queue resumes without
losing or repeating a job."""

from __future__ import annotations

import hashlib
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from web3.logs import DISCARD

from tests.dapp.helpers.compute import (
    BUYER,
    DATA_FEE,
    EXPECTED,
    PROVIDER,
    PUBLISHER,
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
from tests.dapp.helpers.gateway import assert_problem, session

PROTOCOL_FEE_BPS = 250
SUBMITTED, FINALIZED, REFUNDED = 3, 5, 6  # IComputeMarket.JobStatus
STATUS, RESULT_HASH, PROVIDER_FEE, DATA_FEE_FIELD = 2, 11, 5, 7  # fields of getJob


def job_status(stack: Stack, job_id: int, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def result_submitted_events(stack: Stack, job_id: int) -> list:  # type: ignore[type-arg]
    logs = stack.market.events.ResultSubmitted().get_logs(from_block=0)
    return [log for log in logs if int(log["args"]["jobId"]) == job_id]


def pass_challenge_window(stack: Stack) -> None:
    window = stack.market.functions.params().call()[2]
    stack.web3.provider.make_request("evm_increaseTime", [window + 1])  # type: ignore[arg-type]
    stack.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def claimable(stack: Stack, account: str) -> int:
    return int(stack.market.functions.claimable(account, stack.token.address).call())


def download(stack: Stack, job_id: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=headers,
                     timeout=30)


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    return compute_provider_settings(tmp_path_factory.mktemp("gateway-compute"), chain, kubo,
                                     deployments_file, PROVIDER)


@pytest.fixture(scope="module")
def buyer(compute_stack: Stack) -> dict[str, str]:
    return session(compute_stack.gateway, BUYER)


@pytest.fixture(scope="module")
def stranger(compute_stack: Stack) -> dict[str, str]:
    return session(compute_stack.gateway, STRANGER)


# --- tests ------------------------------------------------------------------------------------
def test_gateway_registers_as_provider_with_stake_for_jobs(compute_stack: Stack) -> None:
    deadline = time.monotonic() + 60
    params = compute_stack.market.functions.params().call()
    while True:
        token, _price, stake, _locked, exit_at, endpoint = (
            compute_stack.market.functions.getProvider(PROVIDER.address).call())
        if int(token, 16) and stake >= params[5] + 8 * params[0] and \
                endpoint == compute_stack.gateway.url:  # an account registered before is updated
            break
        assert time.monotonic() < deadline, "provider not registered/staked"
        time.sleep(0.5)
    assert endpoint == compute_stack.gateway.url
    assert exit_at == 0


def test_job_runs_result_on_chain_buyer_downloads_and_finalize_pays(
        compute_stack: Stack, compute_dataset_id: int, buyer: dict[str, str],
        stranger: dict[str, str], tmp_path: Path) -> None:
    test_gateway_registers_as_provider_with_stake_for_jobs(compute_stack)
    algorithm_id = publish_algorithm(compute_stack, tmp_path, "sum_temp", SUM_COLUMN,
                                    trusted_on=compute_dataset_id)
    started = time.monotonic()
    job_id = create_job(compute_stack, compute_dataset_id, algorithm_id)
    status = wait_status(compute_stack, job_id, buyer, {"submitted", "failed"})
    elapsed = time.monotonic() - started
    assert status["status"] == "submitted", status
    assert status["algorithm_id"] == algorithm_id and status["attempts"] == 1

    # accepted on chain (collateral locked) before the run, the result posted after it
    (accepted,) = job_events(compute_stack, "JobAccepted", job_id)
    (event,) = result_submitted_events(compute_stack, job_id)
    assert accepted["blockNumber"] < event["blockNumber"]
    on_chain = compute_stack.market.functions.getJob(job_id).call()
    assert int(accepted["args"]["collateral"]) == on_chain[8] > 0
    assert on_chain[STATUS] == SUBMITTED
    assert "0x" + bytes(event["args"]["resultHash"]).hex() == status["result_hash"]
    assert bytes(on_chain[RESULT_HASH]).hex() == status["result_hash"][2:]

    response = download(compute_stack, job_id, buyer)
    assert response.status_code == 200, response.text
    assert response.content == EXPECTED
    assert hashlib.sha256(response.content).digest() == bytes(on_chain[RESULT_HASH])
    assert response.headers["x-datadao-result-sha256"] == status["result_hash"]

    assert_problem(httpx.get(f"{compute_stack.gateway.url}/v1/jobs/{job_id}", headers=stranger,
                             timeout=10), 403, "not-job-buyer")
    assert_problem(download(compute_stack, job_id, stranger), 403, "not-job-buyer")
    assert_problem(httpx.get(f"{compute_stack.gateway.url}/v1/jobs/{job_id}", timeout=10), 401,
                   "not-authenticated")
    mine = httpx.get(f"{compute_stack.gateway.url}/v1/jobs", params={"mine": 1}, headers=buyer,
                     timeout=10).json()["jobs"]
    assert job_id in [job["job_id"] for job in mine]
    assert httpx.get(f"{compute_stack.gateway.url}/v1/jobs", params={"mine": 1}, headers=stranger,
                     timeout=10).json()["jobs"] == []

    provider_fee, data_fee = on_chain[PROVIDER_FEE], on_chain[DATA_FEE_FIELD]
    assert data_fee == DATA_FEE
    provider_before = compute_stack.token.functions.balanceOf(PROVIDER.address).call()
    owner_before = compute_stack.registry.functions.payoutBalance(PUBLISHER.address,
                                                          compute_stack.token.address).call()
    pass_challenge_window(compute_stack)
    receipt = transact(compute_stack, compute_stack.market.functions.finalize(job_id),
                       STRANGER.address)
    (credited,) = [e for e in compute_stack.market.events.Credited().process_receipt(
        receipt, errors=DISCARD) if e["args"]["account"] == PROVIDER.address]
    assert credited["args"]["amount"] == provider_fee  # credited, not sent
    # the provider's gateway withdraws what the market credited it
    deadline = time.monotonic() + 60
    while claimable(compute_stack, PROVIDER.address):
        assert time.monotonic() < deadline, "the provider's fee was not withdrawn"
        time.sleep(0.5)
    assert (compute_stack.token.functions.balanceOf(PROVIDER.address).call()
            == provider_before + provider_fee)
    protocol = data_fee * PROTOCOL_FEE_BPS // 10_000
    assert (compute_stack.registry.functions.payoutBalance(PUBLISHER.address,
                                                   compute_stack.token.address).call()
            == owner_before + data_fee - protocol)  # no curators staked: their share is the owner's
    assert job_status(compute_stack, job_id, buyer)["status"] == "finalized"
    print(f"\njob {job_id}: created → result on chain in {elapsed:.2f} s")


FAILING = {
    "crash": ("raise ValueError('boom')", "exited with code 1"),
    "network": ("import urllib.request; urllib.request.urlopen('http://1.1.1.1/', timeout=5)",
                "network access denied (exited with code 1)"),
    "memory": ("x = bytearray(1 << 30)", "memory limit exceeded"),
    "cpu": ("while True: pass", "cpu time limit exceeded"),
}


def test_failing_algorithms_fail_with_their_reason_reported_as_the_result(
        compute_stack: Stack, compute_dataset_id: int, buyer: dict[str, str],
        tmp_path: Path) -> None:
    """After acceptance a failed run is not declined (that would slash the provider to a
    buyer whose algorithm was built to fail): the failure report is the result, posted on
    chain; the buyer reads why, and may dispute inside the window."""
    algorithms = {name: publish_algorithm(compute_stack, tmp_path, name, body,
                                          trusted_on=compute_dataset_id)
                  for name, (body, _reason) in FAILING.items()}
    stake_before = compute_stack.market.functions.getProvider(PROVIDER.address).call()[2]
    jobs = {name: create_job(compute_stack, compute_dataset_id, algorithm_id)
            for name, algorithm_id in algorithms.items()}
    for name, job_id in jobs.items():
        status = wait_status(compute_stack, job_id, buyer, {"failed", "submitted"}, timeout=120)
        assert status["status"] == "failed", status
        assert status["reason"] == FAILING[name][1], (name, status)
        assert status["chain_status"] == "submitted" and not status["refunded"]
        assert job_events(compute_stack, "JobAccepted", job_id)
        report = download(compute_stack, job_id, buyer)
        assert report.status_code == 200, report.text
        assert FAILING[name][1] in report.text and f"job {job_id} failed" in report.text
        assert hashlib.sha256(report.content).hexdigest() == status["result_hash"][2:]
    declined = {int(log["args"]["jobId"])
                for log in compute_stack.market.events.JobDeclined().get_logs(from_block=0)}
    assert not declined & set(jobs.values())
    pass_challenge_window(compute_stack)  # unchallenged: the provider is paid for the runs
    for job_id in jobs.values():
        transact(compute_stack, compute_stack.market.functions.finalize(job_id),
                 STRANGER.address)
        assert compute_stack.market.functions.getJob(job_id).call()[STATUS] == FINALIZED
    assert compute_stack.market.functions.getProvider(PROVIDER.address).call()[2] == \
        stake_before  # nothing slashed


def test_a_job_due_too_soon_is_declined_not_accepted_and_the_buyer_withdraws_the_refund(
        compute_stack: Stack, compute_dataset_id: int, buyer: dict[str, str],
        tmp_path: Path) -> None:
    """The worker's wall-clock limit is 20 s, its margin 60 s: a job due in 45 s could be
    missed, which after acceptance would slash; it is declined for free instead."""
    algorithm_id = publish_algorithm(compute_stack, tmp_path, "sum_soon", SUM_COLUMN,
                                    trusted_on=compute_dataset_id)
    refunds_before = claimable(compute_stack, BUYER.address)
    job_id = create_job(compute_stack, compute_dataset_id, algorithm_id, due_in=45)
    status = wait_status(compute_stack, job_id, buyer, {"failed", "submitted", "accepted",
                                                        "running"})
    assert status["status"] == "failed", status
    assert status["reason"].startswith("deadline too close"), status
    deadline = time.monotonic() + 30
    while not job_status(compute_stack, job_id, buyer)["refunded"]:
        assert time.monotonic() < deadline, "not declined"
        time.sleep(0.3)
    assert job_events(compute_stack, "JobDeclined", job_id)
    assert not job_events(compute_stack, "JobAccepted", job_id)
    assert not [e for e in compute_stack.market.events.ProviderSlashed().get_logs(from_block=0)
                if int(e["args"]["jobId"]) == job_id]
    on_chain = compute_stack.market.functions.getJob(job_id).call()
    price = on_chain[PROVIDER_FEE] + on_chain[DATA_FEE_FIELD]
    assert claimable(compute_stack, BUYER.address) == refunds_before + price  # credited
    balance = compute_stack.token.functions.balanceOf(BUYER.address).call()
    transact(compute_stack, compute_stack.market.functions.withdraw(compute_stack.token.address),
             BUYER.address)
    assert compute_stack.token.functions.balanceOf(BUYER.address).call() == \
        balance + refunds_before + price
    assert claimable(compute_stack, BUYER.address) == 0


def test_gateway_killed_mid_queue_loses_no_job_and_runs_none_twice(
        compute_stack: Stack, compute_dataset_id: int, buyer: dict[str, str],
        tmp_path: Path) -> None:
    slow = publish_algorithm(compute_stack, tmp_path, "slow_sum", "import time; time.sleep(1.5)\n"
                             + textwrap.dedent(SUM_COLUMN), trusted_on=compute_dataset_id)
    jobs = [create_job(compute_stack, compute_dataset_id, slow) for _ in range(4)]
    first = wait_status(compute_stack, jobs[0], buyer, {"submitted"})
    assert first["attempts"] == 1
    wait_status(compute_stack, jobs[1], buyer, {"running"})  # its algorithm sleeps 1.5 s
    compute_stack.gateway.process.kill()  # SIGKILL mid-run: no clean shutdown
    compute_stack.gateway.process.start()
    compute_stack.gateway.process.wait_until(
        lambda: httpx.get(f"{compute_stack.gateway.url}/healthz",
                          timeout=2).status_code in (200, 503))
    statuses = [wait_status(compute_stack, job_id, buyer, {"submitted", "failed"}, timeout=120)
                for job_id in jobs]
    for job_id, status in zip(jobs, statuses, strict=True):
        assert status["status"] == "submitted", status
        assert len(result_submitted_events(compute_stack, job_id)) == 1
        assert status["attempts"] <= 2  # only a run the kill cut short starts again
        response = download(compute_stack, job_id, buyer)
        assert response.content == EXPECTED
    assert statuses[0]["attempts"] == 1  # finished before the kill: not run again
    assert statuses[1]["attempts"] == 2  # cut short by the kill: run again, once
