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


def test_gateway_port_reads_equal_rpc_reads_for_every_range(kubo) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(compare_readers(kubo))


async def compare_readers(kubo) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(700_000)
    with IpfsClient(kubo.api_url) as client:
        cid = client.add_bytes(data).cid
    via_rpc = AsyncIpfsReader(kubo.api_url)
    via_gateway = AsyncIpfsReader(kubo.api_url, gateway_url=kubo.gateway_url)
    try:
        for offset, length in ((0, None), (0, 1), (262_143, 2), (699_999, 1), (12_345, 300_000)):
            rpc = b"".join([c async for c in via_rpc.cat(cid, offset, length)])
            gateway = b"".join([c async for c in via_gateway.cat(cid, offset, length)])
            end = None if length is None else offset + length
            assert rpc == gateway == data[offset:end]
    finally:
        await via_rpc.aclose()
        await via_gateway.aclose()
