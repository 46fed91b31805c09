"""The gateway's voucher ledger for metered calls (see `dapp.gateway.vouchers`): the latest
voucher per payment channel and the one ComputeMarket the ledger serves.

Not derived from events by the indexer (a reorg or a reset leaves them alone): the gateway
writes them when a metered call is paid and when it redeems vouchers on chain.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base
from dapp.store.types import ADDRESS, Uint256

SIGNATURE_MAX_CHARS = 1026


class ChannelVoucher(Base):
    """The highest voucher accepted on a channel, and how much of it is settled on chain."""

    __tablename__ = "channel_vouchers"

    channel_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    cumulative_amount: Mapped[int] = mapped_column(Uint256)
    # 0x + up to 1024 hex digits: the longest signature the voucher header admits
    signature: Mapped[str] = mapped_column(String(SIGNATURE_MAX_CHARS))
    redeemed_amount: Mapped[int] = mapped_column(Uint256)
    # unix seconds; None when nothing is pending
    first_unredeemed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    redeem_tx: Mapped[str | None] = mapped_column(String(80), nullable=True)


class VoucherLedgerScope(Base):
    """The market the ledger is bound to: one row, `id` always 1."""

    __tablename__ = "voucher_ledger_scope"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    market: Mapped[str] = mapped_column(ADDRESS)
