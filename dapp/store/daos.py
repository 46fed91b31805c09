"""The read side of DataDAOs for the gateway: the DAOs the indexer found (paged), and one DAO
with its members, proposals and the assets it owns.

Plain dataclasses out, exact ints for amounts; see `dapp.store.models.dao` for what the stored
proposal state means (`proposal_state` derives the clock-dependent ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, func, select

from dapp.store.catalog import checksum
from dapp.store.models import Asset, Dao, DaoMember, Proposal
from dapp.store.models.dao import proposal_state


@dataclass(frozen=True)
class DaoSummary:
    address: str
    name: str
    symbol: str
    token: str
    creator: str
    created_block: int
    members: int  # accounts holding shares now
    total_shares: int
    assets: int
    voting_delay: int
    voting_period: int
    execution_delay: int
    proposal_threshold: int
    quorum_numerator: int


@dataclass(frozen=True)
class MemberView:
    account: str
    shares: int
    votes: int
    delegate: str | None


@dataclass(frozen=True)
class ProposalView:
    proposal_id: int
    proposer: str
    description: str
    state: str  # from events and the clock: see `proposal_state`
    vote_start: int
    vote_end: int
    eta: int | None
    votes_for: int
    votes_against: int
    votes_abstain: int
    block: int


@dataclass(frozen=True)
class DaoDetail:
    summary: DaoSummary
    members: list[MemberView]
    proposals: list[ProposalView]  # newest first
    asset_ids: list[int]


# A DAO row with its member and asset counts, in one query (not one per DAO listed).
_MEMBER_COUNT = (select(func.count()).select_from(DaoMember)
                 .where(DaoMember.dao == Dao.address, DaoMember.shares > 0)
                 .correlate(Dao).scalar_subquery().label("member_count"))
_ASSET_COUNT = (select(func.count()).select_from(Asset).where(Asset.owner == Dao.address)
                .correlate(Dao).scalar_subquery().label("asset_count"))
_SUMMARIES = select(Dao, _MEMBER_COUNT, _ASSET_COUNT)


class DaoDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_daos(self, page: int = 1, page_size: int = 20) -> tuple[list[DaoSummary], int]:
        """The DAOs, newest first, and how many there are."""
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(Dao)).scalar_one()
            rows = connection.execute(
                _SUMMARIES.order_by(Dao.block_number.desc(), Dao.log_index.desc())
                .offset((page - 1) * page_size).limit(page_size)).all()
            return [_summary(row) for row in rows], int(total)

    def get_dao(self, address: str, now: int) -> DaoDetail | None:
        """One DAO (None when the indexer has not seen it); proposal states as of `now`, the
        chain's clock (unix seconds)."""
        governor = checksum(address, "dao")
        with self.engine.connect() as connection:
            row = connection.execute(_SUMMARIES.where(Dao.address == governor)).first()
            if row is None:
                return None
            members = connection.execute(
                select(DaoMember).where(DaoMember.dao == governor,
                                        (DaoMember.shares > 0) | (DaoMember.votes > 0))
                .order_by(DaoMember.shares.desc(), DaoMember.account)).all()
            proposals = connection.execute(
                select(Proposal).where(Proposal.dao == governor)
                .order_by(Proposal.block_number.desc(), Proposal.log_index.desc())).all()
            assets = connection.execute(
                select(Asset.asset_id).where(Asset.owner == governor)
                .order_by(Asset.asset_id)).scalars().all()
            return DaoDetail(
                summary=_summary(row),
                members=[MemberView(m.account, int(m.shares), int(m.votes), m.delegate)
                         for m in members],
                proposals=[ProposalView(
                    proposal_id=int(p.proposal_id), proposer=p.proposer,
                    description=p.description,
                    state=proposal_state(p.state, p.vote_start, p.vote_end, now),
                    vote_start=p.vote_start, vote_end=p.vote_end, eta=p.eta,
                    votes_for=int(p.votes_for), votes_against=int(p.votes_against),
                    votes_abstain=int(p.votes_abstain), block=p.block_number)
                    for p in proposals],
                asset_ids=[int(a) for a in assets],
            )


def _summary(dao: Row[Any]) -> DaoSummary:
    """A row of `_SUMMARIES` as a DaoSummary."""
    return DaoSummary(
        address=dao.address, name=dao.name, symbol=dao.symbol, token=dao.token,
        creator=dao.creator, created_block=dao.block_number, members=int(dao.member_count),
        total_shares=int(dao.total_shares), assets=int(dao.asset_count),
        voting_delay=dao.voting_delay, voting_period=dao.voting_period,
        execution_delay=dao.execution_delay,
        proposal_threshold=int(dao.proposal_threshold),
        quorum_numerator=dao.quorum_numerator)
