"""DataDAOs made with the deployed factory and their proposals driven as members would."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import load_deployment
from tests.dapp.conftest import CHAIN_ID, Chain, dev_web3
from tests.dapp.helpers.registry_index import Exchange

SHARE = 10**18
VOTING_DELAY, VOTING_PERIOD, EXECUTION_DELAY, QUORUM_PERCENT = 10, 100, 5, 40
AGAINST, FOR, ABSTAIN = 0, 1, 2


@dataclass
class DataDao:
    governor: Contract
    shares: Contract


@dataclass
class Call:
    target: str
    data: str


class Governance:
    """Make DAOs with the factory and drive their proposals, as members would."""

    def __init__(self, ex: Exchange, factory: Contract) -> None:
        self.ex, self.factory = ex, factory

    def create(self, creator: str, members: Sequence[tuple[str, int]], name: str) -> DataDao:
        settings = (VOTING_DELAY, VOTING_PERIOD, EXECUTION_DELAY, 0, QUORUM_PERCENT)
        config = (name, name[:6].upper(), [m for m, _ in members], [s for _, s in members],
                  [self.ex.token.address], settings, os.urandom(32))
        receipt = self.ex.send(self.factory.functions.createDAO(config), creator)
        (created,) = self.factory.events.DAOCreated().process_receipt(receipt, DISCARD)
        web3 = self.ex.web3
        return DataDao(
            governor=web3.eth.contract(address=created["args"]["dao"], abi=load_abi("DataDAO")),
            shares=web3.eth.contract(address=created["args"]["shares"],
                                     abi=load_abi("DataDAOShares")))

    def propose(self, dao: DataDao, calls: Sequence[Call], description: str,
                proposer: str) -> int:
        receipt = self.ex.send(dao.governor.functions.propose(
            [c.target for c in calls], [0] * len(calls), [c.data for c in calls], description),
            proposer)
        (created,) = dao.governor.events.ProposalCreated().process_receipt(receipt, DISCARD)
        return int(created["args"]["proposalId"])

    def operation(self, calls: Sequence[Call], description: str) -> tuple[Any, ...]:
        return ([c.target for c in calls], [0] * len(calls), [c.data for c in calls],
                self.ex.web3.keccak(text=description))

    def wait(self, seconds: int) -> None:
        self.ex.rpc("evm_increaseTime", seconds)
        self.ex.rpc("evm_mine")


def make_governance(chain: Chain, deployments_file: Path) -> Governance:
    web3 = dev_web3(chain.rpc_url)
    deployment = load_deployment(deployments_file, CHAIN_ID)
    ex = Exchange(web3=web3, registry=bind(web3, deployment, "AssetRegistry"),
                  token=bind(web3, deployment, "TestToken"))
    return Governance(ex, bind(web3, deployment, "DataDAOFactory"))
