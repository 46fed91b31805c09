"""Where what the indexer learns reaches the gateway's caches.

One `StaleCaches` per gateway process, made in `create_app`: the license checker and the
registry reader register with it when they are created (`watch`), and the license feed
reports to it what the indexer changed (`license_changed`, `asset_changed`). A purchase,
grant, revocation or retire thus drops exactly the cached answers it makes wrong, and a new
version drops the cached version count; without a report, the caches' TTLs bound how long a
stale answer lives (≤ 5 s). Where the node announces new heads by subscription
(`dapp.chain.heads`, started by the gateway's lifespan), every block drops the cached version
counts at once (`new_head`): a version added in a block is served as soon as the gateway hears
of the block, milliseconds after it is mined.
"""

from __future__ import annotations

import threading

from dapp.gateway.content.registry import RegistryReader
from dapp.gateway.licenses import LicenseChecker


class StaleCaches:
    def __init__(self) -> None:
        self._checkers: list[LicenseChecker] = []
        self._readers: list[RegistryReader] = []
        self._lock = threading.Lock()

    def watch(self, *, licenses: LicenseChecker | None = None,
              registry: RegistryReader | None = None) -> None:
        """Let reports reach this checker and/or reader from now on."""
        with self._lock:
            if licenses is not None:
                self._checkers.append(licenses)
            if registry is not None:
                self._readers.append(registry)

    def license_changed(self, asset_id: int, account: str | None = None) -> None:
        """Drop cached license answers of `asset_id` for `account` (everyone's when None)."""
        with self._lock:
            checkers = list(self._checkers)
        for checker in checkers:
            checker.invalidate(asset_id, account)

    def new_head(self) -> None:
        """A block was mined (the node announced it by subscription): drop every cached
        version count, so an `addVersion` in it is served from the next request on instead
        of after the count's TTL."""
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.forget_version_counts()

    def asset_changed(self, asset_id: int, retired: bool = False) -> None:
        """Drop the cached version count of `asset_id`; a retired asset's licenses too."""
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.forget_version_count(asset_id)
        if retired:
            self.license_changed(asset_id)
