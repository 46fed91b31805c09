"""License changes seen by the indexer, carried to the gateway's license cache.

The indexer runs in its own process and writes what the registry says into the store; this
feed reads the `licenses` and `assets` rows the indexer changed since it last looked (each row
carries the block of the log that changed it last) and reports them to the gateway's
`StaleCaches`, which drops the matching cache entries. A purchase, grant, revocation or retire
thus reaches the cache about one indexer round plus one feed round after its block, instead of
up to the cache's TTL. Any change to an asset row (a new version among them) also drops the
registry reader's cached version count. Licence-token rows (`license_tokens`, both sides of a
transfer) drop their holders' entries the same way. A reorg that moves rows back to older
blocks is still covered by the TTLs (≤ 5 s).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine, func, select

from dapp.gateway.caches import StaleCaches
from dapp.store.models import Asset, License, LicenseToken

log = logging.getLogger(__name__)


class LicenseFeed:
    def __init__(self, engine: Engine, caches: StaleCaches, poll_seconds: float = 1.0) -> None:
        self.engine = engine
        self.caches = caches
        self.poll_seconds = poll_seconds
        self._from_block: int | None = None

    def poll_once(self) -> int:
        """Invalidate what changed since the last poll; returns how many entries it dropped.
        The first poll only notes where the store is (nothing is cached before the gateway
        starts)."""
        with self.engine.connect() as connection:
            if self._from_block is None:
                newest = connection.execute(select(func.max(License.block_number))).scalar()
                retired = connection.execute(select(func.max(Asset.block_number))).scalar()
                self._from_block = max(newest or 0, retired or 0)
                return 0
            since = self._from_block
            licenses = connection.execute(
                select(License.asset_id, License.licensee, License.block_number)
                .where(License.block_number >= since)
            ).all()
            assets = connection.execute(
                select(Asset.asset_id, Asset.retired, Asset.block_number)
                .where(Asset.block_number >= since)
            ).all()
            licenses += connection.execute(
                select(LicenseToken.asset_id, LicenseToken.holder, LicenseToken.block_number)
                .where(LicenseToken.block_number >= since)
            ).all()
        for asset_id, licensee, _ in licenses:
            self.caches.license_changed(int(asset_id), str(licensee))
        for asset_id, retired, _ in assets:
            self.caches.asset_changed(int(asset_id), retired=bool(retired))
        blocks = [row[-1] for row in (*licenses, *assets)]
        # Re-read the newest block next time: more of its logs may land in a later batch.
        self._from_block = max([since, *blocks])
        return len(licenses) + len(assets)

    async def run(self) -> None:
        last_problem = ""
        while True:
            try:
                await asyncio.to_thread(self.poll_once)
                last_problem = ""
            except Exception as error:  # the store may be briefly locked or not migrated yet
                if str(error) != last_problem:  # once per kind of trouble, not every second
                    log.warning("license feed paused: %s", error)
                    last_problem = str(error)
            await asyncio.sleep(self.poll_seconds)
