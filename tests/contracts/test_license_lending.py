"""Lending a licence token in the manner of ERC-4907 (`setUser` / `userOf` / `userExpires` /
`UpdateUser`): while lent, `hasLicense` answers yes for the user and no for the holder."""

from __future__ import annotations

from typing import Any

from brownie import ZERO_ADDRESS, chain
from conftest import COMPUTE, DAY, DOWNLOAD, reverts
from licence_token_helpers import buy_token, token_asset, tokens  # the fixtures too


def lend(tokens: Any, registry: Any, asset: int, holder: Any, user: Any, days: int = 7) -> tuple:
    """`holder` buys offer 1 (30-day DOWNLOAD, transferable) and lends it to `user`."""
    end = buy_token(tokens, registry, asset, 1, holder, holder).return_value[1]
    token_id = tokens.licenseId(asset, DOWNLOAD, True)
    expires = chain[-1].timestamp + days * DAY
    tx = tokens.setUser(token_id, user, expires, {"from": holder})
    return token_id, expires, end, tx


def test_lending_gives_the_user_the_licence_and_reports_it(
        registry, tokens, buyer, stranger, token_asset):
    token_id, expires, _, tx = lend(tokens, registry, token_asset, buyer, stranger)
    event = tx.events["UpdateUser"]
    assert (event["id"], event["holder"], event["user"], event["expires"]) == (
        token_id, buyer, stranger, expires)
    assert tokens.userOf(token_id, buyer) == stranger
    assert tokens.userExpires(token_id, buyer) == expires
    assert registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert registry.licenseExpiry(token_asset, stranger, DOWNLOAD) == expires
    assert tokens.balanceOf(buyer, token_id) == 1  # lending is not selling


def test_attack_holder_keeps_using_a_lent_licence(
        registry, tokens, buyer, stranger, token_asset):
    """A lent licence is not used twice: the holder has none until the loan ends."""
    token_id, expires, end, _ = lend(tokens, registry, token_asset, buyer, stranger)
    assert not registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert not tokens.hasLicense(token_asset, buyer, DOWNLOAD)
    chain.sleep(expires - chain[-1].timestamp + 1)
    chain.mine()
    assert registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert registry.licenseExpiry(token_asset, buyer, DOWNLOAD) == end
    assert not registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert tokens.userOf(token_id, buyer) == ZERO_ADDRESS


def test_attack_user_extends_beyond_the_licence(
        registry, tokens, buyer, stranger, token_asset):
    token_id, expires, end, _ = lend(tokens, registry, token_asset, buyer, stranger)
    with reverts("LoanBeyondLicence", end + 1, end):
        tokens.setUser(token_id, stranger, end + 1, {"from": buyer})
    # The user is no holder: it cannot lengthen (or re-lend) the loan.
    with reverts("NotHolder", token_id, stranger):
        tokens.setUser(token_id, stranger, end, {"from": stranger})
    assert tokens.userExpires(token_id, buyer) == expires


def test_attack_stranger_sets_a_user(registry, tokens, buyer, stranger, curator, token_asset):
    buy_token(tokens, registry, token_asset, 1, buyer, buyer)
    token_id = tokens.licenseId(token_asset, DOWNLOAD, True)
    with reverts("NotHolder", token_id, stranger):
        tokens.setUser(token_id, stranger, chain[-1].timestamp + DAY, {"from": stranger})
    # An operator may move the token but not lend it: lending is the holder's own act.
    tokens.setApprovalForAll(curator, True, {"from": buyer})
    with reverts("NotHolder", token_id, curator):
        tokens.setUser(token_id, curator, chain[-1].timestamp + DAY, {"from": curator})
    assert registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert not registry.hasLicense(token_asset, stranger, DOWNLOAD)


def test_attack_user_survives_a_transfer(registry, tokens, buyer, stranger, curator, token_asset):
    token_id, _, _, _ = lend(tokens, registry, token_asset, buyer, stranger)
    tx = tokens.safeTransferFrom(buyer, curator, token_id, 1, b"", {"from": buyer})
    event = tx.events["UpdateUser"]
    assert (event["holder"], event["user"], event["expires"]) == (buyer, ZERO_ADDRESS, 0)
    assert not registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert registry.hasLicense(token_asset, curator, DOWNLOAD)
    assert not registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert tokens.userOf(token_id, buyer) == ZERO_ADDRESS
    assert tokens.userOf(token_id, curator) == ZERO_ADDRESS


def test_holder_takes_the_licence_back(registry, tokens, buyer, stranger, token_asset):
    token_id, _, _, _ = lend(tokens, registry, token_asset, buyer, stranger)
    tx = tokens.setUser(token_id, ZERO_ADDRESS, 0, {"from": buyer})
    assert tx.events["UpdateUser"]["user"] == ZERO_ADDRESS
    assert registry.hasLicense(token_asset, buyer, DOWNLOAD)
    assert not registry.hasLicense(token_asset, stranger, DOWNLOAD)


def test_non_transferable_licence_cannot_be_lent(
        registry, tokens, buyer, stranger, token_asset):
    buy_token(tokens, registry, token_asset, 2, buyer, buyer)
    token_id = tokens.licenseId(token_asset, COMPUTE, False)
    with reverts("NotTransferable", token_id):
        tokens.setUser(token_id, stranger, chain[-1].timestamp + DAY, {"from": buyer})


def test_a_user_borrows_one_holding_at_a_time(
        registry, tokens, buyer, stranger, curator, token_asset):
    token_id, _, _, _ = lend(tokens, registry, token_asset, buyer, stranger)
    buy_token(tokens, registry, token_asset, 1, curator, curator)
    with reverts("UserBusy", stranger, buyer):
        tokens.setUser(token_id, stranger, chain[-1].timestamp + DAY, {"from": curator})
    with reverts("InvalidUser", curator):
        tokens.setUser(token_id, curator, chain[-1].timestamp + DAY, {"from": curator})
    # The first loan is untouched by the refused second one.
    assert registry.hasLicense(token_asset, stranger, DOWNLOAD)
    assert not registry.hasLicense(token_asset, buyer, DOWNLOAD)
