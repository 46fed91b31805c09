"""A per-account cap on concurrent content streams.

Each download holds a connection to Kubo from the gateway's pool for as long as the client
takes to read it; a licensee opening a few hundred downloads and reading none would hold all
of them. Past `max_per_account` open streams an account gets 429 with Retry-After; a slot is
given back when its stream ends however it ends (complete, aborted, client gone). Used from
the event loop only."""

from __future__ import annotations

from dapp.errors import DappError

RETRY_AFTER_SECONDS = 5


class TooManyStreams(DappError):
    code = "too-many-streams"
    http_status = 429


class StreamSlots:
    def __init__(self, max_per_account: int) -> None:
        self.max_per_account = max_per_account
        self._open: dict[str, int] = {}

    def acquire(self, account: str) -> None:
        key = account.lower()
        held = self._open.get(key, 0)
        if held >= self.max_per_account:
            raise TooManyStreams(
                f"{account} already has {held} downloads streaming, the most one account may",
                hint="finish or close a download first",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self._open[key] = held + 1

    def release(self, account: str) -> None:
        key = account.lower()
        held = self._open.get(key, 0) - 1
        if held > 0:
            self._open[key] = held
        else:
            self._open.pop(key, None)
