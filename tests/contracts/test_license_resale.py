"""Resale of licence tokens on the exchange (`listForResale` / `buyResale`): the royalty is the
registry's revenue, split like any sale (protocol fee, curators, owner); the rest is the
seller's payout balance. Outside marketplaces read ERC-2981."""

from __future__ import annotations

from typing import Any

from brownie import ZERO_ADDRESS, chain
from conftest import COMPUTE, DAY, DOWNLOAD, PRICE, activate, reverts, split
from licence_token_helpers import buy_token, token_asset, tokens  # the fixtures too

ROYALTY_BPS = 500
RESALE = 7 * 10**18 + 3  # odd on purpose: rounding of the royalty and of its split


def approve(token: Any, tokens: Any, buyer: Any) -> None:
    """A resale's buyer pays LicenseTokens (which passes the price into the registry)."""
    token.approve(tokens, 2**256 - 1, {"from": buyer})


def listed(tokens: Any, registry: Any, asset: int, seller: Any, price: int = RESALE) -> int:
    buy_token(tokens, registry, asset, 1, seller, seller)
    token_id = tokens.licenseId(asset, DOWNLOAD, True)
    tokens.listForResale(token_id, registry.offer(asset, 1)[0], price, {"from": seller})
    return token_id


def test_resale_royalty_is_split_like_a_sale(
        registry, tokens, token, publisher, buyer, stranger, curator, treasury, token_asset):
    registry.stake(token_asset, 10**18, {"from": curator})
    activate(registry, token_asset, curator)
    tokens.setRoyalty(token_asset, ROYALTY_BPS, {"from": publisher})
    token_id = listed(tokens, registry, token_asset, buyer)
    end = tokens.expiresAt(token_id, buyer)
    before = {a: registry.payoutBalance(a, token) for a in (publisher, treasury, buyer)}
    approve(token, tokens, stranger)
    paid = token.balanceOf(stranger)
    earned = registry.earned(token_asset, curator, token)
    tx = tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})
    royalty = RESALE * ROYALTY_BPS // 10_000
    owner_share, curators, fee = split(royalty, 1000)
    assert tx.events["ResaleBought"]["royalty"] == royalty
    assert tx.events["RevenueSplit"]["protocolFee"] == fee
    assert token.balanceOf(stranger) == paid - RESALE
    assert registry.payoutBalance(publisher, token) == before[publisher] + owner_share
    assert registry.payoutBalance(treasury, token) == before[treasury] + fee
    assert registry.earned(token_asset, curator, token) == earned + curators
    assert registry.payoutBalance(buyer, token) == before[buyer] + RESALE - royalty
    assert token.balanceOf(tokens) == 0  # the price only passes through
    assert tokens.expiresAt(token_id, stranger) == end
    assert registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert not registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert tokens.resaleListing(token_id, buyer) == (ZERO_ADDRESS, 0)
    # What an outside marketplace is told: the same royalty, to the owner.
    assert tokens.royaltyInfo(token_id, RESALE) == (publisher, royalty)


def test_attack_seller_raises_the_price_under_the_buyer(
        registry, tokens, token, buyer, stranger, token_asset):
    token_id = listed(tokens, registry, token_asset, buyer)
    tokens.listForResale(token_id, token, 2 * RESALE, {"from": buyer})
    with reverts("ResaleTermsChanged", token_id, buyer):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})
    assert tokens.balanceOf(stranger, token_id) == 0


def test_attack_stale_listing_sells_a_licence_received_back(
        registry, tokens, token, buyer, stranger, curator, token_asset):
    """A listing ends when the token leaves: coming back does not revive the old price."""
    token_id = listed(tokens, registry, token_asset, buyer)
    tx = tokens.safeTransferFrom(buyer, curator, token_id, 1, b"", {"from": buyer})
    assert tx.events["ResaleListed"]["price"] == 0
    tokens.safeTransferFrom(curator, buyer, token_id, 1, b"", {"from": curator})
    with reverts("NotListed", token_id, buyer):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})


def test_attack_stranger_lists_someone_elses_licence(
        registry, tokens, token, buyer, stranger, token_asset):
    buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    with reverts("NotHolder", token_id, stranger):
        tokens.listForResale(token_id, token, 1, {"from": stranger})
    with reverts("NotListed", token_id, buyer):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})


def test_non_transferable_licence_cannot_be_listed(registry, tokens, token, buyer, token_asset):
    buy_token(tokens, registry, token_asset, 2, buyer, buyer)
    token_id = tokens.licenseId(token_asset, COMPUTE, False)
    with reverts("NotTransferable", token_id):
        tokens.listForResale(token_id, token, PRICE, {"from": buyer})


def test_resale_ends_a_loan_and_needs_an_allowed_token(
        registry, tokens, token, admin, buyer, stranger, curator, token_asset):
    token_id = listed(tokens, registry, token_asset, buyer)
    tokens.setUser(token_id, curator, chain[-1].timestamp + DAY, {"from": buyer})
    approve(token, tokens, stranger)
    registry.setPaymentToken(token, False, {"from": admin})
    with reverts("TokenNotAllowed", token):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})
    registry.setPaymentToken(token, True, {"from": admin})
    tx = tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})
    assert tx.events["UpdateUser"]["user"] == ZERO_ADDRESS
    assert not registry.hasLicense(token_asset, curator, DOWNLOAD)
    print(f"gas: buyResale {tx.gas_used}")


def test_withdrawn_listing_and_self_purchase(registry, tokens, token, buyer, stranger, token_asset):
    token_id = listed(tokens, registry, token_asset, buyer)
    with reverts("InvalidUser", buyer):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": buyer})
    tokens.listForResale(token_id, ZERO_ADDRESS, 0, {"from": buyer})
    with reverts("NotListed", token_id, buyer):
        tokens.buyResale(token_id, buyer, token, RESALE, {"from": stranger})
