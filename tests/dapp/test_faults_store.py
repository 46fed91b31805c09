"""The database file locked or the disk full: a clear error, no partial rows.

The indexer syncs a range with events while another connection holds `BEGIN EXCLUSIVE` on
the SQLite file, or while SQLite's `max_page_count` leaves no room for the batch (SQLITE_FULL
part-way through it): the round fails with DatabaseUnavailable naming the database, the cursor
stays where it was and no row of the batch is left behind; once the lock is gone or the limit
raised, the next round completes and the database equals that of an undisturbed run. The
gateway subprocess answers a write while the file is locked with a 503 problem+json within a
few seconds (the busy timeout), and recovers when the lock is released.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from web3 import Web3

from dapp.errors import DatabaseUnavailable
from dapp.indexer import Indexer
from tests.dapp.conftest import (
    Chain,
    Gateway,
    Kubo,
    deploy_toolchain,
    emit_transfers,
    make_settings,
    start_gateway,
    table_dump,
)
from tests.dapp.helpers.gateway import assert_problem
from tests.dapp.helpers.toolchain_index import (
    BOOKKEEPING,
    indexed_balances,
    make_indexer,
    sqlite_url,
)

BUSY_TIMEOUT = 5.0  # PRAGMA busy_timeout in dapp.store.db.make_engine


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as SQLite sees it: the write lock held until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield holder
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def clean_run(chain: Chain, tmp_path: Path, token: Any, **settings: Any) -> Indexer:
    reference = make_indexer(chain, sqlite_url(tmp_path, "reference.db"), [token], **settings)
    reference.run_once()
    return reference


def test_indexer_against_a_locked_database_fails_clearly_then_completes(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, range(1, 11))
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=4)
    indexer.run_once()
    chain_id = indexer.prepare()
    head = emit_transfers(token, range(11, 31))  # the range the locked rounds must not write
    cursor = indexer.read_cursor(chain_id)
    before = table_dump(indexer.db)

    with exclusive_lock(tmp_path / "index.db"):
        for _ in range(2):  # a retried round fails the same way and writes nothing either
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable, match="database") as raised:
                indexer.run_once()
            waited = time.monotonic() - started
            assert waited < BUSY_TIMEOUT + 5, waited
            assert "locked" in str(raised.value)
            assert indexer.read_cursor(chain_id) == cursor
            assert table_dump(indexer.db) == before

    report = indexer.run_once()
    assert report.last_block == head and report.events == 20
    reference = clean_run(chain, tmp_path, token, indexer_max_range=4)
    assert table_dump(indexer.db, BOOKKEEPING) == table_dump(reference.db, BOOKKEEPING)
    assert indexed_balances(indexer.db) == indexed_balances(reference.db)


def test_indexer_on_a_full_disk_writes_no_partial_batch_then_completes(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, range(1, 4))
    indexer = make_indexer(chain, sqlite_url(tmp_path), [token], indexer_max_range=1000)
    indexer.run_once()
    chain_id = indexer.prepare()
    head = emit_transfers(token, range(4, 204))  # ~200 events: many pages in one batch
    cursor = indexer.read_cursor(chain_id)
    before = table_dump(indexer.db)

    with indexer.db.connect() as connection:
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
    limit = {"pages": pages + 3}  # room for the first rows of the batch, not for all of it
    statements: list[str] = []  # one per row sent (the writer inserts rows in bulk)

    def cap_the_file(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
              executemany: bool) -> None:
        rows = len(parameters) if executemany else 1
        statements.extend([statement.split(None, 1)[0].upper()] * rows)

    event.listen(indexer.db, "connect", cap_the_file)
    event.listen(indexer.db, "before_cursor_execute", count)
    indexer.db.dispose()  # pooled connections reconnect under the cap
    with pytest.raises(DatabaseUnavailable, match="full"):
        indexer.run_once()
    assert statements.count("INSERT") > 3, "the batch failed before it wrote anything"
    assert indexer.read_cursor(chain_id) == cursor
    assert table_dump(indexer.db) == before

    limit["pages"] = 1 << 30
    indexer.db.dispose()
    report = indexer.run_once()
    assert report.last_block == head and report.events == 200
    reference = clean_run(chain, tmp_path, token, indexer_max_range=1000)
    assert table_dump(indexer.db, BOOKKEEPING) == table_dump(reference.db, BOOKKEEPING)


@pytest.fixture
def gateway(chain: Chain, kubo: Kubo, deployments_file: Path,
            tmp_path: Path) -> Iterator[Gateway]:
    settings = make_settings(tmp_path / "gw", chain, kubo, deployments_file=deployments_file)
    started = start_gateway(settings, tmp_path / "gateway.log")
    yield started
    started.process.stop()


def test_gateway_answers_503_while_the_database_is_locked_and_recovers(
    gateway: Gateway
) -> None:
    nonce_url = f"{gateway.url}/v1/auth/nonce"
    assert httpx.get(nonce_url, timeout=10).status_code == 200  # the nonce table exists now
    database = Path(gateway.settings.resolved_database_url.removeprefix("sqlite:///"))
    assert database.is_file()

    with exclusive_lock(database):
        started = time.monotonic()
        response = httpx.get(nonce_url, timeout=BUSY_TIMEOUT + 20)
        waited = time.monotonic() - started
        body = assert_problem(response, 503, "database-unavailable")
        assert "database" in body["detail"] and "locked" in body["detail"], body
        assert waited < BUSY_TIMEOUT + 5, waited
        assert response.headers.get("retry-after"), response.headers
        assert gateway.process.is_running()

    recovered = httpx.get(nonce_url, timeout=10)
    assert recovered.status_code == 200, recovered.text
    assert recovered.json()["nonce"]
