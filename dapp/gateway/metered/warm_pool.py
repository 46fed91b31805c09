"""Warm model workers, pooled per model *and per buyer*, with idle eviction.

A model that defines `handle(body)` is loaded once into a sandboxed worker
(`dapp.compute.warm`) and answers calls over its pipe. A worker belongs to one (model, buyer)
pair for its whole life: it is never handed to another buyer, so whatever a model keeps
between calls (the last input, a cache) is seen only by the buyer who sent it. A call takes an
idle worker of its pair or starts one; a worker that failed a call is closed, not put back.

At most `max_workers` live at once (never fewer than the call slots, `model_workers`): a new
worker beyond that closes the least recently used idle one. Idle workers older than
`idle_seconds` are closed by `evict_idle` (the metered background loop, every tick, and each
acquire). Closing ends the worker's PID namespace: no process of it is left behind.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from dapp.compute.sandbox import SandboxLimits
from dapp.compute.warm import CHUNK, WarmWorker, declares_handler

log = logging.getLogger("dapp.gateway.metered")

Key = tuple[str, str]  # (model folder, buyer address, lower case)


class WarmPool:
    def __init__(self, limits: SandboxLimits, max_workers: int, idle_seconds: float,
                 call_seconds: float) -> None:
        self.limits = limits
        self.max_workers = max_workers
        self.idle_seconds = idle_seconds
        self.call_seconds = call_seconds
        self._idle: dict[Key, list[WarmWorker]] = {}
        self._live = 0
        self._lock = threading.Lock()
        self._handlers: dict[str, bool] = {}
        self.started = 0  # workers started, ever (for tests and metrics)

    def serves(self, folder: Path) -> bool:
        """Whether the model in `folder` declares `handle` (parsed once per folder)."""
        key = str(folder)
        if key not in self._handlers:
            self._handlers[key] = declares_handler(folder / "model.py")
        return self._handlers[key]

    @property
    def live(self) -> int:
        with self._lock:
            return self._live

    def call(self, folder: Path, buyer: str, body: bytes, script: Path | None = None,
             libraries: tuple[tuple[Path, Path], ...] = ()) -> bytes:
        """`body` through a worker of (`folder`, `buyer`); WarmCallFailed when the call failed
        (or the worker would not start). Blocking: call it from a model thread. `script`: the
        code the worker loads instead of the model's `model.py` (private models: the gateway's
        CKKS evaluator), with `libraries` bound read-only."""
        key = (str(folder), buyer.lower())
        worker = self._acquire(key, folder, script or folder / "model.py", libraries)
        try:
            answer = worker.call(body, self.call_seconds)
        except BaseException:
            self._discard(worker)
            raise
        self._release(key, worker)
        return answer

    def open_stream(self, folder: Path, buyer: str, body: bytes) -> PooledStream:
        """`body` through a worker of (`folder`, `buyer`) for a streamed answer; the worker is
        the stream's until `PooledStream.finish`. WarmCallFailed as `call`."""
        key = (str(folder), buyer.lower())
        worker = self._acquire(key, folder, folder / "model.py", ())
        try:
            first = worker.start_stream(body, self.call_seconds)
        except BaseException:
            self._discard(worker)
            raise
        stream = PooledStream(self, key, worker, first)
        if first[0] != CHUNK:
            stream.finish()
        return stream

    def _acquire(self, key: Key, folder: Path, script: Path,
                 libraries: tuple[tuple[Path, Path], ...]) -> WarmWorker:
        self.evict_idle()
        victim: WarmWorker | None = None
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                worker = idle.pop()
                if worker.alive:
                    return worker
                self._live -= 1
            if self._live >= self.max_workers:
                victim = self._oldest_idle()
            self._live += 1
        if victim is not None:
            victim.close()
        try:
            worker = WarmWorker(script, folder, self.limits, self.limits.wall_seconds,
                                libraries)
        except BaseException:
            with self._lock:
                self._live -= 1
            raise
        with self._lock:
            self.started += 1
        return worker

    def _oldest_idle(self) -> WarmWorker | None:
        """Take the least recently used idle worker out of the pool (lock held)."""
        oldest: tuple[Key, WarmWorker] | None = None
        for key, workers in self._idle.items():
            for worker in workers:
                if oldest is None or worker.last_used < oldest[1].last_used:
                    oldest = (key, worker)
        if oldest is None:
            return None
        self._idle[oldest[0]].remove(oldest[1])
        self._live -= 1
        return oldest[1]

    def _release(self, key: Key, worker: WarmWorker) -> None:
        if not worker.alive:
            self._discard(worker)
            return
        with self._lock:
            self._idle.setdefault(key, []).append(worker)

    def _discard(self, worker: WarmWorker) -> None:
        worker.close()
        with self._lock:
            self._live -= 1

    def evict_idle(self, now: float | None = None) -> int:
        """Close the workers idle for `idle_seconds` or more: how many."""
        now = time.monotonic() if now is None else now
        expired: list[WarmWorker] = []
        with self._lock:
            for key in list(self._idle):
                keep = []
                for worker in self._idle[key]:
                    if now - worker.last_used >= self.idle_seconds or not worker.alive:
                        expired.append(worker)
                    else:
                        keep.append(worker)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
            self._live -= len(expired)
        for worker in expired:
            worker.close()
        if expired:
            log.info("closed %d idle model worker(s)", len(expired))
        return len(expired)

    def close(self) -> None:
        """Close every idle worker (at shutdown; busy ones close when their call ends)."""
        self.evict_idle(now=float("inf"))


class PooledStream:
    """A streamed answer holding its worker: `first` is the worker's first frame (ANSWERED
    with a whole answer, CHUNK, or ENDED); `next` asks for one more chunk; `finish` (always
    called, idempotent) stops the model's generator if it is still going and gives the worker
    back, or closes it when the stream failed. Blocking: call from a model thread."""

    def __init__(self, pool: WarmPool, key: Key, worker: WarmWorker,
                 first: tuple[int, bytes]) -> None:
        self.first = first
        self._pool = pool
        self._key = key
        self._worker: WarmWorker | None = worker
        self._going = first[0] == CHUNK
        self._lock = threading.Lock()  # one exchange with the worker at a time

    def next(self) -> tuple[int, bytes]:
        with self._lock:
            if self._worker is None or not self._going:
                raise RuntimeError("the stream has ended")
            try:
                frame = self._worker.next_chunk(self._pool.call_seconds)
            except BaseException:
                self._end(failed=True)
                raise
            self._going = frame[0] == CHUNK
            if not self._going:
                self._end(failed=False)
            return frame

    def finish(self) -> None:
        with self._lock:
            if self._worker is None:
                return
            failed = False
            if self._going:
                try:
                    self._worker.stop_stream(self._pool.call_seconds)
                except Exception:  # WarmCallFailed: the worker is closed already
                    failed = True
            self._end(failed)

    def _end(self, failed: bool) -> None:
        worker, self._worker, self._going = self._worker, None, False
        if worker is None:
            return
        if failed:
            self._pool._discard(worker)
        else:
            self._pool._release(self._key, worker)
