"""AssetRegistry curation staking: stake, unbond, withdraw, claim, and who earns what."""

from __future__ import annotations

from brownie import chain
from conftest import (
    MAX_UINT,
    PRICE,
    UNBONDING_DELAY,
    activate,
    buy,
    offer_input,
    publish_asset,
    reverts,
    split,
)

CURATORS_PER_SALE = split(PRICE, 1000)[1]  # 1 DDT of every 10 DDT sale of the `asset` fixture
STAKE = 100 * 10**18


def stake(registry, asset_id, amount, staker):
    """Stake and wait out the warm-up, so the stake earns from the next payment on."""
    registry.stake(asset_id, amount, {"from": staker})
    activate(registry, asset_id, staker)


def sell(registry, buyer, asset_id):
    return buy(registry, asset_id, 1, buyer, buyer, max_price=PRICE)


def test_stake(registry, token, curator, asset):
    before = token.balanceOf(curator), token.balanceOf(registry)
    tx = registry.stake(asset, STAKE, {"from": curator})
    active_at = tx.timestamp + UNBONDING_DELAY
    assert tx.return_value == active_at
    event = tx.events["Staked"]
    assert (event["assetId"], event["staker"], event["amount"], event["activeAt"]) == (
        asset, curator, STAKE, active_at,
    )
    assert token.balanceOf(curator) == before[0] - STAKE
    assert token.balanceOf(registry) == before[1] + STAKE
    # Warming up: staked, not earning yet.
    assert tuple(registry.stakeOf(asset, curator)) == (0, 0, 0)
    assert tuple(registry.warmingStake(asset, curator)) == (STAKE, active_at)
    assert registry.totalStaked(asset) == 0
    assert registry.stakingToken() == token
    again = registry.stake(asset, STAKE, {"from": curator})  # restarts the warm-up for both
    assert tuple(registry.warmingStake(asset, curator)) == (
        2 * STAKE, again.timestamp + UNBONDING_DELAY,
    )
    activate(registry, asset, curator)
    assert tuple(registry.stakeOf(asset, curator)) == (2 * STAKE, 0, 0)
    assert tuple(registry.warmingStake(asset, curator)) == (0, 0)
    assert registry.totalStaked(asset) == 2 * STAKE


def test_stake_checks(registry, curator, asset):
    with reverts("ZeroAmount"):
        registry.stake(asset, 0, {"from": curator})
    with reverts("UnknownAsset", 3):
        registry.stake(3, STAKE, {"from": curator})


def test_request_unstake_and_withdraw(registry, token, curator, asset):
    stake(registry, asset, STAKE, curator)
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
    stake(registry, asset, STAKE, curator)
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
    stake(registry, asset, STAKE, curator)
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator})
    sell(registry, buyer, asset)
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator2})


def test_proportional_rewards_with_join_times(registry, token, buyer, curator, curator2, asset):
    stake(registry, asset, STAKE, curator)
    sell(registry, buyer, asset)  # all to curator
    stake(registry, asset, 3 * STAKE, curator2)
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
    stake(registry, asset, STAKE, curator)
    sell(registry, buyer, asset)
    stake(registry, asset, 1000 * STAKE, curator2)
    assert registry.earned(asset, curator2, token) == 0
    with reverts("NothingToWithdraw"):
        registry.claim(asset, {"from": curator2})
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE


def test_first_stake_after_sales_without_stakers_gets_nothing(
    registry, token, publisher, buyer, curator, asset
):
    sell(registry, buyer, asset)  # curators' share to the owner
    stake(registry, asset, STAKE, curator)
    assert registry.earned(asset, curator, token) == 0
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE


def test_unbonding_stake_earns_nothing_but_keeps_earned(
    registry, token, buyer, curator, curator2, asset
):
    stake(registry, asset, STAKE, curator)
    stake(registry, asset, STAKE, curator2)
    sell(registry, buyer, asset)
    registry.requestUnstake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE // 2
    assert registry.earned(asset, curator2, token) == CURATORS_PER_SALE * 3 // 2
    registry.claim(asset, {"from": curator})  # claim works with no active stake


def test_everyone_unstaked_sends_share_to_owner_again(
    registry, token, publisher, buyer, curator, asset
):
    stake(registry, asset, STAKE, curator)
    registry.requestUnstake(asset, STAKE, {"from": curator})
    tx = sell(registry, buyer, asset)
    assert tx.events["RevenueSplit"]["curatorAmount"] == 0
    assert registry.earned(asset, curator, token) == 0


def test_restake_after_full_unstake_does_not_reclaim_old_rewards(
    registry, token, buyer, curator, curator2, asset
):
    stake(registry, asset, STAKE, curator)
    stake(registry, asset, STAKE, curator2)
    sell(registry, buyer, asset)
    registry.requestUnstake(asset, STAKE, {"from": curator})
    sell(registry, buyer, asset)  # curator2 only
    stake(registry, asset, STAKE, curator)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE // 2
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    assert registry.earned(asset, curator2, token) == 2 * CURATORS_PER_SALE


def test_rewards_per_asset_are_separate(registry, token, publisher, buyer, curator, asset):
    other = publish_asset(registry, token, publisher, "other")
    stake(registry, asset, STAKE, curator)
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
    stake(registry, asset, STAKE, curator)
    sell(registry, buyer, asset)
    buy(registry, asset, 3, buyer, buyer, max_price=4 * PRICE)
    assert registry.earned(asset, curator, other) == 4 * CURATORS_PER_SALE
    assert registry.earned(asset, curator, curator) == 0  # never a payment token
    tx = registry.claim(asset, {"from": curator})
    assert [(e["token"], e["amount"]) for e in tx.events["RewardClaimed"]] == [
        (token, CURATORS_PER_SALE), (other, 4 * CURATORS_PER_SALE),
    ]
    assert other.balanceOf(curator) == 4 * CURATORS_PER_SALE


def test_pay_revenue_rewards_stakers(registry, token, stranger, curator, asset):
    stake(registry, asset, STAKE, curator)
    registry.payRevenue(asset, token, 50 * 10**18, {"from": stranger})
    assert registry.earned(asset, curator, token) == split(50 * 10**18, 1000)[1]


# ---- warm-up, one-token claims, scheduled curator share (issue 13)

def test_warming_stake_earns_nothing_until_it_is_active(
    registry, token, buyer, curator, curator2, asset
):
    stake(registry, asset, STAKE, curator)
    registry.stake(asset, STAKE, {"from": curator2})
    sell(registry, buyer, asset)  # curator2 still warming up
    assert registry.earned(asset, curator2, token) == 0
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    activate(registry, asset, curator2)
    sell(registry, buyer, asset)
    assert registry.earned(asset, curator2, token) == CURATORS_PER_SALE // 2


def test_anyone_may_activate_a_warmed_up_stake(registry, curator, stranger, asset):
    registry.stake(asset, STAKE, {"from": curator})
    tx = registry.activateStake(asset, curator, {"from": stranger})  # too early: nothing happens
    assert "StakeActivated" not in tx.events
    assert registry.totalStaked(asset) == 0
    chain.sleep(UNBONDING_DELAY + 1)
    tx = registry.activateStake(asset, curator, {"from": stranger})
    event = tx.events["StakeActivated"]
    assert (event["assetId"], event["staker"], event["amount"]) == (asset, curator, STAKE)
    assert registry.totalStaked(asset) == STAKE


def test_warmed_up_stake_joins_at_the_stakers_next_action(registry, curator, asset):
    registry.stake(asset, STAKE, {"from": curator})
    chain.sleep(UNBONDING_DELAY + 1)
    tx = registry.stake(asset, 10**18, {"from": curator})  # activates the first, warms the second
    assert tx.events["StakeActivated"]["amount"] == STAKE
    assert registry.stakeOf(asset, curator)[0] == STAKE
    assert registry.warmingStake(asset, curator)[0] == 10**18


def test_request_unstake_takes_warming_stake_first(registry, curator, asset):
    stake(registry, asset, STAKE, curator)
    registry.stake(asset, 10 * 10**18, {"from": curator})
    tx = registry.requestUnstake(asset, 15 * 10**18, {"from": curator})
    assert registry.warmingStake(asset, curator)[0] == 0
    assert tuple(registry.stakeOf(asset, curator)) == (
        STAKE - 5 * 10**18, 15 * 10**18, tx.timestamp + UNBONDING_DELAY,
    )
    assert registry.totalStaked(asset) == STAKE - 5 * 10**18


def test_claim_reward_pays_one_token_to_a_recipient(
    registry, token, buyer, curator, stranger, asset
):
    stake(registry, asset, STAKE, curator)
    sell(registry, buyer, asset)
    with reverts("ZeroAddress"):
        registry.claimReward(asset, token, "0x" + "00" * 20, {"from": curator})
    with reverts("NothingToWithdraw"):
        registry.claimReward(asset, stranger, stranger, {"from": curator})  # not a payment token
    tx = registry.claimReward(asset, token, stranger, {"from": curator})
    event = tx.events["RewardClaimed"]
    assert (event["staker"], event["token"], event["amount"]) == (curator, token, CURATORS_PER_SALE)
    assert registry.earned(asset, curator, token) == 0
    with reverts("NothingToWithdraw"):
        registry.claimReward(asset, token, stranger, {"from": curator})


def test_curator_share_raise_applies_at_once_and_a_cut_after_the_delay(
    registry, token, publisher, buyer, curator, asset
):
    stake(registry, asset, STAKE, curator)
    tx = registry.setCuratorShare(asset, 2000, {"from": publisher})
    assert tx.events["CuratorShareSet"]["curatorShareBps"] == 2000
    assert registry.assetInfo(asset)[2] == 2000
    assert tuple(registry.pendingCuratorShare(asset)) == (2000, 0)

    tx = registry.setCuratorShare(asset, 500, {"from": publisher})
    effective_at = tx.timestamp + UNBONDING_DELAY
    event = tx.events["CuratorShareScheduled"]
    assert (event["assetId"], event["curatorShareBps"], event["effectiveAt"]) == (
        asset, 500, effective_at,
    )
    assert registry.assetInfo(asset)[2] == 2000
    assert tuple(registry.pendingCuratorShare(asset)) == (500, effective_at)
    curator_amount = sell(registry, buyer, asset).events["RevenueSplit"]["curatorAmount"]
    assert curator_amount == split(PRICE, 2000)[1]

    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    assert registry.assetInfo(asset)[2] == 500
    assert tuple(registry.pendingCuratorShare(asset)) == (500, 0)
    curator_amount = sell(registry, buyer, asset).events["RevenueSplit"]["curatorAmount"]
    assert curator_amount == split(PRICE, 500)[1]
    # A raise cancels a pending cut.
    registry.setCuratorShare(asset, 100, {"from": publisher})
    registry.setCuratorShare(asset, 600, {"from": publisher})
    assert tuple(registry.pendingCuratorShare(asset)) == (600, 0)
