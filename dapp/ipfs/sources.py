"""Reading content from whichever of several IPFS nodes holds it (issue 16).

The gateway names its IPFS sources in `ipfs_read_sources` (one Kubo RPC URL each, optionally
with that node's HTTP gateway URL after a `|`: `http://10.0.0.2:5001|http://10.0.0.2:8080`);
with none configured it reads from its one `ipfs_api_url` / `ipfs_gateway_url`, as before.

`FailoverIpfsReader` answers the same calls as `AsyncIpfsReader` (`size`, `cat`). A read starts
at the first source not recently failed; when that node is unreachable, refuses, or cuts the
stream, the read goes on at the next source from the byte it stopped at (a `Range` request or
`cat?offset=`), so the caller sees one uninterrupted stream of exactly the bytes it asked for.
The gateway decrypts above this layer: the ciphertext it receives is byte-identical whichever
node sent which part, and the DDX1 segments are checked as before (a node serving wrong bytes
fails authentication, it is not trusted more for being a fallback).

A source that failed is tried last for `cooldown_seconds`; a CID that no source has is
`NotFound`; a malformed CID is refused at once."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from dapp.errors import IpfsUnavailable, MalformedCid, NotFound
from dapp.ipfs.stream import AsyncIpfsReader

log = logging.getLogger("dapp.ipfs.sources")

COOLDOWN_SECONDS = 10.0


@dataclass(frozen=True)
class IpfsSource:
    api_url: str
    gateway_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> IpfsSource:
        """`RPC_URL` or `RPC_URL|GATEWAY_URL`; ValueError (one line) when neither is http(s)."""
        api, _, gateway = (part.strip() for part in text.partition("|"))
        for url in (api, gateway) if gateway else (api,):
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"IPFS source {text!r}: {url!r} is not an http(s) URL "
                                 "(expected RPC_URL or RPC_URL|GATEWAY_URL)")
        return cls(api.rstrip("/"), gateway.rstrip("/") or None)

    def __str__(self) -> str:
        return self.api_url + (f"|{self.gateway_url}" if self.gateway_url else "")


class FailoverIpfsReader:
    """`AsyncIpfsReader`'s interface over several nodes holding the same content."""

    def __init__(self, sources: Sequence[IpfsSource], timeout_seconds: float = 30.0,
                 cooldown_seconds: float = COOLDOWN_SECONDS) -> None:
        if not sources:
            raise ValueError("FailoverIpfsReader needs at least one IPFS source")
        self.sources = list(sources)
        self.readers = [AsyncIpfsReader(s.api_url, timeout_seconds=timeout_seconds,
                                        gateway_url=s.gateway_url) for s in self.sources]
        self.cooldown_seconds = cooldown_seconds
        self._failed_at: dict[int, float] = {}
        self.switches = 0  # mid-read moves to another source (for tests and metrics)

    @property
    def api_url(self) -> str:
        return self.readers[0].api_url

    async def aclose(self) -> None:
        for reader in self.readers:
            await reader.aclose()

    def _order(self) -> list[int]:
        """Source indexes, those that failed in the last `cooldown_seconds` last."""
        now = time.monotonic()
        fresh = [i for i in range(len(self.readers))
                 if now - self._failed_at.get(i, -1e9) >= self.cooldown_seconds]
        return fresh + [i for i in range(len(self.readers)) if i not in fresh]

    def _failed(self, index: int, error: Exception) -> None:
        self._failed_at[index] = time.monotonic()
        log.warning("IPFS source %s failed (%s); trying the next one", self.sources[index],
                    error)

    async def size(self, cid: str) -> int:
        last: Exception | None = None
        for index in self._order():
            try:
                size = await self.readers[index].size(cid)
            except MalformedCid:
                raise
            except IpfsUnavailable as error:
                self._failed(index, error)
                last = error
            except NotFound as error:
                last = last or error
            else:
                self._failed_at.pop(index, None)
                return size
        assert last is not None
        raise last

    async def cat(self, cid: str, offset: int = 0, length: int | None = None
                  ) -> AsyncIterator[bytes]:
        """The bytes offset..offset+length of `cid`, from one source and, after a failure,
        from the next ones, resuming at the first byte not yet yielded."""
        sent = 0
        last: Exception | None = None
        for attempt, index in enumerate(self._order()):
            remaining = None if length is None else length - sent
            if remaining == 0:
                return
            if attempt and sent:
                self.switches += 1
                log.warning("resuming %s at byte %d from IPFS source %s", cid, offset + sent,
                            self.sources[index])
            try:
                async for chunk in self.readers[index].cat(cid, offset + sent, remaining):
                    sent += len(chunk)
                    yield chunk
            except MalformedCid:
                raise
            except IpfsUnavailable as error:
                self._failed(index, error)
                last = error
            except NotFound as error:
                last = last or error
            else:
                return
        assert last is not None
        raise last
