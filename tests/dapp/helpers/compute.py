"""Compute jobs: a provider gateway with tight sandbox limits, a CSV dataset and algorithms
published encrypted and sealed to it. The shared fixtures built from these are in conftest."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
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
from tests.dapp.conftest import Chain, Gateway, Kubo, make_settings, run_cli
from tests.dapp.helpers.buying import buy_call
from tests.dapp.helpers.gateway import dev_account

PUBLISHER = dev_account(4)
BUYER = dev_account(5)
STRANGER = dev_account(6)
PROVIDER = dev_account(8)
PASSWORD = "provider-password"
TOKEN = 10**18
LICENSE_PRICE = 25 * TOKEN
DATA_FEE = 10 * TOKEN
DATASET, ALGORITHM = 0, 2  # IAssetRegistry.Kind
DOWNLOAD, COMPUTE = 0, 1  # IAssetRegistry.Scope
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


def publish_algorithm(stack: Stack, tmp_path: Path, name: str, body: str,
                      trusted_on: int | None = None,
                      licensed_to: tuple[str, ...] = (BUYER.address,)) -> int:
    """An algorithm by PUBLISHER; `licensed_to` (BUYER) hold its COMPUTE license (a perpetual
    grant), and the dataset `trusted_on` (PUBLISHER's) lists it, so they may run it there."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    algorithm_id = publish(stack, path, ALGORITHM, [(stack.token.address, TOKEN, 0, COMPUTE)])
    for licensee in licensed_to:
        transact(stack, stack.registry.functions.grant(algorithm_id, licensee, COMPUTE,
                                                       2**64 - 1), PUBLISHER.address)
    if trusted_on is not None:
        trust_algorithm(stack, trusted_on, algorithm_id)
    return algorithm_id


def trust_algorithm(stack: Stack, dataset_id: int, algorithm_id: int, version: int = 0) -> None:
    """The dataset's owner (PUBLISHER) lists the algorithm as allowed to run on it."""
    transact(stack, stack.registry.functions.trustAlgorithm(dataset_id, algorithm_id, version),
             PUBLISHER.address)


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


def bind_stack(gateway: Gateway, kubo: Kubo, deployments_file: Path) -> Stack:
    """The deployed AssetRegistry, TestToken and ComputeMarket, around `gateway`."""
    web3 = Web3(Web3.HTTPProvider(gateway.settings.chain_rpc_url, request_kwargs={"timeout": 30}))
    entry = json.loads(deployments_file.read_text())[str(web3.eth.chain_id)]
    contracts = {name: web3.eth.contract(address=entry[name]["address"], abi=load_abi(name))
                 for name in ("AssetRegistry", "TestToken", "ComputeMarket")}
    return Stack(web3, contracts["AssetRegistry"], contracts["TestToken"],
                 contracts["ComputeMarket"], gateway, kubo)


def publish_dataset(stack: Stack, folder: Path) -> int:
    """The CSV with a COMPUTE offer and a data fee per job; BUYER holds the license."""
    path = folder / "stations.csv"
    path.write_text(CSV)
    asset_id = publish(stack, path, DATASET, [(stack.token.address, LICENSE_PRICE, 0, COMPUTE)],
                       curator_bps=1000)
    transact(stack, stack.market.functions.setComputeFee(asset_id, stack.token.address,
                                                         DATA_FEE), PUBLISHER.address)
    transact(stack, stack.token.functions.approve(stack.registry.address, LICENSE_PRICE),
             BUYER.address)
    transact(stack, buy_call(stack.registry, asset_id, 1, BUYER.address),
             BUYER.address)
    return asset_id


def chain_now(stack: Stack) -> int:
    return int(stack.web3.eth.get_block("latest")["timestamp"])


def create_job(stack: Stack, dataset_id: int, algorithm_id: int, due_in: int = 3600,
               buyer: str = BUYER.address, provider: str = PROVIDER.address) -> int:
    """`createJob` for `provider` by `buyer`, escrowing the provider's price + the data fee."""
    price_token, provider_fee = stack.market.functions.getProvider(provider).call()[:2]
    price = provider_fee + stack.market.functions.computeFee(dataset_id).call()[1]
    transact(stack, stack.token.functions.approve(stack.market.address, price), buyer)
    receipt = transact(stack, stack.market.functions.createJob(
        dataset_id, algorithm_id, provider, chain_now(stack) + due_in, price_token, price),
        buyer)
    (event,) = stack.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["jobId"])


def job_events(stack: Stack, name: str, job_id: int) -> list:  # type: ignore[type-arg]
    logs = getattr(stack.market.events, name)().get_logs(from_block=0)
    return [log for log in logs if int(log["args"]["jobId"]) == job_id]


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


CLI = Callable[..., subprocess.CompletedProcess[str]]


def stack_cli(stack: Stack, deployments_file: Path, data_dir: Path,
              accounts: dict[str, LocalAccount], default: str) -> CLI:
    """`datadao` (a subprocess) on `stack`'s chain and gateway, with `accounts` in its own
    keystore under their names; `run(*args, account=default)`."""
    keystore = Keystore(data_dir / "keystore")
    for name, account in accounts.items():
        keystore.import_key(name, account.key.hex(), PASSWORD)
    env = {"DAPP_DATA_DIR": str(data_dir), "DAPP_DEPLOYMENTS_FILE": str(deployments_file),
           "DAPP_CHAIN_RPC_URL": stack.gateway.settings.chain_rpc_url,
           "DAPP_GATEWAY_PUBLIC_URL": stack.gateway.url, "DAPP_KEYSTORE_PASSWORD": PASSWORD}

    def run(*args: str, account: str = default) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env={**env, "DAPP_ACCOUNT": account})
    return run
