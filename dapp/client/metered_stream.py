"""The buyer's side of a streamed metered call: chunks as the model yields them, each paid
after it arrived.

The call's own voucher (one price above what the channel has paid, signed and recorded as for
`MeteredClient.invoke`) pays for the first chunk; for every further chunk, once its line has
been read, this client signs one price more and sends it to `POST /v1/streams/{id}/pay`
before handing the chunk on. So a stream cut anywhere (by the caller breaking out of the loop,
a lost connection, the gateway) has paid for exactly the chunks received, and never more than
`max_chunks` of them: a gateway that sends more lines, or a price other than the checked one,
gets no voucher for them.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from dapp.client.gateway import raise_for_problem
from dapp.client.metered import (
    ChannelNeeded,
    MeteredClient,
    SignedVouchers,
    _accepted,
)
from dapp.errors import DappError, PaymentRequired, ServiceUnavailable
from dapp.market.vouchers import VOUCHER_HEADER, sign_voucher

STREAM_MEDIA_TYPE = "application/x-ndjson"


class BadStream(DappError):
    """The gateway's stream broke the protocol (a line that is not one, chunks out of order,
    a price other than the checked one): nothing more is paid."""

    code = "bad-stream"


@dataclass(frozen=True)
class StreamChunk:
    seq: int
    kind: str  # "text", "json" or "bytes"
    data: bytes  # text as UTF-8, JSON as its text, bytes as sent
    value: Any = None  # the JSON value (kind "json")

    def as_json(self) -> dict[str, Any]:
        if self.kind == "json":
            return {"seq": self.seq, "json": self.value}
        if self.kind == "text":
            return {"seq": self.seq, "text": self.data.decode()}
        return {"seq": self.seq, "base64": base64.b64encode(self.data).decode()}


@dataclass(frozen=True)
class StreamEnd:
    end: str  # done, max-chunks, unpaid, model-failed (or cut: the stream ended early)
    chunks: int
    paid_chunks: int
    reason: str | None = None


class MeteredStream:
    """One streamed call: iterate it for the chunks (each paid before it is handed out);
    `end` once it is over, `paid_chunks` and `cumulative` at any time. Close it (or use it as a
    context manager) to cut the stream."""

    def __init__(self, client: MeteredClient, asset_id: int, body: bytes, *,
                 channel_id: int | None, content_type: str, resync: bool,
                 max_price: int | None, max_chunks: int | None) -> None:
        self._client = client
        self.asset_id = asset_id
        self._body = body
        self._channel_id = channel_id
        self._content_type = content_type
        self._resync = resync
        self._max_price = max_price
        self.max_chunks = max_chunks
        self.price = 0
        self.cumulative = 0
        self.paid_chunks = 0
        self.stream_id: str | None = None
        self.end: StreamEnd | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> MeteredStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    # -- opening -------------------------------------------------------------------------------
    def _open(self) -> httpx.Response:
        client = self._client
        terms = client.terms()
        self.price = client.checked_price(terms, self._max_price)
        url = f"/v1/models/{self.asset_id}/invoke"
        params = {"stream": "true"}
        if self.max_chunks is not None:
            params["max_chunks"] = str(self.max_chunks)
        headers = {"Content-Type": self._content_type, "Accept": STREAM_MEDIA_TYPE}
        if self.price == 0:
            return self._send(url, params, {**headers, **client.gateway.auth_headers})
        if self._channel_id is None:
            raise ChannelNeeded(f"calls cost {self.price} base units: pay from a channel",
                                hint="give the id of a payment channel to this provider "
                                     "(open one if there is none)")
        self._channel = client.checked_channel(self._channel_id, terms)
        self._key = SignedVouchers.key(client.chain_id, client.market.address,
                                       self._channel_id)
        for _attempt in range(2):
            voucher, amount = self._sign_next()
            response = self._send(url, params, {**headers, VOUCHER_HEADER: voucher})
            if response.status_code == 402:
                response.read()
                problem = _problem(response)
                if problem.get("reason") == "stale":
                    client._take_gateway_count(self._key, self._channel_id, problem,
                                               self._resync)
                    continue
            if response.status_code == 200:
                self._paid(_accepted(response, amount))
            return response
        raise PaymentRequired(f"channel {self._channel_id}: the gateway refused two vouchers "
                              "in a row as stale", hint="another client is spending this "
                                                        "channel")

    def _send(self, url: str, params: dict[str, str], headers: dict[str, str]
              ) -> httpx.Response:
        request = self._client.gateway.http.build_request("POST", url, params=params,
                                                          content=self._body, headers=headers)
        try:
            response = self._client.gateway.http.send(request, stream=True)
        except httpx.TransportError as error:
            raise _unreachable(self._client, error) from error
        self._stack.callback(response.close)
        return response

    def _sign_next(self) -> tuple[str, int]:
        """The header of a voucher one price above what the channel has paid (recorded as
        signed before it leaves this machine)."""
        client = self._client
        amount = client.vouchers.get(self._key).accepted + self.price
        self._channel = client._covering(self._channel, amount)
        client.vouchers.update(self._key, signed=amount)
        voucher = sign_voucher(client.account.key, client.chain_id, client.market.address,
                               self._channel.channel_id, amount)
        return voucher.header_value(), amount

    def _paid(self, cumulative: int) -> None:
        self._client.vouchers.update(self._key, accepted=cumulative)
        self.cumulative = cumulative
        self.paid_chunks += 1

    # -- chunks --------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[StreamChunk]:
        response = self._open()
        if response.status_code != 200:
            response.read()
            raise_for_problem(response)
        try:
            lines = response.iter_lines()
            head = _parse(next(lines, ""))
            self.stream_id = str(head.get("stream", ""))
            if self.price and str(head.get("price")) != str(self.price):
                raise BadStream(f"the gateway streams at {head.get('price')} a chunk, not the "
                                f"checked price of {self.price}: nothing more paid")
            received = 0
            for line in lines:
                if not line.strip():
                    continue
                item = _parse(line)
                if "end" in item:
                    self.end = StreamEnd(str(item["end"]), int(item.get("chunks", received)),
                                         self.paid_chunks, item.get("reason"))
                    return
                received += 1
                chunk = _chunk(item, received)
                if self.max_chunks is not None and received > self.max_chunks:
                    raise BadStream(f"the gateway sent more than the {self.max_chunks} chunks "
                                    "asked for: nothing more paid")
                if self.price and received > 1:
                    self._pay()
                yield chunk
        except httpx.TransportError as error:
            raise _unreachable(self._client, error) from error
        finally:
            self.close()
        self.end = StreamEnd("cut", self.paid_chunks, self.paid_chunks)

    def _pay(self) -> None:
        voucher, amount = self._sign_next()
        response = self._client.gateway.request(
            "POST", f"/v1/streams/{self.stream_id}/pay", headers={VOUCHER_HEADER: voucher})
        raise_for_problem(response)
        try:
            cumulative = min(int(response.json()["accepted_cumulative"]), amount)
        except (ValueError, KeyError, TypeError):
            cumulative = amount
        self._paid(cumulative)


def invoke_stream(client: MeteredClient, asset_id: int, body: bytes, *,
                  channel_id: int | None, content_type: str = "application/json",
                  resync: bool = False, max_price: int | None = None,
                  max_chunks: int | None = None) -> MeteredStream:
    """Model `asset_id` on `body` as a stream, paid from `channel_id` one price per chunk (at
    most `max_price` a chunk, at most `max_chunks` chunks): iterate the result, close it to
    cut."""
    return MeteredStream(client, asset_id, body, channel_id=channel_id,
                         content_type=content_type, resync=resync, max_price=max_price,
                         max_chunks=max_chunks)


def _parse(line: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError:
        item = None
    if not isinstance(item, dict):
        raise BadStream(f"the gateway's stream has a line that is no JSON object: {line[:80]!r}")
    return item


def _chunk(item: dict[str, Any], expected: int) -> StreamChunk:
    if item.get("seq") != expected:
        raise BadStream(f"chunk {item.get('seq')!r} came where chunk {expected} was due")
    if "json" in item:
        return StreamChunk(expected, "json", json.dumps(item["json"]).encode(), item["json"])
    if "text" in item:
        return StreamChunk(expected, "text", str(item["text"]).encode())
    try:
        return StreamChunk(expected, "bytes", base64.b64decode(item["base64"], validate=True))
    except (KeyError, ValueError, TypeError):
        raise BadStream(f"chunk {expected} has no text, json or base64") from None


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _unreachable(client: MeteredClient, error: Exception) -> DappError:
    return ServiceUnavailable(f"gateway {client.gateway.base_url} unreachable: {error}",
                              hint="is the gateway running? `make up` starts one")
