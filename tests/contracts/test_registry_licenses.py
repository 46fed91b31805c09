"""AssetRegistry licenses: buy, permits, batches, grants, the license oracle and ERC-165."""

from __future__ import annotations

from typing import Any

from brownie import ZERO_ADDRESS, accounts, chain
from conftest import (
    COMPUTE,
    DAY,
    DOWNLOAD,
    MAX_UINT,
    PERPETUAL,
    PRICE,
    buy,
    offer_input,
    publish_asset,
    reverts,
)
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak

COMPUTE_PRICE = 25 * 10**18
MONTH = 30 * DAY
TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
PERMIT_TYPEHASH = keccak(
    text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def sign_permit(token: Any, owner: Any, spender: Any, value: int, deadline: int) -> tuple:
    """An EIP-2612 permit signed with `owner`'s private key, as the `Permit` struct tuple."""
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text="DataDAO Dev Token"), keccak(text="1"), chain.id,
             token.address],
        )
    )
    assert domain == bytes(token.DOMAIN_SEPARATOR())
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
            [PERMIT_TYPEHASH, owner.address, str(spender), value, token.nonces(owner), deadline],
        )
    )
    digest = keccak(b"\x19\x01" + domain + struct_hash)
    signed = Account.unsafe_sign_hash(digest, owner.private_key)
    return (value, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def fresh_account(token: Any, admin: Any) -> Any:
    """A new local account with 1000 DDT and 1 ETH and no allowance for anyone."""
    account = accounts.add()
    token.mint(account, 1000 * 10**18, {"from": admin})
    admin.transfer(account, 10**18)
    return account


def token_transfers_to(tx: Any, token: Any, to: Any) -> list[int]:
    """Amounts of every `token` Transfer log to `to` in `tx`."""
    return [
        int.from_bytes(bytes(log["data"]), "big")
        for log in tx.logs
        if log["address"] == token.address
        and bytes(log["topics"][0]) == TRANSFER_TOPIC
        and bytes(log["topics"][2])[-20:] == bytes.fromhex(str(to)[2:])
    ]


# ---------------------------------------------------------------- buy


def test_buy_pulls_payment_and_records_license(registry, token, buyer, asset):
    before = token.balanceOf(buyer), token.balanceOf(registry)
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert token.balanceOf(buyer) == before[0] - PRICE
    assert token.balanceOf(registry) == before[1] + PRICE
    assert tx.return_value == tx.timestamp + MONTH
    event = tx.events["LicensePurchased"]
    assert event["assetId"] == asset
    assert event["offerId"] == 1
    assert event["licensee"] == buyer
    assert event["buyer"] == buyer
    assert event["scope"] == DOWNLOAD
    assert event["token"] == token
    assert event["price"] == PRICE
    assert event["expiresAt"] == tx.timestamp + MONTH
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == tx.timestamp + MONTH
    assert registry.hasLicense(asset, buyer, DOWNLOAD)
    assert not registry.hasLicense(asset, buyer, COMPUTE)


def test_buy_price_above_max_reverts(registry, buyer, asset):
    with reverts("PriceAboveMax", PRICE, PRICE - 1):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE - 1)
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE + 1)  # a higher max is fine


def test_buy_inactive_offer_reverts(registry, publisher, buyer, asset):
    registry.setOfferActive(asset, 1, False, {"from": publisher})
    with reverts("OfferInactive", asset, 1):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)


def test_buy_retired_reverts(registry, publisher, buyer, asset):
    registry.retire(asset, {"from": publisher})
    with reverts("AssetIsRetired", asset):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)


def test_buy_unknown_asset_or_offer_reverts(registry, token, buyer, asset):
    with reverts("UnknownAsset", 42):
        buy(registry, 42, 1, buyer, buyer, terms=(token, PRICE, MONTH, DOWNLOAD))
    with reverts("UnknownOffer", asset, 3):
        buy(registry, asset, 3, buyer, buyer, terms=(token, PRICE, MONTH, DOWNLOAD))
    with reverts("UnknownOffer", asset, 0):
        buy(registry, asset, 0, buyer, buyer, terms=(token, PRICE, MONTH, DOWNLOAD))


def test_buy_zero_licensee_reverts(registry, buyer, asset):
    with reverts("ZeroAddress"):
        buy(registry, asset, 1, ZERO_ADDRESS, buyer, max_price=PRICE)


def test_buy_disallowed_token_reverts(registry, token, admin, buyer, asset):
    registry.setPaymentToken(token, False, {"from": admin})
    with reverts("TokenNotAllowed", token):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)


def test_buy_when_paused_reverts(registry, admin, buyer, asset):
    registry.pause({"from": admin})
    with reverts("EnforcedPause"):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)


def test_buy_without_allowance_reverts(registry, token, admin, asset):
    poor = fresh_account(token, admin)
    with reverts("ERC20InsufficientAllowance", registry, 0, PRICE):
        buy(registry, asset, 1, poor, poor, max_price=PRICE)


def test_buy_for_someone_else(registry, token, buyer, stranger, asset):
    before = token.balanceOf(buyer), token.balanceOf(stranger)
    tx = buy(registry, asset, 2, stranger, buyer, max_price=COMPUTE_PRICE)
    event = tx.events["LicensePurchased"]
    assert (event["licensee"], event["buyer"], event["scope"]) == (stranger, buyer, COMPUTE)
    assert token.balanceOf(buyer) == before[0] - COMPUTE_PRICE
    assert token.balanceOf(stranger) == before[1]
    assert registry.hasLicense(asset, stranger, COMPUTE)
    assert not registry.hasLicense(asset, buyer, COMPUTE)


def test_buy_extends_running_license_from_its_end(registry, buyer, asset):
    first = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    end = first.timestamp + MONTH
    chain.sleep(10 * DAY)
    chain.mine()
    second = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert second.return_value == end + MONTH
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == end + MONTH


def test_buy_after_expiry_starts_from_now(registry, buyer, asset):
    first = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    chain.sleep(MONTH + DAY)
    chain.mine()
    assert not registry.hasLicense(asset, buyer, DOWNLOAD)
    # The lapsed end stays readable.
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == first.timestamp + MONTH
    second = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert second.return_value == second.timestamp + MONTH
    assert registry.hasLicense(asset, buyer, DOWNLOAD)


def test_license_expires(registry, buyer, asset):
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    chain.sleep(tx.timestamp + MONTH - 60 - chain[-1].timestamp)
    chain.mine()
    assert registry.hasLicense(asset, buyer, DOWNLOAD)
    chain.sleep(120)
    chain.mine()
    assert not registry.hasLicense(asset, buyer, DOWNLOAD)


def test_perpetual_license(registry, buyer, asset):
    tx = buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    assert tx.return_value == PERPETUAL
    assert tx.events["LicensePurchased"]["expiresAt"] == PERPETUAL
    chain.sleep(3650 * DAY)
    chain.mine()
    assert registry.hasLicense(asset, buyer, COMPUTE)
    again = buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    assert again.return_value == PERPETUAL


def test_timed_offer_after_perpetual_stays_perpetual(registry, token, publisher, buyer, asset):
    registry.setOffer(asset, 3, offer_input(token, PRICE, DAY, COMPUTE), {"from": publisher})
    buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    tx = buy(registry, asset, 3, buyer, buyer, max_price=PRICE)
    assert tx.return_value == PERPETUAL


def test_free_offer_moves_no_tokens(registry, token, publisher, buyer, asset):
    registry.setOffer(asset, 3, offer_input(token, 0, DAY), {"from": publisher})
    before = token.balanceOf(buyer)
    tx = buy(registry, asset, 3, buyer, buyer, max_price=0)
    assert token.balanceOf(buyer) == before
    assert "RevenueSplit" not in tx.events
    assert registry.hasLicense(asset, buyer, DOWNLOAD)


# ---------------------------------------------------------------- permits


def test_buy_with_permit(registry, token, admin, asset):
    fresh = fresh_account(token, admin)
    assert token.allowance(fresh, registry) == 0
    permit = sign_permit(token, fresh, registry, PRICE, chain[-1].timestamp + 3600)
    tx = registry.buyWithPermit(
        asset, 1, fresh, token, PRICE, MONTH, DOWNLOAD, permit, {"from": fresh}
    )
    assert tx.return_value == tx.timestamp + MONTH
    assert token.balanceOf(fresh) == 1000 * 10**18 - PRICE
    assert token.nonces(fresh) == 1
    assert token.allowance(fresh, registry) == 0
    assert registry.hasLicense(asset, fresh, DOWNLOAD)


def test_buy_with_front_run_permit_still_succeeds(registry, token, admin, stranger, asset):
    fresh = fresh_account(token, admin)
    value, deadline, v, r, s = permit = sign_permit(
        token, fresh, registry, 2 * PRICE, chain[-1].timestamp + 3600
    )
    # Someone copies the permit from the mempool and submits it first.
    token.permit(fresh, registry, value, deadline, v, r, s, {"from": stranger})
    assert token.allowance(fresh, registry) == 2 * PRICE
    tx = registry.buyWithPermit(
        asset, 1, fresh, token, PRICE, MONTH, DOWNLOAD, permit, {"from": fresh}
    )
    assert tx.events["LicensePurchased"]["licensee"] == fresh
    assert token.allowance(fresh, registry) == PRICE


def test_buy_with_failed_permit_and_no_allowance_reverts(registry, token, admin, asset):
    fresh = fresh_account(token, admin)
    expired = sign_permit(token, fresh, registry, PRICE, chain[-1].timestamp - 1)
    with reverts("ERC20InsufficientAllowance", registry, 0, PRICE):
        registry.buyWithPermit(
            asset, 1, fresh, token, PRICE, MONTH, DOWNLOAD, expired, {"from": fresh}
        )
    assert not registry.hasLicense(asset, fresh, DOWNLOAD)


def test_buy_with_permit_signed_by_someone_else_reverts(registry, token, admin, asset):
    fresh = fresh_account(token, admin)
    other = fresh_account(token, admin)
    permit = sign_permit(token, other, registry, PRICE, chain[-1].timestamp + 3600)
    with reverts("ERC20InsufficientAllowance", registry, 0, PRICE):
        registry.buyWithPermit(
            asset, 1, fresh, token, PRICE, MONTH, DOWNLOAD, permit, {"from": fresh}
        )


# ---------------------------------------------------------------- buyMany


def _five_assets(registry, token, publisher):
    return [publish_asset(registry, token, publisher, f"batch-{n}") for n in range(5)]


def test_buy_many_pays_once_per_token_run(registry, token, publisher, buyer, stranger):
    ids = _five_assets(registry, token, publisher)
    orders = [
        (asset_id, 1, stranger if n == 2 else buyer, token, PRICE, MONTH, DOWNLOAD)
        for n, asset_id in enumerate(ids)
    ]
    before = token.balanceOf(buyer)
    tx = registry.buyMany(orders, {"from": buyer})
    assert token_transfers_to(tx, token, registry) == [5 * PRICE]
    assert token.balanceOf(buyer) == before - 5 * PRICE
    assert len(tx.events["LicensePurchased"]) == 5
    assert len(tx.events["RevenueSplit"]) == 5
    for n, asset_id in enumerate(ids):
        assert registry.hasLicense(asset_id, stranger if n == 2 else buyer, DOWNLOAD)


def test_buy_many_groups_consecutive_orders_per_token(
    registry, token, TestToken, admin, publisher, buyer
):
    other = TestToken.deploy("Other Token", "OTH", {"from": admin})
    other.mint(buyer, 100 * PRICE, {"from": admin})
    other.approve(registry, MAX_UINT, {"from": buyer})
    registry.setPaymentToken(other, True, {"from": admin})
    ddt = [publish_asset(registry, token, publisher, f"d{n}") for n in range(3)]
    oth = [
        publish_asset(registry, token, publisher, f"o{n}", offers=[offer_input(other, 2 * PRICE)])
        for n in range(2)
    ]
    orders = [
        (ddt[0], 1, buyer, token, PRICE, MONTH, DOWNLOAD),
        (ddt[1], 1, buyer, token, PRICE, MONTH, DOWNLOAD),
        (oth[0], 1, buyer, other, 2 * PRICE, MONTH, DOWNLOAD),
        (oth[1], 1, buyer, other, 2 * PRICE, MONTH, DOWNLOAD),
        (ddt[2], 1, buyer, token, PRICE, MONTH, DOWNLOAD),
    ]
    tx = registry.buyMany(orders, {"from": buyer})
    assert token_transfers_to(tx, token, registry) == [2 * PRICE, PRICE]
    assert token_transfers_to(tx, other, registry) == [4 * PRICE]


def test_buy_many_reverts_atomically(registry, token, publisher, buyer):
    ids = _five_assets(registry, token, publisher)
    registry.setOfferActive(ids[3], 1, False, {"from": publisher})
    orders = [(asset_id, 1, buyer, token, PRICE, MONTH, DOWNLOAD) for asset_id in ids]
    before = token.balanceOf(buyer), registry.payoutBalance(publisher, token)
    with reverts("OfferInactive", ids[3], 1):
        registry.buyMany(orders, {"from": buyer})
    assert (token.balanceOf(buyer), registry.payoutBalance(publisher, token)) == before
    for asset_id in ids:
        assert registry.licenseExpiry(asset_id, buyer, DOWNLOAD) == 0

    orders[3] = (ids[3], 5, buyer, token, PRICE, MONTH, DOWNLOAD)
    with reverts("UnknownOffer", ids[3], 5):
        registry.buyMany(orders, {"from": buyer})
    orders[3] = (ids[3], 1, buyer, token, 1, MONTH, DOWNLOAD)
    registry.setOfferActive(ids[3], 1, True, {"from": publisher})
    with reverts("PriceAboveMax", PRICE, 1):
        registry.buyMany(orders, {"from": buyer})


def test_buy_many_empty_reverts(registry, buyer):
    with reverts("EmptyOrder"):
        registry.buyMany([], {"from": buyer})


def test_buy_many_when_paused_reverts(registry, token, admin, buyer, asset):
    registry.pause({"from": admin})
    with reverts("EnforcedPause"):
        registry.buyMany([(asset, 1, buyer, token, PRICE, MONTH, DOWNLOAD)], {"from": buyer})


def test_buy_many_with_permit(registry, token, admin, publisher):
    ids = _five_assets(registry, token, publisher)
    fresh = fresh_account(token, admin)
    permit = sign_permit(token, fresh, registry, 5 * PRICE, chain[-1].timestamp + 3600)
    orders = [(asset_id, 1, fresh, token, PRICE, MONTH, DOWNLOAD) for asset_id in ids]
    tx = registry.buyManyWithPermit(orders, token, permit, {"from": fresh})
    assert token_transfers_to(tx, token, registry) == [5 * PRICE]
    assert token.balanceOf(fresh) == 1000 * 10**18 - 5 * PRICE
    assert all(registry.hasLicense(asset_id, fresh, DOWNLOAD) for asset_id in ids)


def test_buy_many_with_permit_too_small_reverts(registry, token, admin, publisher):
    ids = _five_assets(registry, token, publisher)
    fresh = fresh_account(token, admin)
    permit = sign_permit(token, fresh, registry, 4 * PRICE, chain[-1].timestamp + 3600)
    orders = [(asset_id, 1, fresh, token, PRICE, MONTH, DOWNLOAD) for asset_id in ids]
    with reverts("ERC20InsufficientAllowance", registry, 4 * PRICE, 5 * PRICE):
        registry.buyManyWithPermit(orders, token, permit, {"from": fresh})


# ---------------------------------------------------------------- grants


def test_grant_and_revoke(registry, publisher, stranger, asset):
    expires = chain[-1].timestamp + 10 * DAY
    tx = registry.grant(asset, stranger, COMPUTE, expires, {"from": publisher})
    event = tx.events["LicenseGranted"]
    assert (event["assetId"], event["licensee"], event["scope"], event["expiresAt"]) == (
        asset, stranger, COMPUTE, expires,
    )
    assert registry.hasLicense(asset, stranger, COMPUTE)
    assert registry.licenseExpiry(asset, stranger, COMPUTE) == expires
    assert not registry.hasLicense(asset, stranger, DOWNLOAD)

    tx = registry.revokeGrant(asset, stranger, COMPUTE, {"from": publisher})
    event = tx.events["LicenseGrantRevoked"]
    assert (event["assetId"], event["licensee"], event["scope"]) == (asset, stranger, COMPUTE)
    assert not registry.hasLicense(asset, stranger, COMPUTE)
    assert registry.licenseExpiry(asset, stranger, COMPUTE) == 0


def test_grant_expires(registry, publisher, stranger, asset):
    registry.grant(asset, stranger, DOWNLOAD, chain[-1].timestamp + DAY, {"from": publisher})
    chain.sleep(DAY + 10)
    chain.mine()
    assert not registry.hasLicense(asset, stranger, DOWNLOAD)


def test_perpetual_grant(registry, publisher, stranger, asset):
    registry.grant(asset, stranger, DOWNLOAD, PERPETUAL, {"from": publisher})
    assert registry.licenseExpiry(asset, stranger, DOWNLOAD) == PERPETUAL


def test_revoking_grant_leaves_bought_license(registry, publisher, buyer, asset):
    bought = buy(registry, asset, 1, buyer, buyer, max_price=PRICE).return_value
    longer = bought + 100 * DAY
    registry.grant(asset, buyer, DOWNLOAD, longer, {"from": publisher})
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == longer
    registry.revokeGrant(asset, buyer, DOWNLOAD, {"from": publisher})
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == bought
    assert registry.hasLicense(asset, buyer, DOWNLOAD)


def test_grant_does_not_extend_purchase(registry, publisher, buyer, asset):
    registry.grant(asset, buyer, DOWNLOAD, chain[-1].timestamp + 100 * DAY, {"from": publisher})
    tx = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert tx.return_value == tx.timestamp + MONTH


def test_grant_in_the_past_reverts(registry, publisher, stranger, asset):
    past = chain[-1].timestamp - 10
    with reverts("GrantExpired", past):
        registry.grant(asset, stranger, DOWNLOAD, past, {"from": publisher})
    with reverts("GrantExpired", 0):
        registry.grant(asset, stranger, DOWNLOAD, 0, {"from": publisher})


def test_grant_checks(registry, publisher, stranger, asset):
    later = chain[-1].timestamp + DAY
    with reverts("ZeroAddress"):
        registry.grant(asset, ZERO_ADDRESS, DOWNLOAD, later, {"from": publisher})
    with reverts("NotAssetOwner", asset, stranger):
        registry.grant(asset, stranger, DOWNLOAD, later, {"from": stranger})
    with reverts("NotAssetOwner", asset, stranger):
        registry.revokeGrant(asset, stranger, DOWNLOAD, {"from": stranger})
    with reverts("UnknownAsset", 77):
        registry.grant(77, stranger, DOWNLOAD, later, {"from": publisher})


# ---------------------------------------------------------------- oracle views and ERC-165


def test_license_views_without_license(registry, stranger, asset):
    assert registry.licenseExpiry(asset, stranger, DOWNLOAD) == 0
    assert not registry.hasLicense(asset, stranger, COMPUTE)
    assert registry.licenseExpiry(999, stranger, COMPUTE) == 0


def test_unknown_scope_reverts(registry, buyer, asset):
    with reverts("UnknownScope", 2):
        registry.hasLicense(asset, buyer, 2)
    with reverts("UnknownScope", 255):
        registry.licenseExpiry(asset, buyer, 255)


def _selector(signature: str) -> int:
    return int.from_bytes(function_signature_to_4byte_selector(signature), "big")


def test_supports_interface(registry):
    oracle_id = _selector("hasLicense(uint256,address,uint8)") ^ _selector(
        "licenseExpiry(uint256,address,uint8)"
    )
    assert registry.supportsInterface(oracle_id.to_bytes(4, "big"))
    assert registry.supportsInterface("0x80ac58cd")  # ERC-721
    assert registry.supportsInterface("0x5b5e139f")  # ERC-721 metadata
    assert registry.supportsInterface("0x01ffc9a7")  # ERC-165
    assert registry.supportsInterface("0x7965db0b")  # AccessControl
    assert not registry.supportsInterface("0xdeadbeef")
    assert not registry.supportsInterface("0xffffffff")


def test_buy_without_terms_does_not_exist(registry):
    # the pre-issue-13 buy(asset, offer, licensee, maxPrice) let an owner change terms under a buyer
    assert [len(item["inputs"]) for item in registry.abi if item.get("name") == "buy"] == [7]


def test_buy_with_permit_checks_the_terms(registry, token, admin, publisher, asset):
    fresh = fresh_account(token, admin)
    permit = sign_permit(token, fresh, registry, PRICE, chain[-1].timestamp + 3600)
    registry.setOffer(asset, 1, (token, PRICE, DAY, DOWNLOAD), {"from": publisher})
    with reverts("OfferTermsChanged", asset, 1):
        registry.buyWithPermit(
            asset, 1, fresh, token, PRICE, MONTH, DOWNLOAD, permit, {"from": fresh}
        )
