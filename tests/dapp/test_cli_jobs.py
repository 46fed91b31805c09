"""Compute jobs through the `datadao job` CLI (a subprocess): start a job with the gateway's
provider, follow it, download the result checked against the chain's hash, finalize after the
challenge window; cancel a job no provider accepted and withdraw the refund the market
credited — on the same provider gateway and dataset as test_compute_jobs, every step read back
from the ComputeMarket."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.logs import DISCARD

from tests.dapp.conftest import fund_account
from tests.dapp.helpers.compute import (
    BUYER,
    CLI,
    DATA_FEE,
    EXPECTED,
    STRANGER,
    SUM_COLUMN,
    Stack,
    compute_provider_settings,
    publish_algorithm,
    stack_cli,
    transact,
)

PASSWORD = "cli-jobs"
CHALLENGE_WINDOW = 24 * 3600  # scripts/deploy_modules.py COMPUTE_PARAMS
EXIT_REVERTED, EXIT_NOT_LICENSED, EXIT_RESULT_MISMATCH = 12, 6, 14
EXIT_INVALID, EXIT_NOT_FOUND = 2, 4
FINALIZED = 5  # IComputeMarket.JobStatus



@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    """test_compute_jobs' provider gateway, acting for a fresh account: this module's jobs
    (one left in its challenge window) stay out of that suite's provider."""
    provider = Account.create()
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    return compute_provider_settings(tmp_path_factory.mktemp("cli-jobs-provider"), chain,
                                     kubo, deployments_file, provider)


@pytest.fixture(scope="module")
def cli(compute_stack: Stack, deployments_file: Path,
        tmp_path_factory: pytest.TempPathFactory) -> CLI:
    """`datadao` with BUYER ("buyer") and STRANGER ("stranger") in its keystore."""
    return stack_cli(compute_stack, deployments_file, tmp_path_factory.mktemp("cli-jobs"),
                     {"buyer": BUYER, "stranger": STRANGER}, default="buyer")


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for_result(cli: CLI, job_id: int, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown = cli("job", "show", str(job_id), "--json")
        if shown.returncode == 0 and json.loads(shown.stdout)["result_hash"]:
            return dict(json.loads(shown.stdout))
        assert time.monotonic() < deadline, shown.stdout + shown.stderr
        time.sleep(0.5)


def test_start_follow_download_and_finalize(cli: CLI, compute_stack: Stack,
                                            compute_dataset_id: int, tmp_path: Path
                                            ) -> None:
    algorithm = publish_algorithm(compute_stack, tmp_path, "sum_cli", SUM_COLUMN,
                                 trusted_on=compute_dataset_id)
    before = compute_stack.token.functions.balanceOf(BUYER.address).call()
    started = as_json(cli("job", "start", str(compute_dataset_id), str(algorithm), "--hours", "2",
                          "--json"))
    job_id = started["job_id"]
    assert (started["dataset_id"], started["token"]) == (compute_dataset_id, "DDT")
    assert started["status"] in ("open", "accepted")  # the provider accepts at its own pace
    on_chain = compute_stack.market.functions.getJob(job_id).call()
    paid = on_chain[5] + on_chain[7]  # provider fee + data fee, escrowed
    assert compute_stack.token.functions.balanceOf(BUYER.address).call() == before - paid

    shown = wait_for_result(cli, job_id)
    assert shown["status"] == "submitted" and shown["gateway_status"] in ("submitted",
                                                                          "computed")
    assert shown["result_hash"] == "0x" + on_chain_result_hash(compute_stack.market, job_id).hex()

    output = tmp_path / "sum.tar"
    got = as_json(cli("job", "result", str(job_id), "-o", str(output), "--json"))
    assert got["verified"] and got["sha256"] == shown["result_hash"]
    assert EXPECTED in output.read_bytes()

    early = cli("job", "finalize", str(job_id))
    assert early.returncode == EXIT_REVERTED and "ChallengeWindowOpen" in early.stderr
    compute_stack.web3.provider.make_request("evm_increaseTime", [CHALLENGE_WINDOW + 1])  # type: ignore[arg-type]
    compute_stack.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert as_json(cli("job", "finalize", str(job_id), "--json"))["status"] == "finalized"
    assert compute_stack.market.functions.getJob(job_id).call()[2] == FINALIZED


def on_chain_result_hash(market: Contract, job_id: int) -> bytes:
    return bytes(market.functions.getJob(job_id).call()[11])


def send_as(stack: Stack, account: LocalAccount, call: Any) -> dict[str, Any]:
    web3 = stack.web3
    tx = call.build_transaction({"from": account.address, "gas": 1_000_000,
                                 "nonce": web3.eth.get_transaction_count(account.address)})
    receipt = web3.eth.wait_for_transaction_receipt(
        web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    return dict(receipt)


def test_buyer_cancels_an_unaccepted_job_and_withdraws_the_refund(
        cli: CLI, compute_stack: Stack, compute_dataset_id: int, chain: Any,
        deployments_file: Path, tmp_path: Path) -> None:
    """Creating a job locks nothing of the provider's; until it accepts, the buyer may call
    the job off. Here the provider runs no gateway at all, so nobody accepts."""
    market, token = compute_stack.market, compute_stack.token
    idle = Account.create()
    fund_account(chain, deployments_file, idle.address, 1000 * 10**18)
    stake, fee = market.functions.params().call()[5], 3 * 10**18
    send_as(compute_stack, idle, token.functions.approve(market.address, 10 * stake))
    send_as(compute_stack, idle, market.functions.registerProvider(
        "http://idle.example", token.address, fee, 10 * stake))
    algorithm = publish_algorithm(compute_stack, tmp_path, "sum_cancel", SUM_COLUMN,
                                 trusted_on=compute_dataset_id)

    def create() -> int:
        price = fee + DATA_FEE
        transact(compute_stack, token.functions.approve(market.address, price), BUYER.address)
        now = int(compute_stack.web3.eth.get_block("latest")["timestamp"])
        receipt = transact(compute_stack, market.functions.createJob(
            compute_dataset_id, algorithm, idle.address, now + 3600, token.address, price),
            BUYER.address)
        (event,) = market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["jobId"])

    def credited() -> int:
        shown = as_json(cli("job", "claimable", "--json"))
        assert shown["account"] == BUYER.address
        return sum(int(row["base_units"]) for row in shown["claimable"]
                   if row["address"] == token.address)

    job_id, before = create(), credited()
    cancelled = as_json(cli("job", "cancel", str(job_id), "--json"))
    assert cancelled["status"] == "refunded"
    assert credited() == before + fee + DATA_FEE
    balance = token.functions.balanceOf(BUYER.address).call()
    withdrawn = as_json(cli("job", "withdraw", "--json"))
    assert [(row["token"], int(row["base_units"])) for row in withdrawn["withdrawn"]] == [
        ("DDT", before + fee + DATA_FEE)]
    assert token.functions.balanceOf(BUYER.address).call() == balance + before + fee + DATA_FEE
    assert credited() == 0
    nothing = cli("job", "withdraw")
    assert nothing.returncode != 0 and "nothing" in nothing.stderr

    accepted = create()  # once the provider accepted, its collateral is at stake: no cancel
    send_as(compute_stack, idle, market.functions.acceptJob(accepted))
    refused = cli("job", "cancel", str(accepted))
    assert refused.returncode == EXIT_REVERTED and "WrongJobStatus" in refused.stderr
    assert as_json(cli("job", "show", str(accepted), "--json"))["status"] == "accepted"


class ForgingGateway(BaseHTTPRequestHandler):
    """A gateway that signs anyone in and serves forged bytes as every job's result."""

    def do_GET(self) -> None:
        if self.path == "/v1/auth/nonce":
            host = f"127.0.0.1:{self.server.server_address[1]}"
            self._answer(json.dumps({"domain": host, "uri": f"http://{host}",
                                     "chain_id": 1337, "nonce": "abcdefgh12345678"}).encode())
        else:
            self._answer(b"forged result\n", "application/octet-stream")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(b'{"token": "t"}')

    def _answer(self, body: bytes, media_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_results_are_the_buyers_and_must_match_the_chain(
        cli: CLI, compute_stack: Stack, compute_dataset_id: int, tmp_path: Path) -> None:
    algorithm = publish_algorithm(compute_stack, tmp_path, "sum_cli_2", SUM_COLUMN,
                                 trusted_on=compute_dataset_id)
    job_id = as_json(cli("job", "start", str(compute_dataset_id), str(algorithm),
                         "--json"))["job_id"]
    wait_for_result(cli, job_id)

    stranger = cli("job", "result", str(job_id), "-o", str(tmp_path / "x"),
                   account="stranger")
    assert stranger.returncode == EXIT_NOT_LICENSED and "buyer" in stranger.stderr
    assert not (tmp_path / "x").exists()
    seen_by_stranger = as_json(cli("job", "show", str(job_id), "--json", account="stranger"))
    assert seen_by_stranger["status"] == "submitted"  # the chain is public
    assert seen_by_stranger["gateway_status"] is None
    assert "buyer" in seen_by_stranger["gateway_error"]

    forger = ThreadingHTTPServer(("127.0.0.1", 0), ForgingGateway)
    threading.Thread(target=forger.serve_forever, daemon=True).start()
    try:
        forged = cli("job", "result", str(job_id), "-o", str(tmp_path / "forged"),
                     "--gateway", f"http://127.0.0.1:{forger.server_address[1]}")
    finally:
        forger.shutdown()
    assert forged.returncode == EXIT_RESULT_MISMATCH, forged.stderr
    assert "not the 0x" in forged.stderr and "datadao job dispute" in forged.stderr
    assert not (tmp_path / "forged").exists()


def test_wrong_inputs_are_one_line_errors(cli: CLI, compute_dataset_id: int) -> None:
    unknown = cli("job", "show", "999999")
    assert unknown.returncode != 0 and "does not exist" in unknown.stderr
    for result in (unknown,):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2


def test_a_job_the_market_would_refuse_sends_no_transaction_not_even_an_approve(
        cli: CLI, compute_stack: Stack, compute_dataset_id: int, tmp_path: Path) -> None:
    algorithm = publish_algorithm(compute_stack, tmp_path, "sum_refused", SUM_COLUMN)
    unlicensed = publish_algorithm(compute_stack, tmp_path, "sum_unlicensed", SUM_COLUMN,
                                   trusted_on=compute_dataset_id, licensed_to=())
    nonces = {who.address: compute_stack.web3.eth.get_transaction_count(who.address)
              for who in (BUYER, STRANGER)}
    refused = {
        "not listed by the owner": (cli("job", "start", str(compute_dataset_id),
                                        str(algorithm)), EXIT_NOT_LICENSED,
                                    f"has not listed algorithm {algorithm}"),
        "no license on the algorithm": (cli("job", "start", str(compute_dataset_id),
                                            str(unlicensed)), EXIT_NOT_LICENSED,
                                        f"no compute license on algorithm {unlicensed}"),
        "no license": (cli("job", "start", str(compute_dataset_id), str(algorithm),
                           account="stranger"), EXIT_NOT_LICENSED,
                       "holds no compute license on dataset"),
        "no such dataset": (cli("job", "start", "999999", str(algorithm), account="stranger"),
                            EXIT_NOT_FOUND, "asset 999999 (the dataset) does not exist"),
        "no such algorithm": (cli("job", "start", str(compute_dataset_id), "999999"),
                              EXIT_NOT_FOUND, "asset 999999 (the algorithm) does not exist"),
        "swapped": (cli("job", "start", str(algorithm), str(compute_dataset_id)),
                    EXIT_INVALID, "is an algorithm, not a dataset"),
        "two datasets": (cli("job", "start", str(compute_dataset_id),
                             str(compute_dataset_id)), EXIT_INVALID,
                         "is a dataset, not an algorithm"),
    }
    for case, (result, code, message) in refused.items():
        assert (result.returncode, message in result.stderr) == (code, True), \
            (case, result.stderr)
        assert "Traceback" not in result.stderr and "reverted" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2
    assert "license buy" in refused["no license"][0].stderr
    assert {who: compute_stack.web3.eth.get_transaction_count(who) for who in nonces} == nonces
