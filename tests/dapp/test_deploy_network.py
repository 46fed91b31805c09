"""The parts of a network deploy (scripts/deploy_network.py) that need no network of their own:
the network file, the handover check run on the dev deployment (where the deployer keeps every
role, so it must fail), and the standard-JSON input. The deploy itself: test_network_rehearsal
(`make rehearse`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from dapp.chain.contracts import load_abi
from dapp.chain.deployments import load_deployment
from dapp.devstack.process import REPO_ROOT
from scripts.handover import HandoverIncomplete, verify_handover
from scripts.manifest import import_closure, remappings
from scripts.network_config import NetworkFileError, load_network
from tests.dapp.conftest import CHAIN_ID, Chain

A, B, C = ("0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20)
TOML = f"""name = "testnet"
chain_id = 11155111
rpc_url = "https://rpc.example"
payment_tokens = ["{A}"]
staking_token = "{A}"
fee_receiver = "{B}"

[timelock]
proposers = ["{C}"]
min_delay = 86400
"""
YAML = f"""name: testnet
chain_id: 11155111
rpc_url: https://rpc.example
payment_tokens: ["{A}"]
staking_token: "{A}"
fee_receiver: "{B}"
timelock:
  proposers: ["{C}"]
  min_delay: 86400
"""


def test_network_file_reads_the_same_from_toml_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "n.toml").write_text(TOML)
    (tmp_path / "n.yaml").write_text(YAML)
    toml, yaml = load_network(tmp_path / "n.toml"), load_network(tmp_path / "n.yaml")
    assert toml == yaml
    assert toml.timelock.executors == toml.timelock.proposers == (Web3.to_checksum_address(C),)
    assert toml.protocol_fee_bps == 250 and toml.chain_id == 11155111
    assert toml.roles == {}
    assert load_network(REPO_ROOT / "deploy" / "networks" / "example.toml").name == "example"
    (tmp_path / "r.toml").write_text(TOML + f'[roles]\nPAUSER_ROLE = "{B}"\n')
    assert load_network(tmp_path / "r.toml").roles == {"PAUSER_ROLE": Web3.to_checksum_address(B)}


@pytest.mark.parametrize(("edit", "says"), [
    (lambda t: t.replace(f'fee_receiver = "{B}"\n', ""), "`fee_receiver` is missing"),
    (lambda t: t.replace(f'fee_receiver = "{B}"', 'fee_receiver = "0x' + "00" * 20 + '"'),
     "`fee_receiver` is not a non-zero address"),
    (lambda t: t.replace(f'payment_tokens = ["{A}"]', "payment_tokens = []"),
     "`payment_tokens` must be a non-empty list"),
    (lambda t: t.replace("min_delay = 86400", "min_delay = 0"), "`min_delay` must be an integer"),
    (lambda t: t.replace("https://rpc.example", "rpc.example"), "`rpc_url` must be an http(s)"),
    (lambda t: t + "oops = [", "is not valid TOML"),
    (lambda t: t + f'[roles]\nDEFAULT_ADMIN_ROLE = "{B}"\n', "may leave the timelock"),
])
def test_network_file_errors_name_the_key_in_one_line(tmp_path: Path, edit: Any, says: str
                                                       ) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(edit(TOML))
    with pytest.raises(NetworkFileError) as raised:
        load_network(path)
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_deploy_without_a_deployer_key_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "n.toml").write_text(TOML)
    result = subprocess.run([sys.executable, "-m", "scripts.deploy_network",
                             str(tmp_path / "n.toml")], cwd=REPO_ROOT, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: DEPLOYER_PRIVATE_KEY is not set (export the deployer's key; it never goes in "
        "the network file)"]


@pytest.mark.parametrize(("chain_id", "token", "says"), [
    (31338, None, "serves chain 1337, the network file says 31338"),
    (CHAIN_ID, A, f"`payment_tokens` {Web3.to_checksum_address(A)} has no contract on chain"),
])
def test_deploy_to_the_wrong_chain_or_absent_tokens_sends_nothing(
        chain: Chain, deployments_file: Path, tmp_path: Path, chain_id: int, token: str | None,
        says: str) -> None:
    """Checked before Brownie loads: a network file pointing at another chain (or naming
    tokens that are not on it) fails in one line and the deployer's nonce stays put."""
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    deployer = web3.eth.account.create()
    dev_token = load_deployment(deployments_file, CHAIN_ID).contract("TestToken").address
    text = (TOML.replace("11155111", str(chain_id)).replace("https://rpc.example", chain.rpc_url)
            .replace(f'["{A}"]', f'["{token or dev_token}"]')
            .replace(f'staking_token = "{A}"', f'staking_token = "{dev_token}"'))
    (tmp_path / "n.toml").write_text(text)
    result = subprocess.run([sys.executable, "-m", "scripts.deploy_network",
                             str(tmp_path / "n.toml")], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
                                 "DEPLOYER_PRIVATE_KEY": deployer.key.hex()})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and says in line
    assert web3.eth.get_transaction_count(deployer.address) == 0


def manifest_entries(deployments_file: Path, names: list[str]) -> dict[str, Any]:
    deployment = load_deployment(deployments_file, CHAIN_ID)
    return {name: {"address": deployment.contract(name).address, "abi": load_abi(name),
                   "block": deployment.contract(name).block} for name in names}


def test_handover_check_fails_while_the_deployer_keeps_a_role(chain: Chain,
                                                              deployments_file: Path) -> None:
    """The dev deployment keeps the deployer as admin: exactly what the check must refuse."""
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    entries = manifest_entries(deployments_file, ["AssetRegistry", "ComputeMarket"])
    with pytest.raises(HandoverIncomplete) as raised:
        verify_handover(web3, entries, web3.eth.accounts[0], C)
    for role in ("AssetRegistry.DEFAULT_ADMIN_ROLE", "AssetRegistry.PAUSER_ROLE",
                 "ComputeMarket.ARBITER_ROLE", "ComputeMarket.DEFAULT_ADMIN_ROLE"):
        assert role in str(raised.value)


def test_handover_check_finds_a_role_no_constant_names(chain: Chain, deployments_file: Path
                                                       ) -> None:
    """A role granted under a hash the ABI has no constant for is found by its RoleGranted
    event: a deployer cannot hide a role from the check by its name."""
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    admin, keeper = web3.eth.accounts[0], web3.eth.account.create().address
    entries = manifest_entries(deployments_file, ["AssetRegistry"])
    registry = web3.eth.contract(address=entries["AssetRegistry"]["address"],
                                 abi=entries["AssetRegistry"]["abi"])
    shadow = Web3.keccak(text="SHADOW_ROLE")
    assert verify_handover(web3, entries, keeper, admin)  # keeper holds nothing yet
    web3.eth.wait_for_transaction_receipt(
        registry.functions.grantRole(shadow, keeper).transact({"from": admin}))
    with pytest.raises(HandoverIncomplete, match=f"AssetRegistry.0x{shadow.hex()}"):
        verify_handover(web3, entries, keeper, admin)


def test_standard_json_input_holds_imports_that_compile_to_no_code() -> None:
    """solc's metadata hashes every imported file; Brownie's allSourcePaths leaves out those
    without code (DataDAOFactory -> IDataDAO -> IAssetRegistry -> ILicenseOracle)."""
    sources = import_closure("contracts/dao/DataDAOFactory.sol", remappings())
    assert {"contracts/interfaces/IAssetRegistry.sol", "contracts/interfaces/ILicenseOracle.sol",
            "contracts/dao/MinimalProxy.sol"} <= set(sources)
    registry = import_closure("contracts/AssetRegistry.sol", remappings())
    assert "node_modules/@openzeppelin/contracts/token/ERC721/ERC721.sol" in registry
