"""The voucher ledger on a real SQLite file (and PostgreSQL, for the compare-and-set every paid
call writes), including concurrent writers in separate processes and a SIGKILL in the middle
of a stream of vouchers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dapp.gateway.vouchers import LedgerOfAnotherMarket, VoucherLedger
from dapp.store.db import make_engine
from dapp.store.types import encode_uint256
from tests.dapp.conftest import Postgres

BIG = 2**200 + 12345  # far beyond 64-bit: must stay exact


def ledger(path: Path) -> VoucherLedger:
    return VoucherLedger(make_engine(f"sqlite:///{path}"))


def test_only_higher_vouchers_replace_the_stored_one(tmp_path: Path) -> None:
    book = ledger(tmp_path / "v.db")
    assert book.accept("ch1", 100, "0xaa")
    assert not book.accept("ch1", 100, "0xbb")  # equal: stale
    assert not book.accept("ch1", 99, "0xcc")  # lower: stale
    assert book.accept("ch1", BIG, "0xdd")
    stored = book.latest("ch1")
    assert stored is not None
    assert (stored.cumulative_amount, stored.signature) == (BIG, "0xdd")
    assert not book.accept("ch1", BIG - 1, "0xee")


def test_voucher_replayed_to_a_gateway_that_has_not_seen_it_stored_is_refused(
        tmp_path: Path) -> None:
    """Two gateways on one database: what one process knows of a channel (`known_amount`, no
    query) is a lower bound that a replay passes, but the compare-and-set refuses it."""
    first, second = ledger(tmp_path / "v.db"), ledger(tmp_path / "v.db")
    assert second.known_amount("ch") == 0  # read (nothing stored yet) and not remembered
    assert first.accept("ch", 200, "0xaa", min_increment=100)
    assert first.known_amount("ch") == 200
    assert not second.accept("ch", 200, "0xaa", min_increment=100)  # the replay
    assert not second.accept("ch", 250, "0xbb", min_increment=100)  # under one price more
    assert second.known_amount("ch") == 200  # read once when asked, remembered since
    assert second.accept("ch", 300, "0xcc", min_increment=100)
    assert (first.known_amount("ch"), second.known_amount("ch")) == (200, 300)
    stored = first.latest("ch")
    assert stored is not None and stored.cumulative_amount == 300


def test_redeeming_settles_exactly_the_batch_and_keeps_later_vouchers_pending(
    tmp_path: Path,
) -> None:
    book = ledger(tmp_path / "v.db")
    book.accept("a", 10, "0x1")
    book.accept("b", 20, "0x2")
    batch = book.pending()
    assert {v.channel_id: v.unredeemed for v in batch} == {"a": 10, "b": 20}
    book.accept("a", 15, "0x3")  # arrives while the batch is on its way to the chain
    book.mark_redeemed(batch, "0xtx")
    left = book.pending()
    assert [(v.channel_id, v.cumulative_amount, v.redeemed_amount) for v in left] == [
        ("a", 15, 10)
    ]
    book.mark_redeemed(batch, "0xtx")  # marking twice changes nothing
    assert [(v.channel_id, v.unredeemed) for v in book.pending()] == [("a", 5)]


def test_amounts_are_stored_as_the_store_s_uint256_and_must_be_one(tmp_path: Path) -> None:
    """The same zero-padded decimal text as every other uint256 column (and as the ledger
    wrote before its table joined the store's migrations); a value that is no uint256 fails
    before anything is written."""
    book = ledger(tmp_path / "v.db")
    assert encode_uint256(0) < encode_uint256(1) < encode_uint256(10) < encode_uint256(2**255)
    assert book.accept("ch", BIG, "0x1")
    with make_engine(f"sqlite:///{tmp_path / 'v.db'}").connect() as connection:
        stored = connection.execute(text(
            "SELECT cumulative_amount, redeemed_amount FROM channel_vouchers")).one()
    assert tuple(stored) == (str(BIG).zfill(78), "0" * 78) == (encode_uint256(BIG),
                                                               encode_uint256(0))
    with pytest.raises(ValueError, match="not a uint256"):
        book.accept("other", 2**256, "0x2")
    assert book.latest("other") is None


def _writer(path: str, start: int, count: int) -> None:
    book = ledger(Path(path))
    for amount in range(start, start + count):
        book.accept("shared", amount, f"0x{amount:x}")


def test_concurrent_writers_keep_the_highest_voucher(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    ledger(path).latest("warm-up")  # create the schema once
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(path), i * 50, 200)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    stored = ledger(path).latest("shared")
    assert stored is not None and stored.cumulative_amount == 3 * 50 + 199


def test_sigkill_mid_stream_loses_no_acknowledged_voucher(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    acks = tmp_path / "acks.txt"
    program = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from dapp.gateway.vouchers import VoucherLedger
        from dapp.store.db import make_engine
        book = VoucherLedger(make_engine("sqlite:///{path}"))
        with open("{acks}", "a", buffering=1) as acks:
            for amount in range(1, 1_000_000):
                if book.accept("ch", amount * 1000, "0x" + "ab" * 65):
                    acks.write(f"{{amount * 1000}}\\n")  # the response would go out now
    """)
    child = subprocess.Popen([sys.executable, "-c", program], cwd=Path(__file__).parents[2])
    deadline = time.monotonic() + 30
    while (not acks.exists() or acks.stat().st_size < 2000) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    acknowledged = [int(line) for line in acks.read_text().split()]
    assert len(acknowledged) > 50
    stored = ledger(path).latest("ch")
    assert stored is not None
    # every acknowledged voucher is durable: the stored one is at least the last ack
    assert stored.cumulative_amount >= acknowledged[-1]


def test_a_voucher_must_exceed_the_stored_one_by_the_price(tmp_path: Path) -> None:
    book = ledger(tmp_path / "v.db")
    assert not book.accept("ch", 9, "0x0", min_increment=10)  # below one price: never stored
    assert book.latest("ch") is None
    assert book.accept("ch", 10, "0x1", min_increment=10)
    assert not book.accept("ch", 19, "0x2", min_increment=10)  # only 9 more: stale
    assert book.accept("ch", 20, "0x3", min_increment=10)
    assert book.accept("ch", 55, "0x4", min_increment=10)  # more than a price more is fine
    stored = book.latest("ch")
    assert stored is not None and (stored.cumulative_amount, stored.signature) == (55, "0x4")


def _pricing_writer(url: str, worker: int, workers: int, out: str) -> None:
    book = VoucherLedger(make_engine(url))
    won = sum(book.accept("priced", amount, f"0x{amount:x}", min_increment=7)
              for amount in range(7 + worker, 2000, workers))
    Path(out).write_text(str(won))


def race_priced_accepts(url: str, outs: list[Path]) -> None:
    """Four processes race vouchers a few units apart at price 7: however they interleave,
    n accepted calls are backed by at least n prices."""
    VoucherLedger(make_engine(url)).latest("warm-up")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_pricing_writer, args=(url, i, len(outs), str(out)))
               for i, out in enumerate(outs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    accepted = sum(int(out.read_text()) for out in outs)
    stored = VoucherLedger(make_engine(url)).latest("priced")
    assert stored is not None and accepted >= 1
    assert accepted * 7 <= stored.cumulative_amount < 2000


def test_concurrent_priced_accepts_never_spend_the_same_value_twice(tmp_path: Path) -> None:
    race_priced_accepts(f"sqlite:///{tmp_path / 'v.db'}",
                        [tmp_path / f"won-{i}" for i in range(4)])


def test_concurrent_priced_accepts_on_postgresql_never_spend_the_same_value_twice(
        postgres: Postgres, tmp_path: Path) -> None:
    """The same race on PostgreSQL, the database gateways share (the compare-and-set runs on
    driver connections of the ledger's own, `voucher_cas`)."""
    race_priced_accepts(postgres.create_database("ledger_race"),
                        [tmp_path / f"won-{i}" for i in range(4)])


def test_a_restarted_database_costs_the_ledger_no_call(postgres: Postgres) -> None:
    """The compare-and-set keeps its connections between calls: when the server closed them
    (a restart, here every session of the database ended), the next voucher goes to a new
    connection instead of failing, and a voucher is still taken once."""
    url = postgres.create_database("ledger_cut")
    book = VoucherLedger(make_engine(url))
    assert book.accept("ch", 10, "0x1", min_increment=10)
    admin = make_engine(postgres.url())
    with admin.begin() as connection:
        ended = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = 'ledger_cut' AND pid <> pg_backend_pid()")).scalar_one()
    admin.dispose()
    assert ended >= 1
    assert book.accept("ch", 20, "0x2", min_increment=10)
    assert not book.accept("ch", 20, "0x2", min_increment=10)  # the replay, after it
    stored = book.latest("ch")
    assert stored is not None and (stored.cumulative_amount, stored.signature) == (20, "0x2")


def test_attack_burst_of_vouchers_starves_the_gateways_database_pool(
        postgres: Postgres) -> None:
    """20 vouchers accepted at once (stream payments on many channels) take connections from
    the engine's pool (5 + 10 overflow) for the compare-and-set: afterwards the ledger keeps
    at most half the pool's size, so the gateway's other queries still get a connection at
    once instead of waiting out the pool's timeout."""
    engine = create_engine(postgres.create_database("ledger_burst"), pool_pre_ping=True,
                           pool_size=5, max_overflow=10, pool_timeout=2)
    book = VoucherLedger(engine)
    for i in range(20):
        assert book.accept(f"ch{i}", 10, "0x1", min_increment=10)
    start = threading.Barrier(20)

    def pay(i: int) -> bool:
        start.wait()
        return book.accept(f"ch{i}", 20, "0x2", min_increment=10)

    with ThreadPoolExecutor(20) as pool:
        assert all(pool.map(pay, range(20)))
    assert engine.pool.checkedout() <= 2  # type: ignore[attr-defined]
    with ThreadPoolExecutor(5) as pool:  # five other requests, each with a connection
        list(pool.map(lambda _: book.latest("ch0"), range(5)))
    book.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    engine.dispose()


def test_pending_vouchers_carry_their_age_and_a_write_off_ends_them(tmp_path: Path) -> None:
    book = ledger(tmp_path / "v.db")
    before = int(time.time())
    book.accept("gone", 50, "0x1")
    book.accept("kept", 60, "0x2")
    pending = {v.channel_id: v for v in book.pending()}
    assert (pending["gone"].first_unredeemed_at or 0) >= before
    book.write_off(pending["gone"], "deposit reclaimed")
    assert [v.channel_id for v in book.pending()] == ["kept"]
    book.mark_redeemed([pending["kept"]], "0xtx")
    assert book.pending() == []
    kept = book.latest("kept")
    assert kept is not None and kept.first_unredeemed_at is None and kept.unredeemed == 0


MARKET = "0x" + "Ab" * 20


def test_a_ledger_serves_one_market_and_refuses_another_keeping_its_vouchers(
        tmp_path: Path) -> None:
    """Channel ids are per market: a database kept across a chain reset or a redeployment
    must not mix the old channels' vouchers with the new ones."""
    book = ledger(tmp_path / "v.db")
    book.bind(1337, MARKET)
    assert book.accept("7", 500, "0xaa")
    ledger(tmp_path / "v.db").bind(1337, MARKET.lower())  # the same market, any spelling
    with pytest.raises(LedgerOfAnotherMarket, match="belongs to the ComputeMarket") as refused:
        ledger(tmp_path / "v.db").bind(1337, "0x" + "cd" * 20)
    assert refused.value.http_status == 503
    with pytest.raises(LedgerOfAnotherMarket, match="on chain 1337"):
        ledger(tmp_path / "v.db").bind(31337, MARKET)
    stored = book.latest("7")
    assert stored is not None and stored.cumulative_amount == 500  # nothing lost
