"""The voucher ledger's compare-and-set on driver connections of its own: the one statement
every paid call writes, without SQLAlchemy's per-transaction work (pool checkout and reset,
events, result objects: about two thirds of the statement's CPU on SQLite, issue 17).

The statement is the ledger's (`dapp.gateway.vouchers`): raise the channel's stored voucher
only when the stored amount is at most the new one minus the price, in one UPDATE, committed
before `raise_stored` returns. So it is exactly as durable, and as correct across processes
sharing the database (PostgreSQL locks the row; SQLite takes its write lock), as the
statement it replaces; the driver (psycopg) prepares it on the server after a few calls.

Connections come from the engine's pool (its connect hooks ran: SQLite's WAL, busy timeout)
and are kept here, one per thread using it at once (SQLite's writers take turns on the
ledger's lock, so one there), but never more than half the pool's size: the rest of the
gateway (sessions, nonces, rate limits) always finds connections in it, however many
vouchers arrived at once (a burst of stream payments). A connection whose statement failed is
thrown away; the error goes on as SQLAlchemy's (`OperationalError`: the gateway answers 503).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

_RAISE_SQL = (
    "UPDATE channel_vouchers SET cumulative_amount = {p}, signature = {p}, updated_at = {p}, "
    "first_unredeemed_at = COALESCE(first_unredeemed_at, {p}) "
    "WHERE channel_id = {p} AND cumulative_amount <= {p}"
)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # the shipped drivers
MAX_IDLE = 16  # at most this many kept, and at most half the engine's pool (`kept_at_most`)


class _Disconnected(Exception):
    """A kept connection found closed by the server."""


class CompareAndSet:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        placeholder = _PLACEHOLDERS.get(engine.dialect.paramstyle)
        if placeholder is None:  # not a driver the gateway ships with
            raise ValueError(f"no compare-and-set for paramstyle {engine.dialect.paramstyle}")
        self._sql = _RAISE_SQL.format(p=placeholder)
        self._idle: list[Any] = []  # pool connections (SQLAlchemy's fairies), free to take
        self.kept_at_most = kept_at_most(engine)
        self._lock = threading.Lock()
        self._dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error

    def raise_stored(self, channel_id: str, amount: str, ceiling: str, signature: str,
                     now: int) -> bool:
        """UPDATE the channel's voucher to (`amount`, `signature`) where it stores at most
        `ceiling` (encoded uint256s), committed; whether a row changed."""
        params = (amount, signature, now, now, channel_id, ceiling)
        with self._lock:
            fairy = self._idle.pop() if self._idle else None
        if fairy is not None:
            try:
                return self._run(fairy, params)
            except _Disconnected:  # kept idle while the server went away (a restart): as the
                pass  # engine's pre-ping would, the statement goes to a new connection
        return self._run(self._engine.raw_connection(), params, fresh=True)

    def _run(self, fairy: Any, params: tuple[object, ...], fresh: bool = False) -> bool:
        connection = fairy.driver_connection
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, params)
                changed = cursor.rowcount == 1
            finally:
                cursor.close()
            connection.commit()
        except self._dbapi_error as error:
            fairy.invalidate()  # never reused: its state after the failure is unknown
            if not fresh and self._engine.dialect.is_disconnect(error, connection, None):
                raise _Disconnected from error
            raise DBAPIError.instance(self._sql, params, error, self._dbapi_error) from error
        except BaseException:
            fairy.invalidate()
            raise
        with self._lock:
            if len(self._idle) < self.kept_at_most:
                self._idle.append(fairy)
                return changed
        fairy.close()  # back to the engine's pool
        return changed

    def close(self) -> None:
        """Give every kept connection back to the engine's pool."""
        with self._lock:
            idle, self._idle = self._idle, []
        for fairy in idle:
            fairy.close()


def kept_at_most(engine: Engine) -> int:
    """How many connections the compare-and-set may keep: half the engine's pool (at least
    one), at most MAX_IDLE."""
    size = getattr(engine.pool, "size", None)
    if not callable(size):
        return 1
    return max(1, min(MAX_IDLE, int(size()) // 2))
