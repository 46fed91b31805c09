"""Single-use nonces for SIWE and signed requests, stored in the database so that a nonce
stays spent across restarts and across gateway instances sharing one database. Their table is
the store's (`dapp.store.models.auth`), made by its migrations, which the store of nonces runs
on first use."""

from __future__ import annotations

import secrets
import time

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError

from dapp.errors import NotAuthenticated
from dapp.store.migrate import migrate
from dapp.store.models import AuthNonce

auth_nonces = AuthNonce.__table__


class NonceStore:
    def __init__(self, engine: Engine, lifetime_seconds: int = 300) -> None:
        self._engine = engine
        self.lifetime_seconds = lifetime_seconds
        self._schema_ready = False

    def _ensure_schema(self) -> None:
        # the store's migrations, on first use: a gateway starts (and reports 503) while the
        # database is down
        if not self._schema_ready:
            migrate(self._engine)
            self._schema_ready = True

    def issue(self) -> tuple[str, int]:
        """A fresh nonce (alphanumeric, as EIP-4361 requires) and when it expires."""
        self._ensure_schema()
        now = int(time.time())
        nonce = secrets.token_hex(16)
        expires_at = now + self.lifetime_seconds
        with self._engine.begin() as connection:
            connection.execute(delete(auth_nonces).where(auth_nonces.c.expires_at < now - 3600))
            connection.execute(
                insert(auth_nonces).values(nonce=nonce, issued_at=now, expires_at=expires_at)
            )
        return nonce, expires_at

    def consume(self, nonce: str) -> None:
        """Spend an issued nonce exactly once; any second use, or an unknown nonce, fails."""
        self._ensure_schema()
        now = int(time.time())
        with self._engine.begin() as connection:
            spent = connection.execute(
                update(auth_nonces)
                .where(auth_nonces.c.nonce == nonce)
                .where(auth_nonces.c.used_at.is_(None))
                .where(auth_nonces.c.expires_at > now)
                .values(used_at=now)
            ).rowcount
        if spent != 1:
            raise NotAuthenticated("nonce is unknown, expired or already used",
                                   hint="request a new nonce")

    def consume_client_nonce(self, scoped_nonce: str, expires_at: int) -> None:
        """Spend a nonce the client chose (signed requests): recorded on first use."""
        self._ensure_schema()
        now = int(time.time())
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(auth_nonces).values(
                        nonce=scoped_nonce, issued_at=now, expires_at=expires_at, used_at=now
                    )
                )
        except IntegrityError:
            raise NotAuthenticated("request nonce already used (replay)") from None
