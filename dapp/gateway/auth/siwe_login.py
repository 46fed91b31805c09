"""Sign-In with Ethereum (EIP-4361): every field the gateway can check is checked.

The message's URI must be on this gateway's origin exactly (scheme, host and port; a path under
it is fine): a string prefix would let `https://gw.example.evil` or `http://127.0.0.1:80001`
pass for `https://gw.example` or `http://127.0.0.1:8000`, and a signature a user gave another
site would open a session here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from siwe import SiweMessage
from web3 import Web3

from dapp.errors import NotAuthenticated
from dapp.gateway.auth.nonces import NonceStore
from dapp.gateway.auth.signatures import signed_by

MAX_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class SiwePolicy:
    domain: str
    origin: str  # scheme://host[:port]: a message's URI must be on exactly this origin
    chain_id: int


DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin(uri: str, origin: str) -> bool:
    """Whether `uri` is on `origin` exactly: same scheme, host and port, no user info."""
    try:
        theirs, ours = urlsplit(uri), urlsplit(origin)
        their_port = theirs.port or DEFAULT_PORTS.get(theirs.scheme.lower())
        our_port = ours.port or DEFAULT_PORTS.get(ours.scheme.lower())
    except ValueError:  # a port that is not a number, or out of range
        return False
    if theirs.username is not None or theirs.password is not None or not theirs.hostname:
        return False
    return (theirs.scheme.lower(), theirs.hostname, their_port) == \
        (ours.scheme.lower(), ours.hostname, our_port)


def _timestamp(value: object) -> float:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def parse_message(text: str) -> SiweMessage:
    # siwe's regex grammar, not its ABNF one: the ABNF parser is superlinear (seconds for 4 KB
    # of garbage, per anonymous request); both parse the EIP-4361 grammar
    try:
        return SiweMessage.from_message(text, abnf=False)
    except Exception as error:  # the parser raises several unrelated types
        raise NotAuthenticated(f"not a valid EIP-4361 message: {error}") from None


def verify_sign_in(
    text: str,
    signature: str,
    policy: SiwePolicy,
    nonces: NonceStore,
    web3: Web3 | None,
    now: float | None = None,
) -> tuple[str, int]:
    """Check a signed SIWE message; returns (account, session expiry). Spends the nonce."""
    message = parse_message(text)
    now = time.time() if now is None else now
    if message.domain != policy.domain:
        raise NotAuthenticated(f"message is for domain {message.domain!r}, "
                               f"this gateway is {policy.domain!r}")
    if not same_origin(str(message.uri), policy.origin):
        raise NotAuthenticated(f"message URI {message.uri} is not this gateway's "
                               f"({policy.origin})")
    if int(message.chain_id) != policy.chain_id:
        raise NotAuthenticated(f"message is for chain {message.chain_id}, "
                               f"this gateway serves chain {policy.chain_id}")
    if message.expiration_time is None:
        raise NotAuthenticated("message has no expiration time")
    expires_at = _timestamp(message.expiration_time)
    if expires_at <= now:
        raise NotAuthenticated("message has expired", hint="sign a new one")
    if message.not_before is not None and _timestamp(message.not_before) > now:
        raise NotAuthenticated("message is not valid yet")
    account = to_checksum_address(message.address)
    # the nonce before the signature: a contract wallet's check is a chain call (EIP-1271)
    nonces.check(message.nonce)
    if not signed_by(web3, encode_defunct(text=text), signature, account):
        raise NotAuthenticated("signature does not match the message's address")
    nonces.consume(message.nonce)
    return account, int(min(expires_at, now + MAX_SESSION_SECONDS))


def utc_iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
