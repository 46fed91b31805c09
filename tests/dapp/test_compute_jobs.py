"""Compute jobs end to end on the real stack: ganache with the deployed ComputeMarket, Kubo, and
the gateway as a subprocess acting as provider with a dev account from its keystore.

A dataset (CSV) and an algorithm are published encrypted and sealed to the gateway; the buyer
buys a COMPUTE license and escrows a job; the gateway's worker runs it in the sandbox, posts
the encrypted result on chain, and serves the plaintext to the buyer only. Failures (crash,
network, memory, CPU) end as failed with their reason and the buyer refunded by declineJob; a
gateway killed mid-queue resumes without losing or repeating a job."""

from __future__ import annotations

import hashlib
import json
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.accounts import Keystore
from dapp.chain.contracts import load_abi
from dapp.config import Settings
from dapp.crypto.sealing import seal_key
from dapp.crypto.segments import DEFAULT_SEGMENT_SIZE, encrypt_stream, generate_content_key
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import CIPHER_DDX1, AssetMetadata, ContentInfo, FileEntry, SealedKey
from dapp.packing import iter_packed, plan_pack
from tests.dapp.conftest import Chain, Gateway, Kubo, make_settings, start_gateway
from tests.dapp.test_gateway_content import assert_problem, dev_account, session

PUBLISHER = dev_account(4)
BUYER = dev_account(5)
STRANGER = dev_account(6)
PROVIDER = dev_account(8)
PASSWORD = "provider-password"
TOKEN = 10**18
LICENSE_PRICE = 25 * TOKEN
DATA_FEE = 10 * TOKEN
PROTOCOL_FEE_BPS = 250
DATASET, ALGORITHM = 0, 2  # IAssetRegistry.Kind
DOWNLOAD, COMPUTE = 0, 1  # IAssetRegistry.Scope
SUBMITTED, REFUNDED = 2, 5  # IComputeMarket.JobStatus

CSV = "station,temp\nA,1.5\nB,2.5\nC,3.25\n"
SUM_COLUMN = """
    import csv, os, pathlib
    with open(os.environ["INPUT"], newline="") as f:
        total = sum(float(row["temp"]) for row in csv.DictReader(f))
    (pathlib.Path(os.environ["OUTPUT"]) / "sum.txt").write_text(f"{total}\\n")
"""
EXPECTED = b"7.25\n"


@dataclass
class Stack:
    web3: Web3
    registry: Contract
    token: Contract
    market: Contract
    gateway: Gateway
    kubo: Kubo

    def gateway_key(self) -> str:
        return str(httpx.get(f"{self.gateway.url}/v1/gateway", timeout=10).json()["public_key"])


def transact(stack: Stack, call, sender: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    tx_hash = call.transact({"from": sender, "gas": 2_000_000})
    receipt = stack.web3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return dict(receipt)


def publish(stack: Stack, path: Path, kind: int, offers: list[tuple], curator_bps: int = 0  # type: ignore[type-arg]
            ) -> int:
    """Pack, encrypt with a fresh key sealed to the gateway, add to IPFS, publish on chain."""
    plan = plan_pack(path)
    content_key = generate_content_key()
    public_key = stack.gateway_key()
    with IpfsClient(stack.kubo.api_url, timeout_seconds=60) as ipfs:
        content_cid = ipfs.add_chunks(
            encrypt_stream(content_key, iter_packed(path, plan), plan.size)).cid
        metadata = AssetMetadata(
            title=path.name, kind=("dataset", "model", "algorithm")[kind], license="CC-BY-4.0",
            size=plan.size,
            files=[FileEntry(path=f.path, size=f.size, sha256=f.sha256) for f in plan.files],
            content=ContentInfo(encrypted=True, plaintext_size=plan.size, cipher=CIPHER_DDX1,
                                segment_size=DEFAULT_SEGMENT_SIZE),
            sealed_keys=[SealedKey(gateway_public_key=public_key,
                                   sealed_key=seal_key(content_key, public_key))])
        metadata_cid = ipfs.add_bytes(metadata.to_canonical_json()).cid
    receipt = transact(stack, stack.registry.functions.publish(
        kind, cid_to_chain(content_cid), cid_to_chain(metadata_cid), curator_bps, offers),
        PUBLISHER.address)
    (event,) = stack.registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["assetId"])


def publish_algorithm(stack: Stack, tmp_path: Path, name: str, body: str) -> int:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return publish(stack, path, ALGORITHM, [(stack.token.address, TOKEN, 0, DOWNLOAD)])


def chain_now(stack: Stack) -> int:
    return int(stack.web3.eth.get_block("latest")["timestamp"])


def create_job(stack: Stack, dataset_id: int, algorithm_id: int) -> int:
    provider = stack.market.functions.getProvider(PROVIDER.address).call()
    fee = stack.market.functions.computeFee(dataset_id).call()[1]
    price = provider[1] + fee
    transact(stack, stack.token.functions.approve(stack.market.address, price), BUYER.address)
    receipt = transact(stack, stack.market.functions.createJob(
        dataset_id, algorithm_id, PROVIDER.address, chain_now(stack) + 3600, price),
        BUYER.address)
    (event,) = stack.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["jobId"])


def job_status(stack: Stack, job_id: int, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_status(stack: Stack, job_id: int, headers: dict[str, str], wanted: set[str],
                timeout: float = 90) -> dict:  # type: ignore[type-arg]
    """Poll the status until it is one of `wanted` (503 while the worker boots is waited out)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=headers,
                             timeout=30)
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            if response.json()["status"] in wanted:
                return dict(response.json())
        assert time.monotonic() < deadline, f"job {job_id} stuck: {response.text}"
        time.sleep(0.3)


def result_submitted_events(stack: Stack, job_id: int) -> list:  # type: ignore[type-arg]
    logs = stack.market.events.ResultSubmitted().get_logs(from_block=0)
    return [log for log in logs if int(log["args"]["jobId"]) == job_id]


def download(stack: Stack, job_id: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}/result", headers=headers,
                     timeout=30)


# --- fixtures ---------------------------------------------------------------------------------
def compute_provider_settings(base: Path, chain: Chain, kubo: Kubo, deployments_file: Path,
                              provider: LocalAccount) -> Settings:
    """A provider gateway over `base` acting as `provider` (imported into its keystore), with
    the tight sandbox limits these suites test against."""
    Keystore(base / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    return make_settings(base, chain, kubo, deployments_file=deployments_file,
                         provider_account="provider", keystore_password=PASSWORD,
                         rate_limit_per_minute=10_000, compute_poll_seconds=0.3,
                         compute_cpu_seconds=3, compute_memory_mb=256,
                         compute_wall_seconds=20)


@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    return compute_provider_settings(tmp_path_factory.mktemp("gateway-compute"), chain, kubo,
                                     deployments_file, PROVIDER)


@pytest.fixture(scope="module")
def gateway(provider_settings) -> Iterator[Gateway]:  # type: ignore[no-untyped-def]
    started = start_gateway(provider_settings, provider_settings.data_dir / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def stack(gateway: Gateway, kubo: Kubo, deployments_file: Path) -> Stack:
    web3 = Web3(Web3.HTTPProvider(gateway.settings.chain_rpc_url, request_kwargs={"timeout": 30}))
    entry = json.loads(deployments_file.read_text())[str(web3.eth.chain_id)]
    contracts = {name: web3.eth.contract(address=entry[name]["address"], abi=load_abi(name))
                 for name in ("AssetRegistry", "TestToken", "ComputeMarket")}
    return Stack(web3, contracts["AssetRegistry"], contracts["TestToken"],
                 contracts["ComputeMarket"], gateway, kubo)


@pytest.fixture(scope="module")
def dataset_id(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The CSV with a COMPUTE offer and a data fee per job; BUYER holds the license."""
    path = tmp_path_factory.mktemp("dataset") / "stations.csv"
    path.write_text(CSV)
    asset_id = publish(stack, path, DATASET, [(stack.token.address, LICENSE_PRICE, 0, COMPUTE)],
                       curator_bps=1000)
    transact(stack, stack.market.functions.setComputeFee(asset_id, stack.token.address,
                                                         DATA_FEE), PUBLISHER.address)
    transact(stack, stack.token.functions.approve(stack.registry.address, LICENSE_PRICE),
             BUYER.address)
    transact(stack, stack.registry.functions.buy(asset_id, 1, BUYER.address, LICENSE_PRICE),
             BUYER.address)
    return asset_id


@pytest.fixture(scope="module")
def buyer(stack: Stack) -> dict[str, str]:
    return session(stack.gateway, BUYER)


@pytest.fixture(scope="module")
def stranger(stack: Stack) -> dict[str, str]:
    return session(stack.gateway, STRANGER)


# --- tests ------------------------------------------------------------------------------------
def test_gateway_registers_as_provider_with_stake_for_jobs(stack: Stack) -> None:
    deadline = time.monotonic() + 60
    params = stack.market.functions.params().call()
    while True:
        token, _price, stake, _locked, exit_at, endpoint = (
            stack.market.functions.getProvider(PROVIDER.address).call())
        if int(token, 16) and stake >= params[5] + 8 * params[0] and \
                endpoint == stack.gateway.url:  # an account registered before is updated
            break
        assert time.monotonic() < deadline, "provider not registered/staked"
        time.sleep(0.5)
    assert endpoint == stack.gateway.url
    assert exit_at == 0


def test_job_runs_result_on_chain_buyer_downloads_and_finalize_pays(
        stack: Stack, dataset_id: int, buyer: dict[str, str], stranger: dict[str, str],
        tmp_path: Path) -> None:
    test_gateway_registers_as_provider_with_stake_for_jobs(stack)
    algorithm_id = publish_algorithm(stack, tmp_path, "sum_temp", SUM_COLUMN)
    started = time.monotonic()
    job_id = create_job(stack, dataset_id, algorithm_id)
    status = wait_status(stack, job_id, buyer, {"submitted", "failed"})
    elapsed = time.monotonic() - started
    assert status["status"] == "submitted", status
    assert status["algorithm_id"] == algorithm_id and status["attempts"] == 1

    (event,) = result_submitted_events(stack, job_id)
    on_chain = stack.market.functions.getJob(job_id).call()
    assert on_chain[2] == SUBMITTED
    assert "0x" + bytes(event["args"]["resultHash"]).hex() == status["result_hash"]
    assert bytes(on_chain[10]).hex() == status["result_hash"][2:]

    response = download(stack, job_id, buyer)
    assert response.status_code == 200, response.text
    assert response.content == EXPECTED
    assert hashlib.sha256(response.content).digest() == bytes(on_chain[10])
    assert response.headers["x-datadao-result-sha256"] == status["result_hash"]

    assert_problem(httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=stranger,
                             timeout=10), 403, "not-job-buyer")
    assert_problem(download(stack, job_id, stranger), 403, "not-job-buyer")
    assert_problem(httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", timeout=10), 401,
                   "not-authenticated")
    mine = httpx.get(f"{stack.gateway.url}/v1/jobs", params={"mine": 1}, headers=buyer,
                     timeout=10).json()["jobs"]
    assert job_id in [job["job_id"] for job in mine]
    assert httpx.get(f"{stack.gateway.url}/v1/jobs", params={"mine": 1}, headers=stranger,
                     timeout=10).json()["jobs"] == []

    provider_fee, data_fee = on_chain[4], on_chain[6]
    assert data_fee == DATA_FEE
    provider_before = stack.token.functions.balanceOf(PROVIDER.address).call()
    owner_before = stack.registry.functions.payoutBalance(PUBLISHER.address,
                                                          stack.token.address).call()
    window = stack.market.functions.params().call()[2]
    stack.web3.provider.make_request("evm_increaseTime", [window + 1])  # type: ignore[arg-type]
    stack.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    transact(stack, stack.market.functions.finalize(job_id), STRANGER.address)
    assert (stack.token.functions.balanceOf(PROVIDER.address).call()
            == provider_before + provider_fee)
    protocol = data_fee * PROTOCOL_FEE_BPS // 10_000
    assert (stack.registry.functions.payoutBalance(PUBLISHER.address,
                                                   stack.token.address).call()
            == owner_before + data_fee - protocol)  # no curators staked: their share is the owner's
    assert job_status(stack, job_id, buyer)["status"] == "finalized"
    print(f"\njob {job_id}: created → result on chain in {elapsed:.2f} s")


FAILING = {
    "crash": ("raise ValueError('boom')", "exited with code 1"),
    "network": ("import urllib.request; urllib.request.urlopen('http://1.1.1.1/', timeout=5)",
                "network access denied (exited with code 1)"),
    "memory": ("x = bytearray(1 << 30)", "memory limit exceeded"),
    "cpu": ("while True: pass", "cpu time limit exceeded"),
}


def test_failing_algorithms_fail_with_their_reason_and_buyer_is_refunded(
        stack: Stack, dataset_id: int, buyer: dict[str, str], tmp_path: Path) -> None:
    algorithms = {name: publish_algorithm(stack, tmp_path, name, body)
                  for name, (body, _reason) in FAILING.items()}
    balance_before = stack.token.functions.balanceOf(BUYER.address).call()
    jobs = {name: create_job(stack, dataset_id, algorithm_id)
            for name, algorithm_id in algorithms.items()}
    for name, job_id in jobs.items():
        status = wait_status(stack, job_id, buyer, {"failed", "submitted"}, timeout=120)
        assert status["status"] == "failed", status
        assert status["reason"] == FAILING[name][1], (name, status)
        deadline = time.monotonic() + 30
        while not job_status(stack, job_id, buyer)["refunded"]:
            assert time.monotonic() < deadline, f"{name}: not refunded"
            time.sleep(0.3)
        assert stack.market.functions.getJob(job_id).call()[2] == REFUNDED
        assert_problem(download(stack, job_id, buyer), 409, "result-not-ready")
    # declined: every escrow came back, nobody was slashed
    assert stack.token.functions.balanceOf(BUYER.address).call() == balance_before
    declined = stack.market.events.JobDeclined().get_logs(from_block=0)
    assert set(jobs.values()) <= {int(log["args"]["jobId"]) for log in declined}


def test_gateway_killed_mid_queue_loses_no_job_and_runs_none_twice(
        stack: Stack, dataset_id: int, buyer: dict[str, str], tmp_path: Path) -> None:
    slow = publish_algorithm(stack, tmp_path, "slow_sum", "import time; time.sleep(1.5)\n"
                             + textwrap.dedent(SUM_COLUMN))
    jobs = [create_job(stack, dataset_id, slow) for _ in range(4)]
    first = wait_status(stack, jobs[0], buyer, {"submitted"})
    assert first["attempts"] == 1
    wait_status(stack, jobs[1], buyer, {"running"})  # its algorithm sleeps 1.5 s
    stack.gateway.process.kill()  # SIGKILL mid-run: no clean shutdown
    stack.gateway.process.start()
    stack.gateway.process.wait_until(
        lambda: httpx.get(f"{stack.gateway.url}/healthz", timeout=2).status_code in (200, 503))
    statuses = [wait_status(stack, job_id, buyer, {"submitted", "failed"}, timeout=120)
                for job_id in jobs]
    for job_id, status in zip(jobs, statuses, strict=True):
        assert status["status"] == "submitted", status
        assert len(result_submitted_events(stack, job_id)) == 1
        assert status["attempts"] <= 2  # only a run the kill cut short starts again
        response = download(stack, job_id, buyer)
        assert response.content == EXPECTED
    assert statuses[0]["attempts"] == 1  # finished before the kill: not run again
    assert statuses[1]["attempts"] == 2  # cut short by the kill: run again, once
