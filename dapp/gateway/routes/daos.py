"""DataDAOs from the indexer's store: the list, and one DAO with its members, proposals and
the assets it owns. Voting and executing happen on chain (the dApp, or any Governor tool)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from requests.exceptions import RequestException

from dapp.errors import NotFound
from dapp.gateway.deps import ADDRESS_PATTERN, ServicesDep
from dapp.gateway.services import Services
from dapp.store.catalog import MAX_PAGE_SIZE
from dapp.store.daos import DaoDirectory, DaoSummary

router = APIRouter(prefix="/v1", tags=["DataDAOs"])


class DaoSummaryOut(BaseModel):
    address: str = Field(description="the Governor: it owns the DAO's assets and payouts")
    name: str
    symbol: str
    token: str = Field(description="the share token (ERC20Votes)")
    creator: str
    created_block: int
    members: int = Field(description="accounts holding shares")
    total_shares: str
    assets: int
    voting_delay: int = Field(description="seconds")
    voting_period: int = Field(description="seconds")
    execution_delay: int = Field(description="seconds between queue and execute; 0 = none")
    proposal_threshold: str
    quorum_numerator: int = Field(description="percent of the share supply")

    @classmethod
    def of(cls, dao: DaoSummary) -> DaoSummaryOut:
        return cls(
            address=dao.address, name=dao.name, symbol=dao.symbol, token=dao.token,
            creator=dao.creator, created_block=dao.created_block, members=dao.members,
            total_shares=str(dao.total_shares), assets=dao.assets,
            voting_delay=dao.voting_delay, voting_period=dao.voting_period,
            execution_delay=dao.execution_delay,
            proposal_threshold=str(dao.proposal_threshold),
            quorum_numerator=dao.quorum_numerator)


class DaoPageOut(BaseModel):
    items: list[DaoSummaryOut]
    total: int
    page: int
    page_size: int


class MemberOut(BaseModel):
    account: str
    shares: str
    votes: str = Field(description="voting power delegated to the account")
    delegate: str | None


class ProposalOut(BaseModel):
    proposal_id: str
    proposer: str
    description: str
    state: str = Field(description="pending, active, closed (succeeded or defeated: ask the "
                                   "Governor's state()), queued, executed or canceled")
    vote_start: int
    vote_end: int
    eta: int | None = Field(description="executable from (unix seconds) once queued")
    votes_for: str
    votes_against: str
    votes_abstain: str
    block: int


class DaoDetailOut(DaoSummaryOut):
    member_list: list[MemberOut]
    proposals: list[ProposalOut] = Field(description="newest first")
    asset_ids: list[int]


def _directory(services: Services) -> DaoDirectory:
    return DaoDirectory(services.catalog().engine)


def _chain_time(services: Services) -> int:
    """The chain's clock (a dev chain may run ahead of the wall clock); the wall clock when
    the chain does not answer."""
    try:
        return int(services.web3.eth.get_block("latest")["timestamp"])
    except (RequestException, OSError):
        return int(time.time())


@router.get("/daos", response_model=DaoPageOut)
def list_daos(*, page: int = Query(1, ge=1, le=1_000_000),
              page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
              services: ServicesDep) -> DaoPageOut:
    """The DataDAOs the factory created, newest first."""
    items, total = _directory(services).list_daos(page, page_size)
    return DaoPageOut(items=[DaoSummaryOut.of(dao) for dao in items], total=total, page=page,
                      page_size=page_size)


@router.get("/daos/{address}", response_model=DaoDetailOut)
def get_dao(*, address: str = Path(pattern=ADDRESS_PATTERN, description="the Governor's address"),
            services: ServicesDep) -> DaoDetailOut:
    """One DataDAO: settings, members, proposals (states as of the chain's clock) and the
    assets it owns."""
    detail = _directory(services).get_dao(address, _chain_time(services))
    if detail is None:
        raise NotFound(f"no DataDAO {address} in the catalog",
                       hint="new DAOs appear once the indexer has seen them")
    return DaoDetailOut(
        **DaoSummaryOut.of(detail.summary).model_dump(),
        member_list=[MemberOut(account=m.account, shares=str(m.shares), votes=str(m.votes),
                               delegate=m.delegate) for m in detail.members],
        proposals=[ProposalOut(
            proposal_id=str(p.proposal_id), proposer=p.proposer, description=p.description,
            state=p.state, vote_start=p.vote_start, vote_end=p.vote_end, eta=p.eta,
            votes_for=str(p.votes_for), votes_against=str(p.votes_against),
            votes_abstain=str(p.votes_abstain), block=p.block) for p in detail.proposals],
        asset_ids=detail.asset_ids,
    )
