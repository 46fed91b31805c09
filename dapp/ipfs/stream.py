"""Async streaming reads from Kubo for the gateway: `/api/v0/cat` with offset and length.

ipfshttpclient is blocking; the gateway streams many downloads at once, so it reads through
an `httpx.AsyncClient` instead. Same error mapping as the blocking client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from dapp.errors import IpfsUnavailable, MalformedCid, NotFound

READ_CHUNK = 256 * 1024


def _refusal(cid: str, status: int, body: str) -> Exception:
    if "invalid" in body.lower() and ("cid" in body.lower() or "path" in body.lower()):
        return MalformedCid(f"{cid!r} is not a valid CID")
    if "not found" in body or "no link named" in body or "does not exist" in body:
        return NotFound(f"{cid} is not on this IPFS node")
    return IpfsUnavailable(f"IPFS node refused to read {cid} (HTTP {status}): {body[:200]}")


class AsyncIpfsReader:
    def __init__(self, api_url: str, timeout_seconds: float = 30.0) -> None:
        self.api_url = api_url
        self._client = httpx.AsyncClient(
            base_url=api_url,
            timeout=httpx.Timeout(timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def size(self, cid: str) -> int:
        """The file's size in bytes (UnixFS), without reading it."""
        try:
            response = await self._client.post("/api/v0/files/stat",
                                               params={"arg": f"/ipfs/{cid}"})
        except httpx.TransportError as error:
            raise IpfsUnavailable(f"IPFS node at {self.api_url} is unreachable") from error
        if response.status_code != 200:
            raise _refusal(cid, response.status_code, response.text)
        return int(response.json()["Size"])

    async def cat(self, cid: str, offset: int = 0, length: int | None = None
                  ) -> AsyncIterator[bytes]:
        """Yield the bytes offset..offset+length of a file as they arrive."""
        params: dict[str, str | int] = {"arg": cid, "offset": offset}
        if length is not None:
            params["length"] = length
        try:
            async with self._client.stream("POST", "/api/v0/cat", params=params) as response:
                if response.status_code != 200:
                    body = (await response.aread()).decode(errors="replace")
                    raise _refusal(cid, response.status_code, body)
                async for chunk in response.aiter_bytes(READ_CHUNK):
                    yield chunk
                if response.headers.get("x-stream-error"):
                    raise IpfsUnavailable(f"IPFS stream of {cid} broke: "
                                          f"{response.headers['x-stream-error']}")
        except httpx.TransportError as error:
            raise IpfsUnavailable(f"IPFS node at {self.api_url} is unreachable "
                                  f"while reading {cid}") from error
