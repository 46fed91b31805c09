"""DataDAOs (made by the factory), their members, proposals and votes.

Filled by `dapp.indexer.handlers.dao`. A proposal's `state` is the last state an *event* set
(pending, queued, executed, canceled); the states that follow from the clock alone are given
by `proposal_state`, and the outcome of a closed vote (succeeded / defeated) needs the quorum
at `vote_start`, which only the chain's `state(proposalId)` knows exactly.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base, EventFact, Origin
from dapp.store.types import ADDRESS, Uint256


class Dao(Origin, Base):
    """A DataDAO: its Governor (the address that owns assets), votes token and settings.

    `timelock` stays None for DataDAOs: the governor is its own executor and delays execution
    itself (`execution_delay`, seconds; 0 = no queue step)."""

    __tablename__ = "daos"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(ADDRESS, index=True)
    timelock: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    creator: Mapped[str] = mapped_column(ADDRESS)
    symbol: Mapped[str] = mapped_column(String(64), default="")
    voting_delay: Mapped[int] = mapped_column(BigInteger, default=0)
    voting_period: Mapped[int] = mapped_column(BigInteger, default=0)
    execution_delay: Mapped[int] = mapped_column(BigInteger, default=0)
    proposal_threshold: Mapped[int] = mapped_column(Uint256, default=0)
    quorum_numerator: Mapped[int] = mapped_column(Integer, default=0)  # percent of the supply
    total_shares: Mapped[int] = mapped_column(Uint256, default=0)


class DaoMember(Origin, Base):
    """An account's shares and votes in one DAO. Votes are what was delegated to the account
    (holders delegate to themselves on their first shares), so a delegate without shares has
    a row too; an account that sold everything keeps a row with zero shares."""

    __tablename__ = "dao_members"

    dao: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    shares: Mapped[int] = mapped_column(Uint256, default=0)
    votes: Mapped[int] = mapped_column(Uint256, default=0)
    delegate: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)


class Proposal(Origin, Base):
    __tablename__ = "proposals"

    dao: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    proposer: Mapped[str] = mapped_column(ADDRESS)
    description: Mapped[str] = mapped_column(Text)
    vote_start: Mapped[int] = mapped_column(BigInteger)  # timestamps (ERC-6372 mode=timestamp)
    vote_end: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    votes_for: Mapped[int] = mapped_column(Uint256, default=0)
    votes_against: Mapped[int] = mapped_column(Uint256, default=0)
    votes_abstain: Mapped[int] = mapped_column(Uint256, default=0)
    eta: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # executable from (queued)


class Vote(EventFact, Base):
    __tablename__ = "votes"

    dao: Mapped[str] = mapped_column(ADDRESS, index=True)
    proposal_id: Mapped[int] = mapped_column(Uint256, index=True)
    voter: Mapped[str] = mapped_column(ADDRESS)
    support: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Uint256)
    reason: Mapped[str] = mapped_column(Text, default="")


def proposal_state(stored_state: str, vote_start: int, vote_end: int, now: int) -> str:
    """What can be told from the stored (event) state and the chain's clock: a "pending"
    proposal is "pending" until `vote_start`, "active" until `vote_end` (inclusive, as OZ's
    Governor counts) and "closed" after it — succeeded or defeated, which depends on the quorum
    at `vote_start`: ask the chain. Queued, executed and canceled are returned as stored."""
    if stored_state != "pending":
        return stored_state
    if now <= vote_start:
        return "pending"
    return "active" if now <= vote_end else "closed"
