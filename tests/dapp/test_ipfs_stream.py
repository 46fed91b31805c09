"""dapp.ipfs.stream against a real Kubo: sizes, byte ranges, errors."""

from __future__ import annotations

import asyncio
import os

import pytest

from dapp.errors import IpfsUnavailable, MalformedCid, NotFound
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.stream import AsyncIpfsReader


async def collect(reader: AsyncIpfsReader, cid: str, offset: int = 0,
                  length: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in reader.cat(cid, offset, length)])


def test_size_and_ranges_match_the_added_bytes(kubo) -> None:
    data = os.urandom(3_000_000)
    with IpfsClient(kubo.api_url) as client:
        cid = client.add_bytes(data).cid

    async def check() -> None:
        reader = AsyncIpfsReader(kubo.api_url)
        try:
            assert await reader.size(cid) == len(data)
            assert await collect(reader, cid) == data
            for offset, length in [(0, 1), (262_143, 2), (1_000_000, 1_500_000),
                                   (len(data) - 5, 5)]:
                assert await collect(reader, cid, offset, length) == data[offset:offset + length]
        finally:
            await reader.aclose()

    asyncio.run(check())


def test_errors_are_mapped(kubo) -> None:
    async def check() -> None:
        reader = AsyncIpfsReader(kubo.api_url)
        try:
            with pytest.raises(MalformedCid):
                await collect(reader, "bafy-not-a-cid")
            with pytest.raises(NotFound):
                await reader.size("nonsense")
        finally:
            await reader.aclose()
        dead = AsyncIpfsReader("http://127.0.0.1:9", timeout_seconds=2)
        try:
            with pytest.raises(IpfsUnavailable):
                await collect(dead, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4")
        finally:
            await dead.aclose()

    asyncio.run(check())
