"""Rows that do not come from events: downloads (written by the gateway), the pin queue and
the public metadata fetched from IPFS. A reorg leaves them alone: a pinned CID stays pinned
and metadata is content-addressed, so both are valid on any branch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base
from dapp.store.types import ADDRESS, CID


class Download(Base):
    __tablename__ = "downloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(BigInteger, index=True)
    version_index: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(ADDRESS, index=True)
    bytes_served: Mapped[int] = mapped_column(BigInteger)
    range_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    range_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    downloaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: streamed to its end, and that end was the file's last byte (see `Catalog._stats`)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)


class Pin(Base):
    """A CID the local IPFS node must keep. status: queued (not pinned yet), retrying (an
    attempt failed; next at `next_try_at`), pinned, or refused (never pinned: over a size cap
    or not the size its metadata declares; `last_error` says why). Times are unix seconds."""

    __tablename__ = "pins"

    cid: Mapped[str] = mapped_column(CID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    asset_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_try_at: Mapped[float] = mapped_column(Float, index=True)
    pinned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: the pin backend that took it (`kubo`, `cluster`, `pinning-service`) and its own handle
    backend: Mapped[str | None] = mapped_column(String(20), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: when its state per peer (`pin_peers`) is next read; repairs made so far
    check_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    repairs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PinPeer(Base):
    """A pinned CID's state on one peer of the pin backend, as last read (`checked_at`, unix
    seconds): `pinned`, `pinning`, `pin_queued`, `pin_error`, `gone` (allocated to a peer that
    no longer answers), ... A Cluster pin has a row per allocated peer; Kubo and a pinning
    service have one peer."""

    __tablename__ = "pin_peers"

    cid: Mapped[str] = mapped_column(CID, primary_key=True)
    peer: Mapped[str] = mapped_column(String(128), primary_key=True)
    peer_name: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    checked_at: Mapped[float] = mapped_column(Float)


class CidMetadata(Base):
    """The public metadata JSON behind a metadata CID, with the fields the catalog filters on.
    `error` says why a document could not be read (it is then not retried); `schema_error`
    why a readable JSON object is not `datadao/asset-metadata@1` (None: it is)."""

    __tablename__ = "cid_metadata"

    cid: Mapped[str] = mapped_column(CID, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    schema_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class MetadataTag(Base):
    __tablename__ = "metadata_tags"

    cid: Mapped[str] = mapped_column(CID, primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class MetadataTask(Base):
    """A task a model's metadata declares (`service.tasks`, one of `dapp.tasks.TASKS`): the
    catalog's `GET /v1/models?task=` looks models up here. Only valid documents have them."""

    __tablename__ = "metadata_tasks"

    cid: Mapped[str] = mapped_column(CID, primary_key=True)
    task: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
