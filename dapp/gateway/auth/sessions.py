"""Short-lived session tokens: HMAC-SHA256 over (account, chain id, expiry), stateless."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from dapp.errors import NotAuthenticated


@dataclass(frozen=True)
class Session:
    account: str
    chain_id: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_secret(path: Path) -> bytes:
    """The gateway's session key: 32 random bytes in a 0600 file, created on first use.

    An existing key that group or others may read is refused, not repaired: whoever could read
    it can mint sessions for any account, so the operator must restrict it (or, if it may have
    been read, delete it: a new key is made and every session ends)."""
    if path.is_file():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(
                f"the session key {path} is readable or writable by group/others (mode "
                f"{mode:04o}): `chmod 600 {path}`, or delete it to make a new one (all sessions "
                "end)")
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(secret)
    return secret


class SessionSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def issue(self, session: Session) -> str:
        payload = json.dumps(
            {"a": session.account, "c": session.chain_id, "e": session.expires_at},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str, now: float | None = None) -> Session:
        try:
            payload_text, mac_text = token.split(".")
            payload = _unb64(payload_text)
            mac = _unb64(mac_text)
        except (ValueError, UnicodeError):
            raise NotAuthenticated("malformed session token") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise NotAuthenticated("session token signature is invalid")
        fields = json.loads(payload)
        session = Session(to_checksum_address(fields["a"]), int(fields["c"]), int(fields["e"]))
        if session.expires_at <= (time.time() if now is None else now):
            raise NotAuthenticated("session expired", hint="sign in again")
        return session
