"""A dataset's compute policy on the real stack: the chain refuses a job with an algorithm its
owner has not listed, and the provider gateway asks the chain again before it fetches a byte
(declining a job the owner no longer allows), caps the result at the owner's maximum, and the
owner manages it all with `datadao compute`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from dapp.chain.transactions import revert_data
from dapp.market.reader import market_error_decoder
from tests.dapp.conftest import fund_account
from tests.dapp.helpers.compute import (
    BUYER,
    CLI,
    CSV,
    PUBLISHER,
    STRANGER,
    Stack,
    compute_provider_settings,
    create_job,
    publish_algorithm,
    stack_cli,
    transact,
    trust_algorithm,
    wait_status,
)
from tests.dapp.helpers.gateway import session

COPY_INPUT = """
    import os, pathlib, shutil
    shutil.copy(os.environ["INPUT"], pathlib.Path(os.environ["OUTPUT"]) / "copy.csv")
"""
FAIL_LOUDLY = """
    import sys
    sys.stderr.write("start\\n" + "first-part-of-the-log " * 50 + "\\nLAST-LINE-MARKER\\n")
    sys.exit(3)
"""
WRITE_10_KB = """
    import os, pathlib
    (pathlib.Path(os.environ["OUTPUT"]) / "big.bin").write_bytes(b"x" * 10_000)
"""


@pytest.fixture(scope="module")
def provider(chain, deployments_file):  # type: ignore[no-untyped-def]
    account = Account.create()
    fund_account(chain, deployments_file, account.address, 1000 * 10**18)
    return account


@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, provider, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A provider gateway of this module's own (a fresh account)."""
    return compute_provider_settings(tmp_path_factory.mktemp("policy-provider"), chain, kubo,
                                     deployments_file, provider)


@pytest.fixture(scope="module")
def buyer_headers(compute_stack: Stack) -> dict[str, str]:
    return session(compute_stack.gateway, BUYER)


@pytest.fixture(scope="module")
def cli(compute_stack: Stack, deployments_file: Path,
        tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """`datadao` with PUBLISHER ("owner") and STRANGER ("stranger") in its keystore."""
    return stack_cli(compute_stack, deployments_file, tmp_path_factory.mktemp("policy-cli"),
                     {"owner": PUBLISHER, "stranger": STRANGER}, default="owner")


def send_create_job(stack: Stack, provider: str, dataset_id: int, algorithm_id: int) -> str:
    """Send BUYER's `createJob` (approved before) without waiting for it to be mined (the
    miner may be stopped), at a high gas price so it goes first in its block; its hash."""
    token, price = stack.market.functions.getProvider(provider).call()[:2]
    total = price + stack.market.functions.computeFee(dataset_id).call()[1]
    now = int(stack.web3.eth.get_block("latest")["timestamp"])
    return stack.market.functions.createJob(dataset_id, algorithm_id, provider, now + 3600,
                                            token, total).transact(
        {"from": BUYER.address, "gas": 2_000_000, "gasPrice": 10**11}).hex()


def job_id_of(stack: Stack, tx_hash: str) -> int:
    receipt = stack.web3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    (event,) = stack.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["jobId"])


def wait_registered(stack: Stack, provider: str) -> None:
    deadline = time.monotonic() + 60
    while not int(stack.market.functions.getProvider(provider).call()[0], 16):
        assert time.monotonic() < deadline, "the provider gateway did not register"
        time.sleep(0.3)


def test_copy_input_algorithm_is_refused_on_chain_and_by_the_gateway_until_listed(
        compute_stack: Stack, compute_dataset_id: int, provider: Any,
        buyer_headers: dict[str, str], tmp_path: Path) -> None:
    stack, dataset = compute_stack, compute_dataset_id
    wait_registered(stack, provider.address)
    copier = publish_algorithm(stack, tmp_path, "copy_input", COPY_INPUT)  # licensed, unlisted
    now = int(stack.web3.eth.get_block("latest")["timestamp"])
    token = stack.market.functions.getProvider(provider.address).call()[0]
    with pytest.raises(ContractLogicError) as refused:
        stack.market.functions.createJob(dataset, copier, provider.address, now + 3600, token,
                                         10**30).call({"from": BUYER.address})
    name, args = market_error_decoder().decode(revert_data(refused.value))
    assert (name, args) == ("AlgorithmNotTrusted", {"datasetId": dataset, "algorithmId": copier})

    # Listed when the job is created, removed in the same block before the gateway runs it:
    # the gateway asks the chain again and declines it (the buyer is refunded).
    trust_algorithm(stack, dataset, copier)
    transact(stack, stack.token.functions.approve(stack.market.address, 10**24), BUYER.address)
    stack.web3.provider.make_request("miner_stop", [])  # type: ignore[arg-type]
    try:
        created = send_create_job(stack, provider.address, dataset, copier)
        stack.registry.functions.untrustAlgorithm(dataset, copier).transact(
            {"from": PUBLISHER.address, "gas": 200_000, "gasPrice": 10**10})
    finally:
        stack.web3.provider.make_request("miner_start", [])  # type: ignore[arg-type]
    job = job_id_of(stack, created)
    assert stack.registry.functions.trustedAlgorithm(dataset, copier).call()[0] is False
    status = wait_status(stack, job, buyer_headers, {"declined", "failed", "submitted"})
    deadline = time.monotonic() + 60
    while status["chain_status"] == "open" and time.monotonic() < deadline:  # decline mining
        time.sleep(0.3)
        status = wait_status(stack, job, buyer_headers, {status["status"]})
    assert (status["status"], status["chain_status"]) == ("failed", "refunded"), status
    assert "has not listed algorithm" in status["reason"], status
    assert not stack.market.events.JobAccepted().get_logs(  # declined, never accepted
        from_block=0, argument_filters={"jobId": job})

    # Listed by the owner: the data leaves through it, by the owner's choice.
    trust_algorithm(stack, dataset, copier)
    job = create_job(stack, dataset, copier, provider=provider.address)
    status = wait_status(stack, job, buyer_headers, {"declined", "failed", "submitted"})
    assert status["status"] == "submitted", status
    result = httpx.get(f"{stack.gateway.url}/v1/jobs/{job}/result", headers=buyer_headers,
                       timeout=30)
    assert result.status_code == 200 and result.content == CSV.encode()


def test_a_result_over_the_dataset_owners_cap_fails_the_job(
        compute_stack: Stack, compute_dataset_id: int, provider: Any,
        buyer_headers: dict[str, str], tmp_path: Path) -> None:
    stack, dataset = compute_stack, compute_dataset_id
    wait_registered(stack, provider.address)
    writer = publish_algorithm(stack, tmp_path, "write_10_kb", WRITE_10_KB, trusted_on=dataset)
    transact(stack, stack.registry.functions.setComputePolicy(dataset, False, 5_000, 0),
             PUBLISHER.address)
    try:
        job = create_job(stack, dataset, writer, provider=provider.address)
        status = wait_status(stack, job, buyer_headers, {"declined", "failed", "submitted"})
    finally:
        transact(stack, stack.registry.functions.setComputePolicy(dataset, False, 0, 0),
                 PUBLISHER.address)
    assert status["status"] in {"failed", "submitted"}, status  # a failure report is posted
    assert "output size limit" in (status["reason"] or ""), status
    report = httpx.get(f"{stack.gateway.url}/v1/jobs/{job}/result", headers=buyer_headers,
                       timeout=30)
    assert b"x" * 5_001 not in report.content  # the 10 KB never reached the buyer

    job = create_job(stack, dataset, writer, provider=provider.address)  # cap lifted
    status = wait_status(stack, job, buyer_headers, {"declined", "failed", "submitted"})
    assert status["status"] == "submitted" and not status["reason"], status


def test_a_failed_runs_log_reaches_its_buyer_only_as_far_as_the_owner_allows(
        compute_stack: Stack, compute_dataset_id: int, provider: Any,
        buyer_headers: dict[str, str], tmp_path: Path) -> None:
    """A log can carry the data: by default the buyer of a failed job reads the reason only;
    with `logTailBytes` the last that many bytes of the run's log, no more."""
    stack, dataset = compute_stack, compute_dataset_id
    wait_registered(stack, provider.address)
    loud = publish_algorithm(stack, tmp_path, "fail_loudly", FAIL_LOUDLY, trusted_on=dataset)

    def failure_report() -> bytes:
        job = create_job(stack, dataset, loud, provider=provider.address)
        status = wait_status(stack, job, buyer_headers, {"declined", "failed", "submitted"})
        assert "exited with code 3" in (status["reason"] or ""), status
        report = httpx.get(f"{stack.gateway.url}/v1/jobs/{job}/result", headers=buyer_headers,
                           timeout=30)
        assert report.status_code == 200, report.text
        return report.content

    silent = failure_report()
    assert b"MARKER" not in silent and b"first-part" not in silent
    transact(stack, stack.registry.functions.setComputePolicy(dataset, False, 0, 40),
             PUBLISHER.address)
    try:
        shared = failure_report()
    finally:
        transact(stack, stack.registry.functions.setComputePolicy(dataset, False, 0, 0),
                 PUBLISHER.address)
    assert b"LAST-LINE-MARKER" in shared
    log_part = shared.split(b"as the dataset's owner allows ---\n", 1)[1]
    assert len(log_part) <= 40 and b"start" not in log_part


def test_the_owner_manages_the_policy_with_the_cli_and_nobody_else_can(
        cli: CLI, compute_stack: Stack, compute_dataset_id: int, tmp_path: Path) -> None:
    stack, dataset = compute_stack, compute_dataset_id
    algorithm = publish_algorithm(stack, tmp_path, "cli_listed", COPY_INPUT)
    refused = cli("compute", "allow", str(dataset), str(algorithm), account="stranger")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "NotAssetOwner" in refused.stderr or "not the owner" in refused.stderr.lower()

    allowed = cli("compute", "allow", str(dataset), str(algorithm), "--version", "1", "--json")
    assert allowed.returncode == 0, allowed.stderr
    shown = json.loads(cli("compute", "show", str(dataset), "--json").stdout)
    assert {"algorithm_id": algorithm, "version": 1} in shown["trusted_algorithms"]
    assert tuple(stack.registry.functions.trustedAlgorithm(dataset, algorithm).call()) == \
        (True, 1)

    policy = cli("compute", "policy", str(dataset), "--max-result-bytes", "2048",
                 "--log-tail-bytes", "100", "--json")
    assert policy.returncode == 0, policy.stderr
    assert tuple(stack.registry.functions.computePolicy(dataset).call()) == (False, 2048, 100)
    assert json.loads(cli("compute", "show", str(dataset), "--json").stdout)[
        "log_tail_bytes"] == 100
    assert cli("compute", "policy", str(dataset), "--json").returncode == 0  # back to defaults
    assert tuple(stack.registry.functions.computePolicy(dataset).call()) == (False, 0, 0)

    assert cli("compute", "deny", str(dataset), str(algorithm)).returncode == 0
    shown = json.loads(cli("compute", "show", str(dataset), "--json").stdout)
    assert algorithm not in [entry["algorithm_id"] for entry in shown["trusted_algorithms"]]
    again = cli("compute", "deny", str(dataset), str(algorithm))
    assert again.returncode != 0 and "Traceback" not in again.stderr
    missing = cli("compute", "show", "999999")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
