"""AssetRegistry curation staking: stake, unbond, withdraw, claim, and who earns what."""

from __future__ import annotations

from brownie import chain
from conftest import MAX_UINT, PRICE, UNBONDING_DELAY, offer_input, publish_asset, reverts, split

CURATORS_PER_SALE = split(PRICE, 1000)[1]  # 1 DDT of every 10 DDT sale of the `asset` fixture
STAKE = 100 * 10**18


def sell(registry, buyer, asset_id):
    return registry.buy(asset_id, 1, buyer, PRICE, {"from": buyer})


def test_stake(registry, token, curator, asset):
    before = token.balanceOf(curator), token.balanceOf(registry)
    tx = registry.stake(asset, STAKE, {"from": curator})
    event = tx.events["Staked"]
    assert (event["assetId"], event["staker"], event["amount"]) == (asset, curator, STAKE)
    assert token.balanceOf(curator) == before[0] - STAKE
    assert token.balanceOf(registry) == before[1] + STAKE
    assert tuple(registry.stakeOf(asset, curator)) == (STAKE, 0, 0)
    assert registry.totalStaked(asset) == STAKE
    assert registry.stakingToken() == token
    registry.stake(asset, STAKE, {"from": curator})
    assert registry.totalStaked(asset) == 2 * STAKE


def test_stake_checks(registry, curator, asset):
    with reverts("ZeroAmount"):
        registry.stake(asset, 0, {"from": curator})
    with reverts("UnknownAsset", 3):
        registry.stake(3, STAKE, {"from": curator})


def test_request_unstake_and_withdraw(registry, token, curator, asset):
    registry.stake(asset, STAKE, {"from": curator})
    tx = registry.requestUnstake(asset, 30 * 10**18, {"from": curator})
    available = tx.timestamp + UNBONDING_DELAY
    assert tx.return_value == available
    event = tx.events["UnstakeRequested"]
    assert (event["staker"], event["amount"], event["availableAt"]) == (
        curator, 30 * 10**18, available,
    )
    assert tuple(registry.stakeOf(asset, curator)) == (70 * 10**18, 30 * 10**18, available)
    assert registry.totalStaked(asset) == 70 * 10**18

    with reverts("StillUnbonding", available):
        registry.withdrawStake(asset, {"from": curator})
    chain.sleep(UNBONDING_DELAY - 100)
    chain.mine()
    with reverts("StillUnbonding", available):
        registry.withdrawStake(asset, {"from": curator})
    chain.sleep(200)
    chain.mine()
    before = token.balanceOf(curator)
    tx = registry.withdrawStake(asset, {"from": curator})
    assert tx.return_value == 30 * 10**18
    assert tx.events["StakeWithdrawn"]["amount"] == 30 * 10**18
    assert token.balanceOf(curator) == before + 30 * 10**18
    assert tuple(registry.stakeOf(asset, curator)) == (70 * 10**18, 0, 0)
    with reverts("NothingToWithdraw"):
        registry.withdrawStake(asset, {"from": curator})


def test_second_request_restarts_unbonding(registry, curator, asset):
    registry.stake(asset, STAKE, {"from": curator})
    registry.requestUnstake(asset, 10**18, {"from": curator})
    chain.sleep(UNBONDING_DELAY // 2)
    chain.mine()
    second = registry.requestUnstake(asset, 10**18, {"from": curator})
    assert tuple(registry.stakeOf(asset, curator))[1:] == (
        2 * 10**18, second.timestamp + UNBONDING_DELAY,
    )


def test_insufficient_stake(registry, curator, curator2, asset):
    with reverts("InsufficientStake", 1, 0):
        registry.requestUnstake(asset, 1, {"from": curator})
    registry.stake(asset, STAKE, {"from": curator})
    with reverts("InsufficientStake", STAKE + 1, STAKE):
        registry.requestUnstake(asset, STAKE + 1, {"from": curator})
    registry.requestUnstake(asset, 40 * 10**18, {"from": curator})
    with reverts("InsufficientStake", 61 * 10**18, 60 * 10**18):
        registry.requestUnstake(asset, 61 * 10**18, {"from": curator})
    with reverts("ZeroAmount"):
        registry.requestUnstake(asset, 0, {"from": curator})
    with reverts("NothingToWithdraw"):
        registry.withdrawStake(asset, {"from": curator2})


def test_claim(registry, token, buyer, curator, asset):
    registry.stake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    before = token.balanceOf(curator)
    tx = registry.claim(asset, {"from": curator})
    event = tx.events["RewardClaimed"]
    assert (event["assetId"], event["staker"], event["token"], event["amount"]) == (
        asset, curator, token, CURATORS_PER_SALE,
    )
    assert token.balanceOf(curator) == before + CURATORS_PER_SALE
    assert registry.earned(asset, curator, token) == 0
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator})


def test_claim_with_nothing_reverts(registry, buyer, curator, curator2, asset):
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator})
    registry.stake(asset, STAKE, {"from": curator})
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator})
    sell(registry, buyer, asset)
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator2})


def test_proportional_rewards_with_join_times(registry, token, buyer, curator, curator2, asset):
    registry.stake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)  # all to curator
    registry.stake(asset, 3 * STAKE, {"from": curator2})
    sell(registry, buyer, asset)  # 1 : 3
    sell(registry, buyer, asset)  # 1 : 3
    first = CURATORS_PER_SALE + 2 * CURATORS_PER_SALE // 4
    second = 2 * CURATORS_PER_SALE * 3 // 4
    assert registry.earned(asset, curator, token) == first
    assert registry.earned(asset, curator2, token) == second
    assert first + second == 3 * CURATORS_PER_SALE

    before = token.balanceOf(curator), token.balanceOf(curator2)
    registry.claim(asset, {"from": curator})
    registry.claim(asset, {"from": curator2})
    assert token.balanceOf(curator) == before[0] + first
    assert token.balanceOf(curator2) == before[1] + second


def test_stake_joining_after_a_sale_gets_nothing_of_it(
    registry, token, buyer, curator, curator2, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)
    registry.stake(asset, 1000 * STAKE, {"from": curator2})
    assert registry.earned(asset, curator2, token) == 0
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator2})
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE


def test_first_stake_after_sales_without_stakers_gets_nothing(
    registry, token, publisher, buyer, curator, asset
):
    sell(registry, buyer, asset)  # curators' share to the owner
    registry.stake(asset, STAKE, {"from": curator})
    assert registry.earned(asset, curator, token) == 0
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE


def test_unbonding_stake_earns_nothing_but_keeps_earned(
    registry, token, buyer, curator, curator2, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    registry.stake(asset, STAKE, {"from": curator2})
    sell(registry, buyer, asset)
    registry.requestUnstake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE // 2
    assert registry.earned(asset, curator2, token) == CURATORS_PER_SALE * 3 // 2
    registry.claim(asset, {"from": curator})  # claim works with no active stake


def test_everyone_unstaked_sends_share_to_owner_again(
    registry, token, publisher, buyer, curator, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    registry.requestUnstake(asset, STAKE, {"from": curator})
    tx = sell(registry, buyer, asset)
    assert tx.events["RevenueSplit"]["curatorAmount"] == 0
    assert registry.earned(asset, curator, token) == 0


def test_restake_after_full_unstake_does_not_reclaim_old_rewards(
    registry, token, buyer, curator, curator2, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    registry.stake(asset, STAKE, {"from": curator2})
    sell(registry, buyer, asset)
    registry.requestUnstake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)  # curator2 only
    registry.stake(asset, STAKE, {"from": curator})
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE // 2
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    assert registry.earned(asset, curator2, token) == 2 * CURATORS_PER_SALE


def test_rewards_per_asset_are_separate(registry, token, publisher, buyer, curator, asset):
    other = publish_asset(registry, token, publisher, "other")
    registry.stake(asset, STAKE, {"from": curator})
    sell(registry, buyer, other)
    assert registry.earned(asset, curator, token) == 0
    assert registry.earned(other, curator, token) == 0


def test_claim_pays_every_token(
    registry, token, TestToken, admin, publisher, buyer, curator, asset
):
    other = TestToken.deploy("Other Token", "OTH", {"from": admin})
    other.mint(buyer, 100 * PRICE, {"from": admin})
    other.approve(registry, MAX_UINT, {"from": buyer})
    registry.setPaymentToken(other, True, {"from": admin})
    registry.setOffer(asset, 3, offer_input(other, 4 * PRICE), {"from": publisher})
    registry.stake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)
    registry.buy(asset, 3, buyer, 4 * PRICE, {"from": buyer})
    assert registry.earned(asset, curator, other) == 4 * CURATORS_PER_SALE
    assert registry.earned(asset, curator, curator) == 0  # never a payment token
    tx = registry.claim(asset, {"from": curator})
    assert [(e["token"], e["amount"]) for e in tx.events["RewardClaimed"]] == [
        (token, CURATORS_PER_SALE), (other, 4 * CURATORS_PER_SALE),
    ]
    assert other.balanceOf(curator) == 4 * CURATORS_PER_SALE


def test_pay_revenue_rewards_stakers(registry, token, stranger, curator, asset):
    registry.stake(asset, STAKE, {"from": curator})
    registry.payRevenue(asset, token, 50 * 10**18, {"from": stranger})
    assert registry.earned(asset, curator, token) == split(50 * 10**18, 1000)[1]
