"""AssetRegistry assets: publish, versions, offers, retire, curator share, who may manage."""

from __future__ import annotations

from brownie import ZERO_ADDRESS, chain
from conftest import (
    COMPUTE,
    DAG_PB,
    DAY,
    DOWNLOAD,
    MODEL,
    PRICE,
    PROTOCOL_FEE_BPS,
    as_cid,
    buy,
    cid,
    offer_input,
    publish_asset,
    reverts,
    split,
)

# ---------------------------------------------------------------- publish


def test_publish_mints_ids_from_one(AssetRegistry, token, admin, treasury, publisher, stranger):
    registry = AssetRegistry.deploy(
        admin, treasury, PROTOCOL_FEE_BPS, DAY, token, [token], {"from": admin}
    )
    assert registry.assetCount() == 0
    first = publish_asset(registry, token, publisher, "a")
    second = publish_asset(registry, token, stranger, "b")
    assert (first, second) == (1, 2)
    assert registry.assetCount() == 2
    assert registry.ownerOf(1) == publisher
    assert registry.ownerOf(2) == stranger
    assert registry.balanceOf(publisher) == 1


def test_publish_emits_event_and_stores_info(registry, token, publisher):
    offers = [offer_input(token), offer_input(token, 25 * 10**18, 0, COMPUTE)]
    new_id = registry.assetCount() + 1
    tx = registry.publish(
        MODEL, cid("content-x", DAG_PB), cid("metadata-x"), 1234, offers, {"from": publisher}
    )
    assert tx.return_value == new_id
    event = tx.events["AssetPublished"]
    assert event["assetId"] == new_id
    assert event["owner"] == publisher
    assert event["kind"] == MODEL
    assert as_cid(event["content"]) == cid("content-x", DAG_PB)
    assert as_cid(event["metadata"]) == cid("metadata-x")
    assert event["curatorShareBps"] == 1234
    assert tx.events["Transfer"]["from"] == ZERO_ADDRESS
    assert tx.events["Transfer"]["to"] == publisher
    offer_events = tx.events["OfferSet"]
    assert len(offer_events) == 2
    assert [e["offerId"] for e in offer_events] == [1, 2]
    assert offer_events[1]["price"] == 25 * 10**18
    assert offer_events[1]["duration"] == 0
    assert offer_events[1]["scope"] == COMPUTE
    assert offer_events[1]["active"] is True

    assert tuple(registry.assetInfo(new_id)) == (MODEL, False, 1234, 1, 2)
    assert tuple(registry.offer(new_id, 1)) == (token.address, PRICE, 30 * DAY, DOWNLOAD, True)
    assert tuple(registry.offer(new_id, 2)) == (token.address, 25 * 10**18, 0, COMPUTE, True)
    first = registry.version(new_id, 1)
    assert as_cid(first[0]) == cid("content-x", DAG_PB)
    assert as_cid(first[1]) == cid("metadata-x")
    assert first[2] == tx.timestamp
    assert registry.latestVersion(new_id) == first


def test_publish_without_offers_reverts(registry, publisher):
    with reverts("NoOffers"):
        registry.publish(0, cid("c"), cid("m"), 0, [], {"from": publisher})


def test_publish_zero_digest_reverts(registry, token, publisher):
    zero = (b"\x00" * 32, 0x55)
    with reverts("InvalidCid"):
        registry.publish(0, zero, cid("m"), 0, [offer_input(token)], {"from": publisher})
    with reverts("InvalidCid"):
        registry.publish(0, cid("c"), zero, 0, [offer_input(token)], {"from": publisher})


def test_publish_curator_share_limit(registry, token, publisher):
    with reverts("CuratorShareTooHigh", 5001, 5000):
        registry.publish(0, cid("c"), cid("m"), 5001, [offer_input(token)], {"from": publisher})
    tx = registry.publish(0, cid("c"), cid("m"), 5000, [offer_input(token)], {"from": publisher})
    assert registry.assetInfo(tx.return_value)[2] == 5000


def test_publish_disallowed_token_reverts(registry, token, admin, publisher, stranger):
    with reverts("TokenNotAllowed", stranger):
        registry.publish(0, cid("c"), cid("m"), 0, [(stranger, PRICE, 0, 0)], {"from": publisher})
    registry.setPaymentToken(token, False, {"from": admin})
    count = registry.assetCount()
    with reverts("TokenNotAllowed", token):
        registry.publish(0, cid("c"), cid("m"), 0, [offer_input(token)], {"from": publisher})
    assert registry.assetCount() == count


def test_publish_when_paused_reverts(registry, token, admin, publisher):
    registry.pause({"from": admin})
    with reverts("EnforcedPause"):
        publish_asset(registry, token, publisher)
    registry.unpause({"from": admin})
    assert publish_asset(registry, token, publisher) == registry.assetCount()


def test_unknown_asset_views_revert(registry, asset):
    with reverts("UnknownAsset", 7):
        registry.assetInfo(7)
    with reverts("UnknownAsset", 7):
        registry.latestVersion(7)
    with reverts("UnknownAsset", 7):
        registry.offer(7, 1)
    with reverts("UnknownOffer", asset, 3):
        registry.offer(asset, 3)
    with reverts("UnknownOffer", asset, 0):
        registry.offer(asset, 0)


# ---------------------------------------------------------------- versions


def test_add_version_keeps_history(registry, publisher, asset):
    chain.sleep(100)
    chain.mine()
    tx = registry.addVersion(
        asset, cid("content-2"), cid("metadata-2", DAG_PB), {"from": publisher}
    )
    assert tx.return_value == 2
    event = tx.events["VersionAdded"]
    assert (event["assetId"], event["version"]) == (asset, 2)
    assert as_cid(event["content"]) == cid("content-2")
    assert as_cid(event["metadata"]) == cid("metadata-2", DAG_PB)
    assert registry.addVersion(asset, cid("c3"), cid("m3"), {"from": publisher}).return_value == 3

    assert registry.assetInfo(asset)[3] == 3
    first, second, third = (registry.version(asset, n) for n in (1, 2, 3))
    assert as_cid(first[0]) == cid("content-1")
    assert as_cid(second[0]) == cid("content-2")
    assert as_cid(second[1]) == cid("metadata-2", DAG_PB)
    assert second[2] == tx.timestamp
    assert second[2] > first[2]
    assert as_cid(third[0]) == cid("c3")
    assert registry.latestVersion(asset) == third
    with reverts("UnknownVersion", asset, 4):
        registry.version(asset, 4)
    with reverts("UnknownVersion", asset, 0):
        registry.version(asset, 0)


def test_add_version_only_owner(registry, stranger, asset):
    with reverts("NotAssetOwner", asset, stranger):
        registry.addVersion(asset, cid("c"), cid("m"), {"from": stranger})
    with reverts("UnknownAsset", 9):
        registry.addVersion(9, cid("c"), cid("m"), {"from": stranger})


def test_add_version_zero_digest_reverts(registry, publisher, asset):
    with reverts("InvalidCid"):
        registry.addVersion(asset, (b"\x00" * 32, 0x55), cid("m"), {"from": publisher})


def test_add_version_retired_reverts(registry, publisher, asset):
    registry.retire(asset, {"from": publisher})
    with reverts("AssetIsRetired", asset):
        registry.addVersion(asset, cid("c"), cid("m"), {"from": publisher})


def test_add_version_when_paused_reverts(registry, admin, publisher, asset):
    registry.pause({"from": admin})
    with reverts("EnforcedPause"):
        registry.addVersion(asset, cid("c"), cid("m"), {"from": publisher})


# ---------------------------------------------------------------- retire


def test_retire_stops_sales_but_licenses_stay(registry, token, publisher, buyer, stranger, asset):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    registry.grant(asset, stranger, COMPUTE, chain[-1].timestamp + 10 * DAY, {"from": publisher})
    expiry = registry.licenseExpiry(asset, buyer, DOWNLOAD)

    tx = registry.retire(asset, {"from": publisher})
    assert tx.events["AssetRetired"]["assetId"] == asset
    assert registry.assetInfo(asset)[1] is True

    with reverts("AssetIsRetired", asset):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    with reverts("AssetIsRetired", asset):
        registry.buyMany([(asset, 2, buyer, token, 25 * 10**18, 0, COMPUTE)], {"from": buyer})
    with reverts("AssetIsRetired", asset):
        registry.retire(asset, {"from": publisher})
    with reverts("AssetIsRetired", asset):
        registry.setOffer(asset, 1, offer_input(token), {"from": publisher})
    assert registry.hasLicense(asset, buyer, DOWNLOAD)
    assert registry.licenseExpiry(asset, buyer, DOWNLOAD) == expiry
    assert registry.hasLicense(asset, stranger, COMPUTE)


def test_retire_only_owner(registry, stranger, asset):
    with reverts("NotAssetOwner", asset, stranger):
        registry.retire(asset, {"from": stranger})


# ---------------------------------------------------------------- offers


def test_set_offer_adds_next_id(registry, token, publisher, asset):
    new = offer_input(token, 3 * 10**18, 7 * DAY, COMPUTE)
    tx = registry.setOffer(asset, 3, new, {"from": publisher})
    assert tx.return_value == 3
    event = tx.events["OfferSet"]
    assert (event["assetId"], event["offerId"], event["price"], event["active"]) == (
        asset, 3, 3 * 10**18, True,
    )
    assert registry.assetInfo(asset)[4] == 3
    assert tuple(registry.offer(asset, 3)) == (token.address, 3 * 10**18, 7 * DAY, COMPUTE, True)


def test_set_offer_replaces(registry, token, publisher, buyer, asset):
    tx = registry.setOffer(asset, 1, offer_input(token, 12 * 10**18, DAY), {"from": publisher})
    assert tx.return_value == 1
    assert registry.assetInfo(asset)[4] == 2
    assert tuple(registry.offer(asset, 1)) == (token.address, 12 * 10**18, DAY, DOWNLOAD, True)
    with reverts("PriceAboveMax", 12 * 10**18, PRICE):
        buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    bought = buy(registry, asset, 1, buyer, buyer, max_price=12 * 10**18)
    assert bought.return_value == bought.timestamp + DAY


def test_set_offer_reactivates_replaced_offer(registry, token, publisher, asset):
    registry.setOfferActive(asset, 1, False, {"from": publisher})
    registry.setOffer(asset, 1, offer_input(token), {"from": publisher})
    assert registry.offer(asset, 1)[4] is True


def test_set_offer_unknown_id_reverts(registry, token, publisher, stranger, asset):
    with reverts("UnknownOffer", asset, 4):
        registry.setOffer(asset, 4, offer_input(token), {"from": publisher})
    with reverts("UnknownOffer", asset, 0):
        registry.setOffer(asset, 0, offer_input(token), {"from": publisher})
    with reverts("TokenNotAllowed", stranger):
        registry.setOffer(asset, 3, (stranger, 1, 0, 0), {"from": publisher})
    with reverts("NotAssetOwner", asset, stranger):
        registry.setOffer(asset, 3, offer_input(token), {"from": stranger})
    with reverts("UnknownAsset", 5):
        registry.setOffer(5, 1, offer_input(token), {"from": publisher})


def test_set_offer_active(registry, token, publisher, buyer, stranger, asset):
    tx = registry.setOfferActive(asset, 2, False, {"from": publisher})
    event = tx.events["OfferSet"]
    assert (event["offerId"], event["price"], event["scope"], event["active"]) == (
        2, 25 * 10**18, COMPUTE, False,
    )
    assert registry.offer(asset, 2)[4] is False
    with reverts("OfferInactive", asset, 2):
        buy(registry, asset, 2, buyer, buyer, max_price=25 * 10**18)
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)  # the other offer still sells

    registry.setOfferActive(asset, 2, True, {"from": publisher})
    buy(registry, asset, 2, buyer, buyer, max_price=25 * 10**18)
    assert registry.licenseExpiry(asset, buyer, COMPUTE) == 2**64 - 1

    with reverts("NotAssetOwner", asset, stranger):
        registry.setOfferActive(asset, 2, False, {"from": stranger})
    with reverts("UnknownOffer", asset, 3):
        registry.setOfferActive(asset, 3, False, {"from": publisher})


# ---------------------------------------------------------------- curator share


def test_set_curator_share(registry, publisher, buyer, stranger, treasury, token, asset):
    tx = registry.setCuratorShare(asset, 2500, {"from": publisher})
    assert tx.events["CuratorShareSet"]["curatorShareBps"] == 2500
    assert registry.assetInfo(asset)[2] == 2500
    with reverts("CuratorShareTooHigh", 5001, 5000):
        registry.setCuratorShare(asset, 5001, {"from": publisher})
    with reverts("NotAssetOwner", asset, stranger):
        registry.setCuratorShare(asset, 0, {"from": stranger})

    sale = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    owner_part, curators, fee = split(PRICE, 2500)
    event = sale.events["RevenueSplit"]
    # Nobody stakes: the curators' share goes to the owner.
    assert (event["ownerAmount"], event["curatorAmount"], event["protocolFee"]) == (
        owner_part + curators, 0, fee,
    )
    assert fee == PRICE * PROTOCOL_FEE_BPS // 10_000


# ---------------------------------------------------------------- NFT approvals and transfers


def test_approved_operator_may_manage(registry, token, publisher, stranger, buyer, asset):
    registry.setApprovalForAll(stranger, True, {"from": publisher})
    registry.addVersion(asset, cid("c2"), cid("m2"), {"from": stranger})
    registry.setOffer(asset, 3, offer_input(token), {"from": stranger})
    registry.setOfferActive(asset, 3, False, {"from": stranger})
    registry.setCuratorShare(asset, 0, {"from": stranger})
    registry.grant(asset, buyer, DOWNLOAD, chain[-1].timestamp + DAY, {"from": stranger})
    registry.setApprovalForAll(stranger, False, {"from": publisher})
    with reverts("NotAssetOwner", asset, stranger):
        registry.setCuratorShare(asset, 100, {"from": stranger})


def test_approved_for_one_token_may_manage(registry, token, publisher, stranger, asset):
    other = publish_asset(registry, token, publisher, "other")
    registry.approve(stranger, asset, {"from": publisher})
    registry.setCuratorShare(asset, 0, {"from": stranger})
    registry.retire(asset, {"from": stranger})
    with reverts("NotAssetOwner", other, stranger):
        registry.retire(other, {"from": stranger})


def test_transfer_moves_revenue_and_control(registry, token, publisher, new_owner, buyer, asset):
    owner_part, curators, _ = split(PRICE, 1000)
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert registry.payoutBalance(publisher, token) == owner_part + curators

    registry.transferFrom(publisher, new_owner, asset, {"from": publisher})
    sale = buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert sale.events["RevenueSplit"]["owner"] == new_owner
    assert registry.payoutBalance(new_owner, token) == owner_part + curators
    # What the old owner earned before stays his.
    assert registry.payoutBalance(publisher, token) == owner_part + curators

    with reverts("NotAssetOwner", asset, publisher):
        registry.setCuratorShare(asset, 0, {"from": publisher})
    registry.setCuratorShare(asset, 0, {"from": new_owner})


def test_erc721_metadata(registry):
    assert registry.name() == "DataDAO Asset"
    assert registry.symbol() == "DDA"


def test_nonexistent_owner_reverts(registry):
    with reverts("ERC721NonexistentToken", 99):
        registry.ownerOf(99)
