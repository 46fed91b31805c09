"""DataDAOs (made by the factory), their proposals and votes."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base, EventFact, Origin
from dapp.store.types import ADDRESS, Uint256


class Dao(Origin, Base):
    """A DataDAO: its Governor (the address that owns assets), votes token and timelock."""

    __tablename__ = "daos"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(ADDRESS)
    timelock: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    creator: Mapped[str] = mapped_column(ADDRESS)


class Proposal(Origin, Base):
    __tablename__ = "proposals"

    dao: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    proposer: Mapped[str] = mapped_column(ADDRESS)
    description: Mapped[str] = mapped_column(Text)
    vote_start: Mapped[int] = mapped_column(BigInteger)
    vote_end: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    votes_for: Mapped[int] = mapped_column(Uint256, default=0)
    votes_against: Mapped[int] = mapped_column(Uint256, default=0)
    votes_abstain: Mapped[int] = mapped_column(Uint256, default=0)


class Vote(EventFact, Base):
    __tablename__ = "votes"

    dao: Mapped[str] = mapped_column(ADDRESS, index=True)
    proposal_id: Mapped[int] = mapped_column(Uint256, index=True)
    voter: Mapped[str] = mapped_column(ADDRESS)
    support: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Uint256)
    reason: Mapped[str] = mapped_column(Text, default="")
