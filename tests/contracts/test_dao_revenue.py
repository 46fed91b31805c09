"""DataDAO revenue: sales of the DAO's assets credit its registry payout; anyone collects it into
the share token, where it is shared by shares at that moment; members withdraw their own part.
Newcomers and share buyers get nothing that arrived before they held the shares."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DATASET, PRICE, PROTOCOL_FEE_BPS, buy, cid, offer_input
from dao_helpers import SHARE, cid_value, create_dao, pass_proposal, reverts

MEMBER_SHARES = [60 * SHARE, 30 * SHARE, 10 * SHARE]
OWNER_CUT = PRICE - PRICE * PROTOCOL_FEE_BPS // 10_000  # curators' share 0: the owner gets the rest


@pytest.fixture(scope="module")
def members(accounts: Any) -> list[Any]:
    return [accounts[4], accounts[5], accounts[6]]


@pytest.fixture(scope="module")
def newcomer(accounts: Any) -> Any:
    return accounts[7]


@pytest.fixture(scope="module")
def factory(registry: Any, token: Any, admin: Any) -> Any:
    from scripts.deploy_modules import deploy_dao_modules

    return deploy_dao_modules({"AssetRegistry": registry, "TestToken": token}, admin)[
        "DataDAOFactory"
    ]


@pytest.fixture(scope="module")
def dao_setup(factory: Any, registry: Any, token: Any, members: list[Any]) -> tuple[Any, Any, int]:
    """A DAO of three members (60/30/10) that owns asset `dao_asset` with a 10 DDT offer."""
    dao, shares, _ = create_dao(factory, members[0], members, MEMBER_SHARES, [token])
    asset_id = registry.assetCount() + 1
    pass_proposal(
        dao,
        [
            (
                registry,
                registry.publish.encode_input(
                    DATASET, cid("collective"), cid("collective-meta"), 0, [offer_input(token)]
                ),
            )
        ],
        "Publish the collective dataset",
        members[:2],
    )
    return dao, shares, asset_id


@pytest.fixture(scope="module")
def dao(dao_setup: tuple) -> Any:
    return dao_setup[0]


@pytest.fixture(scope="module")
def shares(dao_setup: tuple) -> Any:
    return dao_setup[1]


@pytest.fixture(scope="module")
def dao_asset(dao_setup: tuple) -> int:
    return dao_setup[2]


def sell(registry: Any, asset_id: int, buyer: Any, times: int = 1) -> None:
    for _ in range(times):
        buy(registry, asset_id, 1, buyer, buyer, max_price=PRICE)


def withdraw_all(shares: Any, token: Any, members: list[Any]) -> list[int]:
    received = []
    for member in members:
        before = token.balanceOf(member)
        shares.withdraw(token, {"from": member})
        received.append(token.balanceOf(member) - before)
    return received


def test_sale_revenue_is_collected_and_withdrawn_in_proportion_to_shares(
    dao, shares, registry, token, dao_asset, buyer, members
):
    sell(registry, dao_asset, buyer)
    assert registry.payoutBalance(dao, token) == OWNER_CUT
    assert [shares.withdrawable(token, m) for m in members] == [
        OWNER_CUT * 60 // 100,
        OWNER_CUT * 30 // 100,
        OWNER_CUT * 10 // 100,
    ]

    collect = dao.collect(token, {"from": buyer})  # anyone may collect
    print(f"\ngas DataDAO.collect (registry payout -> share token, 1 token): {collect.gas_used}")
    assert collect.events["RevenueReleased"]["amount"] == OWNER_CUT
    assert collect.events["RevenueDistributed"]["amount"] == OWNER_CUT
    assert registry.payoutBalance(dao, token) == 0
    assert token.balanceOf(shares) == shares.revenueHeld(token) == OWNER_CUT

    first = shares.withdraw(token, {"from": members[0]})
    print(f"gas DataDAOShares.withdraw (first withdrawal of a member): {first.gas_used}")
    assert first.events["RevenueWithdrawn"]["amount"] == OWNER_CUT * 60 // 100
    assert withdraw_all(shares, token, members[1:]) == [
        OWNER_CUT * 30 // 100,
        OWNER_CUT * 10 // 100,
    ]
    assert shares.revenueHeld(token) == 0 and token.balanceOf(shares) == 0

    sell(registry, dao_asset, buyer)  # steady state: every slot already written once
    again = dao.collect(token, {"from": buyer})
    print(f"gas DataDAO.collect (later collections): {again.gas_used}")
    later = shares.withdraw(token, {"from": members[0]})
    print(f"gas DataDAOShares.withdraw (later withdrawals): {later.gas_used}")


def test_withdraw_pulls_uncollected_revenue_and_never_pays_twice(
    dao, shares, registry, token, dao_asset, buyer, members
):
    sell(registry, dao_asset, buyer, times=2)
    tx = shares.withdraw(token, {"from": members[1]})  # nobody collected: withdraw does it
    assert tx.events["RevenueWithdrawn"]["amount"] == 2 * OWNER_CUT * 30 // 100
    again = shares.withdraw(token, {"from": members[1]})
    assert again.return_value == 0 and "RevenueWithdrawn" not in again.events
    assert shares.withdrawable(token, members[1]) == 0
    assert shares.withdrawable(token, members[0]) == 2 * OWNER_CUT * 60 // 100


def test_collect_with_nothing_pending_is_harmless(dao, shares, token, buyer):
    tx = dao.collect(token, {"from": buyer})
    assert tx.return_value == 0 and "RevenueDistributed" not in tx.events


def test_unlisted_token_cannot_be_collected(dao, shares, registry, members):
    with reverts("NotRevenueToken", registry):
        dao.collect(registry, {"from": members[0]})


def test_admitted_contributor_gets_no_earlier_revenue_but_shares_later_revenue(
    dao, shares, registry, token, dao_asset, buyer, members, newcomer
):
    sell(registry, dao_asset, buyer)  # before the admission, not collected
    contribution = cid("contributed-dataset")
    call = dao.admitContributor.encode_input(newcomer, 100 * SHARE, *contribution)
    _, tx = pass_proposal(
        dao, [(dao, call)], "Admit a contributor for the genome dataset", members[:2]
    )
    admitted = tx.events["ContributorAdmitted"]
    assert admitted["member"] == newcomer and admitted["shares"] == 100 * SHARE
    assert admitted["contribution"] == cid_value(contribution)
    assert shares.balanceOf(newcomer) == shares.getVotes(newcomer) == 100 * SHARE
    # The earlier sale was shared among the three members before the mint.
    assert tx.events["RevenueDistributed"]["amount"] == OWNER_CUT
    assert shares.withdrawable(token, newcomer) == 0

    sell(registry, dao_asset, buyer)  # now the newcomer holds half the supply
    assert withdraw_all(shares, token, [newcomer, *members]) == [
        OWNER_CUT // 2,
        OWNER_CUT * 60 // 100 + OWNER_CUT * 30 // 100,
        OWNER_CUT * 30 // 100 + OWNER_CUT * 15 // 100,
        OWNER_CUT * 10 // 100 + OWNER_CUT * 5 // 100,
    ]


def test_admission_checks_its_arguments(dao, members, newcomer):
    for args, error in (
        ((newcomer, 0, b"\x01" * 32, 0x55), ("ZeroAmount",)),
        ((newcomer, SHARE, b"\x00" * 32, 0x55), ("InvalidCid",)),
    ):
        with reverts(*error):
            pass_proposal(
                dao, [(dao, dao.admitContributor.encode_input(*args))], f"bad {error}", members[:2]
            )


def test_share_transfer_settles_revenue_before_moving_shares(
    dao, shares, registry, token, dao_asset, buyer, members, newcomer
):
    sell(registry, dao_asset, buyer)  # earned while members[0] holds 60 %
    tx = shares.transfer(newcomer, 60 * SHARE, {"from": members[0]})
    print(f"\ngas DataDAOShares.transfer (pulls and settles 1 revenue token): {tx.gas_used}")
    assert tx.events["RevenueDistributed"]["amount"] == OWNER_CUT
    assert shares.withdrawable(token, newcomer) == 0
    assert shares.withdrawable(token, members[0]) == OWNER_CUT * 60 // 100
    assert shares.getVotes(newcomer) == 60 * SHARE and shares.getVotes(members[0]) == 0

    sell(registry, dao_asset, buyer)  # earned while the newcomer holds the 60 %
    assert withdraw_all(shares, token, [members[0], newcomer]) == [OWNER_CUT * 60 // 100] * 2
    sell(registry, dao_asset, buyer)
    steady = shares.transfer(members[1], SHARE, {"from": newcomer})
    print(f"gas DataDAOShares.transfer (between holders, with revenue to pull): {steady.gas_used}")


def test_transfer_from_settles_too(
    dao, shares, registry, token, dao_asset, buyer, members, newcomer
):
    shares.approve(newcomer, 30 * SHARE, {"from": members[1]})
    sell(registry, dao_asset, buyer)
    shares.transferFrom(members[1], newcomer, 30 * SHARE, {"from": newcomer})
    assert shares.withdrawable(token, newcomer) == 0
    assert shares.withdrawable(token, members[1]) == OWNER_CUT * 30 // 100


def test_tokens_sent_straight_to_the_share_token_are_shared_as_revenue(
    shares, token, buyer, members
):
    token.transfer(shares, 1000, {"from": buyer})
    assert shares.distribute(token, {"from": buyer}).return_value == 1000
    assert shares.withdrawable(token, members[0]) == 600


def test_governance_lists_another_revenue_token(dao, shares, members, TestToken, admin, registry):
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    pass_proposal(dao, [(dao, dao.addRevenueToken.encode_input(other))], "List OTH", members[:2])
    assert shares.revenueTokens()[-1] == other
    registry.setPaymentToken(other, True, {"from": admin})
    other.mint(admin, 500, {"from": admin})
    other.approve(registry, 500, {"from": admin})
    registry.depositFor(dao, other, 500, {"from": admin})
    assert shares.withdrawable(other, members[2]) == 50
    dao.collect(other, {"from": admin})
    assert shares.withdraw(other, {"from": members[2]}).return_value == 50


# ---- issue 13 (Contracts III): attacks on the DAO's revenue sharing

def test_attack_unlisted_token_revenue_goes_to_later_members(
    dao, shares, registry, members, newcomer, TestToken, admin
):
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    registry.setPaymentToken(other, True, {"from": admin})
    other.mint(admin, 1000, {"from": admin})
    other.approve(registry, 1000, {"from": admin})
    registry.depositFor(dao, other, 1000, {"from": admin})  # arrives while OTH is not listed
    call = dao.admitContributor.encode_input(newcomer, 100 * SHARE, *cid("late-dataset"))
    pass_proposal(dao, [(dao, call)], "Admit a late contributor", members[:2])
    pass_proposal(dao, [(dao, dao.addRevenueToken.encode_input(other))], "List OTH", members[:2])
    dao.collect(other, {"from": admin})
    assert shares.withdrawable(other, newcomer) == 0  # half of it before the fix
    assert other.balanceOf(dao) == 1000  # the DAO's treasury: governance decides


def test_attack_broken_revenue_token_freezes_share_transfers(
    dao, shares, registry, members, newcomer, BrokenToken, admin, token, dao_asset, buyer
):
    broken = BrokenToken.deploy({"from": admin})
    pass_proposal(dao, [(dao, dao.addRevenueToken.encode_input(broken))], "List BRK", members[:2])
    broken.setBroken(True, {"from": admin})
    pass_proposal(
        dao, [(dao, dao.removeRevenueToken.encode_input(broken))], "Delist BRK", members[:2]
    )
    shares.transfer(newcomer, SHARE, {"from": members[0]})
    call = dao.admitContributor.encode_input(newcomer, SHARE, *cid("after-delisting"))
    pass_proposal(dao, [(dao, call)], "Admit after delisting", members[:2])
    assert shares.balanceOf(newcomer) == 2 * SHARE


def test_delisted_token_keeps_what_members_were_owed(
    dao, shares, registry, token, dao_asset, buyer, members, newcomer
):
    sell(registry, dao_asset, buyer)
    calls = [  # collect first while the token works: what is not collected stays the DAO's
        (dao, dao.collect.encode_input(token)),
        (dao, dao.removeRevenueToken.encode_input(token)),
    ]
    _, tx = pass_proposal(dao, calls, "Delist DDT", members[:2])
    assert tx.events["RevenueTokenRemoved"]["token"] == token
    assert not shares.isRevenueToken(token)
    with reverts("NotRevenueToken", token):
        dao.collect(token, {"from": buyer})
    # Shares moved now settle DDT at its last revenue-per-share without calling it.
    shares.transfer(newcomer, 60 * SHARE, {"from": members[0]})
    assert shares.withdrawable(token, newcomer) == 0
    owed = shares.withdrawable(token, members[0])
    assert owed == OWNER_CUT * 60 // 100
    assert shares.withdraw(token, {"from": members[0]}).return_value == owed
    # Listing again: revenue that arrived while delisted is the DAO's, not the members'.
    sell(registry, dao_asset, buyer)
    _, relist = pass_proposal(
        dao, [(dao, dao.addRevenueToken.encode_input(token))], "Relist DDT", [newcomer, members[1]]
    )
    assert relist.events["UnlistedRevenueKept"]["amount"] == OWNER_CUT
    assert shares.isRevenueToken(token) and list(shares.revenueTokens()) == [token]


def test_listing_needs_a_contract_and_keeps_earlier_deposits_for_the_dao(
    dao, shares, members, TestToken, admin, buyer
):
    with reverts("NotAContract", buyer):
        pass_proposal(
            dao, [(dao, dao.addRevenueToken.encode_input(buyer))], "List an EOA", members[:2]
        )
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    other.mint(shares, 700, {"from": admin})  # sent straight to the share token before listing
    _, tx = pass_proposal(
        dao, [(dao, dao.addRevenueToken.encode_input(other))], "List OTH", members[:2]
    )
    assert tx.events["UnlistedRevenueReturned"]["amount"] == 700
    assert other.balanceOf(dao) == 700 and shares.withdrawable(other, members[0]) == 0
