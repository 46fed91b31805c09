"""Renew a cached chain read before it runs out, off the caller's path.

The gateway caches what it reads from the chain for seconds (channels, providers, licenses,
version counts, asset kinds). A call that finds an entry past its TTL reads the chain itself
and waits for it (tens of ms on a busy node), and every call arriving meanwhile does too. A
call that finds an entry past *half* its TTL is answered from it and asks `RefreshAhead.soon`
to read it again on a thread of its own (one read at a time per entry, at most
`MAX_IN_FLIGHT` at once: beyond that the entry runs out and the next call reads it itself): a
steady stream of calls then never waits on the chain, and no entry is served older than its
TTL. `close` (the gateway's shutdown) starts no more reads and waits for the running ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger("dapp.chain.refresh")

MAX_IN_FLIGHT = 4
CLOSE_WAIT_SECONDS = 10.0


class RefreshAhead:
    def __init__(self, name: str) -> None:
        self.name = name
        self._going: dict[Hashable, threading.Thread] = {}
        self._closed = False
        self._lock = threading.Lock()

    def soon(self, key: Hashable, read: Callable[[], object]) -> None:
        """Run `read` (which stores what it reads) on a thread, unless one runs for `key`."""
        with self._lock:
            if self._closed or key in self._going or len(self._going) >= MAX_IN_FLIGHT:
                return
            thread = threading.Thread(target=self._refresh, args=(key, read),
                                      name=f"{self.name}-refresh", daemon=True)
            self._going[key] = thread
        thread.start()

    def _refresh(self, key: Hashable, read: Callable[[], object]) -> None:
        try:
            read()
        except Exception as error:  # the first call past the TTL reads and reports it
            log.debug("%s: renewing %r failed: %s", self.name, key, type(error).__name__)
        finally:
            with self._lock:
                self._going.pop(key, None)

    def running(self) -> int:
        """How many reads run now."""
        with self._lock:
            return len(self._going)

    def close(self, wait_seconds: float = CLOSE_WAIT_SECONDS) -> None:
        """Start no more reads and wait (up to `wait_seconds`) for the running ones."""
        with self._lock:
            self._closed = True
            threads = list(self._going.values())
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(wait_seconds)
