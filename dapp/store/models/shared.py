"""State that every gateway sharing one database sees (see docs/ARCHITECTURE.md, "running
several gateways"): signed-in sessions and the request rate buckets. Not derived from events:
the gateways write them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base
from dapp.store.types import ADDRESS


class AuthSession(Base):
    """A session token a gateway issued: only its SHA-256 is stored, so reading the database
    gives no token. Times are unix seconds."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(ADDRESS)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class RateBucket(Base):
    """One token bucket of the request rate limit (key: `acct:<address>` or the client's
    address); `updated_at` in unix seconds, fractional."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
