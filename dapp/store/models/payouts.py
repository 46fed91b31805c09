"""Money after a sale: revenue splits, pull-payment balances, withdrawals, curator stakes."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base, EventFact, Origin
from dapp.store.types import ADDRESS, Uint256


class RevenueSplit(EventFact, Base):
    """One payment split: protocol fee, curators' share, owner's share."""

    __tablename__ = "revenue_splits"

    asset_id: Mapped[int] = mapped_column(BigInteger, index=True)
    token: Mapped[str] = mapped_column(ADDRESS)
    fee: Mapped[int] = mapped_column(Uint256)
    curators: Mapped[int] = mapped_column(Uint256)
    owner_amount: Mapped[int] = mapped_column(Uint256)
    owner: Mapped[str] = mapped_column(ADDRESS)


class PayoutBalance(Origin, Base):
    """What `account` may withdraw of `token` (credited - withdrawn), kept as running totals."""

    __tablename__ = "payout_balances"

    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    token: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    credited: Mapped[int] = mapped_column(Uint256, default=0)
    withdrawn: Mapped[int] = mapped_column(Uint256, default=0)

    @property
    def balance(self) -> int:
        return self.credited - self.withdrawn


class Withdrawal(EventFact, Base):
    """`account` withdrew its whole balance of `token`, paid to `recipient`."""

    __tablename__ = "withdrawals"

    account: Mapped[str] = mapped_column(ADDRESS, index=True)
    token: Mapped[str] = mapped_column(ADDRESS)
    recipient: Mapped[str] = mapped_column(ADDRESS)
    amount: Mapped[int] = mapped_column(Uint256)


class Stake(Origin, Base):
    """A curator's stake on an asset: active amount (earning), amount warming up and when it
    starts to earn (None: nothing warming up), amount unbonding and when it frees up (None:
    nothing unbonding)."""

    __tablename__ = "stakes"

    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    curator: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    amount: Mapped[int] = mapped_column(Uint256, default=0)
    unbonding: Mapped[int] = mapped_column(Uint256, default=0)
    unbonding_available_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    warming: Mapped[int] = mapped_column(Uint256, default=0)
    warming_active_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RewardClaim(EventFact, Base):
    """A curator claimed its share of an asset's revenue in one payment token."""

    __tablename__ = "reward_claims"

    asset_id: Mapped[int] = mapped_column(BigInteger, index=True)
    curator: Mapped[str] = mapped_column(ADDRESS, index=True)
    token: Mapped[str] = mapped_column(ADDRESS)
    amount: Mapped[int] = mapped_column(Uint256)
