"""`datadao invoke --stream`: a streamed call's chunks on stdout as they come."""

from __future__ import annotations

import json
import sys

from dapp.cli.output import errors
from dapp.client.metered_stream import MeteredStream, StreamChunk


def print_stream(stream: MeteredStream, channel: int | None, as_json: bool) -> None:
    """Each chunk as it arrives (already paid): text as is, JSON one value a line, bytes raw;
    with `as_json`, one JSON line per chunk and a last line with what was paid."""
    out = sys.stdout.buffer
    with stream:
        for chunk in stream:
            out.write(_rendered(chunk, as_json))
            out.flush()
    end = stream.end
    if as_json:
        summary = {"end": end.end if end else "cut", "chunks": end.chunks if end else 0,
                   "paid_chunks": stream.paid_chunks, "price": str(stream.price),
                   "paid_total": str(stream.cumulative), "channel_id": channel}
        if end is not None and end.reason:
            summary["reason"] = end.reason
        out.write(json.dumps(summary).encode() + b"\n")
        out.flush()
        return
    if end is not None and end.end not in ("done",):
        errors.print(f"the stream ended: {end.end}" + (f" ({end.reason})" if end.reason
                                                       else ""), highlight=False)
    if stream.price:
        errors.print(f"paid {stream.paid_chunks} chunks of {stream.price} base units; channel "
                     f"{channel} has paid {stream.cumulative} in all", highlight=False)


def _rendered(chunk: StreamChunk, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(chunk.as_json()).encode() + b"\n"
    if chunk.kind == "json":
        return chunk.data + b"\n"
    return chunk.data
