"""The gateway's own work as a compute provider: the jobs it was given and how far each got.

Not derived from events by the indexer (a reorg leaves them alone): the job worker writes them.
`state` is the local state machine (see `dapp.compute.jobs`); the chain's view (open, submitted,
finalized, refunded) is asked from the ComputeMarket when someone looks.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base
from dapp.store.types import ADDRESS, CID, HASH32


class ProviderJob(Base):
    __tablename__ = "provider_jobs"

    market: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    provider: Mapped[str] = mapped_column(ADDRESS)
    buyer: Mapped[str] = mapped_column(ADDRESS, index=True)
    dataset_id: Mapped[int] = mapped_column(BigInteger)
    algorithm_id: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[int] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_cid: Mapped[str | None] = mapped_column(CID, nullable=True)
    result_hash: Mapped[str | None] = mapped_column(HASH32, nullable=True)
    result_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    result_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    result_sealed_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(HASH32, nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class ProviderCursor(Base):
    """The next block the worker scans for JobCreated logs, per market and provider, and the
    hash of the block before it (as the scan read it: a reorg shows as a changed hash)."""

    __tablename__ = "provider_cursors"

    market: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    provider: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    next_block: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(HASH32, nullable=True)


class ProviderScanHash(Base):
    """Hashes of blocks the worker's scan read (the last of each range, and each block with a
    job for it), a bounded window: after a reorg, the newest one the chain still has is where
    the scan goes back to (`dapp.chain.reorgs.common_ancestor`)."""

    __tablename__ = "provider_scan_hashes"

    market: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    provider: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                              autoincrement=False)
    block_hash: Mapped[str] = mapped_column(HASH32)
