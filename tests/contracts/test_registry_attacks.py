"""Attacks on AssetRegistry (issue 13, Contracts III): each test is named after the attack, failed
on the code before its fix and shows the party it protects keeps what it is owed."""

from __future__ import annotations

from typing import Any

from conftest import (
    COMPUTE,
    DAY,
    DOWNLOAD,
    MAX_UINT,
    MIN_UNBONDING_DELAY,
    PRICE,
    UNBONDING_DELAY,
    activate,
    buy,
    offer_input,
    offer_terms,
    publish_asset,
    reverts,
    split,
    wait,
)

CURATORS_PER_SALE = split(PRICE, 1000)[1]
STAKE = 100 * 10**18


def _legacy(fn: Any) -> bool:
    return not hasattr(fn, "methods") and len(fn.abi["inputs"]) == 4


def buy_as_seen(registry: Any, asset_id: int, offer_id: int, buyer: Any, seen: tuple) -> Any:
    """The buyer's transaction built from the offer it read (`seen`), sent after the owner's."""
    if _legacy(registry.buy):  # the code before the fix: only a price bound
        return registry.buy(asset_id, offer_id, buyer, seen[1], {"from": buyer})
    return buy(registry, asset_id, offer_id, buyer, buyer, seen)


def other_token(TestToken: Any, registry: Any, admin: Any, holders: list[Any]) -> Any:
    other = TestToken.deploy("Other Token", "OTH", {"from": admin})
    registry.setPaymentToken(other, True, {"from": admin})
    for holder in holders:
        other.mint(holder, 1000 * PRICE, {"from": admin})
        other.approve(registry, MAX_UINT, {"from": holder})
    return other


# ---- 3. offer terms change under a buyer

def test_attack_offer_duration_frontrun_gives_one_second_license(
    registry, token, publisher, buyer, asset
):
    seen = offer_terms(registry, asset, 1)  # 30 days of DOWNLOAD for 10 DDT
    registry.setOffer(asset, 1, offer_input(token, PRICE, 1, DOWNLOAD), {"from": publisher})
    before = token.balanceOf(buyer)
    with reverts("OfferTermsChanged", asset, 1):
        buy_as_seen(registry, asset, 1, buyer, seen)
    assert token.balanceOf(buyer) == before
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == 0


def test_attack_offer_scope_frontrun_sells_compute_instead_of_download(
    registry, token, publisher, buyer, asset
):
    seen = offer_terms(registry, asset, 1)
    registry.setOffer(asset, 1, offer_input(token, PRICE, 30 * DAY, COMPUTE), {"from": publisher})
    with reverts("OfferTermsChanged", asset, 1):
        buy_as_seen(registry, asset, 1, buyer, seen)
    assert registry.licenseExpiry(asset, buyer, COMPUTE) == 0


def test_attack_offer_token_frontrun_charges_another_token(
    registry, token, TestToken, admin, publisher, buyer, asset
):
    other = other_token(TestToken, registry, admin, [buyer])
    seen = offer_terms(registry, asset, 1)
    registry.setOffer(asset, 1, offer_input(other, PRICE), {"from": publisher})
    before = other.balanceOf(buyer)
    with reverts("OfferTermsChanged", asset, 1):
        buy_as_seen(registry, asset, 1, buyer, seen)
    assert other.balanceOf(buyer) == before


def test_attack_offer_frontrun_inside_buy_many(registry, token, publisher, buyer, asset):
    second = publish_asset(registry, token, publisher, "second")
    seen = [offer_terms(registry, a, 1) for a in (asset, second)]
    registry.setOffer(second, 1, offer_input(token, PRICE, 1, DOWNLOAD), {"from": publisher})
    components = registry.buyMany.abi["inputs"][0]["components"]
    if len(components) == 4:  # the code before the fix
        orders = [(a, 1, buyer, s[1]) for a, s in zip((asset, second), seen, strict=True)]
    else:
        orders = [(a, 1, buyer, *s) for a, s in zip((asset, second), seen, strict=True)]
    with reverts("OfferTermsChanged", second, 1):
        registry.buyMany(orders, {"from": buyer})


# ---- 5. curation rewards taken just in time

def test_attack_just_in_time_stake_takes_curation_reward(
    registry, token, buyer, curator, stranger, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    wait(30 * DAY)
    activate(registry, asset, curator)  # a curator of 30 days
    registry.stake(asset, 99 * STAKE, {"from": stranger})  # the block before a large payment
    registry.payRevenue(asset, token, 100_000 * 10**18, {"from": buyer})  # curators: 10,000 DDT
    registry.requestUnstake(asset, 99 * STAKE, {"from": stranger})
    assert registry.earned(asset, stranger, token) == 0
    assert registry.earned(asset, curator, token) == 10_000 * 10**18


def test_attack_zero_unbonding_delay_allows_flash_stake(
    AssetRegistry, registry, token, admin, treasury
):
    with reverts("UnbondingDelayTooShort", 0, MIN_UNBONDING_DELAY):
        AssetRegistry.deploy(admin, treasury, 250, 0, token, [token], {"from": admin})
    with reverts("UnbondingDelayTooShort", 0, MIN_UNBONDING_DELAY):
        registry.setUnbondingDelay(0, {"from": admin})


# ---- 6. rounding makes the registry insolvent

def test_attack_rounding_makes_registry_insolvent(
    registry, token, TestToken, admin, publisher, buyer, curator
):
    other = other_token(TestToken, registry, admin, [buyer])
    # 2 wei a sale, half to curators: 1 wei shared over a stake of 3 wei every time.
    asset = publish_asset(registry, token, publisher, "dust", 5000, [offer_input(other, 2)])
    registry.stake(asset, 3, {"from": curator})
    activate(registry, asset, curator)
    for _ in range(10):
        buy_as_seen(registry, asset, 1, buyer, offer_terms(registry, asset, 1))
    owed = registry.earned(asset, curator, other)
    registry.withdraw(other, {"from": publisher})
    registry.claim(asset, {"from": curator})  # the last withdrawal: reverted before the fix
    assert other.balanceOf(curator) == owed == 9
    assert 0 <= other.balanceOf(registry) <= 10  # dust: under one wei per distribution


# ---- 10. claims, curator share, broken tokens

def test_attack_curator_share_cut_before_sale_robs_bonded_curators(
    registry, token, publisher, buyer, curator, asset
):
    registry.stake(asset, STAKE, {"from": curator})
    activate(registry, asset, curator)
    registry.setCuratorShare(asset, 0, {"from": publisher})  # front-runs a sale
    buy_as_seen(registry, asset, 1, buyer, offer_terms(registry, asset, 1))
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    wait(UNBONDING_DELAY + 1)  # curators could have left by now
    buy_as_seen(registry, asset, 1, buyer, offer_terms(registry, asset, 1))
    assert registry.earned(asset, curator, token) == CURATORS_PER_SALE
    assert registry.assetInfo(asset)[2] == 0


def test_attack_reverting_payment_token_blocks_claim_of_every_token(
    registry, token, BrokenToken, admin, publisher, buyer, curator, stranger, asset
):
    broken = BrokenToken.deploy({"from": admin})
    broken.mint(buyer, 100 * PRICE, {"from": admin})
    broken.approve(registry, MAX_UINT, {"from": buyer})
    registry.setPaymentToken(broken, True, {"from": admin})
    registry.setOffer(asset, 3, offer_input(broken, PRICE), {"from": publisher})
    registry.stake(asset, STAKE, {"from": curator})
    activate(registry, asset, curator)
    buy_as_seen(registry, asset, 1, buyer, offer_terms(registry, asset, 1))
    buy_as_seen(registry, asset, 3, buyer, offer_terms(registry, asset, 3))
    broken.setBroken(True, {"from": admin})

    before = token.balanceOf(stranger)
    tx = registry.claimReward(asset, token, stranger, {"from": curator})
    assert tx.return_value == CURATORS_PER_SALE
    assert token.balanceOf(stranger) == before + CURATORS_PER_SALE
    broken.setBroken(False, {"from": admin})
    registry.claimReward(asset, broken, curator, {"from": curator})
    assert broken.balanceOf(curator) == CURATORS_PER_SALE
