"""AssetRegistry payouts: the split of every payment, withdrawals, revenue, pause and admin."""

from __future__ import annotations

from brownie import ZERO_ADDRESS, accounts, chain
from conftest import (
    PRICE,
    PROTOCOL_FEE_BPS,
    UNBONDING_DELAY,
    activate,
    buy,
    publish_asset,
    reverts,
    split,
)
from eth_utils import keccak

CURATOR_SHARE_BPS = 1000  # the `asset` fixture's
ADMIN_ROLE = b"\x00" * 32
PAUSER_ROLE = keccak(text="PAUSER_ROLE")


# ---------------------------------------------------------------- the split


def test_split_without_stakers_gives_curators_share_to_owner(
    registry, token, publisher, buyer, treasury, asset
):
    owner_part, curators, fee = split(PRICE, CURATOR_SHARE_BPS)
    assert fee == PRICE * PROTOCOL_FEE_BPS // 10_000 == 25 * 10**16
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    event = tx.events["RevenueSplit"]
    assert event["assetId"] == asset
    assert event["token"] == token
    assert event["owner"] == publisher
    assert event["ownerAmount"] == owner_part + curators == 975 * 10**16
    assert event["curatorAmount"] == 0
    assert event["protocolFee"] == fee
    assert registry.payoutBalance(publisher, token) == owner_part + curators
    assert registry.payoutBalance(treasury, token) == fee


def test_rounding_dust_of_one_payment_can_be_one_wei_per_staker(
    registry, token, publisher, buyer, curator, curator2, stranger
):
    """Why the stateful suite bounds dust by (1 + earning stakers) per distribution, not by 1:
    three stakes of 1 wei share a curators' cut of 2 wei. The registry sets aside
    ceil(floor(2e18 / 3) * 3 / 1e18) = 2 (at least what they can ever claim), each staker's
    claim is floor(floor(2e18 / 3) / 1e18) = 0: 2 wei stay behind after one payment. Nobody is
    owed them and the registry still holds everything it owes (the guarantee)."""
    asset_id = publish_asset(registry, token, publisher, "dust", curator_share_bps=5000)
    for staker in (curator, curator2, stranger):
        registry.stake(asset_id, 1, {"from": staker})
    activate(registry, asset_id, curator)
    for staker in (curator2, stranger):
        registry.activateStake(asset_id, staker, {"from": staker})
    held = token.balanceOf(registry)
    tx = registry.payRevenue(asset_id, token, 4, {"from": buyer})
    event = tx.events["RevenueSplit"]
    assert (event["ownerAmount"], event["curatorAmount"], event["protocolFee"]) == (2, 2, 0)
    assert all(registry.earned(asset_id, s, token) == 0 for s in (curator, curator2, stranger))
    owed_now = registry.payoutBalance(publisher, token)
    assert token.balanceOf(registry) - held == 4 == owed_now + 2  # 2 wei of dust, none owed


def test_split_with_stakers(registry, token, publisher, buyer, curator, treasury, asset):
    registry.stake(asset, 100 * 10**18, {"from": curator})
    activate(registry, asset, curator)
    owner_part, curators, fee = split(PRICE, CURATOR_SHARE_BPS)
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    event = tx.events["RevenueSplit"]
    assert (event["ownerAmount"], event["curatorAmount"], event["protocolFee"]) == (
        owner_part, curators, fee,
    )
    assert owner_part + curators + fee == PRICE
    assert registry.payoutBalance(publisher, token) == owner_part == 875 * 10**16
    assert registry.payoutBalance(treasury, token) == fee
    assert registry.earned(asset, curator, token) == curators == 10**18


def test_split_rounding_dust_goes_to_owner(registry, token, publisher, buyer, curator, asset):
    registry.stake(asset, 3 * 10**18, {"from": curator})
    activate(registry, asset, curator)
    owner_part, curators, _fee = split(PRICE, CURATOR_SHARE_BPS)
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    shared = (curators * 10**18 // (3 * 10**18)) * 3
    dust = curators - shared
    assert dust == 1
    event = tx.events["RevenueSplit"]
    assert (event["ownerAmount"], event["curatorAmount"]) == (owner_part + dust, shared)
    assert registry.earned(asset, curator, token) == shared
    # Everything paid is accounted for: nothing stuck in the registry.
    assert event["ownerAmount"] + event["curatorAmount"] + event["protocolFee"] == PRICE


def test_split_with_zero_curator_share(registry, token, publisher, buyer, curator):
    asset_id = publish_asset(registry, token, publisher, "no-curators", curator_share_bps=0)
    registry.stake(asset_id, 10**18, {"from": curator})
    activate(registry, asset_id, curator)
    tx = buy(registry, asset_id, 1, buyer, buyer, max_price=PRICE)
    event = tx.events["RevenueSplit"]
    assert (event["ownerAmount"], event["curatorAmount"]) == (PRICE - PRICE * 250 // 10_000, 0)
    assert registry.earned(asset_id, curator, token) == 0


def test_split_uses_the_current_fee_and_treasury(
    registry, token, admin, buyer, stranger, treasury, asset
):
    registry.setProtocolFee(1000, {"from": admin})
    registry.setTreasury(stranger, {"from": admin})
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert tx.events["RevenueSplit"]["protocolFee"] == PRICE // 10
    assert registry.payoutBalance(stranger, token) == PRICE // 10
    assert registry.payoutBalance(treasury, token) == 0


def test_new_treasury_cannot_take_fees_owed_to_the_old_one(
    registry, token, admin, publisher, buyer, stranger, treasury, asset
):
    """Protocol fees are kept in the payment token's slot (one warm write per sale) until the
    treasury withdraws; a new treasury gets only fees of sales after `setTreasury`."""
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    fee = PRICE * PROTOCOL_FEE_BPS // 10_000
    assert registry.payoutBalance(treasury, token) == fee
    registry.setTreasury(stranger, {"from": admin})
    assert registry.payoutBalance(treasury, token) == fee
    assert registry.payoutBalance(stranger, token) == 0
    with reverts("NothingToWithdraw"):
        registry.withdraw(token, {"from": stranger})
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert registry.payoutBalance(stranger, token) == fee
    assert registry.withdraw(token, {"from": treasury}).return_value == fee
    assert registry.withdraw(token, {"from": stranger}).return_value == fee
    for account in (treasury, stranger):
        assert registry.payoutBalance(account, token) == 0
        with reverts("NothingToWithdraw"):
            registry.withdraw(token, {"from": account})


def test_treasury_withdraws_fees_and_deposits_once(
    registry, token, buyer, treasury, asset
):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    registry.depositFor(treasury, token, 7, {"from": buyer})
    fee = PRICE * PROTOCOL_FEE_BPS // 10_000
    assert registry.payoutBalance(treasury, token) == fee + 7
    before = token.balanceOf(treasury)
    assert registry.withdraw(token, {"from": treasury}).return_value == fee + 7
    assert token.balanceOf(treasury) == before + fee + 7
    with reverts("NothingToWithdraw"):
        registry.withdraw(token, {"from": treasury})


def test_zero_fee(registry, token, admin, publisher, buyer, treasury, asset):
    registry.setProtocolFee(0, {"from": admin})
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert tx.events["RevenueSplit"]["protocolFee"] == 0
    assert registry.payoutBalance(publisher, token) == PRICE
    assert registry.payoutBalance(treasury, token) == 0


# ---------------------------------------------------------------- withdrawals


def test_withdraw(registry, token, publisher, buyer, asset):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    owed = registry.payoutBalance(publisher, token)
    before = token.balanceOf(publisher)
    tx = registry.withdraw(token, {"from": publisher})
    assert tx.return_value == owed
    event = tx.events["Withdrawn"]
    assert (event["account"], event["token"], event["to"], event["amount"]) == (
        publisher, token, publisher, owed,
    )
    assert token.balanceOf(publisher) == before + owed
    assert registry.payoutBalance(publisher, token) == 0
    with reverts("NothingToWithdraw"):
        registry.withdraw(token, {"from": publisher})


def test_withdraw_nothing_reverts(registry, token, stranger):
    with reverts("NothingToWithdraw"):
        registry.withdraw(token, {"from": stranger})
    with reverts("NothingToWithdraw"):
        registry.withdrawTo(token, stranger, {"from": stranger})


def test_withdraw_to(registry, token, publisher, buyer, stranger, treasury, asset):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    fee = registry.payoutBalance(treasury, token)
    before = token.balanceOf(stranger), token.balanceOf(treasury)
    with reverts("ZeroAddress"):
        registry.withdrawTo(token, ZERO_ADDRESS, {"from": treasury})
    tx = registry.withdrawTo(token, stranger, {"from": treasury})
    event = tx.events["Withdrawn"]
    assert (event["account"], event["to"], event["amount"]) == (treasury, stranger, fee)
    assert token.balanceOf(stranger) == before[0] + fee
    assert token.balanceOf(treasury) == before[1]
    assert registry.payoutBalance(treasury, token) == 0


def test_withdraw_after_token_disallowed(registry, token, admin, publisher, buyer, asset):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    registry.setPaymentToken(token, False, {"from": admin})
    assert registry.withdraw(token, {"from": publisher}).return_value > 0


# ---------------------------------------------------------------- payRevenue and depositFor


def test_pay_revenue_is_split_like_a_sale(registry, token, publisher, stranger, treasury, asset):
    amount = 40 * 10**18
    owner_part, curators, fee = split(amount, CURATOR_SHARE_BPS)
    before = token.balanceOf(stranger)
    tx = registry.payRevenue(asset, token, amount, {"from": stranger})
    event = tx.events["RevenueSplit"]
    assert (event["ownerAmount"], event["curatorAmount"], event["protocolFee"]) == (
        owner_part + curators, 0, fee,
    )
    assert token.balanceOf(stranger) == before - amount
    assert registry.payoutBalance(publisher, token) == owner_part + curators
    assert registry.payoutBalance(treasury, token) == fee


def test_pay_revenue_checks(registry, token, stranger, asset):
    with reverts("ZeroAmount"):
        registry.payRevenue(asset, token, 0, {"from": stranger})
    with reverts("UnknownAsset", 50):
        registry.payRevenue(50, token, 1, {"from": stranger})
    with reverts("TokenNotAllowed", stranger):
        registry.payRevenue(asset, stranger, 1, {"from": stranger})


def test_deposit_for(registry, token, buyer, stranger):
    before = token.balanceOf(buyer)
    tx = registry.depositFor(stranger, token, 7 * 10**18, {"from": buyer})
    event = tx.events["PayoutCredited"]
    assert (event["account"], event["token"], event["amount"]) == (stranger, token, 7 * 10**18)
    assert token.balanceOf(buyer) == before - 7 * 10**18
    assert registry.payoutBalance(stranger, token) == 7 * 10**18
    assert registry.withdraw(token, {"from": stranger}).return_value == 7 * 10**18


def test_deposit_for_checks(registry, token, buyer, stranger):
    with reverts("ZeroAddress"):
        registry.depositFor(ZERO_ADDRESS, token, 1, {"from": buyer})
    with reverts("ZeroAmount"):
        registry.depositFor(stranger, token, 0, {"from": buyer})
    with reverts("TokenNotAllowed", stranger):
        registry.depositFor(stranger, stranger, 1, {"from": buyer})


# ---------------------------------------------------------------- pause


def test_pause_stops_new_business_but_not_exits(
    registry, token, admin, publisher, buyer, curator, asset
):
    registry.stake(asset, 100 * 10**18, {"from": curator})
    activate(registry, asset, curator)
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    registry.requestUnstake(asset, 40 * 10**18, {"from": curator})
    tx = registry.pause({"from": admin})
    assert tx.events["Paused"]["account"] == admin
    assert registry.paused()

    with reverts("EnforcedPause"):
        publish_asset(registry, token, publisher, "paused")
    with reverts("EnforcedPause"):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    with reverts("EnforcedPause"):
        registry.payRevenue(asset, token, PRICE, {"from": buyer})
    with reverts("EnforcedPause"):
        registry.stake(asset, 10**18, {"from": curator})

    assert registry.withdraw(token, {"from": publisher}).return_value > 0
    registry.claim(asset, {"from": curator})
    registry.requestUnstake(asset, 60 * 10**18, {"from": curator})
    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    assert registry.withdrawStake(asset, {"from": curator}).return_value == 100 * 10**18

    registry.unpause({"from": admin})
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)


def test_only_pauser_pauses(registry, admin, stranger):
    with reverts("AccessControlUnauthorizedAccount", stranger, PAUSER_ROLE):
        registry.pause({"from": stranger})
    registry.grantRole(PAUSER_ROLE, stranger, {"from": admin})
    registry.pause({"from": stranger})
    with reverts("EnforcedPause"):
        registry.pause({"from": stranger})
    registry.revokeRole(PAUSER_ROLE, stranger, {"from": admin})
    with reverts("AccessControlUnauthorizedAccount", stranger, PAUSER_ROLE):
        registry.unpause({"from": stranger})
    registry.unpause({"from": admin})


# ---------------------------------------------------------------- admin


def test_set_protocol_fee(registry, admin, stranger):
    with reverts("AccessControlUnauthorizedAccount", stranger, ADMIN_ROLE):
        registry.setProtocolFee(100, {"from": stranger})
    with reverts("FeeTooHigh", 1001, 1000):
        registry.setProtocolFee(1001, {"from": admin})
    tx = registry.setProtocolFee(1000, {"from": admin})
    assert tx.events["ProtocolFeeSet"]["feeBps"] == 1000
    assert registry.config()[1] == 1000


def test_set_treasury(registry, admin, stranger):
    with reverts("AccessControlUnauthorizedAccount", stranger, ADMIN_ROLE):
        registry.setTreasury(stranger, {"from": stranger})
    with reverts("ZeroAddress"):
        registry.setTreasury(ZERO_ADDRESS, {"from": admin})
    tx = registry.setTreasury(stranger, {"from": admin})
    assert tx.events["TreasurySet"]["treasury"] == stranger
    assert registry.config()[0] == stranger


def test_set_payment_tokens_up_to_eight(registry, token, admin, stranger):
    with reverts("AccessControlUnauthorizedAccount", stranger, ADMIN_ROLE):
        registry.setPaymentToken(stranger, True, {"from": stranger})
    with reverts("ZeroAddress"):
        registry.setPaymentToken(ZERO_ADDRESS, True, {"from": admin})
    candidates = [accounts[i] for i in range(1, 9)]
    for candidate in candidates[:7]:
        tx = registry.setPaymentToken(candidate, True, {"from": admin})
        assert tx.events["PaymentTokenAllowed"]["allowed"] is True
    assert len(registry.paymentTokens()) == 8
    with reverts("TooManyPaymentTokens"):
        registry.setPaymentToken(candidates[7], True, {"from": admin})
    # Disallowing keeps the slot: re-allowing is free, and no slot is given back.
    tx = registry.setPaymentToken(candidates[0], False, {"from": admin})
    assert tx.events["PaymentTokenAllowed"]["allowed"] is False
    assert not registry.isPaymentToken(candidates[0])
    with reverts("TooManyPaymentTokens"):
        registry.setPaymentToken(candidates[7], True, {"from": admin})
    registry.setPaymentToken(candidates[0], True, {"from": admin})
    assert registry.isPaymentToken(candidates[0])
    assert registry.paymentTokens()[0] == token
    # Disallowing a token never allowed is a no-op.
    assert "PaymentTokenAllowed" not in registry.setPaymentToken(
        candidates[7], False, {"from": admin}
    ).events


def test_set_unbonding_delay(registry, admin, curator, stranger, asset):
    with reverts("AccessControlUnauthorizedAccount", stranger, ADMIN_ROLE):
        registry.setUnbondingDelay(1, {"from": stranger})
    tx = registry.setUnbondingDelay(2 * 24 * 3600, {"from": admin})
    assert tx.events["UnbondingDelaySet"]["delaySeconds"] == 2 * 24 * 3600
    assert registry.unbondingDelay() == 2 * 24 * 3600
    registry.stake(asset, 10**18, {"from": curator})
    request = registry.requestUnstake(asset, 10**18, {"from": curator})
    assert request.return_value == request.timestamp + 2 * 24 * 3600


def test_constructor_checks(AssetRegistry, token, admin, treasury):
    with reverts("FeeTooHigh", 1001, 1000):
        AssetRegistry.deploy(admin, treasury, 1001, 0, token, [token], {"from": admin})
    with reverts("ZeroAddress"):
        AssetRegistry.deploy(admin, ZERO_ADDRESS, 0, 0, token, [token], {"from": admin})
    with reverts("ZeroAddress"):
        AssetRegistry.deploy(ZERO_ADDRESS, treasury, 0, 0, token, [token], {"from": admin})
    with reverts("ZeroAddress"):
        AssetRegistry.deploy(admin, treasury, 0, 0, ZERO_ADDRESS, [token], {"from": admin})
