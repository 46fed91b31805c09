"""Python's cyclic garbage collector, tuned while the indexer catches up.

A batch makes hundreds of thousands of short-lived objects (log dicts, events, rows) and
almost no reference cycles, yet each 700 allocations start a collection, and every few of
those walks every object the process holds — the indexer's memory, the ABIs, SQLAlchemy's
metadata. Measured on a 100,000-event catch-up (bench/indexer.py), those walks were a fifth
of the indexer's CPU and a quarter of its reader process's. Collections still run, only
less often; the thresholds are put back afterwards (the indexer may share its process).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations between young collections, and young (middle) collections between middle
#: (full) ones, while catching up: Python's defaults are (700, 10, 10)
CATCH_UP_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect less often inside the block (never more often than the process asked for)."""
    before = gc.get_threshold()
    gc.set_threshold(*(max(ours, theirs) if theirs else 0
                       for ours, theirs in zip(CATCH_UP_THRESHOLDS, before, strict=False)))
    try:
        yield
    finally:
        if gc.get_threshold() != before:
            gc.set_threshold(*before)


def settle_forked_child() -> None:
    """In a forked worker (the reader process): what it inherited is never garbage it made;
    keep it out of every collection, and collect its own objects less often."""
    gc.freeze()
    gc.set_threshold(*CATCH_UP_THRESHOLDS)
