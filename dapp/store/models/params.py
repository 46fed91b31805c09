"""The registry's protocol settings as its admin events last set them."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base, Origin
from dapp.store.types import ADDRESS


class RegistryParam(Origin, Base):
    """One setting of the registry at `contract`: `protocol_fee_bps`, `treasury`,
    `unbonding_delay` (seconds), as text. The treasury is credited every split's protocol fee."""

    __tablename__ = "registry_params"

    contract: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))


class PaymentToken(Origin, Base):
    """A token offers may be priced in (`allowed` false: no new offers or sales in it)."""

    __tablename__ = "payment_tokens"

    contract: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    token: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
