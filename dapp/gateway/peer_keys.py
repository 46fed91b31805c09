"""Which key each provider's gateway seals content to, so the catalog can say which providers
of the directory can run a model (`GET /v1/models?task=`): each provider's endpoint is asked
`GET /v1/gateway` (all at once, each within `catalog_peer_timeout_seconds`), and a key read is
reused for `catalog_peer_key_seconds`; a failure is not remembered, so a provider is listed
again as soon as it answers.

Only http(s) endpoints are asked, for a small JSON answer whose one use is its 32-byte base64
key, compared with the keys a model is sealed to, and the provider account it names, which
must be the one the directory lists at that endpoint (a stale registration whose URL now
belongs to another gateway is not listed): nothing else a peer says reaches a client.
A key a gateway claims is not proof it holds the secret half (see docs/SECURITY.md): a buyer's
router checks the answers it pays for against the model's output schema."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

MAX_ANSWER_BYTES = 64 * 1024
MAX_PEERS_AT_ONCE = 16


@dataclass(frozen=True)
class GatewayIdentity:
    key: str  # base64 X25519 public key
    provider: str | None  # the provider account it says it acts as

    def is_provider(self, address: str) -> bool:
        return self.provider is not None and self.provider.lower() == address.lower()


class PeerKeys:
    def __init__(self, own_origin: str, own: GatewayIdentity, timeout_seconds: float,
                 keep_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.own_origin = own_origin.rstrip("/")
        self.own = own
        self.timeout_seconds = timeout_seconds
        self.keep_seconds = keep_seconds
        self.clock = clock
        self._known: dict[str, tuple[float, GatewayIdentity]] = {}
        self._lock = threading.Lock()

    def identities(self, endpoints: Sequence[str]) -> dict[str, GatewayIdentity | None]:
        """Each endpoint's key and provider, or None when it did not say them in time."""
        found: dict[str, GatewayIdentity | None] = {}
        missing: list[str] = []
        now = self.clock()
        with self._lock:
            for endpoint in dict.fromkeys(endpoints):
                cached = self._known.get(endpoint)
                if endpoint.rstrip("/") == self.own_origin:
                    found[endpoint] = self.own
                elif cached is not None and now - cached[0] < self.keep_seconds:
                    found[endpoint] = cached[1]
                else:
                    missing.append(endpoint)
        if missing:
            with ThreadPoolExecutor(min(len(missing), MAX_PEERS_AT_ONCE)) as pool:
                asked = dict(zip(missing, pool.map(self._ask, missing), strict=True))
            with self._lock:
                for endpoint, key in asked.items():
                    if key is not None:
                        self._known[endpoint] = (now, key)
            found.update(asked)
        return found

    def _ask(self, endpoint: str) -> GatewayIdentity | None:
        if not endpoint.startswith(("http://", "https://")):
            return None
        deadline = time.monotonic() + self.timeout_seconds  # in all, not per read
        try:
            with httpx.stream("GET", f"{endpoint.rstrip('/')}/v1/gateway",
                              timeout=self.timeout_seconds, follow_redirects=False) as response:
                if response.status_code != 200:
                    return None
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES or time.monotonic() > deadline:
                        return None
            answer = httpx.Response(200, content=body).json()
            key, provider = answer.get("public_key"), answer.get("provider")
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        if not _is_key(key) or not (provider is None or isinstance(provider, str)):
            return None
        return GatewayIdentity(key, provider)


def _is_key(key: object) -> bool:
    if not isinstance(key, str) or len(key) > 64:
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
