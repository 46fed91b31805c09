"""The only way handlers write: every state change is journaled so a reorg can undo it.

`insert`/`update`/`upsert` record the row's previous image (or its absence) in
`state_journal` under the block being indexed; `append` writes an append-only fact, which a
rollback removes by block number instead. Origin columns (block, hash, log index, tx) are
filled from the event being handled. All writes go through the batch's one connection, so
they commit or vanish together with the cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert, select, update

from dapp.chain.events import LogOrigin
from dapp.store.base import Base
from dapp.store.models import JournalEntry, Pin, WatchedContract, append_only_models

ORIGIN_COLUMNS = ("block_number", "block_hash", "log_index", "tx_hash")


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


class StateWriter:
    def __init__(self, connection: Connection, chain_id: int) -> None:
        self.connection = connection
        self.chain_id = chain_id
        self.origin: LogOrigin | None = None
        self.new_watches: list[NewWatch] = []

    # -- reading -----------------------------------------------------------------------------
    def get(self, model: type[Any] | Table, **key: Any) -> dict[str, Any] | None:
        table = table_of(model)
        row = self.connection.execute(select(table).where(_key_clause(table, key))).first()
        return dict(row._mapping) if row is not None else None

    def require(self, model: type[Any] | Table, **key: Any) -> dict[str, Any]:
        row = self.get(model, **key)
        if row is None:
            raise MissingRow(f"{table_of(model).name} has no row {key} (at {self.origin})")
        return row

    # -- journaled state ---------------------------------------------------------------------
    def insert(self, model: type[Any] | Table, **values: Any) -> None:
        table = table_of(model)
        key = {c.name: values[c.name] for c in table.primary_key.columns}
        self._journal(table, key, None)
        self.connection.execute(insert(table).values(**self._with_origin(table, values)))

    def update(self, model: type[Any] | Table, key: Mapping[str, Any], **changes: Any) -> None:
        table = table_of(model)
        before = self.require(table, **key)
        self._journal(table, key, before)
        self.connection.execute(
            update(table).where(_key_clause(table, key)).values(
                **self._with_origin(table, changes))
        )

    def upsert(self, model: type[Any] | Table, key: Mapping[str, Any], **values: Any) -> None:
        table = table_of(model)
        if self.get(table, **key) is None:
            self.insert(table, **{**values, **key})
        else:
            self.update(table, key, **values)

    # -- append-only facts -------------------------------------------------------------------
    def append(self, model: type[Any] | Table, **values: Any) -> None:
        table = table_of(model)
        self.connection.execute(insert(table).values(**self._with_origin(table, values)))

    # -- side effects the indexer acts on ----------------------------------------------------
    def request_pin(self, cid: str, kind: str, asset_id: int | None = None) -> None:
        """Queue a CID for pinning (once; a pin outlives reorgs, see store.models.ops)."""
        if self.get(Pin, cid=cid) is None:
            self.connection.execute(insert(Pin.__table__).values(
                cid=cid, kind=kind, asset_id=asset_id, status="queued", attempts=0,
                next_try_at=0.0,  # due at once
            ))

    def watch(self, name: str, address: str) -> None:
        """Follow a contract created on chain from the current block on."""
        assert self.origin is not None
        block = self.origin.block_number
        self.upsert(WatchedContract, {"address": address}, name=name, from_block=block,
                    dynamic=True)
        self.new_watches.append(NewWatch(name=name, address=address, from_block=block))

    # -- internals ---------------------------------------------------------------------------
    def _with_origin(self, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.origin is None or "block_number" not in table.c:
            return dict(values)
        origin = {name: getattr(self.origin, name) for name in ORIGIN_COLUMNS}
        return {**values, **origin}

    def _journal(self, table: Table, key: Mapping[str, Any],
                 before: Mapping[str, Any] | None) -> None:
        if self.origin is None:
            return  # not indexing a block (e.g. registering static contracts): nothing to undo
        self.connection.execute(insert(JournalEntry.__table__).values(
            chain_id=self.chain_id,
            block_number=self.origin.block_number,
            table_name=table.name,
            row_key=dict(key),
            before=dict(before) if before is not None else None,
        ))


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
