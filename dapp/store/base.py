"""The declarative base and the columns every event-derived row carries.

Two kinds of event-derived tables, told apart by `__rollback__`:

* ``"delete"`` — append-only facts, one row per log (a purchase, a withdrawal, a version).
  A reorg back to block N deletes their rows with ``block_number > N``.
* ``"journal"`` — current state that later events change (an asset's owner, an offer, a
  stake). Every write made by the indexer records the row's previous image in
  ``state_journal``; a reorg back to block N restores those images newest first. The origin
  columns then say which log wrote the row last.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dapp.store.types import HASH32

RollbackMode = Literal["delete", "journal"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Origin:
    """The log that created this row (append-only tables) or changed it last (state)."""

    __rollback__: ClassVar[RollbackMode] = "journal"

    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH32)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(HASH32)


class AppendOnly(Origin):
    __rollback__: ClassVar[RollbackMode] = "delete"

    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class EventFact(AppendOnly):
    """An append-only row per log, identified by its place in the chain (stable across
    crashes, restarts and reorgs, unlike an autoincrement id)."""

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
