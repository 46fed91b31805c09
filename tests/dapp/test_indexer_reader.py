"""The read-ahead in a forked reader process (dapp/indexer/reader.py), on a real ganache and
both stores: the rows it leads to are those of a read-ahead on a thread; a reorg, a contract
created on chain and a reader that dies are handled as before; a killed indexer leaves no
reader behind. `process_read_from=1` sends every read-ahead to the process (in a catch-up
it takes batches of 1,000 logs or more)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from web3 import Web3

from dapp.chain.events import DecodedEvent
from dapp.indexer import Indexer
from dapp.indexer.writer import StateWriter
from tests.dapp.conftest import (
    Chain,
    deploy_toolchain,
    emit_transfers,
    table_dump,
)
from tests.dapp.helpers.toolchain_index import (
    BOOKKEEPING,
    indexed_balances,
    make_indexer,
    sqlite_url,
    token_handlers,
)


def in_process(indexer: Indexer) -> Indexer:
    indexer.process_read_from = 1
    return indexer


def reader_pid(indexer: Indexer) -> int:
    assert indexer._process is not None and indexer._process.alive, "no reader process"
    pid = indexer._process._process.pid
    assert pid is not None
    return pid


def test_reading_ahead_in_a_process_writes_the_rows_a_thread_does(
    chain: Chain, web3: Web3, store_url: str, tmp_path: Path
) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, range(1, 31))
    forked = in_process(make_indexer(chain, store_url, [token], indexer_max_range=3))
    threaded = make_indexer(chain, sqlite_url(tmp_path, "thread.db"), [token],
                            indexer_max_range=3)
    threaded.process_read_from = None
    report = forked.run_once()
    reader_pid(forked)  # (it read ahead in the process)
    assert report == threaded.run_once()
    assert table_dump(forked.db) == table_dump(threaded.db)
    forked.close()
    threaded.close()
    forked.db.dispose()


def test_a_reorg_after_process_reads_is_rolled_back_to_a_fresh_index(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    token = deploy_toolchain(web3)
    emit_transfers(token, [5, 6, 7])
    indexer = in_process(make_indexer(chain, sqlite_url(tmp_path), [token],
                                      indexer_max_range=4))
    indexer.run_once()
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    emit_transfers(token, range(100, 112), to_index=2)  # the branch that will vanish
    indexer.run_once()
    assert web3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    head = emit_transfers(token, range(200, 216), to_index=3)
    report = indexer.run_once()
    assert report.rollbacks == 1 and report.last_block == head
    reader_pid(indexer)
    fresh = make_indexer(chain, sqlite_url(tmp_path, "fresh.db"), [token], indexer_max_range=4)
    fresh.run_once()
    assert table_dump(indexer.db, BOOKKEEPING) == table_dump(fresh.db, BOOKKEEPING)
    indexer.close()


def test_a_contract_created_on_chain_discards_the_process_read_ahead(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    """The read ahead when a handler starts following a contract does not cover it: it is
    dropped, and every later range is read with the new contract."""
    factory, created = deploy_toolchain(web3), deploy_toolchain(web3)

    def on_create(writer: StateWriter, event: DecodedEvent) -> None:
        if event.args["value"] == 777:
            writer.watch("Toolchain", created.address)

    # blocks: the factory's deploy (F) and the created one's, 6 transfers, 777 at F+8 and the
    # new contract's transfers after it: batches of 4 blocks put 777 first in the third
    # (read ahead in the process) with three of the new contract's transfers
    emit_transfers(factory, range(1, 7))
    assert emit_transfers(factory, [777]) == factory.block + 8
    emit_transfers(created, range(10, 20))
    indexer = in_process(make_indexer(chain, sqlite_url(tmp_path), [factory],
                                      handlers=token_handlers(on_create),
                                      indexer_max_range=4))
    indexer.run_once()
    threaded = make_indexer(chain, sqlite_url(tmp_path, "thread.db"), [factory],
                            handlers=token_handlers(on_create), indexer_max_range=4)
    threaded.process_read_from = None
    threaded.run_once()
    assert table_dump(indexer.db) == table_dump(threaded.db)
    assert len(indexed_balances(indexer.db)) >= 2
    indexer.close()


def test_a_dead_reader_process_is_replaced_and_its_range_read_here(
    chain: Chain, web3: Web3, tmp_path: Path
) -> None:
    token = deploy_toolchain(web3)
    middle = emit_transfers(token, range(1, 11))
    head = emit_transfers(token, range(11, 21))
    indexer = in_process(make_indexer(chain, sqlite_url(tmp_path), [token],
                                      indexer_max_range=2))
    indexer.sync_to(middle)
    dead = reader_pid(indexer)
    os.kill(dead, signal.SIGKILL)
    assert indexer.run_once().last_block == head
    assert reader_pid(indexer) != dead
    fresh = make_indexer(chain, sqlite_url(tmp_path, "fresh.db"), [token], indexer_max_range=2)
    fresh.process_read_from = None
    fresh.run_once()
    assert table_dump(indexer.db) == table_dump(fresh.db)
    indexer.close()


ORPHAN = """
import sys, time
from dapp.indexer.reader import ReaderProcess
reader = ReaderProcess(lambda: (lambda: None))
print(reader._process.pid, flush=True)
time.sleep(60)
"""


def test_a_killed_indexer_leaves_no_reader_process() -> None:
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN], stdout=subprocess.PIPE,
                              text=True, env={**os.environ})
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child), "the reader outlived its indexer"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
