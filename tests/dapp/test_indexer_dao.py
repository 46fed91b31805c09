"""DataDAOs into the store, on the session ganache with the contracts the real deploy script
deployed: a DAO made by the factory (its clones followed from their creation block), its
members, a proposal that publishes an asset for the DAO and admits a contributor (propose →
vote three ways → queue → execute), a canceled one, checked against the contracts' own
views; the catalog's `dao=` filter; a reorg across a vote; re-runs, other ranges, rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3.logs import DISCARD

from dapp.chain.contracts import load_abi
from dapp.indexer.handlers import default_handlers
from dapp.indexer.handlers.dao import IGNORED
from dapp.ipfs.cid import cid_to_chain
from dapp.store.catalog import Catalog, CatalogQuery
from dapp.store.daos import DaoDirectory
from dapp.store.models import Dao, DaoMember, Proposal, Vote, proposal_state
from tests.dapp.conftest import Chain
from tests.dapp.helpers.governance import (
    ABSTAIN,
    AGAINST,
    EXECUTION_DELAY,
    FOR,
    SHARE,
    VOTING_DELAY,
    VOTING_PERIOD,
    Call,
    DataDao,
    Governance,
    make_governance,
)
from tests.dapp.helpers.registry_index import (
    DATASET,
    DDT,
    DOWNLOAD,
    assert_rebuild_and_other_ranges_agree,
    event_state,
    fake_cid,
    make_indexer,
    rows,
)

STATES = ("pending", "active", "canceled", "defeated", "succeeded", "queued", "expired",
          "executed")  # IGovernor.ProposalState


# -- the chain side ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def governance(chain: Chain, deployments_file: Path) -> Governance:
    return make_governance(chain, deployments_file)


@dataclass
class Story:
    dao: DataDao
    members: list[str]  # A, B, C (founders), D (admitted), E (bought shares from A)
    passed: int  # publish + admit: voted for / against / abstain, queued, executed
    canceled: int
    open: int  # proposed last, never voted on
    asset_id: int


@pytest.fixture(scope="module")
def story(governance: Governance) -> Story:
    gov, ex = governance, governance.ex
    creator, a, b, c, d, e = ex.accounts[:6]
    dao = gov.create(creator, [(a, 60 * SHARE), (b, 30 * SHARE), (c, 10 * SHARE)],
                     "Harbour Collective")
    content, metadata = fake_cid("dao-content"), fake_cid("dao-metadata")
    calls = [
        Call(ex.registry.address, ex.registry.encode_abi("publish", args=[
            DATASET, cid_to_chain(content), cid_to_chain(metadata), 0,
            [(ex.token.address, 3 * DDT, 0, DOWNLOAD)]])),
        Call(dao.governor.address, dao.governor.encode_abi("admitContributor", args=[
            d, 5 * SHARE, cid_to_chain(fake_cid("contribution"))[0], 0x55])),
    ]
    description = "Publish the harbour readings and admit their collector"
    passed = gov.propose(dao, calls, description, a)
    gov.wait(VOTING_DELAY + 1)
    voting = dao.governor.functions
    ex.send(voting.castVote(passed, FOR), a)
    ex.send(voting.castVoteWithReason(passed, AGAINST, "too cheap"), b)
    ex.send(voting.castVoteWithReasonAndParams(passed, ABSTAIN, "no view", b"\x01"), c)
    gov.wait(VOTING_PERIOD + 1)
    ex.send(voting.queue(*gov.operation(calls, description)), c)
    gov.wait(EXECUTION_DELAY + 1)
    receipt = ex.send(voting.execute(*gov.operation(calls, description)), d)
    (published,) = ex.registry.events.AssetPublished().process_receipt(receipt, DISCARD)

    noop = [Call(dao.governor.address, dao.governor.encode_abi("setExecutionDelay", args=[9]))]
    canceled = gov.propose(dao, noop, "A delay of nine seconds", b)
    ex.send(voting.cancel(*gov.operation(noop, "A delay of nine seconds")), b)
    ex.send(dao.shares.functions.transfer(e, 10 * SHARE), a)
    ex.send(dao.shares.functions.delegate(a), b)
    still_open = gov.propose(dao, noop, "Nine seconds, again", a)
    return Story(dao=dao, members=[a, b, c, d, e], passed=passed, canceled=canceled,
                 open=still_open, asset_id=int(published["args"]["assetId"]))


# -- checks against the chain ------------------------------------------------------------------
def assert_dao_matches_chain(engine: Engine, dao: DataDao) -> None:
    """Everything indexed of one DAO agrees with the governor's and the token's views."""
    governor, shares = dao.governor.functions, dao.shares.functions
    (row,) = rows(engine, Dao, address=dao.governor.address)
    assert (row.token, row.name, row.timelock) == (dao.shares.address, governor.name().call(),
                                                   None)
    assert (row.voting_delay, row.voting_period, row.execution_delay, row.proposal_threshold,
            row.quorum_numerator) == (
        governor.votingDelay().call(), governor.votingPeriod().call(),
        governor.executionDelay().call(), governor.proposalThreshold().call(),
        governor.quorumNumerator().call())
    assert row.total_shares == shares.totalSupply().call()
    for member in rows(engine, DaoMember, dao=dao.governor.address):
        delegate = shares.delegates(member.account).call()
        assert (member.shares, member.votes, member.delegate or delegate) == (
            shares.balanceOf(member.account).call(), shares.getVotes(member.account).call(),
            delegate), member.account
    for proposal in rows(engine, Proposal, dao=dao.governor.address):
        pid = proposal.proposal_id
        against, for_, abstain = governor.proposalVotes(pid).call()
        assert (proposal.votes_against, proposal.votes_for, proposal.votes_abstain) == (
            against, for_, abstain)
        assert (proposal.vote_start, proposal.vote_end, proposal.proposer) == (
            governor.proposalSnapshot(pid).call(), governor.proposalDeadline(pid).call(),
            governor.proposalProposer(pid).call())
        assert (proposal.eta or 0) == governor.proposalEta(pid).call()
        now = dao.governor.w3.eth.get_block("latest")["timestamp"]
        derived = proposal_state(proposal.state, proposal.vote_start, proposal.vote_end, now)
        on_chain = STATES[governor.state(pid).call()]
        assert derived == on_chain or (derived, on_chain) in {
            ("closed", "succeeded"), ("closed", "defeated")}, pid


# -- tests -------------------------------------------------------------------------------------
@pytest.mark.parametrize("contract", sorted(IGNORED))
def test_every_dao_event_is_handled_or_ignored_on_purpose(contract: str) -> None:
    events = {e["name"] for e in load_abi(contract) if e["type"] == "event"}
    handled = default_handlers().events_of(contract)
    assert events - handled == IGNORED[contract]
    assert handled <= events


def test_a_dao_its_members_proposals_and_votes_are_indexed(chain: Chain, deployments_file: Path,
                                                           story: Story,
                                                           tmp_path: Path) -> None:
    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=3)
    indexer.run_once()
    engine, s = indexer.db, story
    dao = s.dao.governor.address
    assert_dao_matches_chain(engine, s.dao)
    (row,) = rows(engine, Dao, address=dao)
    assert (row.name, row.symbol, row.creator, row.total_shares) == (
        "Harbour Collective", "HARBOU", story.dao.governor.w3.eth.accounts[0], 105 * SHARE)
    a, b, c, d, e = s.members
    members = {m.account: (m.shares, m.votes, m.delegate)
               for m in rows(engine, DaoMember, dao=dao)}
    assert members == {a: (50 * SHARE, 80 * SHARE, a), b: (30 * SHARE, 0, a),
                       c: (10 * SHARE, 10 * SHARE, c), d: (5 * SHARE, 5 * SHARE, d),
                       e: (10 * SHARE, 10 * SHARE, e)}

    proposals = {p.proposal_id: p for p in rows(engine, Proposal, dao=dao)}
    assert {pid: p.state for pid, p in proposals.items()} == {
        s.passed: "executed", s.canceled: "canceled", s.open: "pending"}
    passed = proposals[s.passed]
    assert (passed.votes_for, passed.votes_against, passed.votes_abstain) == (
        60 * SHARE, 30 * SHARE, 10 * SHARE)
    assert passed.proposer == a and passed.description.startswith("Publish the harbour")
    votes = [(v.voter, v.support, v.weight, v.reason)
             for v in sorted(rows(engine, Vote, dao=dao), key=lambda v: v.block_number)]
    assert votes == [(a, FOR, 60 * SHARE, ""), (b, AGAINST, 30 * SHARE, "too cheap"),
                     (c, ABSTAIN, 10 * SHARE, "no view")]

    catalog = Catalog(engine)
    owned = catalog.list_assets(CatalogQuery(dao=dao, page_size=100)).items
    assert [(x.asset_id, x.owner, x.dao) for x in owned] == [(s.asset_id, dao, dao)]
    detail = catalog.get_asset(s.asset_id)
    assert detail is not None and detail.summary.dao == dao


def test_indexing_daos_again_or_in_other_ranges_changes_nothing(
    chain: Chain, deployments_file: Path, story: Story, tmp_path: Path
) -> None:
    one_block = make_indexer(chain, deployments_file, tmp_path, "one.db", indexer_max_range=1)
    one_block.run_once()
    assert rows(one_block.db, DaoMember, dao=story.dao.governor.address)
    assert_rebuild_and_other_ranges_agree(one_block, chain, deployments_file, tmp_path, 5000)


def test_a_reorg_across_a_vote_leaves_no_orphan_vote(chain: Chain, deployments_file: Path,
                                                     governance: Governance,
                                                     tmp_path: Path) -> None:
    gov, ex = governance, governance.ex
    a, b, c = ex.accounts[6:9]
    dao = gov.create(a, [(a, 60 * SHARE), (b, 30 * SHARE), (c, 10 * SHARE)], "Reorg Collective")
    noop = [Call(dao.governor.address, dao.governor.encode_abi("setExecutionDelay", args=[7]))]
    pid = gov.propose(dao, noop, "Seven seconds", a)
    gov.wait(VOTING_DELAY + 1)
    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=4)
    indexer.run_once()
    snapshot = ex.rpc("evm_snapshot")
    # the branch that will vanish: two votes, and a share transfer
    ex.send(dao.governor.functions.castVote(pid, FOR), a)
    ex.send(dao.governor.functions.castVote(pid, AGAINST), b)
    ex.send(dao.shares.functions.transfer(c, 20 * SHARE), a)
    indexer.run_once()
    key = {"dao": dao.governor.address, "proposal_id": pid}
    assert len(rows(indexer.db, Vote, **key)) == 2

    assert ex.rpc("evm_revert", snapshot)
    ex.send(dao.governor.functions.castVote(pid, ABSTAIN), c)  # the branch that stays
    report = indexer.run_once()
    assert report.rollbacks == 1 and report.last_block == ex.web3.eth.block_number
    assert [(v.voter, v.support) for v in rows(indexer.db, Vote, **key)] == [(c, ABSTAIN)]
    (proposal,) = rows(indexer.db, Proposal, **key)
    assert (proposal.votes_for, proposal.votes_against, proposal.votes_abstain) == (
        0, 0, 10 * SHARE)
    assert_dao_matches_chain(indexer.db, dao)
    fresh = make_indexer(chain, deployments_file, tmp_path, "fresh.db")
    fresh.run_once()
    assert event_state(indexer.db) == event_state(fresh.db)


def test_a_restarted_indexer_still_decodes_the_daos_it_follows(
    chain: Chain, deployments_file: Path, governance: Governance, tmp_path: Path
) -> None:
    """The clones are known from `watched_contracts` only: a new process must load their ABIs
    (it used to skip their logs as unknown events)."""
    gov, ex = governance, governance.ex
    a = ex.accounts[7]
    dao = gov.create(a, [(a, SHARE)], "Restart Collective")
    make_indexer(chain, deployments_file, tmp_path).run_once()
    noop = [Call(dao.governor.address, dao.governor.encode_abi("setExecutionDelay", args=[3]))]
    pid = gov.propose(dao, noop, "Three seconds", a)
    gov.wait(VOTING_DELAY + 1)
    ex.send(dao.governor.functions.castVote(pid, FOR), a)
    restarted = make_indexer(chain, deployments_file, tmp_path)
    restarted.run_once()
    (proposal,) = rows(restarted.db, Proposal, dao=dao.governor.address)
    assert (proposal.proposal_id, proposal.votes_for) == (pid, SHARE)
    assert len(rows(restarted.db, Vote, dao=dao.governor.address)) == 1


def test_the_dao_directory_reads_what_was_indexed(chain: Chain, deployments_file: Path,
                                                  story: Story, tmp_path: Path) -> None:
    """The gateway's read side (`/v1/daos`): the DAO's summary, its members by shares, its
    proposals newest first with their states as of the chain's clock, and its assets."""
    indexer = make_indexer(chain, deployments_file, tmp_path)
    indexer.run_once()
    directory, governor = DaoDirectory(indexer.db), story.dao.governor
    listed, total = directory.list_daos(page_size=100)
    (summary,) = [dao for dao in listed if dao.address == governor.address]
    assert total >= 1 and (summary.name, summary.members, summary.total_shares,
                           summary.assets) == ("Harbour Collective", 5, 105 * SHARE, 1)
    now = governor.w3.eth.get_block("latest")["timestamp"]
    detail = directory.get_dao(governor.address.lower(), now)  # any spelling of the address
    assert detail is not None and detail.summary == summary
    a, b, c, d, e = story.members
    assert [(m.account, m.shares) for m in detail.members] == sorted(
        [(a, 50 * SHARE), (b, 30 * SHARE), (c, 10 * SHARE), (e, 10 * SHARE), (d, 5 * SHARE)],
        key=lambda member: (-member[1], member[0]))
    states = {p.proposal_id: p.state for p in detail.proposals}
    assert [p.proposal_id for p in detail.proposals] == [story.open, story.canceled,
                                                         story.passed]
    on_chain = STATES[governor.functions.state(story.open).call()]
    assert (states[story.passed], states[story.canceled], states[story.open]) == (
        "executed", "canceled", on_chain)
    assert detail.asset_ids == [story.asset_id]
    assert directory.get_dao("0x" + "12" * 20, now) is None
