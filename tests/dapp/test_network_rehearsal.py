"""The rehearsal of a real-network deploy (`make rehearse`, docs/DEPLOY.md): anvil started as
chain 31338 plays the network, a token already on it plays USDC, dev account 7 plays the
multisig, dev account 6 a guardian that gets PAUSER_ROLE. `scripts.deploy_network` deploys
from a network file and hands every role away; the timelock then changes the protocol fee
after its delay; the indexer, gateway and CLI run from the manifest alone; the manifest's
standard-JSON inputs reproduce the code on chain.

Not in `make test` (a Brownie deploy and six solc compiles take minutes): marked `rehearsal`,
run by `make rehearse`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from web3 import Web3
from web3.exceptions import ContractLogicError

from dapp.chain.accounts import Keystore
from dapp.config import DEV_MNEMONIC
from dapp.crypto.sealing import GatewayKeyPair
from dapp.devstack.chain import anvil_process, start_chain
from dapp.devstack.process import REPO_ROOT, ManagedProcess
from dapp.devstack.up import settings_env
from dapp.ports import free_port
from dapp.store.db import make_engine
from dapp.store.models.sync import WatchedContract
from scripts.handover import verify_handover
from tests.dapp.conftest import Chain, Kubo, make_settings, start_gateway
from tests.dapp.helpers.publishing import PASSWORD, PUBLISHER, Market

pytestmark = pytest.mark.rehearsal  # `make rehearse`, not `make test`

NETWORK_CHAIN_ID = 31338
MIN_DELAY = 3600
PRE_DEPLOY_BLOCKS = 40  # the network's history before the deploy: the indexer must skip it
Account.enable_unaudited_hdwallet_features()
DEPLOYER = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/0")
MULTISIG = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/7")
FEE_RECEIVER = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/8")
GUARDIAN = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/6")
TOKEN_OWNER = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/9")


@dataclass
class Network:
    chain: Chain
    web3: Web3
    token: str
    manifest_path: Path

    @property
    def entries(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text())[str(NETWORK_CHAIN_ID)]

    def contract(self, name: str) -> Any:
        entry = self.entries[name]
        return self.web3.eth.contract(address=entry["address"], abi=entry["abi"])


def deploy_existing_token(web3: Web3) -> str:
    """The network's stablecoin: here before the exchange, deployed by someone else."""
    artifact = json.loads((REPO_ROOT / "build/contracts/TestToken.json").read_text())
    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor("USD Stand-in", "USDS").transact({"from": TOKEN_OWNER.address})
    return str(web3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def network_file(path: Path, rpc_url: str, token: str) -> Path:
    path.write_text(f"""name = "rehearsal"
chain_id = {NETWORK_CHAIN_ID}
rpc_url = "{rpc_url}"
payment_tokens = ["{token}"]
staking_token = "{token}"
fee_receiver = "{FEE_RECEIVER.address}"

[timelock]
proposers = ["{MULTISIG.address}"]
min_delay = {MIN_DELAY}

[roles]
PAUSER_ROLE = "{GUARDIAN.address}"
""")
    return path


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    base = tmp_path_factory.mktemp("rehearsal")
    port = free_port()
    process = start_chain(anvil_process(port, NETWORK_CHAIN_ID, base / "anvil.log"), port)
    chain = Chain(process=process, rpc_url=f"http://127.0.0.1:{port}", port=port)
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))
    web3.provider.make_request("anvil_mine", [hex(PRE_DEPLOY_BLOCKS)])  # type: ignore[arg-type]
    token = deploy_existing_token(web3)
    manifest = base / "deployments" / "rehearsal.json"
    result = subprocess.run(
        [sys.executable, "-m", "scripts.deploy_network",
         str(network_file(base / "rehearsal.toml", chain.rpc_url, token)),
         "--manifest", str(manifest)],
        env={**os.environ, "DEPLOYER_PRIVATE_KEY": DEPLOYER.key.hex()},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
    )
    (base / "deploy.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield Network(chain, web3, token, manifest)
    process.stop()


def test_deploy_hands_every_role_to_the_timelock_and_the_deployer_keeps_none(
        network: Network) -> None:
    entries = network.entries
    timelock = entries["network"]["timelock"]
    assert network.chain.rpc_url not in network.manifest_path.read_text()  # may carry a key
    held = verify_handover(network.web3, entries, DEPLOYER.address, timelock,
                           {"PAUSER_ROLE": GUARDIAN.address})
    for role in ("AssetRegistry.DEFAULT_ADMIN_ROLE", "AssetRegistry.PAUSER_ROLE",
                 "ComputeMarket.DEFAULT_ADMIN_ROLE", "ComputeMarket.ARBITER_ROLE",
                 "ComputeMarket.PAUSER_ROLE", "TimelockController.DEFAULT_ADMIN_ROLE"):
        assert role in held
    registry, tl = network.contract("AssetRegistry"), network.contract("TimelockController")
    pauser = registry.functions.PAUSER_ROLE().call()
    assert registry.functions.hasRole(pauser, GUARDIAN.address).call()  # [roles] in the file
    assert not registry.functions.hasRole(pauser, timelock).call()
    assert entries["network"]["handedOver"][-1].endswith(".DEFAULT_ADMIN_ROLE")
    assert registry.functions.paymentTokens().call() == [network.token]
    assert registry.functions.config().call()[0] == FEE_RECEIVER.address
    assert "TestToken" not in entries
    assert tl.functions.hasRole(tl.functions.PROPOSER_ROLE().call(), MULTISIG.address).call()
    assert tl.functions.getMinDelay().call() == MIN_DELAY
    with pytest.raises(ContractLogicError):  # the deployer can no longer change anything
        registry.functions.setProtocolFee(100).call({"from": DEPLOYER.address})


def test_timelock_changes_the_protocol_fee_only_after_its_delay(network: Network) -> None:
    web3, registry = network.web3, network.contract("AssetRegistry")
    timelock = network.contract("TimelockController")
    call = registry.functions.setProtocolFee(300)._encode_transaction_data()
    operation = (registry.address, 0, call, b"\0" * 32, b"\1" * 32)

    def send(fn: Any) -> None:
        receipt = web3.eth.wait_for_transaction_receipt(
            fn.transact({"from": MULTISIG.address, "gas": 500_000}))
        assert receipt["status"] == 1

    send(timelock.functions.schedule(*operation, MIN_DELAY))
    with pytest.raises(ContractLogicError):  # too early: TimelockUnexpectedOperationState
        timelock.functions.execute(*operation).call({"from": MULTISIG.address})
    assert registry.functions.config().call()[1] == 250
    web3.provider.make_request("evm_increaseTime", [MIN_DELAY])  # type: ignore[arg-type]
    web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    send(timelock.functions.execute(*operation))
    assert registry.functions.config().call()[1] == 300


def test_indexer_gateway_and_cli_run_from_the_manifest_alone(
        network: Network, kubo: Kubo, tmp_path: Path) -> None:
    web3, manifest = network.web3, network.manifest_path
    settings = make_settings(tmp_path / "gateway", network.chain, kubo,
                             deployments_file=manifest, chain_id=NETWORK_CHAIN_ID)
    gateway = start_gateway(settings, tmp_path / "gateway.log")
    indexer = ManagedProcess(name="indexer", argv=[sys.executable, "-m", "dapp.indexer"],
                             log_file=tmp_path / "indexer.log",
                             env={**os.environ, **settings_env(settings)}, cwd=REPO_ROOT).start()
    try:
        deployment = httpx.get(f"{gateway.url}/v1/deployment", timeout=10).json()
        assert deployment["chain_id"] == NETWORK_CHAIN_ID
        registry_entry = network.entries["AssetRegistry"]
        assert deployment["contracts"]["AssetRegistry"]["address"] == registry_entry["address"]

        keystore = Keystore(tmp_path / "cli" / "keystore")
        keystore.import_key("publisher", PUBLISHER.key.hex(), PASSWORD)
        market = Market(tmp_path / "cli", network.chain, kubo, manifest,
                        GatewayKeyPair.generate())
        folder = tmp_path / "corpus"
        folder.mkdir()
        (folder / "a.csv").write_text("x,y\n1,2\n")
        published = market.publish(folder, "--seal-to", market.gateway.public_key_b64)
        asset_id = int(published["asset_id"])
        offers = network.contract("AssetRegistry").functions.offer(asset_id, 1).call()
        assert network.token in offers  # priced in the network's token, not a test token

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            page = httpx.get(f"{gateway.url}/v1/assets", timeout=10).json()
            if any(a["asset_id"] == asset_id for a in page["items"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"asset {asset_id} never reached the catalog; see {indexer.log_file}")
        listed = market.cli_json("assets", "ls", "--gateway", gateway.url)
        assert [a["title"] for a in listed if a["asset_id"] == asset_id] == ["test corpus"]

        engine = make_engine(settings.resolved_database_url)
        with engine.connect() as connection:
            starts = dict(connection.execute(select(WatchedContract.name,
                                                    WatchedContract.from_block)).all())
        assert starts["AssetRegistry"] == registry_entry["block"] > PRE_DEPLOY_BLOCKS
    finally:
        indexer.stop()
        gateway.process.stop()
    assert web3.eth.chain_id == NETWORK_CHAIN_ID


def test_standard_json_inputs_reproduce_the_deployed_runtime_code(network: Network) -> None:
    """What Sourcify and explorers do, through `python -m scripts.verify_manifest`: compile each
    manifest input with the repository's solc and compare with the code at the address
    (immutables masked). A stale Brownie build can leave only the metadata hash different
    ('partial'); any other difference fails."""
    result = subprocess.run([sys.executable, "-m", "scripts.verify_manifest",
                             str(network.manifest_path), "--rpc-url", network.chain.rpc_url],
                            cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=1200)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    results = dict(line.split()[::2] for line in result.stdout.splitlines())
    assert set(results) == {n for n, e in network.entries.items() if "address" in e}
    assert set(results.values()) <= {"full", "partial"}, results
    assert results["TimelockController"] == results["AssetRegistry"] == "full"
