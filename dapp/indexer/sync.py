"""The indexer: follow contract logs into the store, crash-safe and reorg-safe.

One batch = one block range = one database transaction holding the raw events, every row
the handlers wrote (with undo images), the blocks' hashes and the advanced cursor. A crash
loses at most the batch in flight, and the restart fetches it again. Before each batch the
cursor's block hash is compared with the chain's; when it changed, the indexer walks its
stored hashes back to the newest one the chain still has, undoes everything above it and
goes on from there.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, delete, func, insert, select, update
from web3 import Web3

from dapp.chain.client import connect
from dapp.chain.contracts import load_abi
from dapp.chain.events import (
    DecodedEvent,
    EventDecoder,
    EventTuple,
    LogOrigin,
    UnknownEvent,
    event_tuples,
    events_from_tuples,
)
from dapp.chain.reorgs import common_ancestor
from dapp.config import Settings
from dapp.indexer.collector import fewer_collections
from dapp.indexer.contracts import ContractSpec, contracts_from_deployment, contracts_key
from dapp.indexer.errors import ChainUnsettled, ConcurrentIndexer, ReorgTooDeep, WrongChain
from dapp.indexer.handlers import HandlerTable, default_handlers
from dapp.indexer.ranges import RangeSizer, RangeTooLarge
from dapp.indexer.reader import ReaderFailed, ReaderProcess, fork_available
from dapp.indexer.source import ChainSource
from dapp.indexer.writer import (
    NewWatch,
    PreparedRows,
    StateWriter,
    key_tuples,
    prepare_rows,
    prune_journal,
    undo_above,
)
from dapp.store.db import make_engine, unavailable_on_failure
from dapp.store.migrate import migrate
from dapp.store.models import (
    BlockHash,
    JournalEntry,
    RawEvent,
    SyncCursor,
    WatchedContract,
    event_derived_models,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cursor:
    block_number: int
    block_hash: str


@dataclass
class SyncReport:
    """What one `sync_to` did."""

    last_block: int = -1
    batches: int = 0
    events: int = 0
    rollbacks: int = 0
    shrinks: int = 0


@dataclass
class Batch:
    first: int
    last: int
    last_hash: str
    #: the range's logs decoded, in chain order (logs of no known event are left out)
    events: list[DecodedEvent]
    log_count: int  # logs the node returned for the range (decoded or not)
    watched: dict[str, str]  # address → contract name
    hashes: dict[int, str]  # block → hash, to remember for reorg detection
    #: made by the reader process: the events' rows of `events` ready to write, and the
    #: rows the handlers will look up (None: made when the batch is handled)
    raw_rows: PreparedRows | None = None
    reads: dict[Any, set[tuple[Any, ...]]] | None = None

    def with_new_contracts(self, watches: Sequence[NewWatch],
                           events: list[DecodedEvent], log_count: int) -> Batch:
        """This batch with the (decoded) logs of contracts it just started following."""
        watched = {**self.watched, **{w.address: w.name for w in watches}}
        seen = {_event_order(e) for e in self.events}
        extra = [e for e in events if _event_order(e) not in seen]
        hashes = {e.origin.block_number: e.origin.block_hash for e in extra}
        return replace(self, events=sorted(self.events + extra, key=_event_order),
                       log_count=self.log_count + log_count, watched=watched,
                       hashes=hashes | self.hashes, raw_rows=None, reads=None)


def _event_order(event: DecodedEvent) -> tuple[int, int]:
    return event.origin.block_number, event.origin.log_index


RAW_EVENT_COLUMNS = ("chain_id", "address", "contract", "name", "args", "block_number",
                     "block_hash", "log_index", "tx_hash")


def raw_event_row(chain_id: int, event: DecodedEvent) -> dict[str, Any]:
    """The row of `events` for a decoded log (as `StateWriter.append` with the event's
    origin would make it)."""
    return dict(zip(RAW_EVENT_COLUMNS, _raw_event_values(chain_id, event), strict=True))


def _raw_event_values(chain_id: int, event: DecodedEvent) -> tuple[Any, ...]:
    contract, address, name, args, origin = event
    return (chain_id, address, contract, name, args, *origin)


def raw_event_rows(chain_id: int, events: list[DecodedEvent],
                   dialect: Dialect) -> PreparedRows | None:
    """The batch's rows of `events`, bound for `dialect` (None: none, or written one by one)."""
    return prepare_rows(RawEvent, RAW_EVENT_COLUMNS,
                        [_raw_event_values(chain_id, event) for event in events], dialect)


MAX_UNSETTLED_READS = 50


@dataclass(frozen=True)
class _ReadAhead:
    """The next range, being read on the reader thread or in the reader process: (first,
    last, tip, watched) asked."""

    asked: tuple[int, int, int, dict[str, str]]
    future: Future[Batch | None]
    #: a read in the reader process: takes its answer into `future` (once, when settled)
    collect: Callable[[], None] | None = None

    def fits(self, first: int, target: int, tip: int, watched: dict[str, str],
             window: int) -> bool:
        """The read is what this round would ask: the same first block, no block past the
        target, the same contracts, and the same tip — or tips that both leave the range
        outside the reorg window, where the tip changes nothing in the read."""
        asked_first, asked_last, asked_tip, asked_watched = self.asked
        return (asked_first == first and asked_last <= target and asked_watched == watched
                and (asked_tip == tip or asked_last <= min(tip, asked_tip) - window))

    def result(self) -> Batch | None:
        return self.future.result()  # (the read's exception, if it raised)

    def settle(self) -> None:
        if self.collect is not None:
            self.collect()
        wait([self.future])


class _TriedSizer(RangeSizer):
    """The reader process's copy of the range sizer: notes each range it halves, for the
    indexer's own sizer to do the same when it takes the read."""

    tried: list[int]

    def too_large(self, tried_blocks: int) -> None:
        super().too_large(tried_blocks)
        self.tried = [*getattr(self, "tried", []), tried_blocks]


#: the reader process's answer: the batch (its events apart, as tuples), the ranges it halved
_ChildRead = tuple["Batch | None", list[EventTuple], list[int]]


class NewContracts(Exception):
    """A handler started following contracts that this batch's logs do not cover yet."""

    def __init__(self, watches: Sequence[NewWatch]) -> None:
        super().__init__(", ".join(w.address for w in watches))
        self.watches = list(watches)


def sort_logs(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """In chain order (canonical logs: see ChainSource.get_logs)."""
    return sorted(logs, key=_CHAIN_ORDER)


_CHAIN_ORDER = itemgetter("blockNumber", "logIndex")


@dataclass
class Indexer:
    """`run_once()` indexes up to the head minus the confirmations; `sync_to(n)` up to n."""

    settings: Settings
    engine: Engine | None = None
    web3: Web3 | None = None
    handlers: HandlerTable | None = None
    contracts: Sequence[ContractSpec] | None = None
    stop_requested: bool = False
    #: a read ahead follows a batch of this many logs or more (catching up): it runs in a
    #: forked reader process (None: always on a thread; so does an indexer given its web3)
    process_read_from: int | None = 1000
    sizer: RangeSizer = field(init=False)
    source: ChainSource = field(init=False)
    decoder: EventDecoder = field(init=False, default_factory=EventDecoder)
    chain_id: int | None = field(init=False, default=None)
    _reader: ThreadPoolExecutor | None = field(init=False, default=None, repr=False)
    _ahead: _ReadAhead | None = field(init=False, default=None, repr=False)
    _process: ReaderProcess | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.engine = self.engine or make_engine(self.settings.resolved_database_url)
        self.source = ChainSource(self.web3 or connect(self.settings.chain_rpc_url))
        self.handlers = self.handlers or default_handlers()
        self.sizer = RangeSizer(self.settings.indexer_max_range)

    @property
    def db(self) -> Engine:
        assert self.engine is not None
        return self.engine

    @property
    def table(self) -> HandlerTable:
        assert self.handlers is not None
        return self.handlers

    # -- entry points ------------------------------------------------------------------------
    def safe_head(self) -> int:
        return self.source.head() - self.settings.confirmations

    def run_once(self) -> SyncReport:
        return self.sync_to(self.safe_head())

    def sync_to(self, block: int) -> SyncReport:
        """Index up to `block` (never past the head minus the confirmations). A database that
        refuses a batch (locked, disk full) raises DatabaseUnavailable; that batch is rolled
        back whole and the cursor stays before it."""
        with unavailable_on_failure(self.db), fewer_collections():
            return self._sync_to(block)

    def _sync_to(self, block: int) -> SyncReport:
        chain_id = self.prepare()
        report = SyncReport()
        unsettled = 0  # reads in a row that saw the chain change under them
        try:
            while not self.stop_requested:
                ahead = self._settle_ahead()  # before this thread asks the chain anything
                cursor = self.read_cursor(chain_id)
                report.last_block = cursor.block_number
                if self._roll_back_if_reorged(chain_id, cursor):
                    report.rollbacks += 1
                    continue
                safe_head = self.safe_head()
                target = min(block, safe_head)
                if cursor.block_number >= target:
                    break
                self.sizer.start_small(target - cursor.block_number)
                first, last = self.sizer.range_from(cursor.block_number + 1, target)
                tip, watched = safe_head + self.settings.confirmations, self._watched()
                if ahead is not None and ahead.fits(first, target, tip, watched,
                                                    self.settings.indexer_reorg_window):
                    first, last = ahead.asked[:2]  # read while the last batch was written
                else:
                    ahead = None
                try:
                    batch = (ahead.result() if ahead is not None
                             else self._fetch(first, last, tip, report, watched))
                except RangeTooLarge as error:
                    log.info("blocks %d..%d: range too large (%s), halving", first, last,
                             error)
                    self.sizer.too_large(last - first + 1)
                    report.shrinks += 1
                    continue
                if batch is None:  # the chain moved while we read it: look again
                    unsettled += 1
                    if unsettled > MAX_UNSETTLED_READS:
                        raise ChainUnsettled(
                            f"blocks {first}..{last} read differently {unsettled} times in a "
                            "row", hint="the RPC node serves inconsistent blocks; check it, "
                                        "then restart")
                    time.sleep(min(0.05 * unsettled, 1.0))
                    continue
                unsettled = 0
                self.sizer.succeeded(full=batch.log_count * 2 > self.settings.indexer_max_logs)
                if batch.last < target:
                    self._read_ahead(self.sizer.range_from(batch.last + 1, target), tip,
                                     watched, report, in_process=self._reads_in_process(batch))
                report.events += self._apply(chain_id, cursor, batch)
                report.batches += 1
                report.last_block = batch.last
        finally:
            self._settle_ahead()
        return report

    def _read_ahead(self, blocks: tuple[int, int], tip: int, watched: dict[str, str],
                    report: SyncReport, in_process: bool = False) -> None:
        """Read the next range while this batch is written (catching up, the node's answer
        and its decoding overlap the database's work): on a thread, or `in_process` in the
        reader process (dapp/indexer/reader.py: another core). It is used only if the next
        round would ask for the same blocks of the same contracts at the same tip; that
        round checks the cursor's block against the chain after the read, as always."""
        asked = (*blocks, tip, watched)
        if in_process:
            try:
                if self._process is None or not self._process.alive:
                    self._process = ReaderProcess(self._reader_in_child)
                self._process.submit(*asked, self.sizer.blocks, self.chain_id)
            except (ReaderFailed, OSError) as error:
                log.warning("reading ahead on a thread: %s", error)
            else:
                future: Future[Batch | None] = Future()
                self._ahead = _ReadAhead(asked=asked, future=future, collect=lambda: (
                    self._collect(future, blocks, tip, watched, report)))
                return
        if self._reader is None:
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-read")
        future = self._reader.submit(self._fetch, blocks[0], blocks[1], tip, report, watched)
        self._ahead = _ReadAhead(asked=asked, future=future)

    def _reads_in_process(self, batch: Batch) -> bool:
        return (self.process_read_from is not None and batch.log_count >= self.process_read_from
                and self.web3 is None and fork_available())

    def _reader_in_child(self) -> Callable[..., _ChildRead]:
        """In the reader process: a copy of this indexer that only reads, on a connection to
        the node of its own, with a copy of the range sizer as it was when the read was
        asked. Returns the read and the ranges it halved."""
        reader = copy.copy(self)
        reader.source = ChainSource(connect(self.settings.chain_rpc_url))

        def read(first: int, last: int, tip: int, watched: dict[str, str], blocks: int,
                 chain_id: int) -> _ChildRead:
            sizer = reader.sizer = _TriedSizer(self.settings.indexer_max_range, blocks)
            for name in set(watched.values()):
                reader._ensure_abi(name)
            batch = reader._fetch(first, last, tip, None, watched)
            tried: list[int] = getattr(sizer, "tried", [])
            if batch is None:
                return None, [], tried
            # what the writer would do first with the batch, done here
            batch.raw_rows = raw_event_rows(chain_id, batch.events, reader.db.dialect)
            batch.reads = reader._wanted(batch.events)
            events, batch.events = batch.events, []
            return batch, event_tuples(events), tried

        return read

    def _collect(self, future: Future[Batch | None], blocks: tuple[int, int], tip: int,
                 watched: dict[str, str], report: SyncReport) -> None:
        """The reader process's answer into `future`; the ranges it halved are halved here
        too. When it failed (the node refused, or the process is gone) the range is read
        here instead: its error is raised here as a thread's read would raise it."""
        assert self._process is not None
        try:
            batch, events, tried = self._process.answer()
        except ReaderFailed as failed:
            log.info("blocks %d..%d: read again here (%s)", *blocks, failed)
            try:
                future.set_result(self._fetch(*blocks, tip, report, watched))
            except Exception as error:
                future.set_exception(error)
            return
        for size in tried:
            self.sizer.too_large(size)
            report.shrinks += 1
        if batch is not None:
            batch.events = events_from_tuples(events)
        future.set_result(batch)

    def _settle_ahead(self) -> _ReadAhead | None:
        """Wait for the read ahead, if any (the chain is asked by one reader at a time)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.settle()
        return ahead

    def close(self) -> None:
        """End the reader thread and process (a later sync starts them again)."""
        self._settle_ahead()
        if self._process is not None:
            self._process.close()
            self._process = None
        if self._reader is not None:
            self._reader.shutdown()
            self._reader = None

    def reset(self) -> None:
        """Forget everything indexed for this chain; the next sync starts from the contracts'
        deployment blocks again (pins, fetched metadata and downloads stay)."""
        chain_id = self.source.chain_id()
        migrate(self.db)
        with self.db.begin() as connection:
            self._wipe(connection, chain_id)
        self.chain_id = None

    def rebuild(self) -> int:
        """Recompute every derived table from the stored raw events, in one transaction and
        without the chain's logs (after a handler fix, or a migration that adds a table).
        Returns the number of events replayed."""
        chain_id = self.prepare()
        cursor = self.read_cursor(chain_id)
        with self.db.begin() as connection:
            self._claim(connection, chain_id, cursor)
            for model in event_derived_models():
                connection.execute(delete(model))
            for table in self.table.extra_tables.values():
                connection.execute(delete(table))
            connection.execute(delete(WatchedContract).where(WatchedContract.dynamic.is_(True)))
            connection.execute(delete(JournalEntry).where(JournalEntry.chain_id == chain_id))
            writer = StateWriter(connection, chain_id)
            rows = connection.execute(
                select(RawEvent).where(RawEvent.chain_id == chain_id)
                .order_by(RawEvent.block_number, RawEvent.log_index)).all()
            for row in rows:
                handler = self.table.get(row.contract, row.name)
                if handler is not None:
                    writer.origin = LogOrigin(block_number=row.block_number,
                                              block_hash=row.block_hash,
                                              log_index=row.log_index, tx_hash=row.tx_hash)
                    handler(writer, DecodedEvent(contract=row.contract, address=row.address,
                                                 name=row.name, args=row.args,
                                                 origin=writer.origin))
            writer.flush()
            self._prune(connection, chain_id, cursor.block_number)
        return len(rows)

    # -- start-up ----------------------------------------------------------------------------
    def prepare(self) -> int:
        """Check the database belongs to this chain and contract set; start a cursor."""
        if self.chain_id is not None:
            return self.chain_id
        chain_id = self.source.chain_id()
        migrate(self.db)
        specs = list(self.contracts) if self.contracts is not None else (
            contracts_from_deployment(self.settings, chain_id, self.table.contracts()))
        for spec in specs:
            self._ensure_abi(spec.name)
        key = contracts_key(specs)
        genesis = self.source.block_hash(0) or ""
        with self.db.begin() as connection:
            self._check_single_chain(connection, chain_id)
            stored = connection.execute(
                select(SyncCursor).where(SyncCursor.chain_id == chain_id)).first()
            if stored is not None and (stored.genesis_hash, stored.contracts_key) != (genesis, key):
                log.warning("chain %d: %s changed since the last run; re-indexing from scratch",
                            chain_id, "the chain" if stored.genesis_hash != genesis
                            else "the set of contracts")
                self._wipe(connection, chain_id)
                stored = None
            if stored is None:
                self._start_cursor(connection, chain_id, specs, genesis, key)
        self.chain_id = chain_id
        return chain_id

    def _check_single_chain(self, connection: Connection, chain_id: int) -> None:
        others = connection.execute(
            select(SyncCursor.chain_id).where(SyncCursor.chain_id != chain_id)).scalars().all()
        if others:
            raise WrongChain(
                f"this database holds the index of chain {others[0]}, not chain {chain_id}",
                hint="use one database per chain (DAPP_DATABASE_URL)",
            )

    def _start_cursor(self, connection: Connection, chain_id: int,
                      specs: Sequence[ContractSpec], genesis: str, key: str) -> None:
        start = min((s.from_block for s in specs), default=self.source.head() + 1)
        before = start - 1
        before_hash = self.source.block_hash(before) or ""
        connection.execute(insert(SyncCursor).values(
            chain_id=chain_id, block_number=before, block_hash=before_hash,
            genesis_hash=genesis, contracts_key=key))
        connection.execute(insert(BlockHash).values(
            chain_id=chain_id, block_number=before, block_hash=before_hash))
        for spec in specs:
            connection.execute(insert(WatchedContract).values(
                address=spec.address, name=spec.name, from_block=spec.from_block,
                dynamic=False))
        log.info("chain %d: indexing %s from block %d", chain_id,
                 ", ".join(s.name for s in specs) or "nothing", start)

    def _wipe(self, connection: Connection, chain_id: int) -> None:
        for model in event_derived_models():
            connection.execute(delete(model))
        for table in self.table.extra_tables.values():
            connection.execute(delete(table))
        connection.execute(delete(WatchedContract))
        for model in (RawEvent, BlockHash, JournalEntry, SyncCursor):
            connection.execute(delete(model).where(model.chain_id == chain_id))

    # -- reading -----------------------------------------------------------------------------
    def read_cursor(self, chain_id: int) -> Cursor:
        with self.db.connect() as connection:
            row = connection.execute(
                select(SyncCursor.block_number, SyncCursor.block_hash)
                .where(SyncCursor.chain_id == chain_id)).one()
        return Cursor(block_number=row.block_number, block_hash=row.block_hash)

    def _watched(self) -> dict[str, str]:
        """The followed contracts (address → name), each one's ABI loaded: contracts created
        on chain are known only from this table after a restart."""
        with self.db.connect() as connection:
            rows = connection.execute(select(WatchedContract.address, WatchedContract.name))
            watched = {row.address: row.name for row in rows}
        for name in set(watched.values()):
            self._ensure_abi(name)
        return watched

    def _ensure_abi(self, name: str) -> None:
        if not self.decoder.knows(name):
            self.decoder.add_contract(name, load_abi(name))

    def _fetch(self, first: int, last: int, tip: int, report: SyncReport | None = None,
               watched: dict[str, str] | None = None) -> Batch | None:
        """The batch of first..last, or of fewer blocks when those hold more logs than
        DAPP_INDEXER_MAX_LOGS (see `_within_max_logs`). RangeTooLarge: the node refused the
        range, or a single block holds too many logs. None: the chain changed between the
        reads (the caller asks again)."""
        watched = self._watched() if watched is None else watched
        # The range's last block before the logs and after: a reorg in between changes it
        # (and every later block), even one that only replaced blocks without our logs.
        asked = last
        before = self.source.block_hash(asked)
        logs = sort_logs(self.source.get_logs(first, last, sorted(watched)))
        last, logs = self._within_max_logs(first, last, logs, report)
        hashes = self._checked(first, last, logs, tip)
        if hashes is None or before is None:
            return None
        after = hashes[asked] if asked in hashes else self.source.block_hash(asked)
        if after != before:
            return None
        return Batch(first=first, last=last, last_hash=hashes[last],
                     events=self._decode_all(logs, watched), log_count=len(logs),
                     watched=watched, hashes=hashes)

    def _within_max_logs(self, first: int, last: int, logs: list[dict[str, Any]],
                         report: SyncReport | None) -> tuple[int, list[dict[str, Any]]]:
        """More logs than DAPP_INDEXER_MAX_LOGS: halve the range as if the node had refused
        it, but take the shorter range's logs from this answer instead of asking again (they
        are all of its logs: the answer covers whole blocks). Returns the range's last block
        and its logs."""
        while len(logs) > self.settings.indexer_max_logs:
            if last == first:
                raise RangeTooLarge(f"{len(logs)} logs > DAPP_INDEXER_MAX_LOGS")
            log.info("blocks %d..%d: %d logs > DAPP_INDEXER_MAX_LOGS, halving", first, last,
                     len(logs))
            self.sizer.too_large(last - first + 1)
            if report is not None:
                report.shrinks += 1
            last = self.sizer.range_from(first, last)[1]
            logs = [entry for entry in logs if int(entry["blockNumber"]) <= last]
        return last, logs

    def _checked(self, first: int, last: int, logs: list[dict[str, Any]],
                 tip: int) -> dict[int, str] | None:
        """The hashes to remember for the batch of first..last: every block with
        logs, the range's last block, and every block within the reorg window of the chain's
        tip (`tip`), read after the logs. None when the chain changed between the reads (the
        caller asks again)."""
        hashes: dict[int, str] = {}
        for entry in logs:  # (canonical: see ChainSource.get_logs)
            number, block_hash = entry["blockNumber"], entry["blockHash"]
            if hashes.setdefault(number, block_hash) != block_hash:
                return None
        dense_from = max(first, tip - self.settings.indexer_reorg_window + 1)
        read = (self.source.block_hashes(dense_from, last) if dense_from <= last
                else self._ends_of(logs, last))
        if read is not None and hashes and max(hashes) not in read:
            # The newest block with logs lies below the dense window: read its hash too, so
            # a reorg between the two reads still shows (and the check below can pass).
            newest = max(hashes)
            newest_hash = self.source.block_hash(newest)
            read = None if newest_hash is None else {**read, newest: newest_hash}
        if read is None or any(hashes.get(n, h) != h for n, h in read.items()):
            return None
        hashes.update(read)
        return hashes

    def _ends_of(self, logs: list[dict[str, Any]], last: int) -> dict[int, str] | None:
        """Far from the tip: the range's last block and the newest block with logs, read
        after the logs, so a reorg during the read shows as a changed hash."""
        numbers = {last} | ({int(logs[-1]["blockNumber"])} if logs else set())
        read = {n: self.source.block_hash(n) for n in numbers}
        if any(h is None for h in read.values()):
            return None
        return {n: h for n, h in read.items() if h is not None}

    # -- writing -----------------------------------------------------------------------------
    def _apply(self, chain_id: int, cursor: Cursor, batch: Batch) -> int:
        while True:
            try:
                with self.db.begin() as connection:
                    self._claim(connection, chain_id, cursor)
                    # _prune below drops the undo images of blocks up to the oldest hash it
                    # keeps, which is above batch.last - window: those are not even written
                    journal_from = batch.last - self.settings.indexer_reorg_window + 2
                    writer = StateWriter(connection, chain_id, journal_from=journal_from)
                    count = self._handle_logs(writer, batch)
                    self._record_hashes(connection, chain_id, batch)
                    connection.execute(
                        update(SyncCursor).where(SyncCursor.chain_id == chain_id)
                        .values(block_number=batch.last, block_hash=batch.last_hash))
                    self._prune(connection, chain_id, batch.last)
                return count
            except NewContracts as new:
                self._settle_ahead()  # (its contracts are not these: it will not be used)
                start = min(w.from_block for w in new.watches)
                for watch in new.watches:
                    self._ensure_abi(watch.name)
                extra = sort_logs(self.source.get_logs(start, batch.last,
                                                       [w.address for w in new.watches]))
                watched = {w.address: w.name for w in new.watches}
                batch = batch.with_new_contracts(new.watches,
                                                 self._decode_all(extra, watched), len(extra))

    def _claim(self, connection: Connection, chain_id: int, cursor: Cursor) -> None:
        """Compare-and-set on the cursor, first thing in the transaction: it takes the write
        lock, and a second indexer on the same database finds the cursor moved and stops."""
        claimed = connection.execute(
            update(SyncCursor)
            .where(SyncCursor.chain_id == chain_id,
                   SyncCursor.block_number == cursor.block_number,
                   SyncCursor.block_hash == cursor.block_hash)
            .values(block_number=cursor.block_number))
        if claimed.rowcount != 1:
            raise ConcurrentIndexer(
                f"the cursor of chain {chain_id} moved under this indexer",
                hint="run one indexer per database")

    def _handle_logs(self, writer: StateWriter, batch: Batch) -> int:
        events = batch.events
        wanted = batch.reads if batch.reads is not None else self._wanted(events)
        for model, keys in wanted.items():
            writer.prefetch_keys(model, keys)
        # the raw events, queued like facts and inserted in bulk by flush()
        raw_rows = batch.raw_rows if batch.raw_rows is not None else raw_event_rows(
            writer.chain_id, events, writer.connection.dialect)
        if raw_rows is not None:
            writer.append_prepared(raw_rows)
        handlers = self.table.handlers
        for event in events:
            writer.origin = event.origin
            if raw_rows is None:
                writer.append(RawEvent, **raw_event_row(writer.chain_id, event))
            handler = handlers.get((event.contract, event.name))
            if handler is None:
                continue
            handler(writer, event)
            if writer.new_watches:
                unknown = [w for w in writer.new_watches if w.address not in batch.watched]
                if unknown:
                    raise NewContracts(unknown)
        writer.flush()
        return len(events)

    def _wanted(self, events: list[DecodedEvent]) -> dict[Any, set[tuple[Any, ...]]]:
        """The rows the batch's handlers will look up (as they declare), to read in bulk:
        their primary keys per model."""
        wanted: dict[Any, list[Mapping[str, Any]]] = {}
        all_reads = self.table.reads
        for event in events:
            reads = all_reads.get((event.contract, event.name))
            if reads is not None:
                for model, key in reads(event.args):
                    wanted.setdefault(model, []).append(key)
        return {model: key_tuples(model, keys) for model, keys in wanted.items()}

    def _decode_all(self, logs: list[dict[str, Any]], watched: dict[str, str]
                    ) -> list[DecodedEvent]:
        return [event for entry in logs if (event := self._decode(watched[entry["address"]],
                                                                    entry))]

    def _decode(self, contract: str, entry: dict[str, Any]) -> DecodedEvent | None:
        try:
            return self.decoder.decode(contract, entry, canonical=True)  # see source.py
        except UnknownEvent as error:
            log.warning("skipping a log of %s at block %s: %s", contract,
                        entry["blockNumber"], error)
            return None

    def _record_hashes(self, connection: Connection, chain_id: int, batch: Batch) -> None:
        connection.execute(insert(BlockHash), [
            {"chain_id": chain_id, "block_number": number, "block_hash": block_hash}
            for number, block_hash in sorted(batch.hashes.items())
        ])

    def _prune(self, connection: Connection, chain_id: int, last: int) -> None:
        """Keep hashes of the last `reorg_window` blocks; undo images only as far back as a
        rollback can reach (the oldest hash kept)."""
        window = self.settings.indexer_reorg_window
        connection.execute(delete(BlockHash).where(BlockHash.chain_id == chain_id,
                                                   BlockHash.block_number <= last - window))
        oldest = connection.execute(
            select(func.min(BlockHash.block_number)).where(BlockHash.chain_id == chain_id)
        ).scalar_one()
        prune_journal(connection, chain_id, oldest)

    # -- reorgs ------------------------------------------------------------------------------
    def _roll_back_if_reorged(self, chain_id: int, cursor: Cursor) -> bool:
        if cursor.block_number < 0 or self.source.block_hash(cursor.block_number) == \
                cursor.block_hash:
            return False
        ancestor = self._common_ancestor(chain_id)
        with self.db.begin() as connection:
            self._claim(connection, chain_id, cursor)
            undone = undo_above(connection, chain_id, ancestor.block_number,
                                self.table.extra_tables)
            for model in (RawEvent, BlockHash):
                connection.execute(delete(model).where(
                    model.chain_id == chain_id, model.block_number > ancestor.block_number))
            connection.execute(
                update(SyncCursor).where(SyncCursor.chain_id == chain_id)
                .values(block_number=ancestor.block_number, block_hash=ancestor.block_hash))
        log.warning("chain %d: reorg below block %d; rolled back blocks %d..%d (%d undo "
                    "images)", chain_id, cursor.block_number, ancestor.block_number + 1,
                    cursor.block_number, undone)
        return True

    def _common_ancestor(self, chain_id: int) -> Cursor:
        with self.db.connect() as connection:
            stored = connection.execute(
                select(BlockHash.block_number, BlockHash.block_hash)
                .where(BlockHash.chain_id == chain_id)
                .order_by(BlockHash.block_number.desc())).all()
        found = common_ancestor(((row.block_number, row.block_hash) for row in stored),
                                self.source.block_hash)
        if found is not None:
            return Cursor(block_number=found[0], block_hash=found[1])
        oldest = stored[-1].block_number if stored else "?"
        raise ReorgTooDeep(
            f"chain {chain_id} reorganised below block {oldest}, the oldest hash kept",
            hint="raise DAPP_INDEXER_REORG_WINDOW, then re-index: python -m dapp.indexer "
                 "--reset",
        )
