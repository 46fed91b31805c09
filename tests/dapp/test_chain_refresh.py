"""dapp.chain.refresh: renewals of cached chain reads run off the caller's path, one per
entry, a bounded number at once, and stop with the gateway (`close`)."""

from __future__ import annotations

import threading

from dapp.chain.refresh import MAX_IN_FLIGHT, RefreshAhead


def test_renewals_are_one_per_entry_bounded_and_close_waits_for_them() -> None:
    refresh = RefreshAhead("test")
    release = threading.Event()
    started: list[int] = []

    def read(key: int) -> None:
        started.append(key)
        release.wait(10)

    for key in range(MAX_IN_FLIGHT + 3):
        refresh.soon(key, lambda key=key: read(key))
    refresh.soon(0, lambda: read(100))  # already being renewed: not twice
    assert refresh.running() == MAX_IN_FLIGHT  # the rest run out and are read by a call

    closing = threading.Thread(target=refresh.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive()  # close waits for the running reads
    release.set()
    closing.join(10)
    assert not closing.is_alive() and refresh.running() == 0
    assert sorted(started) == list(range(MAX_IN_FLIGHT))
    assert not any(t.name == "test-refresh" and t.is_alive() for t in threading.enumerate())

    refresh.soon(99, lambda: read(99))  # after close: nothing starts
    assert refresh.running() == 0 and 99 not in started


def test_a_failed_renewal_frees_its_entry_and_logs_no_details(caplog) -> None:  # type: ignore[no-untyped-def]
    refresh = RefreshAhead("test")
    done = threading.Event()

    def failing() -> None:
        done.set()
        raise RuntimeError("http://user:secret@node.example/ unreachable")

    with caplog.at_level("DEBUG", logger="dapp.chain.refresh"):
        refresh.soon("k", failing)
        done.wait(5)
        refresh.close()
    assert refresh.running() == 0
    assert "secret" not in caplog.text and "RuntimeError" in caplog.text
