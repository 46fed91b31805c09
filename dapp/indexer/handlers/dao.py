"""DataDAOFactory, DataDAO and DataDAOShares events → DAOs, members, proposals, votes.

The factory is followed from the deployments file; each `DAOCreated` makes the indexer follow
the new governor and share token (EIP-1167 clones) from the block that created them, so their
initialisation — the first mints, delegations and settings, logged after `DAOCreated` in the
same transaction — is indexed too.

A proposal's `state` is the last one an event set: "pending" (created), "queued", "executed",
"canceled". Active, succeeded and defeated follow from the clock and the quorum, not from an
event: readers derive them (`dapp.store.models.proposal_state`, or the chain's `state(id)`).
Tallies are running totals kept from `VoteCast` / `VoteCastWithParams`; every vote is also an
append-only `votes` fact. Members' shares and votes come from the share token's `Transfer`
and `DelegateVotesChanged`, their delegate from `DelegateChanged`.

Every event each contract emits is either handled here or named in `IGNORED` (the raw log is
kept in `events` either way).
"""

from __future__ import annotations

from typing import Any

from dapp.chain.constants import ZERO_ADDRESS
from dapp.chain.events import DecodedEvent
from dapp.indexer.handlers.table import Handler, HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.store.models import Dao, DaoMember, Proposal, Vote

FACTORY = "DataDAOFactory"
DAO = "DataDAO"
SHARES = "DataDAOShares"
AGAINST, FOR, ABSTAIN = 0, 1, 2  # GovernorCountingSimple.VoteType
TALLY_COLUMNS = {AGAINST: "votes_against", FOR: "votes_for", ABSTAIN: "votes_abstain"}

#: Events with nothing for the catalog, per contract (the raw logs stay in `events`):
#: initialisation markers, EIP-712 domain notices, approvals, and the revenue flow (released
#: from the registry, distributed per share, withdrawn by members, tokens listed and delisted,
#: revenue that arrived before its token was listed kept by the DAO — the registry's own
#: payout tables and the chain's `withdrawable`, `revenueTokens` and `isRevenueToken` views
#: cover it); a contributor's admission shows as the mint of their shares.
IGNORED: dict[str, frozenset[str]] = {
    FACTORY: frozenset(),
    DAO: frozenset({"Initialized", "EIP712DomainChanged", "RevenueReleased",
                    "ContributorAdmitted", "UnlistedRevenueKept"}),
    SHARES: frozenset({"Initialized", "EIP712DomainChanged", "Approval", "RevenueDistributed",
                       "RevenueTokenAdded", "RevenueTokenRemoved", "RevenueWithdrawn",
                       "UnlistedRevenueReturned"}),
}

HANDLERS = HandlerTable()
on = HANDLERS.on


# -- the factory -------------------------------------------------------------------------------
@on(FACTORY, "DAOCreated")
def dao_created(writer: StateWriter, event: DecodedEvent) -> None:
    """A new DAO: its row (settings follow from its own events in the same transaction) and
    both clones followed from this block on."""
    a = event.args
    writer.insert(Dao, address=a["dao"], name=a["name"], symbol=a["symbol"], token=a["shares"],
                  timelock=None, creator=a["creator"], voting_delay=0, voting_period=0,
                  execution_delay=0, proposal_threshold=0, quorum_numerator=0, total_shares=0)
    writer.watch(DAO, a["dao"])
    writer.watch(SHARES, a["shares"])


# -- the governor's settings -------------------------------------------------------------------
#: event → (the `daos` column it sets, the event argument with the new value)
SETTINGS = {
    "VotingDelaySet": ("voting_delay", "newVotingDelay"),
    "VotingPeriodSet": ("voting_period", "newVotingPeriod"),
    "ProposalThresholdSet": ("proposal_threshold", "newProposalThreshold"),
    "QuorumNumeratorUpdated": ("quorum_numerator", "newQuorumNumerator"),
    "ExecutionDelaySet": ("execution_delay", "newDelay"),
}


def _setting_handler(column: str, argument: str) -> Handler:
    def setting_changed(writer: StateWriter, event: DecodedEvent) -> None:
        writer.update(Dao, {"address": event.address}, **{column: event.args[argument]})
    return setting_changed


for _event, (_column, _argument) in SETTINGS.items():
    on(DAO, _event)(_setting_handler(_column, _argument))


# -- proposals and votes -----------------------------------------------------------------------
def _proposal_key(event: DecodedEvent) -> dict[str, Any]:
    return {"dao": event.address, "proposal_id": event.args["proposalId"]}


@on(DAO, "ProposalCreated")
def proposal_created(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.insert(Proposal, **_proposal_key(event), proposer=a["proposer"],
                  description=a["description"], vote_start=a["voteStart"],
                  vote_end=a["voteEnd"], state="pending", votes_for=0, votes_against=0,
                  votes_abstain=0, eta=None)


def _vote_cast(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    key = _proposal_key(event)
    writer.append(Vote, **key, voter=a["voter"], support=a["support"], weight=a["weight"],
                  reason=a["reason"])
    column = TALLY_COLUMNS.get(a["support"])
    if column is None:  # GovernorCountingSimple rejects any other value: never logged
        return
    proposal = writer.require(Proposal, **key)
    writer.update(Proposal, key, **{column: proposal[column] + a["weight"]})


@on(DAO, "VoteCast")
def vote_cast(writer: StateWriter, event: DecodedEvent) -> None:
    _vote_cast(writer, event)


@on(DAO, "VoteCastWithParams")
def vote_cast_with_params(writer: StateWriter, event: DecodedEvent) -> None:
    _vote_cast(writer, event)


@on(DAO, "ProposalQueued")
def proposal_queued(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(Proposal, _proposal_key(event), state="queued",
                  eta=event.args["etaSeconds"])


@on(DAO, "ProposalExecuted")
def proposal_executed(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(Proposal, _proposal_key(event), state="executed")


@on(DAO, "ProposalCanceled")
def proposal_canceled(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(Proposal, _proposal_key(event), state="canceled")


# -- members (the share token) -----------------------------------------------------------------
def _dao_of_shares(writer: StateWriter, shares: str) -> dict[str, Any]:
    dao = writer.find(Dao, token=shares)
    if dao is None:
        raise LookupError(f"share token {shares} has no DAO row (at {writer.origin})")
    return dao


def _change_member(writer: StateWriter, dao: str, account: str, shares_delta: int = 0,
                   **changes: Any) -> None:
    key = {"dao": dao, "account": account}
    row = writer.get(DaoMember, **key) or {"shares": 0, "votes": 0, "delegate": None}
    writer.upsert(DaoMember, key, **{"shares": row["shares"] + shares_delta,
                                     "votes": row["votes"], "delegate": row["delegate"],
                                     **changes})


@on(SHARES, "Transfer")
def shares_transferred(writer: StateWriter, event: DecodedEvent) -> None:
    """Shares moved; a mint (from zero) or burn (to zero) also changes the DAO's supply."""
    a = event.args
    dao = _dao_of_shares(writer, event.address)
    if a["from"] != ZERO_ADDRESS:
        _change_member(writer, dao["address"], a["from"], -a["value"])
    if a["to"] != ZERO_ADDRESS:
        _change_member(writer, dao["address"], a["to"], a["value"])
    supply_delta = (a["value"] if a["from"] == ZERO_ADDRESS else 0) - (
        a["value"] if a["to"] == ZERO_ADDRESS else 0)
    if supply_delta:
        writer.update(Dao, {"address": dao["address"]},
                      total_shares=dao["total_shares"] + supply_delta)


@on(SHARES, "DelegateVotesChanged")
def delegate_votes_changed(writer: StateWriter, event: DecodedEvent) -> None:
    dao = _dao_of_shares(writer, event.address)
    _change_member(writer, dao["address"], event.args["delegate"],
                   votes=event.args["newVotes"])


@on(SHARES, "DelegateChanged")
def delegate_changed(writer: StateWriter, event: DecodedEvent) -> None:
    dao = _dao_of_shares(writer, event.address)
    to_delegate = event.args["toDelegate"]
    _change_member(writer, dao["address"], event.args["delegator"],
                   delegate=None if to_delegate == ZERO_ADDRESS else to_delegate)
