"""The gateway's single-use nonces for SIWE and signed requests (see
`dapp.gateway.auth.nonces`): kept in the database so that a nonce stays spent across restarts
and across gateway instances sharing it."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import Base


class AuthNonce(Base):
    """A nonce the gateway issued (or a client chose, scoped to its signer); `used_at` is set
    when it is spent. All times are unix seconds. A client-chosen nonce is stored as a hash of
(signer, nonce), so its key has a fixed length whatever the nonce."""

    __tablename__ = "auth_nonces"

    nonce: Mapped[str] = mapped_column(String(80), primary_key=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # the client address a gateway-issued nonce went to (bounds unused nonces per client)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
