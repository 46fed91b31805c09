"""The indexer's own bookkeeping: cursor, recent block hashes, raw events, undo journal and
the contracts it follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base
from dapp.store.types import ADDRESS, HASH32


class SyncCursor(Base):
    """How far the indexer got on a chain; written in the same transaction as the rows of the
    blocks it covers, so the database never holds half a range."""

    __tablename__ = "sync_cursor"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH32)
    genesis_hash: Mapped[str] = mapped_column(HASH32)
    #: a fingerprint of the statically configured contracts the index was built for
    contracts_key: Mapped[str] = mapped_column(String(66))


class BlockHash(Base):
    """Hashes of recently indexed blocks (a bounded window) to find a reorg's common ancestor."""

    __tablename__ = "block_hashes"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[str] = mapped_column(HASH32)


class RawEvent(Base):
    """Every decoded log of a followed contract, handled or not: the replayable record."""

    __tablename__ = "events"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_hash: Mapped[str] = mapped_column(HASH32)
    tx_hash: Mapped[str] = mapped_column(HASH32)
    address: Mapped[str] = mapped_column(ADDRESS)  # (no index: nothing reads by it)
    contract: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)


class JournalEntry(Base):
    """The image of a state row before an indexed block changed it (None: it did not exist).
    Restored newest first on a reorg; pruned once its block is older than the reorg window."""

    __tablename__ = "state_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class WatchedContract(Base):
    """A contract whose logs are followed: from the deployments file, or created on chain
    (a DAO made by the factory) and then journaled like any other state."""

    __tablename__ = "watched_contracts"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    from_block: Mapped[int] = mapped_column(BigInteger)
    dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
