"""The request rate limit shared by every gateway on one PostgreSQL database: the same token
bucket per key as `dapp.gateway.middleware.RateLimiter`, kept in the store's `rate_buckets`
table and updated under a row lock, so N gateways behind one address grant an account (or a
client address) `per_minute` requests in all, not N times as many.

Clocks: buckets are refilled by wall-clock time (unix seconds), the one clock gateways on
different machines share; a gateway whose clock lags refills nothing until it catches up
(never more). When the database does not answer, requests are let through (logged): the limit
protects the service, an outage of the database must not turn into an outage of everything."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError

from dapp.store.migrate import migrate
from dapp.store.models import RateBucket

log = logging.getLogger("dapp.gateway.rate_buckets")
rate_buckets = RateBucket.__table__
#: every this many requests, buckets idle long enough to be full again are deleted
SWEEP_EVERY = 1000


class SharedRateLimiter:
    """`allow(key)` -> (allowed, seconds until a token is available), counted in PostgreSQL."""

    def __init__(self, engine: Engine, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._engine = engine
        self._schema_ready = False
        self._calls = 0
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        now = time.time() if now is None else now
        try:
            return self._take(key[:80], now)
        except SQLAlchemyError as error:
            log.warning("rate limit not counted (database: %s)", type(error).__name__)
            return True, 0.0

    def _take(self, key: str, now: float) -> tuple[bool, float]:
        if not self._schema_ready:
            migrate(self._engine)
            self._schema_ready = True
        with self._lock:
            self._calls += 1
            sweep = self._calls % SWEEP_EVERY == 0
        with self._engine.begin() as connection:
            if sweep:  # a bucket idle this long is full: deleting it changes nothing
                idle = self.capacity / self.refill_per_second + 60
                connection.execute(delete(rate_buckets).where(
                    rate_buckets.c.updated_at < now - idle))
            connection.execute(pg_insert(rate_buckets).values(
                key=key, tokens=self.capacity, updated_at=now).on_conflict_do_nothing())
            row = connection.execute(select(rate_buckets).where(rate_buckets.c.key == key)
                                     .with_for_update()).one()
            elapsed = max(0.0, now - float(row.updated_at))
            tokens = min(self.capacity, float(row.tokens) + elapsed * self.refill_per_second)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            connection.execute(update(rate_buckets).where(rate_buckets.c.key == key).values(
                tokens=tokens, updated_at=max(now, float(row.updated_at))))
        if allowed:
            return True, 0.0
        return False, (1 - tokens) / self.refill_per_second
