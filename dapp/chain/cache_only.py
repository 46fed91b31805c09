"""Work that must not wait on the chain or a database: `cache_only()` marks a block (on the
current thread) whose chain reads and ledger reads raise `WouldBlock` instead of blocking.

The gateway checks a metered call's model and voucher on the event loop when every answer is
cached (no thread hop, no model slot), and in a worker thread when one is not: the block
raises `WouldBlock` at the first read it would have to wait for, and the check is done again
where waiting is fine. Everything a check does before that read is cache-keeping that may
happen twice.

`WouldBlock` is a BaseException: readers that turn any failure into an answer (an ERC-1271
wallet that cannot answer means "no") must not turn it into one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WouldBlock(BaseException):
    """A read inside `cache_only()` that would have waited on the chain or a database."""


_state = threading.local()


@contextmanager
def cache_only() -> Iterator[None]:
    """Reads on this thread inside the block raise WouldBlock instead of blocking."""
    before = getattr(_state, "on", False)
    _state.on = True
    try:
        yield
    finally:
        _state.on = before


def refuse_if_cache_only(what: str) -> None:
    """Called by a reader just before it would block: WouldBlock inside `cache_only()`."""
    if getattr(_state, "on", False):
        raise WouldBlock(what)
