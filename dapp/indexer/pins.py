"""Pin every CID the indexer queued on the local IPFS node, and read public metadata.

The queue is the `pins` table: the indexer adds rows in its batch transactions; the pinner
works through the due ones on its own (a thread of the runner, or `run_once()` in tests), so
a slow or stopped Kubo never holds up indexing. A failed attempt is retried after
`base * 2**(attempts-1)` seconds, capped at `max`. When the node is unreachable the round
stops at the first failure (every other pin would fail the same way) and resumes next round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from dapp.errors import DappError, IpfsUnavailable
from dapp.indexer.metadata import store_metadata
from dapp.ipfs.client import IpfsClient
from dapp.store.models import Pin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinPolicy:
    base_delay: float = 2.0
    max_delay: float = 600.0
    metadata_max_bytes: int = 1 << 20

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))


@dataclass
class PinRound:
    pinned: int = 0
    failed: int = 0
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
                select(Pin).where(Pin.status != "pinned", Pin.next_try_at <= self.clock())
                .order_by(Pin.next_try_at, Pin.cid).limit(limit))
            return [Pin(**row._mapping) for row in rows]

    def run_once(self, limit: int = 100) -> PinRound:
        result = PinRound()
        for pin in self.due(limit):
            try:
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
