"""Session tokens, stored in the database so that every gateway sharing it honours them.

A token is 32 random bytes (URL-safe base64); the store keeps only its SHA-256 with the
account, the chain and the expiry (`dapp.store.models.shared.AuthSession`), so whoever reads
the database learns no usable token. Signing in at one gateway and using the session at
another works when both use one database (PostgreSQL); on SQLite it serves one process.
Expired rows are deleted as new sessions are issued."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from eth_utils import to_checksum_address
from sqlalchemy import Engine, delete, insert, select

from dapp.errors import NotAuthenticated
from dapp.store.migrate import migrate
from dapp.store.models import AuthSession

auth_sessions = AuthSession.__table__
TOKEN_MAX_CHARS = 100  # a longer bearer token is no token of ours: refused unread


@dataclass(frozen=True)
class Session:
    account: str
    chain_id: int
    expires_at: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema_ready = False
        self._lock = threading.Lock()

    def _ensure_schema(self) -> None:
        # the store's migrations, on first use: a gateway starts while the database is down
        if not self._schema_ready:
            with self._lock:
                if not self._schema_ready:
                    migrate(self._engine)
                    self._schema_ready = True

    def issue(self, session: Session) -> str:
        self._ensure_schema()
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._engine.begin() as connection:
            connection.execute(delete(auth_sessions).where(auth_sessions.c.expires_at < now))
            connection.execute(insert(auth_sessions).values(
                token_hash=token_hash(token), account=to_checksum_address(session.account),
                chain_id=session.chain_id, expires_at=session.expires_at))
        return token

    def verify(self, token: str, now: float | None = None) -> Session:
        if not token or len(token) > TOKEN_MAX_CHARS:
            raise NotAuthenticated("malformed session token")
        self._ensure_schema()
        with self._engine.connect() as connection:
            row = connection.execute(select(auth_sessions).where(
                auth_sessions.c.token_hash == token_hash(token))).first()
        if row is None:
            raise NotAuthenticated("unknown session token", hint="sign in again")
        session = Session(row.account, int(row.chain_id), int(row.expires_at))
        if session.expires_at <= (time.time() if now is None else now):
            raise NotAuthenticated("session expired", hint="sign in again")
        return session
