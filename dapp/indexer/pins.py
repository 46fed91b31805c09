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

Where a pin goes is the `PinBackend`'s business (`dapp.ipfs.pinning`: the local Kubo, an IPFS
Cluster with a replication factor, a pinning service); the size checks above always ask the
local node. Each pin's state per peer of the backend is kept in `pin_peers`, read again every
`check_seconds` (`check()`): a peer in error or gone gets the pin repaired (recovered, or
re-allocated to a live peer), and the new state is recorded. A backend that does not answer
loses nothing: the pin stays queued (or its check due) and is tried again later.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, case, delete, insert, or_, select, update

from dapp.crypto.segments import stored_size
from dapp.errors import DappError, IpfsUnavailable, PinBackendUnavailable
from dapp.indexer.metadata import store_metadata
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.pinning import KuboPinBackend, PinBackend, PinState
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.store.models import AssetVersion, CidMetadata, Pin, PinPeer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinPolicy:
    base_delay: float = 2.0
    max_delay: float = 600.0
    metadata_max_bytes: int = 1 << 20
    max_content_bytes: int = 4 << 30
    check_seconds: float = 30.0

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))


@dataclass
class PinRound:
    pinned: int = 0
    failed: int = 0
    refused: int = 0
    node_down: bool = False


@dataclass
class CheckRound:
    checked: int = 0
    repaired: int = 0
    unreachable: bool = False


def _stops_round(error: DappError) -> bool:
    """Every other pin would fail the same way: the backend or the node is not there."""
    return isinstance(error, PinBackendUnavailable) or (
        isinstance(error, IpfsUnavailable) and "unreachable" in error.message)


def _pin_name(pin: Pin) -> str:
    return f"datadao {pin.kind} of asset {pin.asset_id}" if pin.asset_id else pin.kind


class Pinner:
    def __init__(self, engine: Engine, ipfs: IpfsClient, policy: PinPolicy | None = None,
                 clock: Callable[[], float] = time.time,
                 backend: PinBackend | None = None) -> None:
        self.engine = engine
        self.ipfs = ipfs
        self.policy = policy or PinPolicy()
        self.clock = clock
        self.backend: PinBackend = backend or KuboPinBackend(ipfs)

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
                if _stops_round(error):
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
        state = self.backend.pin(pin.cid, _pin_name(pin))
        if pin.kind == "metadata":
            store_metadata(self.engine, self.ipfs, pin.cid, self.policy.metadata_max_bytes)
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                status="pinned", pinned_at=now, last_error=None, backend=self.backend.name,
                request_id=state.request_id, check_at=now + self.policy.check_seconds))
            self._record(connection, state, now)
        log.info("pinned %s (%s of asset %s) on %s: %s", pin.cid, pin.kind, pin.asset_id,
                 self.backend.name, _peers_text(state))

    def _record(self, connection: Connection, state: PinState, now: float) -> None:
        connection.execute(delete(PinPeer).where(PinPeer.cid == state.cid))
        if state.peers:
            connection.execute(insert(PinPeer), [
                {"cid": state.cid, "peer": p.peer[:128], "peer_name": p.name[:128],
                 "status": p.status[:32], "error": (p.error or None) and p.error[:1000],
                 "checked_at": now} for p in state.peers])

    def check(self, limit: int = 100) -> CheckRound:
        """Read the state per peer of the pins whose check is due; repair what a peer lost."""
        result = CheckRound()
        now = self.clock()
        with self.engine.connect() as connection:
            due = [Pin(**row._mapping) for row in connection.execute(
                select(Pin).where(Pin.status == "pinned",
                                  or_(Pin.check_at.is_(None), Pin.check_at <= now))
                .order_by(Pin.check_at, Pin.cid).limit(limit))]
        for pin in due:
            try:
                repaired = self._check_one(pin)
            except DappError as error:
                log.warning("checking the pin of %s failed: %s", pin.cid, error)
                if _stops_round(error):
                    result.unreachable = True
                    break
                continue
            result.checked += 1
            result.repaired += repaired
        return result

    def _check_one(self, pin: Pin) -> bool:
        if pin.backend != self.backend.name:  # pinned before this backend was configured
            state = self.backend.pin(pin.cid, _pin_name(pin))
            repaired = pin.backend is not None
        else:
            state = self.backend.status(pin.cid, pin.request_id)
            repaired = bool(state.broken) or not state.peers
            if repaired:
                log.warning("pin %s lost on %s: repairing", pin.cid, _peers_text(state))
                state = self.backend.repair(state, _pin_name(pin))
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                backend=self.backend.name, request_id=state.request_id,
                check_at=now + self.policy.check_seconds,
                repairs=Pin.repairs + (1 if repaired else 0)))
            self._record(connection, state, now)
        if repaired:
            log.info("pin %s repaired: %s", pin.cid, _peers_text(state))
        return repaired

    def _failed(self, pin: Pin, error: DappError) -> None:
        attempts = pin.attempts + 1
        retry_in = self.policy.delay(attempts)
        with self.engine.begin() as connection:
            connection.execute(update(Pin).where(Pin.cid == pin.cid).values(
                status="retrying", attempts=attempts, last_error=str(error)[:1000],
                next_try_at=self.clock() + retry_in))
        log.warning("pin %s failed (attempt %d, next in %.0fs): %s", pin.cid, attempts,
                    retry_in, error)


def _peers_text(state: PinState) -> str:
    return ", ".join(f"{p.name or p.peer[-8:]} {p.status}" for p in state.peers) or "no peers"
