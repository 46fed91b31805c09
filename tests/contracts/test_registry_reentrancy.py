"""A hostile allowlisted token calls back into the registry from inside its transfers.

The attacker is the token contract itself (it acts as an account through `execute`), so every
call back comes from the same address that the registry is paying. Each inner call must revert
with ReentrancyGuardReentrantCall while the outer call pays exactly once.
"""

from __future__ import annotations

import pytest
from brownie import chain
from conftest import (
    DAY,
    MAX_UINT,
    PRICE,
    PROTOCOL_FEE_BPS,
    UNBONDING_DELAY,
    buy,
    cid,
    offer_input,
    offer_terms,
)
from eth_utils import keccak
from hexbytes import HexBytes

REENTRANT_CALL = keccak(text="ReentrancyGuardReentrantCall()")[:4]
STAKE = 100 * 10**18


@pytest.fixture(scope="module")
def rtoken(ReentrantToken, admin, buyer, publisher):
    deployed = ReentrantToken.deploy({"from": admin})
    for holder in (buyer, publisher):
        deployed.mint(holder, 1000 * PRICE, {"from": admin})
    deployed.mint(deployed, 1000 * PRICE, {"from": admin})
    return deployed


@pytest.fixture(scope="module")
def hostile_registry(AssetRegistry, rtoken, admin, treasury, buyer, publisher):
    """A registry whose payment and staking token is the hostile one."""
    deployed = AssetRegistry.deploy(
        admin, treasury, PROTOCOL_FEE_BPS, UNBONDING_DELAY, rtoken, [rtoken], {"from": admin}
    )
    for holder in (buyer, publisher):
        rtoken.approve(deployed, MAX_UINT, {"from": holder})
    rtoken.execute(rtoken, rtoken.approve.encode_input(deployed, MAX_UINT), {"from": admin})
    return deployed


@pytest.fixture(scope="module")
def hostile_asset(hostile_registry, rtoken, publisher):
    tx = hostile_registry.publish(
        0, cid("hostile"), cid("hostile-meta"), 1000, [offer_input(rtoken)], {"from": publisher}
    )
    return tx.return_value


def attack(rtoken, registry, outer, inner, sender):
    """`rtoken` calls `outer` on the registry and, from inside the transfer, `inner`."""
    rtoken.arm(registry, inner, {"from": sender})
    tx = rtoken.execute(registry, outer, {"from": sender})
    assert rtoken.hookRan()
    assert not rtoken.hookSucceeded()
    assert bytes(HexBytes(rtoken.hookReturn())) == REENTRANT_CALL
    assert tx.events["HookRan"]["success"] is False
    return tx


def test_reentrant_withdraw_pays_once(
    hostile_registry, rtoken, hostile_asset, buyer, publisher, admin
):
    registry = hostile_registry
    buy(registry, hostile_asset, 1, buyer, buyer, max_price=PRICE)  # the publisher's money too
    registry.depositFor(rtoken, rtoken, 5 * PRICE, {"from": buyer})
    held = rtoken.balanceOf(registry)
    own = rtoken.balanceOf(rtoken)
    call = registry.withdraw.encode_input(rtoken)
    tx = attack(rtoken, registry, call, call, admin)
    assert tx.events["Withdrawn"]["amount"] == 5 * PRICE
    assert rtoken.balanceOf(rtoken) == own + 5 * PRICE
    assert rtoken.balanceOf(registry) == held - 5 * PRICE
    assert registry.payoutBalance(rtoken, rtoken) == 0
    # The publisher's earnings are still there and still withdrawable.
    owed = registry.payoutBalance(publisher, rtoken)
    assert owed > 0
    assert registry.withdraw(rtoken, {"from": publisher}).return_value == owed


def test_reentrant_withdraw_to_pays_once(hostile_registry, rtoken, buyer, admin):
    registry = hostile_registry
    registry.depositFor(rtoken, rtoken, PRICE, {"from": buyer})
    own = rtoken.balanceOf(rtoken)
    attack(
        rtoken, registry,
        registry.withdrawTo.encode_input(rtoken, rtoken),
        registry.withdrawTo.encode_input(rtoken, rtoken),
        admin,
    )
    assert rtoken.balanceOf(rtoken) == own + PRICE


def test_reentrant_claim_pays_once(hostile_registry, rtoken, hostile_asset, buyer, admin):
    registry = hostile_registry
    rtoken.execute(registry, registry.stake.encode_input(hostile_asset, STAKE), {"from": admin})
    chain.sleep(UNBONDING_DELAY + 1)  # the stake's warm-up
    registry.activateStake(hostile_asset, rtoken, {"from": admin})
    buy(registry, hostile_asset, 1, buyer, buyer, max_price=PRICE)
    reward = registry.earned(hostile_asset, rtoken, rtoken)
    assert reward == PRICE // 10
    own = rtoken.balanceOf(rtoken)
    call = registry.claim.encode_input(hostile_asset)
    attack(rtoken, registry, call, call, admin)
    assert rtoken.balanceOf(rtoken) == own + reward
    assert registry.earned(hostile_asset, rtoken, rtoken) == 0


def test_reentrant_withdraw_stake_pays_once(hostile_registry, rtoken, hostile_asset, admin):
    registry = hostile_registry
    rtoken.execute(registry, registry.stake.encode_input(hostile_asset, STAKE), {"from": admin})
    rtoken.execute(
        registry, registry.requestUnstake.encode_input(hostile_asset, STAKE), {"from": admin}
    )
    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    own = rtoken.balanceOf(rtoken)
    call = registry.withdrawStake.encode_input(hostile_asset)
    attack(rtoken, registry, call, call, admin)
    assert rtoken.balanceOf(rtoken) == own + STAKE
    assert tuple(registry.stakeOf(hostile_asset, rtoken)) == (0, 0, 0)


def test_reentrant_buy_sells_once(hostile_registry, rtoken, hostile_asset, admin):
    registry = hostile_registry
    own = rtoken.balanceOf(rtoken)
    call = registry.buy.encode_input(
        hostile_asset, 1, rtoken, *offer_terms(registry, hostile_asset, 1)
    )
    tx = attack(rtoken, registry, call, call, admin)
    assert len(tx.events["LicensePurchased"]) == 1
    assert registry.licenseExpiry(hostile_asset, rtoken, 0) == tx.timestamp + 30 * DAY
    assert rtoken.balanceOf(rtoken) == own - PRICE


def test_withdraw_from_inside_a_purchase_reverts(
    hostile_registry, rtoken, hostile_asset, buyer, admin
):
    registry = hostile_registry
    registry.depositFor(rtoken, rtoken, PRICE, {"from": buyer})
    own = rtoken.balanceOf(rtoken)
    attack(
        rtoken, registry,
        registry.buy.encode_input(
            hostile_asset, 1, rtoken, *offer_terms(registry, hostile_asset, 1)
        ),
        registry.withdraw.encode_input(rtoken),
        admin,
    )
    assert rtoken.balanceOf(rtoken) == own - PRICE
    assert registry.payoutBalance(rtoken, rtoken) == PRICE
