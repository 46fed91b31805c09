"""The gateway's content reader over several IPFS nodes (issue 16): a node SIGKILLed in the
middle of a stream is followed by the next one from the byte reached, and the DDX1 ciphertext
read across the switch decrypts to exactly the plaintext asked for.

Two plain Kubo nodes hold the same content: the session's `kubo` and a `victim` started for
each test and killed mid-stream (reached through its HTTP gateway, or through the RPC's
`cat`). The whole-cluster version of this (three nodes, two gateways, fifty downloads, a
client that moves to the other gateway) is tests/dapp/test_scale_failover.py (`make scale`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from dapp.config import Settings
from dapp.crypto.segments import (
    HEADER_SIZE,
    RangeDecryptor,
    encrypt_stream,
    generate_content_key,
)
from dapp.errors import IpfsUnavailable
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.sources import FailoverIpfsReader, IpfsSource
from dapp.ports import free_port
from tests.dapp.conftest import Kubo, start_test_kubo

SIZE = 24 << 20  # past the loopback socket buffers: the kill lands mid-stream
KEY = generate_content_key()
PLAINTEXT = random.Random(16).randbytes(SIZE)
CIPHERTEXT = b"".join(encrypt_stream(KEY, iter([PLAINTEXT]), SIZE))


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Kubo]:
    started = start_test_kubo(tmp_path)
    yield started
    started.process.stop()


def add_to(*nodes: Kubo) -> str:
    cids = set()
    for node in nodes:
        with IpfsClient(node.api_url, timeout_seconds=60) as ipfs:
            cids.add(ipfs.add_bytes(CIPHERTEXT).cid)
    (cid,) = cids
    return cid


def source(node: Kubo, via: str) -> IpfsSource:
    return IpfsSource(node.api_url, node.gateway_url if via == "gateway" else None)


async def decrypt_killing(reader: FailoverIpfsReader, cid: str, start: int, end: int,
                          victim: Kubo) -> bytes:
    """Plaintext start..end through `reader`, SIGKILLing `victim` after the first chunk."""
    header = b"".join([chunk async for chunk in reader.cat(cid, 0, HEADER_SIZE)])
    decryptor = RangeDecryptor(KEY, header, start, end)
    c_start, c_end, _ = decryptor.layout.ciphertext_range_for(start, end)
    out = bytearray()
    async for plain in decryptor.aiter(reader.cat(cid, c_start, c_end - c_start + 1)):
        if not out:
            victim.process.kill()
        out += plain
    return bytes(out)


@pytest.mark.parametrize("via", ["gateway", "rpc"])
def test_a_node_killed_mid_stream_is_followed_by_the_next_from_the_byte_reached(
        kubo: Kubo, victim: Kubo, via: str) -> None:
    cid = add_to(victim, kubo)
    start, end = 3 * 65_536 + 17, SIZE - 1001  # neither on a segment boundary

    async def run() -> tuple[bytes, FailoverIpfsReader]:
        reader = FailoverIpfsReader([source(victim, via), source(kubo, "gateway")])
        try:
            return await decrypt_killing(reader, cid, start, end, victim), reader
        finally:
            await reader.aclose()

    plaintext, reader = asyncio.run(run())
    assert plaintext == PLAINTEXT[start:end + 1]
    assert reader.switches == 1  # it did switch mid-stream, once
    assert reader._order()[-1] == 0  # the dead node is asked last from now on


def test_a_dead_first_source_is_skipped_and_no_source_left_is_a_clear_error(
        kubo: Kubo) -> None:
    cid = add_to(kubo)
    dead = IpfsSource(f"http://127.0.0.1:{free_port()}")

    async def run() -> tuple[int, bytes]:
        reader = FailoverIpfsReader([dead, source(kubo, "gateway")])
        try:
            size = await reader.size(cid)
            return size, b"".join([c async for c in reader.cat(cid, 5, 1000)])
        finally:
            await reader.aclose()

    assert asyncio.run(run()) == (len(CIPHERTEXT), CIPHERTEXT[5:1005])

    async def nothing_left() -> None:
        reader = FailoverIpfsReader([dead])
        try:
            await reader.size(cid)
        finally:
            await reader.aclose()

    with pytest.raises(IpfsUnavailable, match="unreachable"):
        asyncio.run(nothing_left())


def test_read_sources_default_to_the_one_node_and_refuse_what_is_not_a_url() -> None:
    settings = Settings(ipfs_api_url="http://10.0.0.2:5001",
                        ipfs_gateway_url="http://10.0.0.2:8080")
    assert settings.resolved_ipfs_read_sources == ["http://10.0.0.2:5001|http://10.0.0.2:8080"]
    assert IpfsSource.parse("http://a:5001|http://a:8080/") == IpfsSource("http://a:5001",
                                                                          "http://a:8080")
    with pytest.raises(ValidationError, match=r"is not RPC_URL or RPC_URL\|GATEWAY_URL"):
        Settings(ipfs_read_sources=["10.0.0.2:5001"])
