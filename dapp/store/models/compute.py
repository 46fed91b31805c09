"""The compute market: providers, escrowed jobs and metered-call payment channels."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base, Origin
from dapp.store.types import ADDRESS, CID, HASH32, Uint256


class ComputeProvider(Origin, Base):
    __tablename__ = "compute_providers"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300), default="")
    price_token: Mapped[str] = mapped_column(ADDRESS, default="")  # of jobs and channels
    price: Mapped[int] = mapped_column(Uint256, default=0)  # per job, and per metered call
    stake: Mapped[int] = mapped_column(Uint256, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ComputeJob(Origin, Base):
    """An escrowed job; status: escrowed, accepted, submitted, finalized, disputed, refunded,
    declined, cancelled."""

    __tablename__ = "compute_jobs"

    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    buyer: Mapped[str] = mapped_column(ADDRESS, index=True)
    provider: Mapped[str] = mapped_column(ADDRESS, index=True)
    dataset_id: Mapped[int] = mapped_column(BigInteger)
    algorithm_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(ADDRESS)
    amount: Mapped[int] = mapped_column(Uint256)
    deadline: Mapped[int] = mapped_column(BigInteger)
    collateral: Mapped[int] = mapped_column(Uint256, default=0)  # provider stake it locks
    challenge_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    result_cid: Mapped[str | None] = mapped_column(CID, nullable=True)
    result_hash: Mapped[str | None] = mapped_column(HASH32, nullable=True)


class PaymentChannel(Origin, Base):
    """A metered-call channel (`channel_id`: decimal text); status: open, redeemed, reclaimed."""

    __tablename__ = "payment_channels"

    channel_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    buyer: Mapped[str] = mapped_column(ADDRESS, index=True)
    provider: Mapped[str] = mapped_column(ADDRESS, index=True)
    token: Mapped[str] = mapped_column(ADDRESS)
    deposit: Mapped[int] = mapped_column(Uint256)
    redeemed: Mapped[int] = mapped_column(Uint256, default=0)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
