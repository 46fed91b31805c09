"""LicenseTokens events into `license_tokens` on the session chain (contracts from the real
deploy script): purchases and transfers agree with the contract's own `expiresAt`, and the
license feed drops both holders' cached answers after a transfer."""

from __future__ import annotations

import time
from pathlib import Path

from web3 import Web3

from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import load_deployment
from dapp.gateway.caches import StaleCaches
from dapp.gateway.license_feed import LicenseFeed
from dapp.gateway.licenses import LicenseChecker
from dapp.indexer.handlers import default_handlers
from dapp.indexer.handlers.license_tokens import IGNORED
from dapp.store.models import LicenseToken
from tests.dapp.conftest import CHAIN_ID, Chain
from tests.dapp.helpers.registry_index import (
    DATASET,
    DDT,
    DOWNLOAD,
    Exchange,
    fake_cid,
    make_indexer,
    rows,
)


def test_every_license_token_event_is_handled_or_ignored_on_purpose() -> None:
    events = {e["name"] for e in load_abi("LicenseTokens") if e["type"] == "event"}
    handled = default_handlers().events_of("LicenseTokens")
    assert events - handled == IGNORED
    assert handled <= events


def test_purchases_and_transfers_are_indexed_and_reach_the_license_cache(
        exchange: Exchange, chain: Chain, deployments_file: Path, tmp_path: Path) -> None:
    ex = exchange
    tokens = bind(ex.web3, load_deployment(deployments_file, CHAIN_ID), "LicenseTokens")
    publisher, first, second = ex.accounts[1], ex.accounts[2], ex.accounts[3]
    asset_id = ex.publish(publisher, DATASET, fake_cid("lt-content"), fake_cid("lt-meta"), 0,
                          [(DDT, 30 * 86400, DOWNLOAD)])
    ex.send(tokens.functions.setTokenOffer(asset_id, 1, True, True), publisher)
    for buyer in (first, second):
        ex.send(tokens.functions.buy(asset_id, 1, buyer, ex.token.address, DDT, 30 * 86400,
                                     DOWNLOAD), buyer)
    token_id = tokens.functions.licenseId(asset_id, DOWNLOAD, True).call()

    indexer = make_indexer(chain, deployments_file, tmp_path)
    indexer.run_once()
    checker = LicenseChecker(Web3(Web3.HTTPProvider("http://127.0.0.1:9")), "0x" + "11" * 20)
    until = time.monotonic() + 60
    for holder in (first, second, publisher):
        checker._cache[(asset_id, holder.lower(), DOWNLOAD)] = (True, until)
    caches = StaleCaches()
    caches.watch(licenses=checker)
    feed = LicenseFeed(indexer.db, caches)
    feed.poll_once()  # notes where the store is

    # the second buyer's later licence moves onto the first buyer's earlier one
    ex.send(tokens.functions.safeTransferFrom(second, first, token_id, 1, b""), second)
    indexer.run_once()
    for holder in (first, second):
        (row,) = rows(indexer.db, LicenseToken, token_id=token_id, holder=holder)
        assert row.expires_at == tokens.functions.expiresAt(token_id, holder).call()
        assert (row.asset_id, row.scope, row.transferable) == (asset_id, "download", True)
    assert rows(indexer.db, LicenseToken, token_id=token_id, holder=second)[0].expires_at == 0

    feed.poll_once()
    assert (asset_id, first.lower(), DOWNLOAD) not in checker._cache
    assert (asset_id, second.lower(), DOWNLOAD) not in checker._cache
    assert (asset_id, publisher.lower(), DOWNLOAD) in checker._cache
