"""The indexer's read-ahead in a forked process, so that reading the next range (the node's
answer, its JSON, the hash checks, decoding every log) runs on another core than the one
handling and writing this batch — a thread shares the interpreter lock with the handlers.

`ReaderProcess(setup)` forks a child that calls `setup()` once (in the child: open its own
connection to the node) to get a read function, then answers one request at a time over a
pipe. A request that raised in the child comes back as an error message, and the caller
reads the range again itself (so the error is raised, and handled, in the indexer as
before). The child ends when the pipe closes: `close()`, the parent's exit, or its death —
its copy of the parent's end of the pipe is closed, so a killed indexer leaves no reader
behind.
"""

from __future__ import annotations

import multiprocessing
import signal
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from dapp.indexer.collector import settle_forked_child

ReadFunction = Callable[..., Any]


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class ReaderFailed(Exception):
    """The child could not answer (it raised, or it is gone): read in the parent instead."""


class ReaderProcess:
    def __init__(self, setup: Callable[[], ReadFunction]) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve, name="indexer-read", daemon=True,
                                         args=(setup, child_end, self._connection))
        self._process.start()
        child_end.close()
        self._pending = False
        self.alive = True
        weakref.finalize(self, self._connection.close)

    def submit(self, *request: Any) -> None:
        """Start a read (one at a time: `answer()` the previous one first)."""
        assert not self._pending, "one read at a time"
        try:
            self._connection.send(request)
        except OSError as error:
            self.alive = False
            raise ReaderFailed(f"the reader process is gone ({error})") from error
        self._pending = True

    def answer(self) -> Any:
        """The read's result (waits for it); ReaderFailed when the child raised or died."""
        assert self._pending, "no read submitted"
        self._pending = False
        try:
            status, value = self._connection.recv()
        except (EOFError, OSError) as error:
            self.alive = False
            raise ReaderFailed(f"the reader process is gone ({error!r})") from error
        if status != "ok":
            raise ReaderFailed(str(value))
        return value

    def close(self) -> None:
        self.alive = False
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve(setup: Callable[[], ReadFunction], connection: Connection,
           parent_end: Connection) -> None:
    """The child: read what is asked until the pipe closes."""
    parent_end.close()  # (else the parent's death would not close the pipe for us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    settle_forked_child()
    read = setup()
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", read(*request))
        except Exception as error:  # the parent reads again itself, and sees it
            answer = ("error", f"{type(error).__name__}: {error}")
        try:
            connection.send(answer)
        except OSError:
            return
        except Exception as error:  # (not picklable: nothing was sent)
            connection.send(("error", f"{type(error).__name__}: {error}"))
