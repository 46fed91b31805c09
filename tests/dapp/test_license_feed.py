"""The license feed (unit test of one module, real SQLite store): rows the indexer changes
drop the matching entries of the gateway's license cache and version counts, and nothing
else."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, insert, update
from web3 import Web3

from dapp.gateway.caches import StaleCaches
from dapp.gateway.content.registry import RegistryReader
from dapp.gateway.license_feed import LicenseFeed
from dapp.gateway.licenses import LicenseChecker
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.models import Asset, License

BUYER = "0x" + "ab" * 20
OTHER = "0x" + "cd" * 20
HASH = "0x" + "00" * 32


def origin(block: int) -> dict[str, object]:
    return {"block_number": block, "block_hash": HASH, "log_index": 0, "tx_hash": HASH}


def cached_checker() -> LicenseChecker:
    """A checker (never called: nothing listens on port 9) with answers already cached."""
    checker = LicenseChecker(Web3(Web3.HTTPProvider("http://127.0.0.1:9")), "0x" + "11" * 20)
    until = time.monotonic() + 60
    for asset, account in ((1, BUYER), (1, OTHER), (2, BUYER)):
        checker._cache[(asset, account, 0)] = (True, until)
    return checker


def cached_reader() -> RegistryReader:
    """A registry reader (never called) with the version counts of assets 1 and 2 cached."""
    reader = RegistryReader(Web3(Web3.HTTPProvider("http://127.0.0.1:9")), "0x" + "11" * 20)
    until = time.monotonic() + 60
    reader._counts.update({1: (1, until), 2: (1, until)})
    return reader


def store_with_assets(tmp_path: Path, blocks: dict[int, int]) -> Engine:
    """A migrated SQLite store with one asset row per `blocks` entry (asset id → the block
    of its last change)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(Asset), [{
            "asset_id": asset, "owner": OTHER, "kind": "dataset", "content_cid": "bafy",
            "metadata_cid": "bafy", "version_count": 1, "curator_share_bps": 0,
            "published_block": 3, "published_tx": HASH, **origin(block)}
            for asset, block in blocks.items()])
    return engine


def test_feed_drops_exactly_the_changed_licenses_and_retired_assets(tmp_path: Path) -> None:
    engine = store_with_assets(tmp_path, {1: 3, 2: 3})
    checker = cached_checker()
    caches = StaleCaches()
    caches.watch(licenses=checker)
    feed = LicenseFeed(engine, caches)
    assert feed.poll_once() == 0  # first look: note where the store is

    with engine.begin() as connection:
        connection.execute(insert(License).values(
            asset_id=1, licensee=BUYER, scope="download", bought_until=0,
            granted_until=0, expires_at=0, source="grant", **origin(10)))
    assert feed.poll_once() >= 1
    assert (1, BUYER, 0) not in checker._cache
    assert (1, OTHER, 0) in checker._cache and (2, BUYER, 0) in checker._cache

    with engine.begin() as connection:
        connection.execute(update(Asset).where(Asset.asset_id == 2)
                           .values(retired=True, **origin(12)))
    feed.poll_once()
    assert (2, BUYER, 0) not in checker._cache
    assert (1, OTHER, 0) in checker._cache


def test_feed_drops_the_version_count_of_an_asset_that_changed(tmp_path: Path) -> None:
    # asset 2's block is older than the newest one the feed starts from (which it re-reads
    # every poll), so only a change of its own would touch it
    engine = store_with_assets(tmp_path, {1: 4, 2: 3})
    reader = cached_reader()
    caches = StaleCaches()
    caches.watch(registry=reader)
    feed = LicenseFeed(engine, caches)
    feed.poll_once()

    with engine.begin() as connection:  # VersionAdded on asset 1
        connection.execute(update(Asset).where(Asset.asset_id == 1)
                           .values(version_count=2, **origin(20)))
    feed.poll_once()
    assert 1 not in reader._counts
    assert reader.version_count(2) == 1  # still cached: the chain is never asked


class FakeRegistry:
    """`functions.assetInfo(id).call()` and `functions.version(id, n).call()` of a registry
    whose asset 1 gains versions; counts how often the chain is asked."""

    def __init__(self) -> None:
        self.versions = 1
        self.asked = 0
        self.functions = self

    def assetInfo(self, asset_id: int) -> FakeRegistry:
        self._answer: object = (0, False, 0, self.versions, 1)
        return self

    def version(self, asset_id: int, number: int) -> FakeRegistry:
        digest = (b"\x01" * 32, 0x55)
        self._answer = (digest, digest, 1_700_000_000 + number)
        return self

    def call(self) -> object:
        self.asked += 1
        return self._answer


def test_version_count_is_cached_briefly_and_a_newer_version_is_read_at_once() -> None:
    reader = cached_reader()
    reader._counts.clear()
    fake = FakeRegistry()
    reader._registry = fake
    assert reader.resolve(1).number == 1
    asked = fake.asked
    assert reader.resolve(1).number == 1 and fake.asked == asked  # count and record cached
    fake.versions = 2  # addVersion on chain, not seen yet by the feed
    assert reader.resolve(1).number == 1  # "latest" may lag by the TTL ...
    assert reader.resolve(1, 2).number == 2  # ... but version 2 asked by number is found
    assert reader.resolve(1).number == 2  # and the fresh count now serves "latest" too
