"""Deploy the exchange's contracts and record their addresses per chain id.

    brownie run scripts/deploy.py                      # on Brownie's dev chain
    python tools/brownie_attach.py <rpc> run scripts/deploy.py

Deploys the dev token (DDT: payment and staking token) with test balances, the AssetRegistry,
and whatever later modules provide (`scripts/deploy_modules.py`). Addresses and deploy blocks
go to $DEPLOYMENTS_FILE (default `.data/deployments.json`), in the shape `dapp.chain.deployments`
reads: `{"<chain id>": {"Name": {"address": "0x..", "block": n}}}`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from brownie import AssetRegistry, TestToken, accounts, chain, network

PROTOCOL_FEE_BPS = 250
UNBONDING_DELAY = 3 * 24 * 3600
TEST_BALANCE = 1_000_000 * 10**18


def deployments_path() -> Path:
    return Path(os.environ.get("DEPLOYMENTS_FILE", ".data/deployments.json"))


def record(deployed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"address": contract.address, "block": contract.tx.block_number}
        for name, contract in deployed.items()
    }


def write_deployments(path: Path, chain_id: int, entries: dict[str, dict[str, Any]]) -> None:
    everything = json.loads(path.read_text()) if path.is_file() else {}
    everything[str(chain_id)] = entries
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(everything, indent=2) + "\n")
    tmp.replace(path)


def deploy_core(deployer: Any) -> dict[str, Any]:
    token = TestToken.deploy("DataDAO Dev Token", "DDT", {"from": deployer})
    for account in accounts[:10]:
        token.mint(account, TEST_BALANCE, {"from": deployer})
    registry = AssetRegistry.deploy(
        deployer, deployer, PROTOCOL_FEE_BPS, UNBONDING_DELAY, token, [token],
        {"from": deployer},
    )
    return {"TestToken": token, "AssetRegistry": registry}


def deploy_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """Contracts built on the registry (DataDAO factory, compute market), when present."""
    try:
        from scripts.deploy_modules import deploy_modules as deploy_more
    except ImportError:
        return {}
    return deploy_more(core, deployer)


def main() -> dict[str, Any]:
    deployer = accounts[0]
    deployed = deploy_core(deployer)
    deployed.update(deploy_modules(deployed, deployer))
    path = deployments_path()
    write_deployments(path, chain.id, record(deployed))
    print(f"deployed on {network.show_active()} (chain {chain.id}) -> {path}")
    for name, contract in deployed.items():
        print(f"  {name:16} {contract.address}")
    return deployed
