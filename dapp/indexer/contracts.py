"""Which contracts the indexer follows: named ones from the deployments file (those that have
handlers, or the names in `DAPP_INDEXER_CONTRACTS`), plus those created on chain later."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dapp.chain.deployments import load_deployment
from dapp.config import Settings


@dataclass(frozen=True)
class ContractSpec:
    name: str
    address: str
    from_block: int


def contracts_from_deployment(settings: Settings, chain_id: int,
                              handled: Collection[str]) -> list[ContractSpec]:
    deployment = load_deployment(settings.resolved_deployments_file, chain_id)
    names = settings.indexer_contracts or sorted(set(handled) & set(deployment.contracts))
    specs = []
    for name in names:
        deployed = deployment.contract(name)
        specs.append(ContractSpec(name=name, address=deployed.address, from_block=deployed.block))
    return specs


def contracts_key(specs: Sequence[ContractSpec]) -> str:
    """A fingerprint of the configured contracts: the index is only valid for this set."""
    text = "\n".join(sorted(f"{s.name}:{s.address}:{s.from_block}" for s in specs))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()
