"""A model's answer as a sequence of chunks, for streamed calls (`streams`).

A warm model whose `handle(body)` returns a generator gives one chunk per item it yields,
computed only when the gateway asks for it (`warm_pool.PooledStream`); any other answer (a
warm model returning a value, a cold model's stdout) is a stream of one chunk. A chunk is
text, JSON or bytes, as the model yielded it (a str, a bytes object, anything else JSON).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from dapp.compute.warm import ANSWERED, CHUNK, WarmCallFailed
from dapp.gateway.metered.warm_pool import PooledStream

KINDS = {b"t"[0]: "text", b"b"[0]: "bytes", b"j"[0]: "json"}


@dataclass(frozen=True)
class Chunk:
    kind: str  # "text", "json" or "bytes"
    data: bytes

    def as_json(self, seq: int) -> dict[str, object]:
        """The chunk's JSON line: {"seq", "text" | "json" | "base64"}."""
        if self.kind == "json":
            return {"seq": seq, "json": json.loads(self.data)}
        if self.kind == "text":
            return {"seq": seq, "text": self.data.decode("utf-8", "replace")}
        return {"seq": seq, "base64": base64.b64encode(self.data).decode()}


class ChunkSource:
    """The chunks of one call: `next()` the next one or None at the end (blocking: call it
    from a model thread); `close()` always, once the stream is done or cut."""

    def __init__(self, whole: bytes | None = None, pooled: PooledStream | None = None) -> None:
        self._pending: Chunk | None = None
        self._pooled = pooled
        if pooled is not None:
            kind, payload = pooled.first
            if kind == CHUNK:
                self._pending = _chunk(payload)
            elif kind == ANSWERED:
                self._pending = whole_chunk(payload)
        elif whole is not None:
            self._pending = whole_chunk(whole)

    def next(self) -> Chunk | None:
        """WarmCallFailed when the model failed or ran over the per-chunk time limit."""
        if self._pending is not None:
            chunk, self._pending = self._pending, None
            return chunk
        if self._pooled is None:
            return None
        try:
            kind, payload = self._pooled.next()
        except RuntimeError:  # ended already
            return None
        return _chunk(payload) if kind == CHUNK else None

    def close(self) -> None:
        if self._pooled is not None:
            self._pooled.finish()


def whole_chunk(answer: bytes) -> Chunk:
    """A whole answer as one chunk: JSON when it parses as JSON, else bytes."""
    try:
        json.loads(answer)
    except ValueError:
        return Chunk("bytes", answer)
    return Chunk("json", answer)


def _chunk(payload: bytes) -> Chunk:
    """A worker's chunk frame (untrusted): a JSON chunk that does not parse fails the call."""
    kind = KINDS.get(payload[0]) if payload else None
    if kind is None:
        raise WarmCallFailed("the model failed: malformed chunk",
                             details={"reason": "malformed chunk"})
    chunk = Chunk(kind, payload[1:])
    if kind == "json":
        try:
            json.loads(chunk.data)
        except ValueError:
            raise WarmCallFailed("the model failed: malformed chunk",
                                 details={"reason": "malformed chunk"}) from None
    return chunk
