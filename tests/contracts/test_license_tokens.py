"""LicenseTokens: licences as ERC-1155 tokens, opt-in per offer; the registry's `hasLicense`
answers for the current holder; resale royalty (ERC-2981); marketplace URIs."""

from __future__ import annotations

from typing import Any

from conftest import (
    COMPUTE,
    DAY,
    DOWNLOAD,
    PERPETUAL,
    PRICE,
    offer_input,
    publish_asset,
    reverts,
    split,
)
from licence_token_helpers import buy_token, token_asset, tokens  # the fixtures too

MONTH = 30 * DAY
ERC1155_ID = "0xd9b67a26"
ERC2981_ID = "0x2a55205a"


def test_buy_token_licence_mints_and_splits_like_a_sale(
        registry, tokens, token, publisher, buyer, treasury, token_asset):
    owner_before = registry.payoutBalance(publisher, token)
    fee_before = registry.payoutBalance(treasury, token)
    paid_before = token.balanceOf(buyer)
    tx = buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    assert tx.return_value == (token_id, tx.timestamp + MONTH)
    assert tx.events["TransferSingle"]["to"] == buyer
    assert tokens.balanceOf(buyer, token_id) == 1
    assert tokens.expiresAt(token_id, buyer) == tx.timestamp + MONTH
    assert token.balanceOf(buyer) == paid_before - PRICE
    owner_share, curators, fee = split(PRICE, 1000)
    # No curators staked: their share goes to the owner, as in any sale.
    assert registry.payoutBalance(publisher, token) == owner_before + owner_share + curators
    assert registry.payoutBalance(treasury, token) == fee_before + fee
    assert registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert registry.licenseExpiry(token_asset, buyer, DOWNLOAD) == tx.timestamp + MONTH
    assert not registry.hasLicense(token_asset, buyer, COMPUTE)


def test_second_purchase_extends_the_holders_token(registry, tokens, buyer, token_asset):
    first = buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    second = buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    assert "TransferSingle" not in second.events
    assert second.return_value[1] == first.return_value[1] + MONTH


def test_transfer_moves_the_licence_at_once(registry, tokens, buyer, stranger, token_asset):
    buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    tokens.safeTransferFrom(buyer, stranger, token_id, 1, b"", {"from": buyer})
    assert not registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert tokens.balanceOf(buyer, token_id) == 0
    assert tokens.balanceOf(stranger, token_id) == 1


def test_transfer_of_compute_token_moves_check_job(
        registry, tokens, token, publisher, buyer, stranger):
    from conftest import ALGORITHM, cid

    dataset = publish_asset(registry, token, publisher, "compute-data", offers=[
        offer_input(token, PRICE, 0, COMPUTE)])
    tokens.setTokenOffer(dataset, 1, True, True, {"from": publisher})
    registry.setComputePolicy(dataset, True, 0, 0, {"from": publisher})
    algorithm = registry.publish(ALGORITHM, cid("algo"), cid("algo-meta"), 0,
                                 [offer_input(token, 0, 0, COMPUTE)],
                                 {"from": stranger}).return_value
    buy_token(tokens, registry, dataset, 1, buyer, buyer)
    token_id = tokens.licenseId(dataset, COMPUTE, True)
    tokens.safeTransferFrom(buyer, stranger, token_id, 1, b"", {"from": buyer})
    assert registry.checkJob(dataset, algorithm, stranger) == 1
    with reverts("NotLicensed", dataset, buyer):
        registry.checkJob(dataset, algorithm, buyer)


def test_non_transferable_offer_keeps_the_token(registry, tokens, buyer, stranger, token_asset):
    buy_token(tokens, registry, token_asset, 2, buyer, buyer)
    token_id = tokens.licenseId(token_asset, COMPUTE, False)
    assert tokens.expiresAt(token_id, buyer) == PERPETUAL
    with reverts("NotTransferable", token_id):
        tokens.safeTransferFrom(buyer, stranger, token_id, 1, b"", {"from": buyer})
    assert registry.hasLicense(token_asset, buyer, COMPUTE)


def test_transfer_by_stranger_without_approval_reverts(
        registry, tokens, buyer, stranger, token_asset):
    buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    with reverts("ERC1155MissingApprovalForAll", stranger, buyer):
        tokens.safeTransferFrom(buyer, stranger, token_id, 1, b"", {"from": stranger})
    tokens.setApprovalForAll(stranger, True, {"from": buyer})
    tokens.safeTransferFrom(buyer, stranger, token_id, 1, b"", {"from": stranger})
    assert registry.hasLicense(token_asset, stranger, DOWNLOAD)


def test_transfer_without_a_token_reverts(registry, tokens, buyer, stranger, token_asset):
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    with reverts("ERC1155InsufficientBalance", stranger, 0, 1, token_id):
        tokens.safeTransferFrom(stranger, buyer, token_id, 1, b"", {"from": stranger})


def test_receiving_a_second_token_keeps_the_later_end(
        registry, tokens, buyer, stranger, token_asset):
    mine = buy_token(tokens, registry, token_asset, 1, buyer, buyer).return_value[1]
    buy_token(tokens, registry, token_asset, 1, stranger, stranger)
    theirs = buy_token(tokens, registry, token_asset, 1, stranger, stranger).return_value[1]
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    tokens.safeTransferFrom(stranger, buyer, token_id, 1, b"", {"from": stranger})
    assert tokens.expiresAt(token_id, buyer) == max(mine, theirs)


def test_offer_not_opted_in_sells_no_tokens(registry, tokens, buyer, token_asset):
    with reverts("NotTokenOffer", token_asset, 3):
        buy_token(tokens, registry, token_asset, 3, buyer, buyer)


def test_address_bound_buy_of_a_token_offer_stays_address_bound(
        registry, tokens, buyer, token_asset):
    offer = registry.offer(token_asset, 1)
    registry.buy(token_asset, 1, buyer, offer[0], offer[1], offer[2], offer[3], {"from": buyer})
    assert tokens.balanceOf(buyer, tokens.licenseId(token_asset, DOWNLOAD, True)) == 0
    assert registry.hasLicense(token_asset, buyer, DOWNLOAD)


def test_buy_token_checks_the_offer_terms(registry, tokens, token, publisher, buyer, token_asset):
    offer = registry.offer(token_asset, 1)
    with reverts("PriceAboveMax", PRICE, PRICE - 1):
        tokens.buy(token_asset, 1, buyer, offer[0], PRICE - 1, offer[2], offer[3], {"from": buyer})
    registry.setOfferActive(token_asset, 1, False, {"from": publisher})
    with reverts("OfferInactive", token_asset, 1):
        buy_token(tokens, registry, token_asset, 1, buyer, buyer)


def test_charge_offer_from_stranger_cannot_pull_a_victims_allowance(
        registry, token, stranger, buyer, token_asset):
    """Attack: call the registry's payment hook directly to make an approved buyer pay."""
    offer = registry.offer(token_asset, 1)
    with reverts("NotLicenseTokens", stranger):
        registry.chargeOffer(buyer, token_asset, 1, offer[0], offer[1], offer[2], offer[3],
                             {"from": stranger})


def test_set_license_tokens_only_once(registry, tokens, admin, stranger):
    with reverts("LicenseTokensSet", tokens):
        registry.setLicenseTokens(stranger, {"from": admin})


def test_token_offer_and_royalty_only_by_asset_owner(tokens, stranger, token_asset):
    with reverts("NotAssetOwner", token_asset, stranger):
        tokens.setTokenOffer(token_asset, 3, True, True, {"from": stranger})
    with reverts("NotAssetOwner", token_asset, stranger):
        tokens.setRoyalty(token_asset, 500, {"from": stranger})
    with reverts("NotAssetOwner", token_asset, stranger):
        tokens.setMetadata(token_asset, "ipfs://x", "ipfs://y", {"from": stranger})


def test_royalty_info_pays_the_current_asset_owner(
        registry, tokens, publisher, new_owner, token_asset):
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    tokens.setRoyalty(token_asset, 500, {"from": publisher})
    assert tokens.royaltyInfo(token_id, 1000) == (publisher, 50)
    registry.transferFrom(publisher, new_owner, token_asset, {"from": publisher})
    assert tokens.royaltyInfo(token_id, 1000) == (new_owner, 50)
    with reverts("RoyaltyTooHigh", 1001, 1000):
        tokens.setRoyalty(token_asset, 1001, {"from": new_owner})


def test_interfaces(tokens):
    assert tokens.supportsInterface(ERC1155_ID)
    assert tokens.supportsInterface(ERC2981_ID)
    assert not tokens.supportsInterface("0xffffffff")


def test_uris_for_marketplaces(registry, tokens, admin, publisher, stranger, token_asset):
    tokens.setMetadata(token_asset, "ipfs://asset-doc", "ipfs://licence-doc", {"from": publisher})
    assert registry.tokenURI(token_asset) == "ipfs://asset-doc"
    assert tokens.uri(tokens.licenseId(token_asset, COMPUTE, False)) == "ipfs://licence-doc"
    with reverts("NotAdmin", stranger):
        tokens.setContractURIs("ipfs://a", "ipfs://b", {"from": stranger})
    tokens.setContractURIs("ipfs://licences", "ipfs://assets", {"from": admin})
    assert tokens.contractURI() == "ipfs://licences"
    assert registry.contractURI() == "ipfs://assets"


def test_gas_targets(registry, tokens, token, buyer, stranger, curator2, token_asset):
    """Buying a token licence ≤ 150,000, also the first sale of a fresh registry (the owner's
    and the registry's token balance cold); a transfer to an account holding none ≤ 60,000."""
    first = buy_token(tokens, registry, token_asset, 1, stranger, stranger)  # all balances cold
    bought = buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    moved = tokens.safeTransferFrom(buyer, curator2, token_id, 1, b"", {"from": buyer})
    print(f"gas: first token sale {first.gas_used}, buy token licence {bought.gas_used}, "
          f"transfer {moved.gas_used}")
    assert first.gas_used <= 150_000
    assert bought.gas_used <= 150_000
    assert moved.gas_used <= 60_000
