"""Pin every CID the indexer queued on the local IPFS node, and read public metadata.

The queue is the `pins` table: the indexer adds rows in its batch transactions; the pinner
works through the due ones on its own (a thread of the runner, or `run_once()` in tests), so
a slow or stopped Kubo never holds up indexing. A failed attempt is retried after
`base * 2**(attempts-1)` seconds, capped at `max`. When the node is unreachable the round
stops at the first failure (every other pin would fail the same way) and resumes next round.

Size before bytes: every CID on chain comes from someone who may be hostile, and a recursive
pin fetches and stores the whole DAG. So Kubo is first asked what the CID's root declares
(`IpfsClient.stat`, one block); a pin is *refused* (status `refused`, `last_error` says why,
never retried) when content is over `max_content_bytes`, when it is not of the size a valid
metadata document of an asset version naming it declares (the DDX1 ciphertext of
`plaintext_size`), or when a metadata document is over `metadata_max_bytes`. Metadata pins go
first in a round, so a content pin usually finds its version's metadata stored; when none is
known yet, the cap alone decides.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, case, select, update

from dapp.crypto.segments import stored_size
from dapp.errors import DappError, IpfsUnavailable
from dapp.indexer.metadata import store_metadata
from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.store.models import AssetVersion, CidMetadata, Pin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinPolicy:
    base_delay: float = 2.0
    max_delay: float = 600.0
    metadata_max_bytes: int = 1 << 20
    max_content_bytes: int = 4 << 30

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))


@dataclass
class PinRound:
    pinned: int = 0
    failed: int = 0
    refused: int = 0
    node_down: bool = False


class Pinner:
    def __init__(self, engine: Engine, ipfs: IpfsClient, policy: PinPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.ipfs = ipfs
        self.policy = policy or PinPolicy()
        self.clock = clock

    def due(self, limit: int) -> list[Pin]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(Pin).where(Pin.status.in_(("queued", "retrying")),
                                  Pin.next_try_at <= self.clock())
                .order_by(case((Pin.kind == "metadata", 0), else_=1), Pin.next_try_at,
                          Pin.cid).limit(limit))
            return [Pin(**row._mapping) for row in rows]

    def run_once(self, limit: int = 100) -> PinRound:
        result = PinRound()
        for pin in self.due(limit):
            try:
                refusal = self._refusal(pin)
                if refusal is not None:
                    self._refused(pin, refusal)
                    result.refused += 1
                    continue
                self._pin(pin)
            except DappError as error:
                self._failed(pin, error)
                result.failed += 1
                if isinstance(error, IpfsUnavailable) and "unreachable" in error.message:
                    result.node_down = True
                    break
            else:
                result.pinned += 1
        return result

    def _refusal(self, pin: Pin) -> str | None:
        """Why `pin` must not be pinned, from what its root block declares; None: pin it."""
        stat = self.ipfs.stat(pin.cid)
        if pin.kind == "metadata":
            cap = self.policy.metadata_max_bytes
            if stat.size > cap or stat.kind != "file":
                store_metadata(self.engine, self.ipfs, pin.cid, cap)  # records why unread
                return (f"metadata is a {stat.size}-byte {stat.kind}; at most {cap} bytes "
                        "(metadata_max_bytes) are pinned")
            return None
        cap = self.policy.max_content_bytes
        if max(stat.size, stat.cumulative_size) > cap:
            return (f"content is {stat.size} bytes ({stat.cumulative_size} as a DAG), over "
                    f"the cap of {cap} bytes (max_content_bytes)")
        declared = self._declared_sizes(pin.cid)
        if declared and stat.size not in declared:
            return (f"content is {stat.size} bytes; its metadata declares "
                    f"{' or '.join(str(size) for size in sorted(declared))}")
        return None

    def _declared_sizes(self, cid: str) -> set[int]:
        """The sizes valid metadata of asset versions naming `cid` as content declare."""
        with self.engine.connect() as connection:
            documents = connection.execute(
                select(CidMetadata.document)
                .join(AssetVersion, AssetVersion.metadata_cid == CidMetadata.cid)
                .where(AssetVersion.content_cid == cid, CidMetadata.schema_error.is_(None),
                       CidMetadata.document.is_not(None))).scalars().all()
        sizes = set()
        for document in documents:
            try:
                metadata = AssetMetadata.from_json(json.dumps(document).encode())
            except InvalidMetadata:
                continue
            sizes.add(stored_size(metadata.content))
        return sizes

    def _refused(self, pin: Pin, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                status="refused", last_error=reason[:1000]))
        log.warning("pin %s (%s of asset %s) refused: %s", pin.cid, pin.kind, pin.asset_id,
                    reason)

    def _pin(self, pin: Pin) -> None:
        self.ipfs.pin(pin.cid)
        if pin.kind == "metadata":
            store_metadata(self.engine, self.ipfs, pin.cid, self.policy.metadata_max_bytes)
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                status="pinned", pinned_at=self.clock(), last_error=None))
        log.info("pinned %s (%s of asset %s)", pin.cid, pin.kind, pin.asset_id)

    def _failed(self, pin: Pin, error: DappError) -> None:
        attempts = pin.attempts + 1
        retry_in = self.policy.delay(attempts)
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                status="retrying", attempts=attempts, last_error=str(error)[:1000],
                next_try_at=self.clock() + retry_in))
        log.warning("pin %s failed (attempt %d, next in %.0fs): %s", pin.cid, attempts,
                    retry_in, error)
