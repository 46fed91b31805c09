"""Streamed metered calls: a model's chunks sent as JSON lines as it yields them, paid chunk by
chunk, each chunk's voucher sent by the buyer *after* the chunk arrived.

Pricing: one chunk costs the provider's price per call. The call's own voucher (reserved
before the model runs, exactly as for a plain call) pays for the first chunk; every further
chunk is paid by a voucher one price higher, sent to `POST /v1/streams/{id}/pay` once the
buyer has it. The gateway sends chunk n only while n ≤ paid + credit (`model_stream_credit`,
default 1): it never has more than `credit` chunks delivered and unpaid, and a buyer never
signs for a chunk it has not received. A voucher for a chunk not yet delivered is refused
(409 `nothing-to-pay`), so the gateway cannot be paid ahead either. A buyer who stops paying
gets no more chunks (after `model_stream_pay_seconds` the stream ends with `end: "unpaid"`);
a buyer who cuts the stream has paid for what it received, and the provider lost at most
`credit` chunks. A stream ends after `max_chunks` (the gateway's `model_stream_max_chunks`, or
fewer if the buyer asks) with `end: "max-chunks"`, and a chunk that takes longer than
`model_call_seconds` ends it with `end: "model-failed"`.

Each stream is its caller's alone: the chunks go only to the response of the call that opened
it, from a worker of that model and that buyer (`warm_pool`), and only a voucher on the
stream's own channel pays for it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from dapp.compute.warm import WarmCallFailed
from dapp.errors import DappError, NotFound
from dapp.gateway.metered.chunks import ChunkSource
from dapp.gateway.metered.pool import ModelPool
from dapp.gateway.metered.verifier import VoucherVerifier

STREAM_MEDIA_TYPE = "application/x-ndjson"
STREAM_HEADER = "X-DataDAO-Stream"


class NotThisStreamsChannel(DappError):
    """A voucher for a stream from a channel other than the one that opened it."""

    code = "not-this-streams-channel"
    http_status = 403


class NothingToPay(DappError):
    """Every chunk delivered so far is paid: a voucher now would pay for one not delivered."""

    code = "nothing-to-pay"
    http_status = 409


@dataclass
class PaidStream:
    id: str
    channel_id: int | None  # None: a free provider, nothing to pay
    price: int
    credit: int
    max_chunks: int
    accepted: int  # the channel's amount after this stream's last voucher
    paid: int = 1  # chunks paid: the call's voucher pays the first
    delivered: int = 0
    over: bool = False  # its end line is made: no voucher is taken into it any more
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _paying: anyio.Lock = field(default_factory=anyio.Lock)

    def head(self) -> dict[str, Any]:
        return {"stream": self.id, "price": str(self.price), "credit": self.credit,
                "max_chunks": self.max_chunks, "accepted_cumulative": str(self.accepted)}

    async def _until(self, condition: Callable[[], bool], seconds: float) -> bool:
        with anyio.move_on_after(seconds):
            while not condition():
                await self._changed.wait()
        return condition()

    async def credit_for_next(self, seconds: float) -> bool:
        """Whether the next chunk may go (waiting up to `seconds` for a voucher)."""
        if self.channel_id is None:
            return True
        return await self._until(lambda: self.delivered + 1 <= self.paid + self.credit,
                                 seconds)

    async def all_paid(self, seconds: float) -> bool:
        if self.channel_id is None:
            return True
        return await self._until(lambda: self.paid >= self.delivered, seconds)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class StreamRegistry:
    """The streams going on in this gateway process, by id (a stream's vouchers must reach the
    process that serves it: a gateway behind a load balancer needs sticky routing)."""

    def __init__(self, credit: int, max_chunks: int, pay_seconds: float) -> None:
        self.credit = credit
        self.max_chunks = max_chunks
        self.pay_seconds = pay_seconds
        self._streams: dict[str, PaidStream] = {}

    def open(self, channel_id: int | None, price: int, accepted: int,
             max_chunks: int | None) -> PaidStream:
        limit = self.max_chunks if max_chunks is None else min(max_chunks, self.max_chunks)
        stream = PaidStream(secrets.token_urlsafe(16), channel_id, price, self.credit, limit,
                            accepted, paid=1 if channel_id is not None else 0)
        self._streams[stream.id] = stream
        return stream

    def close(self, stream: PaidStream) -> None:
        self._streams.pop(stream.id, None)

    async def pay(self, stream_id: str, header: str | None,
                  verifier: VoucherVerifier) -> PaidStream:
        """Take the voucher for the stream's next delivered, unpaid chunk."""
        stream = self._streams.get(stream_id)
        if stream is None or stream.channel_id is None or stream.over:
            raise NotFound(f"no stream {stream_id} is going on here",
                           hint="a stream takes vouchers only while it is open")
        async with stream._paying:
            if stream.over:  # ended while this voucher waited for the one before
                raise NotFound(f"stream {stream_id} has ended",
                               hint="a stream takes vouchers only while it is open")
            checked = await anyio.to_thread.run_sync(verifier.check, header)
            if checked.voucher.channel_id != stream.channel_id:
                raise NotThisStreamsChannel(
                    f"stream {stream_id} is paid from channel {stream.channel_id}, not "
                    f"{checked.voucher.channel_id}")
            if stream.paid >= stream.delivered:
                raise NothingToPay(
                    f"stream {stream_id} has delivered {stream.delivered} chunks, all paid",
                    hint="pay for a chunk after it arrived",
                    details={"delivered": stream.delivered, "paid": stream.paid})
            stream.accepted = await anyio.to_thread.run_sync(verifier.accept, checked)
            stream.paid += 1
            stream._wake()
        return stream


async def stream_lines(stream: PaidStream, source: ChunkSource, pool: ModelPool,
                       pay_seconds: float) -> AsyncIterator[bytes]:
    """The JSON lines of a stream: its head, one line per chunk, the end line (sent once every
    delivered chunk is paid, or `pay_seconds` passed)."""
    yield _line(stream.head())
    end, reason = "done", None
    while True:
        if stream.delivered >= stream.max_chunks:
            end = "max-chunks"
            break
        if not await stream.credit_for_next(pay_seconds):
            end = "unpaid"
            break
        try:
            chunk = await pool.run(source.next)
        except WarmCallFailed as error:
            end, reason = "model-failed", str(error.details.get("reason", "failed"))
            break
        if chunk is None:
            break
        stream.delivered += 1  # before it is sent: its voucher may come back at once
        yield _line(chunk.as_json(stream.delivered))
    await pool.run(source.close)  # the model stops here; its worker goes back to the pool
    if end != "unpaid":  # a buyer who stopped paying is not waited for twice
        await stream.all_paid(pay_seconds)
    async with stream._paying:  # a voucher being taken now is counted in the end line
        stream.over = True
    tail: dict[str, Any] = {"end": end, "chunks": stream.delivered,
                            "paid_chunks": stream.paid,
                            "accepted_cumulative": str(stream.accepted)}
    if reason is not None:
        tail["reason"] = reason
    yield _line(tail)


class StreamResponse(StreamingResponse):
    """A stream's response: however it ends (done, cut by the client, before its body
    started), the model's generator is stopped, its worker given back, the slot released and
    the stream forgotten."""

    def __init__(self, body: AsyncIterator[bytes], cleanup: Callable[[], Any],
                 headers: dict[str, str]) -> None:
        super().__init__(body, media_type=STREAM_MEDIA_TYPE, headers=headers)
        self._cleanup = cleanup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._cleanup()


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"
