"""DataDAO governance: the factory makes a DAO in one transaction; members vote with their shares
(OpenZeppelin Governor, simple counting, quorum fraction) on proposals the DAO executes itself."""

from __future__ import annotations

from typing import Any

import pytest
from brownie import DataDAO, DataDAOShares, accounts, chain, web3
from conftest import COMPUTE, DATASET, DAY, DOWNLOAD, PRICE, cid, offer_input
from dao_helpers import (
    ABSTAIN,
    AGAINST,
    DEFEATED,
    EXECUTED,
    FOR,
    QUEUED,
    QUORUM_PERCENT,
    SHARE,
    SUCCEEDED,
    VOTING_PERIOD,
    Proposal,
    ballot_signature,
    cid_value,
    create_dao,
    end_voting,
    pass_proposal,
    reverts,
    settings,
    start_voting,
    wait,
)
from eth_account import Account
from eth_account.messages import encode_typed_data

from dapp.chain.eip712 import permit_typed_data

MEMBER_SHARES = [60 * SHARE, 30 * SHARE, 10 * SHARE]


@pytest.fixture(scope="module")
def members(accounts: Any) -> list[Any]:
    return [accounts[4], accounts[5], accounts[6]]


@pytest.fixture(scope="module")
def factory(registry: Any, token: Any, admin: Any) -> Any:
    from scripts.deploy_modules import deploy_dao_modules

    return deploy_dao_modules({"AssetRegistry": registry, "TestToken": token}, admin)[
        "DataDAOFactory"
    ]


@pytest.fixture(scope="module")
def dao_and_shares(factory: Any, members: list[Any], token: Any) -> tuple[Any, Any]:
    dao, shares, _ = create_dao(factory, members[0], members, MEMBER_SHARES, [token])
    return dao, shares


@pytest.fixture(scope="module")
def dao(dao_and_shares: tuple[Any, Any]) -> Any:
    return dao_and_shares[0]


@pytest.fixture(scope="module")
def shares(dao_and_shares: tuple[Any, Any]) -> Any:
    return dao_and_shares[1]


def test_factory_creates_dao_in_one_transaction(factory, registry, token, members, admin):
    salt = b"\x07" * 32
    predicted = factory.predictAddresses(admin, salt)
    dao, shares, tx = create_dao(
        factory,
        admin,
        members,
        MEMBER_SHARES,
        [token],
        name="Genome Guild",
        symbol="GENOME",
        salt=salt,
    )
    print(f"\ngas DataDAOFactory.createDAO (3 members, 1 revenue token): {tx.gas_used}")
    # Two 45-byte clones (~41k each), then storage the DAO cannot do without: names, settings,
    # quorum checkpoint, revenue token, and per member a balance, a self-delegation and two vote
    # checkpoints (~80k each).
    assert tx.gas_used < 1_000_000
    assert (dao.address, shares.address) == predicted
    assert (
        len(web3.eth.get_code(dao.address)) == len(web3.eth.get_code(shares.address)) == 45
    )  # EIP-1167
    assert dao.name() == "Genome Guild" and shares.name() == "Genome Guild"
    assert shares.symbol() == "GENOME" and shares.dao() == dao
    assert dao.token() == shares and dao.registry() == registry
    assert dao.votingDelay() == 60 and dao.votingPeriod() == VOTING_PERIOD
    assert dao.quorumNumerator() == QUORUM_PERCENT and dao.quorumDenominator() == 100
    assert dao.executionDelay() == 0 and dao.proposalThreshold() == 0
    assert dao.COUNTING_MODE() == "support=bravo&quorum=for,abstain"
    assert dao.CLOCK_MODE() == shares.CLOCK_MODE() == "mode=timestamp"
    assert shares.totalSupply() == 100 * SHARE
    assert shares.revenueTokens() == [token]
    for member, amount in zip(members, MEMBER_SHARES, strict=True):
        assert shares.balanceOf(member) == amount
        assert shares.getVotes(member) == amount  # delegated to themselves on receipt
        assert shares.delegates(member) == member


def test_same_salt_from_another_creator_gives_other_addresses(factory, token, members, admin):
    first, _, _ = create_dao(factory, admin, members, MEMBER_SHARES, [token])
    second, _, _ = create_dao(factory, members[1], members, MEMBER_SHARES, [token])
    assert first != second


def test_clones_and_implementations_cannot_be_initialised_again(
    factory, dao, shares, registry, members
):
    with reverts("InvalidInitialization"):
        dao.initialize("Takeover", members[0], registry, settings(), {"from": members[0]})
    with reverts("InvalidInitialization"):
        DataDAO.at(factory.daoImplementation()).initialize(
            "Takeover", members[0], registry, settings(), {"from": members[0]}
        )
    config = ("X", "X", [members[0].address], [SHARE], [], settings(), b"\x00" * 32)
    with reverts("InvalidInitialization"):
        DataDAOShares.at(factory.sharesImplementation()).initialize(
            members[0], config, {"from": members[0]}
        )


def test_factory_rejects_a_dao_without_shares_or_a_used_salt(factory, token, members, dao):
    with reverts("NoShares"):
        create_dao(factory, members[0], [], [], [token], salt=b"\x03" * 32)
    with reverts("LengthMismatch", 2, 1):
        create_dao(factory, members[0], members[:2], [SHARE], [token], salt=b"\x03" * 32)
    with reverts("CloneFailed"):  # members[0] already used the default salt for `dao`
        create_dao(factory, members[0], members, MEMBER_SHARES, [token])


def test_members_vote_to_publish_an_asset_owned_by_the_dao_and_set_an_offer(
    dao, registry, token, members
):
    asset_id = registry.assetCount() + 1
    calls = [
        (
            registry,
            registry.publish.encode_input(
                DATASET, cid("dao-content"), cid("dao-metadata"), 0, [offer_input(token)]
            ),
        ),
        (
            registry,
            registry.setOffer.encode_input(asset_id, 2, offer_input(token, 25 * SHARE, 0, COMPUTE)),
        ),
    ]
    proposal = Proposal(calls, "Publish the collective's first dataset, with a compute offer")
    proposal.propose(dao, members[1])
    start_voting()
    dao.castVote(proposal.id, FOR, {"from": members[0]})
    dao.castVote(proposal.id, AGAINST, {"from": members[1]})
    dao.castVoteWithReason(proposal.id, ABSTAIN, "fine either way", {"from": members[2]})
    assert dao.proposalVotes(proposal.id) == (30 * SHARE, 60 * SHARE, 10 * SHARE)
    end_voting()
    assert dao.state(proposal.id) == SUCCEEDED
    tx = proposal.execute(dao, members[2])
    assert dao.state(proposal.id) == EXECUTED
    assert registry.ownerOf(asset_id) == dao
    assert tx.events["AssetPublished"]["owner"] == dao
    assert registry.offer(asset_id, 1) == (token, PRICE, 30 * DAY, DOWNLOAD, True)
    assert registry.offer(asset_id, 2) == (token, 25 * SHARE, 0, COMPUTE, True)


def test_dao_publishes_a_new_version_of_its_asset(dao, registry, token, members):
    asset_id = registry.assetCount() + 1
    pass_proposal(
        dao,
        [
            (
                registry,
                registry.publish.encode_input(
                    DATASET, cid("v1"), cid("v1-meta"), 0, [offer_input(token)]
                ),
            )
        ],
        "publish",
        members[:2],
    )
    pass_proposal(
        dao,
        [(registry, registry.addVersion.encode_input(asset_id, cid("v2"), cid("v2-meta")))],
        "version 2",
        members[:2],
    )
    assert registry.assetInfo(asset_id)[3] == 2
    assert registry.latestVersion(asset_id)[0] == cid_value(cid("v2"))


def test_proposal_failing_quorum_is_defeated(dao, registry, members):
    # 10 % For and 30 % Against: a majority For, but 10 % For+Abstain is below the 40 % quorum.
    proposal = Proposal([(dao, dao.setExecutionDelay.encode_input(DAY))], "Add a day's delay")
    proposal.propose(dao, members[2])
    start_voting()
    dao.castVote(proposal.id, FOR, {"from": members[2]})
    end_voting()
    assert dao.quorum(dao.proposalSnapshot(proposal.id)) == 40 * SHARE
    assert dao.state(proposal.id) == DEFEATED
    succeeded_or_queued = (1 << SUCCEEDED | 1 << QUEUED).to_bytes(32, "big")
    with reverts("GovernorUnexpectedProposalState", proposal.id, DEFEATED, succeeded_or_queued):
        proposal.execute(dao, members[2])
    assert dao.executionDelay() == 0


def test_proposal_voted_down_is_defeated(dao, members):
    proposal = Proposal([(dao, dao.setExecutionDelay.encode_input(DAY))], "Add a day's delay")
    proposal.propose(dao, members[2])
    start_voting()
    dao.castVote(proposal.id, FOR, {"from": members[1]})
    dao.castVote(proposal.id, AGAINST, {"from": members[0]})
    end_voting()
    assert dao.state(proposal.id) == DEFEATED


def test_votes_count_shares_held_at_the_snapshot(dao, shares, members, accounts):
    outsider = accounts[8]
    proposal = Proposal([(dao, dao.setExecutionDelay.encode_input(DAY))], "delay")
    proposal.propose(dao, members[0])
    start_voting()
    shares.transfer(outsider, 60 * SHARE, {"from": members[0]})  # after the snapshot: no effect
    dao.castVote(proposal.id, FOR, {"from": members[0]})
    dao.castVote(proposal.id, FOR, {"from": outsider})
    assert dao.proposalVotes(proposal.id) == (0, 60 * SHARE, 0)


def test_only_governance_calls_governance_functions(dao, shares, members):
    for call in (
        lambda: dao.admitContributor(members[0], SHARE, b"\x01" * 32, 0x55, {"from": members[0]}),
        lambda: dao.setExecutionDelay(1, {"from": members[0]}),
        lambda: dao.updateQuorumNumerator(1, {"from": members[0]}),
        lambda: dao.setVotingPeriod(1, {"from": members[0]}),
        lambda: dao.addRevenueToken(members[0], {"from": members[0]}),
    ):
        with reverts("GovernorOnlyExecutor", members[0]):
            call()
    with reverts("NotDAO", members[0]):
        shares.mint(members[0], SHARE, {"from": members[0]})
    with reverts("NotShares", members[0]):
        dao.releaseRevenue(members[0], {"from": members[0]})


def test_governance_changes_the_dao_parameters(dao, members):
    calls = [
        (dao, dao.updateQuorumNumerator.encode_input(60)),
        (dao, dao.setVotingPeriod.encode_input(DAY)),
        (dao, dao.setProposalThreshold.encode_input(5 * SHARE)),
    ]
    _, tx = pass_proposal(dao, calls, "Stricter quorum, shorter votes", members[:2])
    assert tx.events["QuorumNumeratorUpdated"] == {
        "oldQuorumNumerator": 40,
        "newQuorumNumerator": 60,
    }
    assert dao.quorumNumerator() == 60 and dao.votingPeriod() == DAY
    assert dao.quorumNumerator(tx.timestamp - 1) == 40
    with reverts("GovernorInsufficientProposerVotes", accounts[8], 0, 5 * SHARE):
        Proposal([(dao, dao.setExecutionDelay.encode_input(1))], "x").propose(dao, accounts[8])


def test_execution_delay_requires_queue_then_waiting(factory, token, registry, members):
    dao, _, _ = create_dao(
        factory,
        members[0],
        members,
        MEMBER_SHARES,
        [token],
        salt=b"\x02" * 32,
        dao_settings=settings(execution_delay=2 * DAY),
    )
    assert dao.proposalNeedsQueuing(0)
    proposal = Proposal([(dao, dao.setExecutionDelay.encode_input(0))], "Drop the delay")
    proposal.propose(dao, members[0])
    start_voting()
    dao.castVote(proposal.id, FOR, {"from": members[0]})
    end_voting()
    with reverts("ProposalNotQueued", proposal.id):
        proposal.execute(dao, members[0])
    tx = proposal.queue(dao, members[0])
    eta = dao.proposalEta(proposal.id)
    assert eta == tx.timestamp + 2 * DAY and dao.state(proposal.id) == QUEUED
    with reverts("ProposalNotReady", proposal.id, eta):
        proposal.execute(dao, members[0])
    wait(2 * DAY + 1)
    proposal.execute(dao, members[0])
    assert dao.executionDelay() == 0 and not dao.proposalNeedsQueuing(0)


def test_cast_vote_by_sig_works_on_a_clone(dao, shares, members, accounts):
    voter = accounts.add()
    shares.transfer(voter, 30 * SHARE, {"from": members[1]})
    assert dao.eip712Domain()[1:5] == ("Ocean Collective", "1", chain.id, dao)
    proposal = Proposal([(dao, dao.setExecutionDelay.encode_input(DAY))], "delay by signature")
    proposal.propose(dao, members[0])
    start_voting()
    # The implementation's domain name ("DataDAO") is not this DAO's: such a signature is refused.
    wrong = ballot_signature(
        dao, voter.private_key, proposal.id, FOR, voter.address, domain_name="DataDAO"
    )
    with reverts("GovernorInvalidSignature", voter):
        dao.castVoteBySig(proposal.id, FOR, voter, wrong, {"from": members[2]})
    signature = ballot_signature(dao, voter.private_key, proposal.id, FOR, voter.address)
    tx = dao.castVoteBySig(proposal.id, FOR, voter, signature, {"from": members[2]})
    assert tx.events["VoteCast"]["voter"] == voter and tx.events["VoteCast"]["weight"] == 30 * SHARE
    assert dao.hasVoted(proposal.id, voter) and dao.nonces(voter) == 1
    with reverts("GovernorInvalidSignature", voter):  # replay: the nonce moved on
        dao.castVoteBySig(proposal.id, FOR, voter, signature, {"from": members[2]})
    dao.castVote(proposal.id, FOR, {"from": members[2]})
    end_voting()
    assert dao.state(proposal.id) == SUCCEEDED  # 30 % + 10 % = quorum


def test_share_permit_is_signed_for_the_clone(shares, members, accounts):
    owner = accounts.add()
    spender = members[0]
    assert shares.eip712Domain()[1:5] == ("Ocean Collective", "1", chain.id, shares)
    deadline = chain[-1].timestamp + DAY
    message = permit_typed_data(
        name=shares.name(), version="1", chain_id=chain.id, token=shares.address,
        owner=owner.address, spender=spender.address, value=SHARE, nonce=0, deadline=deadline,
    )
    signed = Account.sign_message(encode_typed_data(full_message=message), owner.private_key)
    shares.permit(owner, spender, SHARE, deadline, signed.v, signed.r, signed.s, {"from": spender})
    assert shares.allowance(owner, spender) == SHARE


def test_dao_accepts_an_asset_by_safe_transfer(dao, registry, asset, publisher):
    registry.safeTransferFrom(publisher, dao, asset, {"from": publisher})
    assert registry.ownerOf(asset) == dao
