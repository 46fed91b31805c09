"""Single-use nonces for SIWE and signed requests, stored in the database so that a nonce
stays spent across restarts and across gateway instances sharing one database. Their table is
the store's (`dapp.store.models.auth`), made by its migrations, which the store of nonces runs
on first use.

Anyone may ask for a sign-in nonce, so what they cost is bounded: a client address holds at
most `max_per_client` unused, unexpired nonces (429 beyond), all clients together at most
`max_outstanding` (503 beyond); both with Retry-After until the oldest one expires. Expired
rows are deleted as new ones are issued. `check` answers "is this nonce usable?" without
spending it, so that the cheap question is asked before any signature check that may reach
the chain (EIP-1271)."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dapp.errors import DappError, NotAuthenticated
from dapp.store.migrate import migrate
from dapp.store.models import AuthNonce

auth_nonces = AuthNonce.__table__
#: rows stay this long after their expiry (gateways sharing a database may disagree on time)
EXPIRED_GRACE_SECONDS = 60


class TooManyNonces(DappError):
    """This client holds its share of unused sign-in nonces: sign in with one of them."""

    code = "too-many-nonces"
    http_status = 429


class NoncesExhausted(DappError):
    """The gateway holds as many unused sign-in nonces as it keeps: try again shortly."""

    code = "nonces-exhausted"
    http_status = 503
    public_detail = True  # says nothing internal (problems.py)


def client_nonce_key(account: str, nonce: str) -> str:
    """The stored key of a nonce a signer chose: fixed length (68), whatever the nonce."""
    return "req:" + hashlib.sha256(f"{account}:{nonce}".encode()).hexdigest()


class NonceStore:
    def __init__(self, engine: Engine, lifetime_seconds: int = 300, max_per_client: int = 32,
                 max_outstanding: int = 100_000) -> None:
        self._engine = engine
        self.lifetime_seconds = lifetime_seconds
        self.max_per_client = max_per_client
        self.max_outstanding = max_outstanding
        self._schema_ready = False

    def _ensure_schema(self) -> None:
        # the store's migrations, on first use: a gateway starts (and reports 503) while the
        # database is down
        if not self._schema_ready:
            migrate(self._engine)
            self._schema_ready = True

    def issue(self, client: str = "unknown") -> tuple[str, int]:
        """A fresh nonce (alphanumeric, as EIP-4361 requires) and when it expires."""
        self._ensure_schema()
        now = int(time.time())
        nonce = secrets.token_hex(16)
        expires_at = now + self.lifetime_seconds
        client = client[:64]
        unused = (auth_nonces.c.used_at.is_(None)) & (auth_nonces.c.expires_at > now)
        with self._engine.begin() as connection:
            connection.execute(delete(auth_nonces).where(
                auth_nonces.c.expires_at < now - EXPIRED_GRACE_SECONDS))
            held, oldest = connection.execute(
                select(func.count(), func.min(auth_nonces.c.expires_at))
                .where(unused & (auth_nonces.c.client == client))).one()
            if held >= self.max_per_client:
                raise TooManyNonces(
                    f"this client holds {held} unused sign-in nonces, the most it may",
                    hint="sign in with a nonce you have, or wait for them to expire",
                    headers={"Retry-After": str(max(1, int(oldest) - now))})
            total, oldest = connection.execute(
                select(func.count(), func.min(auth_nonces.c.expires_at)).where(unused)).one()
            if total >= self.max_outstanding:
                raise NoncesExhausted(
                    "the gateway holds as many unused sign-in nonces as it keeps",
                    hint="try again in a moment",
                    headers={"Retry-After": str(max(1, int(oldest) - now))})
            connection.execute(insert(auth_nonces).values(
                nonce=nonce, issued_at=now, expires_at=expires_at, client=client))
        return nonce, expires_at

    def check(self, nonce: str) -> None:
        """Refuse a nonce that is unknown, spent or expired, without spending it."""
        self._ensure_schema()
        now = int(time.time())
        with self._engine.connect() as connection:
            usable = connection.execute(
                select(auth_nonces.c.nonce)
                .where(auth_nonces.c.nonce == nonce[:80])
                .where(auth_nonces.c.used_at.is_(None))
                .where(auth_nonces.c.expires_at > now)
            ).first()
        if usable is None:
            raise _unusable()

    def consume(self, nonce: str) -> None:
        """Spend an issued nonce exactly once; any second use, or an unknown nonce, fails."""
        self._ensure_schema()
        now = int(time.time())
        with self._engine.begin() as connection:
            spent = connection.execute(
                update(auth_nonces)
                .where(auth_nonces.c.nonce == nonce[:80])
                .where(auth_nonces.c.used_at.is_(None))
                .where(auth_nonces.c.expires_at > now)
                .values(used_at=now)
            ).rowcount
        if spent != 1:
            raise _unusable()

    def check_client_nonce(self, scoped_nonce: str) -> None:
        """Refuse a client-chosen nonce already spent (a replay), without spending it."""
        self._ensure_schema()
        with self._engine.connect() as connection:
            seen = connection.execute(select(auth_nonces.c.nonce).where(
                auth_nonces.c.nonce == scoped_nonce)).first()
        if seen is not None:
            raise _replayed()

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
            raise _replayed() from None


def _unusable() -> NotAuthenticated:
    return NotAuthenticated("nonce is unknown, expired or already used",
                            hint="request a new nonce")


def _replayed() -> NotAuthenticated:
    return NotAuthenticated("request nonce already used (replay)")
