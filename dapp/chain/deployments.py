"""The deployments file: contract addresses (and deploy blocks) per chain id.

Written by `scripts/deploy.py` (Brownie), read here. Shape:
`{"<chain id>": {"AssetRegistry": {"address": "0x..", "block": 12}, ...}}`
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3

from dapp.errors import DeploymentMissing


@dataclass(frozen=True)
class DeployedContract:
    name: str
    address: ChecksumAddress
    block: int


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    contracts: dict[str, DeployedContract]

    def contract(self, name: str) -> DeployedContract:
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentMissing(
                f"no {name} deployed on chain {self.chain_id}",
                hint="run `make up` or `brownie run scripts/deploy.py`",
            ) from None

    @property
    def first_block(self) -> int:
        return min((c.block for c in self.contracts.values()), default=0)


def read_all(path: Path) -> dict[str, dict[str, dict[str, object]]]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def load_deployment(path: Path, chain_id: int) -> Deployment:
    entry = read_all(path).get(str(chain_id))
    if not entry:
        raise DeploymentMissing(
            f"{path} has no deployment for chain {chain_id}",
            hint="run `make up` or `brownie run scripts/deploy.py`",
        )
    contracts = {
        name: DeployedContract(
            name=name,
            address=Web3.to_checksum_address(str(info["address"])),
            block=int(info.get("block", 0)),  # type: ignore[call-overload]
        )
        for name, info in entry.items()
        if isinstance(info, dict) and "address" in info
    }
    return Deployment(chain_id=chain_id, contracts=contracts)
