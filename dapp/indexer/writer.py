"""The only way handlers write: every state change is journaled so a reorg can undo it.

`insert`/`update`/`upsert` record the row's previous image (or its absence) in
`state_journal` under the block being indexed; `append` writes an append-only fact, which a
rollback removes by block number instead. Origin columns (block, hash, log index, tx) are
filled from the event being handled. All writes go through the batch's one connection, so
they commit or vanish together with the cursor.

Cheap per event, because a catch-up handles tens of thousands of them in one transaction:
statements are built once per table and shape and executed with parameters; inserts
(journal images, new state rows, facts, raw events) are queued and written in bulk, in the
order they were made, by `flush()` — which the indexer calls before it moves the cursor, and
which a read of a queued row (or an update of it) does first; a row read once is not read
again until something writes it. Tables with foreign keys are written at once, after
everything queued, so a row never arrives before the row it points at.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Insert,
    Select,
    Table,
    Update,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from dapp.chain.events import LogOrigin
from dapp.store.base import Base
from dapp.store.models import JournalEntry, Pin, WatchedContract, append_only_models

PREFETCH_CHUNK = 500  # keys per prefetch query (3 columns each: within any bind limit)
#: keys per prefetch query on SQLite and PostgreSQL, whose values go as one array parameter per
#: key column (each query may scan the table when its statistics are not yet gathered, so as
#: few queries as can be)
ARRAY_PREFETCH_CHUNK = 10_000
COPY_FROM = 50  # rows from which PostgreSQL gets a COPY rather than an executemany
KEY_PREFIX = "key__"  # bind parameter names of key columns (SET clauses use the column names)


class MissingRow(LookupError):
    """A handler updated a row that its earlier events should have created."""


@dataclass(frozen=True)
class NewWatch:
    name: str
    address: str
    from_block: int


def table_of(model: type[Any] | Table) -> Table:
    return model if isinstance(model, Table) else model.__table__


def _key_clause(table: Table, key: Mapping[str, Any]) -> Any:
    missing = {c.name for c in table.primary_key.columns} - set(key)
    if missing:
        raise ValueError(f"{table.name}: key lacks {sorted(missing)}")
    return and_(*(table.c[name] == value for name, value in key.items()))


# -- statements, built once per table and key shape --------------------------------------------
@cache
def _primary_key(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.primary_key.columns)


@cache
def _has_origin(table: Table) -> bool:
    return "block_number" in table.c


def _bound_key(table: Table, names: tuple[str, ...]) -> Any:
    missing = set(_primary_key(table)) - set(names)
    if missing:
        raise ValueError(f"{table.name}: key lacks {sorted(missing)}")
    return and_(*(table.c[name] == bindparam(KEY_PREFIX + name) for name in names))


@cache
def _select_statement(table: Table, names: tuple[str, ...]) -> Select[Any]:
    return select(table).where(_bound_key(table, names))


@cache
def _update_statement(table: Table, names: tuple[str, ...]) -> Update:
    """SET takes the columns of the parameters that are not key parameters."""
    return update(table).where(_bound_key(table, names))


@cache
def _insert_statement(table: Table) -> Insert:
    return insert(table)


@cache
def _prefetch_statement(table: Table, dialect: str) -> Select[Any] | None:
    """The rows whose key columns are each in a list given as one parameter: a JSON array
    read by `json_each` (SQLite), an array compared with `= ANY` (PostgreSQL, which hashes
    it); None for other databases (an IN list of bound values). Rendering an IN list of
    thousands of values costs SQLAlchemy more than the database's search."""
    clauses = []
    for name in _primary_key(table):
        column = table.c[name]
        if dialect == "sqlite":
            clauses.append(column.in_(select(literal_column("value")).select_from(
                func.json_each(bindparam(KEY_PREFIX + name)))))
        elif dialect == "postgresql":
            clauses.append(column == any_(bindparam(KEY_PREFIX + name,
                                                    type_=postgresql.ARRAY(column.type))))
        else:
            return None
    return select(table).where(and_(*clauses))


def _array_parameters(table: Table, names: tuple[str, ...], columns: list[list[Any]],
                      dialect: Dialect) -> dict[str, Any]:
    """The lists of `_prefetch_statement`, bound as the key columns bind their values (as
    JSON text for SQLite's json_each)."""
    parameters: dict[str, Any] = {}
    for name, values in zip(names, columns, strict=True):
        if dialect.name == "sqlite":
            process = table.c[name].type.bind_processor(dialect)
            parameters[KEY_PREFIX + name] = json.dumps(
                values if process is None else [process(value) for value in values])
        else:
            parameters[KEY_PREFIX + name] = values
    return parameters


def key_tuples(model: type[Any] | Table, keys: Iterable[Mapping[str, Any]]
               ) -> set[tuple[Any, ...]]:
    """Primary keys as tuples in the key's column order."""
    names = _primary_key(table_of(model))
    return {tuple([key[name] for name in names]) for key in keys}


def _key_parameters(key: Mapping[str, Any]) -> dict[str, Any]:
    return {KEY_PREFIX + name: value for name, value in key.items()}


@dataclass
class _Queue:
    """Rows of one table waiting for `flush()`, in the order written."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    #: rows made ready elsewhere (`prepare_rows`), written before `rows`
    prepared: list[PreparedRows] = field(default_factory=list)
    #: their primary keys (None: some row's key is not known before the insert, e.g. an id)
    keys: set[tuple[Any, ...]] | None = field(default_factory=set)


_UNKNOWN: Any = object()


class StateWriter:
    def __init__(self, connection: Connection, chain_id: int,
                 journal_from: int | None = None) -> None:
        self.connection = connection
        self.chain_id = chain_id
        #: blocks below it get no undo images: the batch prunes them before it commits (they
        #: lie below the oldest block hash it keeps, so no rollback can reach them)
        self.journal_from = journal_from
        self.origin: LogOrigin | None = None
        self.new_watches: list[NewWatch] = []
        #: rows as the database holds them now, by (table, primary key); None: no such row
        self._known: dict[tuple[Table, tuple[Any, ...]], dict[str, Any] | None] = {}
        #: rows to insert at the next flush, per table
        self._queues: dict[Table, _Queue] = {}

    # -- reading -----------------------------------------------------------------------------
    def get(self, model: type[Any] | Table, **key: Any) -> dict[str, Any] | None:
        table = table_of(model)
        primary_key = _primary_key_of(table, key)
        if primary_key is None:  # not a lookup by primary key: ask the database
            self._flush_table(table)
            return self._select(table, key)
        if self._is_queued(table, primary_key):
            self._flush_table(table)
        known = self._known.get((table, primary_key), _UNKNOWN)
        if known is _UNKNOWN:
            known = self._known[(table, primary_key)] = self._select(table, key)
        return dict(known) if known is not None else None

    def prefetch(self, model: type[Any] | Table, keys: Iterable[Mapping[str, Any]]) -> None:
        """Read the rows of these primary keys (and note the absent ones) in a few queries,
        so that `get` finds them without one query each. Keys already known or queued are
        skipped; a later write of a row forgets it as usual."""
        self.prefetch_keys(model, key_tuples(model, keys))

    def prefetch_keys(self, model: type[Any] | Table, keys: Iterable[tuple[Any, ...]]) -> None:
        """`prefetch` of keys given as tuples in the primary key's column order."""
        table = table_of(model)
        names = _primary_key(table)
        wanted = [key for key in set(keys)
                  if (table, key) not in self._known and not self._is_queued(table, key)]
        dialect = self.connection.dialect
        statement = _prefetch_statement(table, dialect.name)
        size = PREFETCH_CHUNK if statement is None else ARRAY_PREFETCH_CHUNK
        for start in range(0, len(wanted), size):
            chunk = wanted[start:start + size]
            columns = [sorted({key[i] for key in chunk}) for i in range(len(names))]
            if statement is None:
                where = and_(*(table.c[name].in_(values)
                               for name, values in zip(names, columns, strict=True)))
                rows = self.connection.execute(select(table).where(where)).all()
            else:
                rows = self.connection.execute(statement, _array_parameters(
                    table, names, columns, dialect)).all()
            # one list per key column (a search of the primary key index), the few extra
            # combinations dropped here
            found = {tuple(row._mapping[name] for name in names): dict(row._mapping)
                     for row in rows}
            for key in chunk:
                self._known[(table, key)] = found.get(key)

    def find(self, model: type[Any] | Table, **columns: Any) -> dict[str, Any] | None:
        """The one row whose `columns` have these values (not its primary key: a DAO by its
        share token), asked from the database after the table's queued rows; not cached."""
        table = table_of(model)
        self._flush_table(table)
        rows = self.connection.execute(
            select(table).where(and_(*(table.c[name] == value
                                       for name, value in columns.items())))).all()
        if len(rows) > 1:
            raise LookupError(f"{table.name}: {len(rows)} rows with {columns}")
        return dict(rows[0]._mapping) if rows else None

    def require(self, model: type[Any] | Table, **key: Any) -> dict[str, Any]:
        row = self.get(model, **key)
        if row is None:
            raise MissingRow(f"{table_of(model).name} has no row {key} (at {self.origin})")
        return row

    # -- journaled state ---------------------------------------------------------------------
    def insert(self, model: type[Any] | Table, **values: Any) -> None:
        table = table_of(model)
        self._insert(table, values, tuple([values[name] for name in _primary_key(table)]))

    def update(self, model: type[Any] | Table, key: Mapping[str, Any], **changes: Any) -> None:
        table = table_of(model)
        before = self.require(table, **key)  # (a queued insert of this row is flushed)
        self._journal(table, key, before)
        self._forget(table, key)
        if table.foreign_keys:
            self.flush()  # the rows it may point at
        self.connection.execute(_update_statement(table, tuple(sorted(key))),
                                {**self._with_origin(table, changes), **_key_parameters(key)})

    def upsert(self, model: type[Any] | Table, key: Mapping[str, Any], **values: Any) -> None:
        table = table_of(model)
        if not self._exists(table, key):
            primary_key = tuple([key[name] for name in _primary_key(table)])
            self._insert(table, {**values, **key}, primary_key)
        else:
            self.update(table, key, **values)

    # -- append-only facts -------------------------------------------------------------------
    def append(self, model: type[Any] | Table, **values: Any) -> None:
        table = table_of(model)
        self._queue(table, self._with_origin(table, values))

    # -- side effects the indexer acts on ----------------------------------------------------
    def request_pin(self, cid: str, kind: str, asset_id: int | None = None) -> None:
        """Queue a CID for pinning (once; a pin outlives reorgs, see store.models.ops)."""
        if self.get(Pin, cid=cid) is None:
            pins = table_of(Pin)
            self._forget(pins, {"cid": cid})
            self._queue(pins, {"cid": cid, "kind": kind, "asset_id": asset_id,
                               "status": "queued", "attempts": 0,
                               "next_try_at": 0.0})  # due at once

    def watch(self, name: str, address: str) -> None:
        """Follow a contract created on chain from the current block on."""
        assert self.origin is not None
        block = self.origin.block_number
        self.upsert(WatchedContract, {"address": address}, name=name, from_block=block,
                    dynamic=True)
        self.new_watches.append(NewWatch(name=name, address=address, from_block=block))

    def append_prepared(self, prepared: PreparedRows) -> None:
        """Queue facts that `prepare_rows` made ready (in the indexer's reader process): the
        same rows `append` would write, their values already bound. Only for a table without
        foreign keys, whose rows nothing reads back during the batch (the raw events)."""
        table = Base.metadata.tables[prepared.table]
        if table.foreign_keys or prepared.dialect != self.connection.dialect.name:
            raise ValueError(f"{table.name}: rows prepared for {prepared.dialect} cannot be "
                             "queued here")
        queue = self._queues.setdefault(table, _Queue())
        queue.prepared.append(prepared)
        queue.keys = None  # (not known one by one: a read of the table flushes first)

    def flush(self) -> None:
        """Insert every queued row. The indexer calls it before the batch's cursor moves."""
        for table in list(self._queues):
            self._flush_table(table)

    # -- internals ---------------------------------------------------------------------------
    def _exists(self, table: Table, key: Mapping[str, Any]) -> bool:
        """`get(table, **key) is not None`, without copying the row."""
        primary_key = _primary_key_of(table, key)
        if primary_key is None or self._is_queued(table, primary_key):
            return self.get(table, **key) is not None
        known = self._known.get((table, primary_key), _UNKNOWN)
        if known is _UNKNOWN:
            return self.get(table, **key) is not None
        return known is not None

    def _insert(self, table: Table, values: dict[str, Any], primary_key: tuple[Any, ...]
                ) -> None:
        if self._journaling():
            self._journal(table, dict(zip(_primary_key(table), primary_key, strict=True)),
                          None)
        self._known.pop((table, primary_key), None)
        self._queue(table, self._with_origin(table, values), primary_key)

    def _with_origin(self, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.origin is None or not _has_origin(table):
            return dict(values)
        origin = self.origin
        return {**values, "block_number": origin.block_number, "block_hash": origin.block_hash,
                "log_index": origin.log_index, "tx_hash": origin.tx_hash}

    def _journaling(self) -> bool:
        if self.origin is None:
            return False  # not indexing a block (e.g. registering static contracts)
        # (older than any rollback can reach once this batch commits: not journaled)
        return self.journal_from is None or self.origin.block_number >= self.journal_from

    def _journal(self, table: Table, key: Mapping[str, Any],
                 before: Mapping[str, Any] | None) -> None:
        if not self._journaling():
            return  # nothing to undo
        assert self.origin is not None
        self._queue(table_of(JournalEntry), {
            "chain_id": self.chain_id,
            "block_number": self.origin.block_number,
            "table_name": table.name,
            "row_key": dict(key),
            "before": dict(before) if before is not None else None,
        })

    def _select(self, table: Table, key: Mapping[str, Any]) -> dict[str, Any] | None:
        row = self.connection.execute(_select_statement(table, tuple(sorted(key))),
                                      _key_parameters(key)).first()
        return dict(row._mapping) if row is not None else None

    def _forget(self, table: Table, key: Mapping[str, Any]) -> None:
        names = _primary_key(table)
        self._known.pop((table, tuple([key[name] for name in names])), None)

    def _queue(self, table: Table, row: dict[str, Any],
               primary_key: tuple[Any, ...] | None = None) -> None:
        if table.foreign_keys:  # written at once, after the rows it may point at
            self.flush()
            self.connection.execute(_insert_statement(table), row)
            return
        queue = self._queues.get(table)
        if queue is None:
            queue = self._queues[table] = _Queue()
        queue.rows.append(row)
        if queue.keys is not None:
            if primary_key is None:
                primary_key = _primary_key_of(table, row, exact=False)
            if primary_key is None:
                queue.keys = None
            else:
                queue.keys.add(primary_key)

    def _is_queued(self, table: Table, primary_key: tuple[Any, ...]) -> bool:
        queue = self._queues.get(table)
        return queue is not None and (queue.keys is None or primary_key in queue.keys)

    def _flush_table(self, table: Table) -> None:
        """Queued rows of `table`, in order: one executemany per run of rows with the same
        columns."""
        queue = self._queues.pop(table, None)
        if queue is None:
            return
        for prepared in queue.prepared:
            self._write_prepared(table, prepared)
        rows, statement, start = queue.rows, _insert_statement(table), 0
        for end in range(1, len(rows) + 1):
            if end == len(rows) or rows[end].keys() != rows[start].keys():
                run = rows[start:end]
                bulk = _bulk_insert(table, tuple(run[0]), self.connection.dialect)
                if bulk is None:
                    self.connection.execute(statement, run)
                elif bulk.copy is not None and len(run) >= COPY_FROM:
                    self._copy(bulk, run)
                else:
                    self.connection.exec_driver_sql(bulk.sql, bulk.parameters(run))
                start = end

    def _write_prepared(self, table: Table, prepared: PreparedRows) -> None:
        bulk = _bulk_insert(table, prepared.columns, self.connection.dialect)
        assert bulk is not None  # (prepare_rows made them with it)
        if prepared.copy_text is not None:
            assert bulk.copy is not None
            driver = self.connection.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(bulk.copy) as copy:  # type: ignore[union-attr]
                copy.write(prepared.copy_text)
        elif prepared.values:
            parameters: list[Any] = prepared.values if bulk.positional else [
                dict(zip(bulk.names, values, strict=True)) for values in prepared.values]
            self.connection.exec_driver_sql(bulk.sql, parameters)

    def _copy(self, bulk: _BulkInsert, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: the rows by `COPY ... FROM STDIN` on the batch's own connection (in
        its transaction), several times faster than an executemany of INSERTs."""
        assert bulk.copy is not None
        driver = self.connection.connection.driver_connection
        values = bulk.rows(rows)
        text = _copy_text(values)
        with driver.cursor() as cursor, cursor.copy(bulk.copy) as copy:  # type: ignore[union-attr]
            if text is not None:
                copy.write(text)
            else:  # a value of a type _copy_text does not format: psycopg formats each row
                for row in values:
                    copy.write_row(row)


@dataclass(frozen=True)
class PreparedRows:
    """Rows of one table with their values bound as `flush()` would bind them — for
    PostgreSQL the text of their COPY, for other databases the executemany's parameters —
    made where the database is not (the indexer's reader process) and sent over a pipe."""

    table: str
    columns: tuple[str, ...]
    dialect: str
    values: list[tuple[Any, ...]] | None = None
    copy_text: str | None = None


def prepare_rows(model: type[Any] | Table, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]], dialect: Dialect) -> PreparedRows | None:
    """`rows`, each the values of `columns` in that order, ready for `append_prepared`; None
    when they need SQLAlchemy's own insert (a default computed per row, a value COPY's text
    does not format)."""
    table = table_of(model)
    if not rows or table.foreign_keys:
        return None
    bulk = _bulk_insert(table, columns, dialect)
    if bulk is None:
        return None
    values = bulk.values_of(columns, rows)
    if bulk.copy is not None:
        text = _copy_text(values)
        if text is None:
            return None
        return PreparedRows(table=table.name, columns=columns, dialect=dialect.name,
                            copy_text=text)
    return PreparedRows(table=table.name, columns=columns, dialect=dialect.name,
                        values=values)


@dataclass(frozen=True)
class _BulkInsert:
    """An INSERT compiled once per table, columns and dialect, executed on the driver's
    cursor (`executemany`) with the parameters made as SQLAlchemy would make them (the same
    bind processors: uint256 as padded text, JSON serialised; scalar column defaults filled
    in) but without its per-row machinery, which costs more than the database's work."""

    sql: str
    names: tuple[str, ...]  # bind names in parameter order (positional) or the dict keys
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: dict[str, Any]
    positional: bool
    #: PostgreSQL's `COPY table (names) FROM STDIN` of the same rows (None: other databases)
    copy: str | None = None

    def rows(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's bound values in `names` order."""
        if self.defaults:
            rows = [self.defaults | row for row in rows]
        return self._bound(rows, self.names)

    def values_of(self, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
                  ) -> list[tuple[Any, ...]]:
        """`rows` given as the values of `columns` (tuples): each one's bound values in
        `names` order, as `rows` makes them from dicts."""
        if self.defaults:
            return self.rows([dict(zip(columns, row, strict=True)) for row in rows])
        return self._bound(rows, [columns.index(name) for name in self.names])

    def _bound(self, rows: list[Any], where: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The values at `where` in each row (a dict's keys, a tuple's positions), in
        `names` order, through their bind processors."""
        pick = itemgetter(*where)
        picked: Iterable[tuple[Any, ...]] = (
            [(pick(row),) for row in rows] if len(where) == 1 else map(pick, rows))
        processed = [(k, process) for k, process in enumerate(self.processors)
                     if process is not None]
        if not processed:
            return list(picked)
        made: list[tuple[Any, ...]] = []
        for row in picked:
            values = list(row)
            for k, process in processed:
                values[k] = process(values[k])
            made.append(tuple(values))  # (SQLAlchemy's executemany takes tuples)
        return made

    def parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        made = self.rows(rows)
        if self.positional:
            return made
        return [dict(zip(self.names, values, strict=True)) for values in made]


#: COPY's text format: backslash, tab, newline and carriage return escaped in a value
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        return str(value).translate(_COPY_ESCAPES)
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if kind.__name__ == "Json" and hasattr(value, "obj"):  # psycopg's wrapper of a JSON value
        return _json_text(value).translate(_COPY_ESCAPES)
    raise TypeError(kind)


def _json_text(value: Any) -> str:
    """psycopg's wrapper of a JSON value, as its JSON text."""
    dumps = getattr(value, "dumps", None) or json.dumps
    return str(dumps(value.obj))


#: the common types' text, unescaped (str is the value itself), all but JSON implemented in
#: C (no Python call per value)
_PLAIN_FORMATS: dict[type, Callable[[Any], str]] = {
    str: str, int: str, bool: {True: "t", False: "f"}.__getitem__,
    type(None): {None: "\\N"}.__getitem__,
}


def _copy_text(rows: list[tuple[Any, ...]]) -> str | None:
    """The rows in COPY's text format (None: a value that is not text, int, bool, null or
    psycopg's JSON wrapper).

    Values are written as they are, then the whole text is checked: one tab fewer than
    columns and one newline per row, no carriage return, and a backslash only in each
    null's `\\N`. Any other count means some value holds a character COPY escapes, and
    the rows are written again value by value, escaped (`str.translate` reads a value
    character by character: escaping every value cost more than everything else in a
    batch)."""
    if not rows:
        return ""
    width, text = len(rows[0]), _plain_copy_text(rows)
    nothing_to_escape = (
        text is not None and all(len(row) == width for row in rows)
        and text.count("\t") == len(rows) * (width - 1) and text.count("\n") == len(rows)
        and "\r" not in text and text.count("\\") == sum([row.count(None) for row in rows]))
    return text if nothing_to_escape else _escaped_copy_text(rows)


def _plain_copy_text(rows: list[tuple[Any, ...]]) -> str | None:
    """The rows with every value written as it is, unescaped (None: a value that is not
    text, int, bool, null or psycopg's JSON wrapper)."""
    formats = _PLAIN_FORMATS
    while True:
        try:
            return "".join(["\t".join([formats[type(value)](value) for value in row])
                            + "\n" for row in rows])
        except KeyError as missing:
            kind = missing.args[0]
            if not (isinstance(kind, type) and kind.__name__ == "Json") or kind in formats:
                return None
            formats[kind] = _json_text  # psycopg's JSON wrapper, met for the first time


def _escaped_copy_text(rows: list[tuple[Any, ...]]) -> str | None:
    try:
        return "".join(["\t".join([_copy_field(value) for value in row]) + "\n"
                        for row in rows])
    except TypeError:
        return None


@cache
def _bulk_insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _BulkInsert | None:
    """None when SQLAlchemy must run the insert itself (a default computed per row)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    defaults: dict[str, Any] = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not getattr(default, "is_scalar", False):
            return None
        defaults[column.key] = default.arg  # type: ignore[attr-defined]
    processors = getattr(compiled, "_bind_processors", None)
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    if processors is None or set(names) != set(columns) | set(defaults):
        return None
    copy = None
    if dialect.name == "postgresql" and dialect.driver == "psycopg" and all(
            name in table.c for name in names):
        quote = dialect.identifier_preparer.quote
        copy = (f"COPY {dialect.identifier_preparer.format_table(table)} "
                f"({', '.join(quote(table.c[name].name) for name in names)}) FROM STDIN")
    return _BulkInsert(sql=compiled.string, names=names,
                       processors=tuple(processors.get(name) for name in names),
                       defaults=defaults, positional=compiled.positional, copy=copy)


def _primary_key_of(table: Table, values: Mapping[str, Any],
                    exact: bool = True) -> tuple[Any, ...] | None:
    """The primary key in `values` (None: not all of it there; with `exact`, also None when
    `values` holds other columns as well)."""
    names = _primary_key(table)
    if exact and len(values) != len(names):
        return None
    try:
        return tuple([values[name] for name in names])
    except KeyError:
        return None


def undo_above(connection: Connection, chain_id: int, block_number: int,
               tables: Mapping[str, Table] | None = None) -> int:
    """Undo every event-derived write made for blocks above `block_number`: restore journaled
    images newest first, delete append-only rows. Returns the number of journal entries."""
    known = dict(Base.metadata.tables) | dict(tables or {})
    journal = JournalEntry.__table__
    entries = connection.execute(
        select(journal)
        .where(journal.c.chain_id == chain_id, journal.c.block_number > block_number)
        .order_by(journal.c.id.desc())
    ).all()
    for entry in entries:
        table = known[entry.table_name]
        connection.execute(delete(table).where(_key_clause(table, entry.row_key)))
        if entry.before is not None:
            connection.execute(insert(table).values(**entry.before))
    connection.execute(delete(journal).where(journal.c.chain_id == chain_id,
                                             journal.c.block_number > block_number))
    for model in append_only_models():
        table = model.__table__
        connection.execute(delete(table).where(table.c.block_number > block_number))
    for table in (tables or {}).values():
        if table.info.get("rollback") == "delete":
            connection.execute(delete(table).where(table.c.block_number > block_number))
    return len(entries)


def prune_journal(connection: Connection, chain_id: int, up_to_block: int) -> None:
    """Forget undo images of blocks at or below `up_to_block` (older than the reorg window)."""
    journal = JournalEntry.__table__
    connection.execute(delete(journal).where(journal.c.chain_id == chain_id,
                                             journal.c.block_number <= up_to_block))
