"""Kubo's RPC API through ipfshttpclient: add, pin, cat as a stream, pin status, node identity.

`ipfshttpclient.connect()` rejects every Kubo newer than 0.8, so the `Client` is constructed
directly. Every add uses the same import parameters that the node's config pins (CIDv1,
raw leaves, 256 KiB chunks), so a CID never depends on which node or call produced it.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import ipfshttpclient
import ipfshttpclient.exceptions as ipfs_errors

from dapp.errors import IpfsUnavailable, MalformedCid, NotFound

CID_VERSION = 1
RAW_LEAVES = True
CHUNKER = "size-262144"
# The largest piece of an add's multipart body handed to the socket at once. ipfshttpclient's
# default (8 KiB) costs a chunked-encoding frame, a copy and a send() per 8 KiB; chunks up to
# this size (a file read, an encrypted segment) now go through as they are.
UPLOAD_PIECE_SIZE = 1024 * 1024


class Readable(Protocol):
    """What an add reads from: a binary file, `io.BytesIO`, an `IterReader`..."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class NodeIdentity:
    peer_id: str
    version: str


@dataclass(frozen=True)
class ContentStat:
    """What the root block of a CID says about it, read without fetching the rest."""

    size: int  # a file's bytes (the UnixFS `filesize`, or the raw block's length)
    cumulative_size: int  # the DAG's bytes as the root's links declare them
    kind: str  # "file" or "directory"


@dataclass(frozen=True)
class AddedContent:
    cid: str
    size: int


def http_url_to_multiaddr(url: str) -> str:
    """`http://127.0.0.1:5001` → `/ip4/127.0.0.1/tcp/5001/http` (what ipfshttpclient takes)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not parsed.port:
        raise ValueError(f"IPFS API URL must look like http://host:port, got {url!r}")
    host = parsed.hostname
    proto = "ip6" if ":" in host else ("ip4" if host.replace(".", "").isdigit() else "dns")
    return f"/{proto}/{host}/tcp/{parsed.port}/{parsed.scheme}"


class ProgressReader(io.RawIOBase):
    """A read-only stream over `source` that reports the bytes read so far; `read` hands on
    what `source.read` returns, without a copy."""

    def __init__(self, source: Readable, on_progress: Callable[[int], None]) -> None:
        self._source = source
        self._on_progress = on_progress
        self._total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        self._total += len(chunk)
        self._on_progress(self._total)
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


class IterReader(io.RawIOBase):
    """A read-only stream over an iterator of byte chunks (e.g. an encryptor's output).

    `read(size)` returns at most one chunk (a short read, as raw streams may), the chunk itself
    when it fits, so the chunks reach the socket without being copied or re-cut."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return b""
        if size < 0 or size >= len(self._pending):
            chunk, self._pending = self._pending, b""
        else:
            chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


class Prefetched(Iterator[bytes]):
    """The chunks of `source`, produced by a worker thread up to `depth` chunks ahead.

    Packing, hashing and encrypting (hashlib and AES-GCM release the GIL) then overlap with
    the HTTP upload instead of alternating with it. Memory stays bounded by `depth` chunks; an
    exception in the producer is raised in the consumer."""

    _DONE = object()

    def __init__(self, source: Iterator[bytes], depth: int = 16) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        self._worker = threading.Thread(target=self._produce, args=(source,), daemon=True)
        self._worker.start()

    def _produce(self, source: Iterator[bytes]) -> None:
        try:
            for chunk in source:
                while not self._stopped.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stopped.is_set():
                    return
            self._queue.put(self._DONE)
        except BaseException as error:  # handed over to the consumer
            self._queue.put(error)

    def __next__(self) -> bytes:
        item = self._queue.get()
        if item is self._DONE:
            self._queue.put(item)
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the producer (the consumer gave up, e.g. the upload failed)."""
        self._stopped.set()


class IpfsClient:
    """A thin, typed wrapper that turns Kubo's failures into `dapp.errors`."""

    def __init__(self, api_url: str, timeout_seconds: float = 30.0) -> None:
        self.api_url = api_url
        self._client = ipfshttpclient.Client(
            addr=http_url_to_multiaddr(api_url), timeout=timeout_seconds,
            chunk_size=UPLOAD_PIECE_SIZE,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> IpfsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _translated_errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except (ipfs_errors.ConnectionError, ipfs_errors.TimeoutError) as error:
            raise IpfsUnavailable(
                f"IPFS node at {self.api_url} is unreachable while trying to {what}",
                hint="is Kubo running? `make up` starts one",
            ) from error
        except ipfs_errors.ErrorResponse as error:
            message = str(error)
            if "invalid" in message and ("cid" in message.lower() or "path" in message):
                raise MalformedCid(f"cannot {what}: {message}") from error
            if "not found" in message or "no link named" in message:
                raise NotFound(f"cannot {what}: {message}") from error
            raise IpfsUnavailable(f"IPFS node refused to {what}: {message}") from error

    def identity(self) -> NodeIdentity:
        with self._translated_errors("read the node identity"):
            node = self._client.id()
            version = self._client.version()
        return NodeIdentity(peer_id=node["ID"], version=version["Version"])

    def add_stream(
        self,
        stream: Readable,
        *,
        pin: bool = True,
        on_progress: Callable[[int], None] | None = None,
    ) -> AddedContent:
        """Add one file's bytes, read from `stream` in chunks (constant memory)."""
        source: Readable = stream
        if on_progress is not None:
            source = ProgressReader(stream, on_progress)
        with self._translated_errors("add content"):
            result = self._client.add(
                source,
                pin=pin,
                cid_version=CID_VERSION,
                raw_leaves=RAW_LEAVES,
                chunker=CHUNKER,
            )
        return AddedContent(cid=result["Hash"], size=int(result["Size"]))

    def add_bytes(self, data: bytes, *, pin: bool = True) -> AddedContent:
        return self.add_stream(io.BytesIO(data), pin=pin)

    def add_chunks(
        self,
        chunks: Iterator[bytes],
        *,
        pin: bool = True,
        on_progress: Callable[[int], None] | None = None,
    ) -> AddedContent:
        """Add the bytes of `chunks` as one file; the chunks are produced in a worker thread
        while the previous ones are sent (see `Prefetched`), each sent as it is."""
        prefetched = Prefetched(chunks)
        try:
            return self.add_stream(IterReader(prefetched), pin=pin, on_progress=on_progress)
        finally:
            prefetched.close()

    def cat(self, cid: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Stream a file's bytes (or the byte range offset..offset+length) in chunks."""
        with self._translated_errors(f"read {cid}"):
            chunks = self._client.cat(cid, offset=offset, length=length, stream=True)
        return self._translated_iter(chunks, f"read {cid}")

    def _translated_iter(self, chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
        with self._translated_errors(what):
            yield from chunks

    def cat_bytes(self, cid: str) -> bytes:
        return b"".join(self.cat(cid))

    def stat(self, cid: str) -> ContentStat:
        """The size the CID's root block declares (`files stat /ipfs/<cid>`): only the root
        is fetched, so this comes before any content byte. What the root declares is what
        the publisher wrote; a reader still bounds what it reads by it."""
        with self._translated_errors(f"stat {cid}"):
            result = self._client.files.stat(f"/ipfs/{cid}")
        return ContentStat(size=int(result["Size"]),
                           cumulative_size=int(result["CumulativeSize"]),
                           kind=str(result["Type"]))

    def pin(self, cid: str) -> None:
        with self._translated_errors(f"pin {cid}"):
            self._client.pin.add(cid)

    def unpin(self, cid: str) -> None:
        """Drop a recursive pin; a CID that is not pinned is not an error."""
        try:
            with self._translated_errors(f"unpin {cid}"):
                self._client.pin.rm(cid)
        except IpfsUnavailable as error:
            if "not pinned" not in str(error):
                raise

    def is_pinned(self, cid: str) -> bool:
        with self._translated_errors(f"check the pin of {cid}"):
            try:
                result = self._client.pin.ls(cid, type="recursive")
            except ipfs_errors.ErrorResponse as error:
                if "is not pinned" in str(error):
                    return False
                raise
        return cid in result["Keys"]
