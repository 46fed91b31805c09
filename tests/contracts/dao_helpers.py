"""Shared steps of the DataDAO tests: make a DAO with the factory, pass a proposal, sign a vote."""

from __future__ import annotations

from typing import Any

from brownie import DataDAO, DataDAOShares, chain
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from dapp.chain.eip712 import typed_data

SHARE = 10**18
VOTING_DELAY = 60
VOTING_PERIOD = 3 * 24 * 3600
QUORUM_PERCENT = 40
FOR, AGAINST, ABSTAIN = 1, 0, 2
# IGovernor.ProposalState
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)


def _error_arg(value: Any) -> str:
    if hasattr(value, "address"):
        value = value.address
    return value.lower() if isinstance(value, str) else str(value)


def error(name: str, *args: Any) -> str:
    """The `revert_msg` Brownie 1.22 gives a custom error: `"Name: arg1, arg2"`."""
    return f"{name}: {', '.join(_error_arg(arg) for arg in args)}"


def reverts(name: str, *args: Any) -> Any:
    import brownie

    return brownie.reverts(error(name, *args))


def cid_value(cid: tuple[bytes, int]) -> tuple[str, int]:
    """A `conftest.cid` as Brownie returns a Cid struct (digest as a hex string)."""
    return ("0x" + cid[0].hex(), cid[1])


def settings(
    voting_delay: int = VOTING_DELAY,
    voting_period: int = VOTING_PERIOD,
    execution_delay: int = 0,
    threshold: int = 0,
    quorum: int = QUORUM_PERCENT,
) -> tuple:
    return (voting_delay, voting_period, execution_delay, threshold, quorum)


def create_dao(
    factory: Any,
    creator: Any,
    members: list[Any],
    shares: list[int],
    revenue_tokens: list[Any],
    name: str = "Ocean Collective",
    symbol: str = "OCEANC",
    salt: bytes = b"\x01" * 32,
    dao_settings: tuple | None = None,
) -> tuple[Any, Any, Any]:
    """Create a DAO in one transaction; returns (governor, share token, tx)."""
    config = (
        name,
        symbol,
        [m.address for m in members],
        shares,
        [t.address for t in revenue_tokens],
        dao_settings or settings(),
        salt,
    )
    tx = factory.createDAO(config, {"from": creator})
    created = tx.events["DAOCreated"]
    return DataDAO.at(created["dao"]), DataDAOShares.at(created["shares"]), tx


class Proposal:
    """One proposal's calls, in the shape `propose` / `queue` / `execute` take them."""

    def __init__(self, calls: list[tuple[Any, str]], description: str) -> None:
        self.targets = [
            target.address if hasattr(target, "address") else target for target, _ in calls
        ]
        self.values = [0] * len(calls)
        self.calldatas = [data for _, data in calls]
        self.description = description
        self.description_hash = keccak(text=description)
        self.id: int = 0

    def propose(self, dao: Any, proposer: Any) -> Any:
        tx = dao.propose(
            self.targets, self.values, self.calldatas, self.description, {"from": proposer}
        )
        self.id = tx.events["ProposalCreated"]["proposalId"]
        return tx

    def queue(self, dao: Any, sender: Any) -> Any:
        return dao.queue(
            self.targets, self.values, self.calldatas, self.description_hash, {"from": sender}
        )

    def execute(self, dao: Any, sender: Any) -> Any:
        return dao.execute(
            self.targets, self.values, self.calldatas, self.description_hash, {"from": sender}
        )


def wait(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def start_voting() -> None:
    wait(VOTING_DELAY + 1)


def end_voting() -> None:
    wait(VOTING_PERIOD + 1)


def pass_proposal(
    dao: Any, calls: list[tuple[Any, str]], description: str, voters: list[Any]
) -> tuple[Proposal, Any]:
    """Propose, let every voter vote For, close the vote and execute; returns (proposal, tx)."""
    proposal = Proposal(calls, description)
    proposal.propose(dao, voters[0])
    start_voting()
    for voter in voters:
        dao.castVote(proposal.id, FOR, {"from": voter})
    end_voting()
    return proposal, proposal.execute(dao, voters[0])


def ballot_signature(
    dao: Any,
    private_key: str,
    proposal_id: int,
    support: int,
    voter: str,
    domain_name: str | None = None,
) -> bytes:
    """EIP-712 `Ballot` signature for `castVoteBySig` (domain: the DAO's name unless given)."""
    message = typed_data(
        "Ballot",
        [
            {"name": "proposalId", "type": "uint256"},
            {"name": "support", "type": "uint8"},
            {"name": "voter", "type": "address"},
            {"name": "nonce", "type": "uint256"},
        ],
        name=domain_name if domain_name is not None else dao.name(),
        version="1",
        chain_id=chain.id,
        verifying_contract=dao.address,
        message={
            "proposalId": proposal_id,
            "support": support,
            "voter": voter,
            "nonce": dao.nonces(voter),
        },
    )
    return Account.sign_message(encode_typed_data(full_message=message), private_key).signature
