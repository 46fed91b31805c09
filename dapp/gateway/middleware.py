"""Request-level concerns: size limit, per-account rate limit, metrics and structured logs."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dapp.gateway.auth.sessions import SessionStore
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.peers import Peer, PeerPolicy
from dapp.gateway.problems import problem

log = logging.getLogger("dapp.gateway.access")


class Limiter(Protocol):
    capacity: float

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]: ...


@dataclass
class TokenBucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key (verified account, or client address), in this process's memory;
    thread-safe. Gateways sharing PostgreSQL count in the database instead
    (`dapp.gateway.rate_buckets.SharedRateLimiter`)."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until a token is available)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()  # bounded memory; a reset only forgives
                bucket = self._buckets[key] = TokenBucket(self.capacity, now)
            bucket.tokens = min(self.capacity,
                                bucket.tokens + (now - bucket.updated) * self.refill_per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return True, 0.0
            return False, (1 - bucket.tokens) / self.refill_per_second


def rate_limit_key(request: Request, sessions: SessionStore, peer: Peer) -> str:
    """Who to count a request against: the account of a valid session token (one indexed
    lookup), otherwise the client's address. Never a header the client merely asserts: an
    `X-DataDAO-Account` is not verified here, so it neither lifts the limit (by rotating it)
    nor spends another account's budget (by spraying it)."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        try:
            session = sessions.verify(token)
        except Exception:
            return peer.rate_limit_key
        # the route's account dependency takes it from here instead of asking again
        request.state.verified_session = (token, session)
        return "acct:" + session.account
    return peer.rate_limit_key


class BodySizeLimit:
    """413 for a declared Content-Length over the limit, and for a streamed body that grows
    past it (pure ASGI so the body is never buffered here). `larger`: (path pattern, limit)
    for the few routes that take more (private inference: encrypted input)."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 larger: tuple[tuple[re.Pattern[str], int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger

    def limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.fullmatch(path)),
                    self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await self._refuse(scope, receive, send, max_bytes)
            return
        received = 0
        overflowed = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                overflowed = True
                raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # the app may turn the overflow into its own error response: answer 413 instead
            nonlocal refused
            if not overflowed:
                await send(message)
            elif not refused:
                refused = True
                await self._refuse(scope, receive, send, max_bytes)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                await self._refuse(scope, receive, send, max_bytes)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem(413, "too-large", "Request too large",
                           f"request bodies are limited to {max_bytes} bytes",
                           scope.get("path", ""))
        await response(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class AccessMiddleware:
    """Rate limit, then count and log every request (one JSON line, no headers, no secrets),
    when its response starts. Plain ASGI: Starlette's BaseHTTPMiddleware would add a task
    group and a memory stream to every request and every body chunk."""

    def __init__(self, app: ASGIApp, limiter: Limiter, metrics: GatewayMetrics,
                 sessions: SessionStore, peers: PeerPolicy) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics
        self.sessions = sessions
        self.peers = peers

    def _count(self, request: Request, peer: Peer) -> tuple[str, tuple[bool, float]]:
        key = rate_limit_key(request, self.sessions, peer)
        return key, self.limiter.allow(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = secrets.token_hex(8)  # uuid4().hex[:16] costs 3x the CPU
        request = Request(scope, receive)
        peer = self.peers.peer(request)
        # a session token's account, and a shared limiter, are asked of the database: in a
        # worker thread; an address counted in memory is not worth the hop
        if isinstance(self.limiter, RateLimiter) and "authorization" not in request.headers:
            key, (allowed, retry_after) = self._count(request, peer)
        else:
            key, (allowed, retry_after) = await anyio.to_thread.run_sync(
                self._count, request, peer)
        path = scope["path"]

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._log(scope, message, request_id, key, started)
            await send(message)

        # operators' probes are never refused; anyone else's /healthz counts like any request
        probe = peer.operator and path in ("/healthz", "/metrics")
        if not allowed and not probe:
            self.metrics.rate_limited.inc()
            response: Response = problem(
                429, "rate-limited", "Too many requests",
                f"rate limit of {int(self.limiter.capacity)} requests per minute reached",
                path,
            )
            response.headers["Retry-After"] = str(max(1, round(retry_after)))
            await response(scope, receive, logged_send)
            return
        await self.app(scope, receive, logged_send)

    def _log(self, scope: Scope, start: Message, request_id: str, key: str,
             started: float) -> None:
        """Count and log the response, and name it in its headers (X-Request-Id)."""
        route = scope.get("route")
        route_name = getattr(route, "path", "unmatched")
        status = int(start["status"])
        elapsed = time.perf_counter() - started
        method = scope["method"]
        self.metrics.requests.labels(method, route_name, str(status)).inc()
        self.metrics.request_seconds.labels(route_name).observe(elapsed)
        start["headers"] = [*start.get("headers", []),
                            (b"x-request-id", request_id.encode("ascii"))]
        log.info(json.dumps({
            "request_id": request_id, "method": method, "route": route_name,
            "status": status, "ms": round(elapsed * 1000, 2),
            "client": key.split(":", 1)[0] + ":" + key.split(":", 1)[1][:42],
        }))
