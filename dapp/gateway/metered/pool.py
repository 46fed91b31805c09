"""Model runs on threads of their own, bounded: a metered call never takes a thread that
sign-in, the catalog or a download needs.

FastAPI runs blocking work on anyio's default thread limiter (40 threads for the whole
process). A model run holds its thread for as long as the model runs (seconds, up to the
wall-time limit), so a burst of slow calls would hold every one of those threads and make
every other request wait behind them. Here a run needs a *slot* first (at most `workers` at
once); a call that cannot get one within `queue_seconds` is answered 503 `models-busy` with
`Retry-After` instead of queueing without end. A slot's run goes to a thread limiter of the
same size, apart from the default one.

The slot is taken after the voucher is checked and before it is reserved
(`routes/invoke.py`): a voucher that pays nothing is refused without waiting for a slot, and
a call refused for a full pool has paid nothing.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

from dapp.errors import ServiceUnavailable

T = TypeVar("T")


class ModelsBusy(ServiceUnavailable):
    """Every model worker is taken and none came free within the queue time."""

    code = "models-busy"


class ModelPool:
    def __init__(self, workers: int, queue_seconds: float) -> None:
        if workers < 1:
            raise ValueError("a model pool needs at least one worker")
        self.workers = workers
        self.queue_seconds = queue_seconds
        # made on first use, inside the event loop that will wait on them
        self._slots: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None
        self._checks: tuple[anyio.CapacityLimiter, anyio.CapacityLimiter] | None = None

    def _limiters(self) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
        if self._slots is None or self._threads is None:
            self._slots = anyio.CapacityLimiter(self.workers)
            self._threads = anyio.CapacityLimiter(self.workers)
        return self._slots, self._threads

    @property
    def busy(self) -> int:
        """Slots taken now (running or about to run)."""
        return 0 if self._slots is None else int(self._slots.borrowed_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `workers` slots; ModelsBusy (503 + Retry-After) when none came
        free within `queue_seconds`."""
        slots, _ = self._limiters()
        holder = await self._take(slots)
        try:
            yield
        finally:
            slots.release_on_behalf_of(holder)

    async def hold(self) -> Callable[[], None]:
        """Take a slot as `slot()` does, for a response that outlives the route (a stream):
        the returned function gives it back (idempotent), from any task."""
        slots, _ = self._limiters()
        holder = await self._take(slots)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                slots.release_on_behalf_of(holder)
        return release

    async def check(self, function: Callable[[], None]) -> None:
        """A call's admission `function` on a thread of `workers` of its own, for the checks
        that wait on the chain or the database (never the default threads sign-in, the catalog
        and downloads use: a flood of calls whose checks hang on a stalled chain holds these
        only); ModelsBusy when none came free within `queue_seconds`."""
        if self._checks is None:  # turns to wait (queue_seconds at most), and threads
            self._checks = (anyio.CapacityLimiter(self.workers),
                            anyio.CapacityLimiter(self.workers))
        checks, threads = self._checks
        holder = await self._take(checks)
        try:  # as many threads as turns: this never waits
            await anyio.to_thread.run_sync(function, limiter=threads)
        finally:
            checks.release_on_behalf_of(holder)

    async def _take(self, limiter: anyio.CapacityLimiter) -> object:
        """A token of `limiter`, held by the returned object (release it with
        `release_on_behalf_of`); ModelsBusy when none came free within `queue_seconds`."""
        holder = object()
        acquired = False
        with anyio.move_on_after(self.queue_seconds):
            await limiter.acquire_on_behalf_of(holder)  # a cancelled wait takes no token
            acquired = True
        if not acquired:
            raise self._busy()
        return holder

    def _busy(self) -> ModelsBusy:
        retry_after = max(1, math.ceil(self.queue_seconds))
        return ModelsBusy(
            f"all {self.workers} model workers are busy", hint="try again shortly",
            details={"workers": self.workers}, headers={"Retry-After": str(retry_after)})

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` on a model thread (call it while holding a slot)."""
        _, threads = self._limiters()
        return await anyio.to_thread.run_sync(function, *args, limiter=threads)

