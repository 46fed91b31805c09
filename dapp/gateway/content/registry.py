"""What the gateway reads from the AssetRegistry for a download: versions and the owner.

The chain is the authority: a version's CIDs come from `version(assetId, n)`, never from the
indexer's store. A published version never changes, so its record is cached for good. The
version count (which moves on `addVersion`) is cached until the next block where the node
announces new heads (`forget_version_counts`, through the gateway's `StaleCaches`), for
`VERSION_COUNT_TTL_SECONDS` at most, and dropped sooner when the indexer sees the asset change
(`forget_version_count`, through `StaleCaches` by the license feed); a request for a numbered
version above the cached count reads the chain again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from dapp.chain.contracts import load_abi
from dapp.chain.refresh import RefreshAhead
from dapp.chain.transactions import chain_errors
from dapp.errors import NotFound
from dapp.ipfs.cid import cid_from_chain

MAX_ASSET_ID = 2**256 - 1
MAX_CACHED_VERSIONS = 65_536
VERSION_COUNT_TTL_SECONDS = 2.0


@dataclass(frozen=True)
class AssetVersion:
    asset_id: int
    number: int
    content_cid: str
    metadata_cid: str
    published_at: int  # unix seconds (block time)

    @property
    def published(self) -> datetime:
        return datetime.fromtimestamp(self.published_at, UTC)


class RegistryReader:
    def __init__(self, web3: Web3, registry_address: str,
                 count_ttl_seconds: float = VERSION_COUNT_TTL_SECONDS) -> None:
        self._web3 = web3
        self._registry = web3.eth.contract(address=Web3.to_checksum_address(registry_address),
                                           abi=load_abi("AssetRegistry"))
        self._versions: dict[tuple[int, int], AssetVersion] = {}
        self._counts: dict[int, tuple[int, float]] = {}  # asset → (count, good until)
        self._refresh = RefreshAhead("registry")
        self._count_ttl = count_ttl_seconds
        self._lock = threading.Lock()

    def resolve(self, asset_id: int, number: int | None = None) -> AssetVersion:
        """Version `number` of the asset (the latest when None); NotFound if either is unknown."""
        if not 1 <= asset_id <= MAX_ASSET_ID:
            raise NotFound(f"asset {asset_id} does not exist")
        if number is not None:
            with self._lock:
                cached = self._versions.get((asset_id, number))
            if cached is not None:
                return cached
        count = self.version_count(asset_id)
        if number is None:
            number = count
        elif number > count:  # added since the count was cached?
            count = self.version_count(asset_id, fresh=True)
        if not 1 <= number <= count:
            raise NotFound(f"asset {asset_id} has no version {number}",
                           hint=f"its versions are 1..{count}")
        with self._lock:
            cached = self._versions.get((asset_id, number))
        if cached is not None:
            return cached
        record = self._call(lambda: self._registry.functions.version(asset_id, number).call(),
                            asset_id)
        (content_digest, content_codec), (metadata_digest, metadata_codec), published_at = record
        version = AssetVersion(
            asset_id=asset_id, number=number,
            content_cid=cid_from_chain(bytes(content_digest), int(content_codec)),
            metadata_cid=cid_from_chain(bytes(metadata_digest), int(metadata_codec)),
            published_at=int(published_at),
        )
        with self._lock:
            if len(self._versions) >= MAX_CACHED_VERSIONS:
                self._versions.clear()
            self._versions[(asset_id, number)] = version
        return version

    def cached(self, asset_id: int, number: int | None = None) -> AssetVersion | None:
        """What `resolve` answers when it can without the chain (else None): cheap enough to
        ask on the event loop before handing `resolve` to a worker thread."""
        with self._lock:
            if number is None:
                hit = self._counts.get(asset_id)
                if hit is None or hit[1] <= time.monotonic():
                    return None
                number = hit[0]
            return self._versions.get((asset_id, number))

    def version_count(self, asset_id: int, fresh: bool = False) -> int:
        now = time.monotonic()
        if not fresh:
            with self._lock:
                hit = self._counts.get(asset_id)
            if hit is not None and hit[1] > now:
                if hit[1] - now <= self._count_ttl / 2:  # in use: renew it early
                    self._refresh.soon(asset_id, lambda: self.version_count(asset_id, True))
                return hit[0]
        info = self._call(lambda: self._registry.functions.assetInfo(asset_id).call(), asset_id)
        count = int(info[3])  # (kind, retired, curatorShareBps, versionCount, offerCount)
        with self._lock:
            if len(self._counts) >= MAX_CACHED_VERSIONS:
                self._counts.clear()
            self._counts[asset_id] = (count, now + self._count_ttl)
        return count

    def close(self) -> None:
        """Stop renewing version counts in the background (the gateway's shutdown)."""
        self._refresh.close()

    def forget_version_count(self, asset_id: int) -> None:
        with self._lock:
            self._counts.pop(asset_id, None)

    def forget_version_counts(self) -> None:
        """Every asset's (a new block may have added versions to any of them)."""
        with self._lock:
            self._counts.clear()

    def owner_of(self, asset_id: int) -> str:
        if not 1 <= asset_id <= MAX_ASSET_ID:
            raise NotFound(f"asset {asset_id} does not exist")
        owner = self._call(lambda: self._registry.functions.ownerOf(asset_id).call(), asset_id)
        return Web3.to_checksum_address(owner)

    def _call(self, call: Callable[[], Any], asset_id: int) -> Any:
        try:
            with chain_errors(self._web3, "reading the asset registry"):
                return call()
        except ContractLogicError:  # UnknownAsset / ERC721NonexistentToken
            raise NotFound(f"asset {asset_id} does not exist") from None
