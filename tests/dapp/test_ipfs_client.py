"""dapp.ipfs against a real Kubo: CIDs equal Kubo's own CLI, cat, pin, clear errors."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess

import pytest

from dapp.devstack.kubo import KUBO_BINARY, kubo_env
from dapp.errors import IpfsUnavailable, MalformedCid
from dapp.ipfs.client import UPLOAD_PIECE_SIZE, IpfsClient, IterReader, ProgressReader


def kubo_cli_cid(kubo, data: bytes) -> str:  # type: ignore[no-untyped-def]
    """The CID that Kubo's own `ipfs add --cid-version=1 --raw-leaves` prints for `data`."""
    result = subprocess.run(
        [str(KUBO_BINARY), "add", "-Q", "--cid-version=1", "--raw-leaves", "--only-hash"],
        input=data,
        capture_output=True,
        env=kubo_env(kubo.repo),
        check=True,
    )
    return result.stdout.decode().strip()


@pytest.mark.parametrize("size", [0, 12, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 17])
def test_added_cid_equals_kubo_cli_cid_and_cat_returns_the_bytes(kubo, size: int) -> None:
    data = random.Random(size).randbytes(size)
    with IpfsClient(kubo.api_url) as client:
        added = client.add_bytes(data)
        assert added.cid == kubo_cli_cid(kubo, data)
        assert added.cid.startswith("b")  # CIDv1, base32
        assert client.cat_bytes(added.cid) == data
        assert client.is_pinned(added.cid)


def test_cat_streams_a_byte_range(kubo) -> None:
    data = os.urandom(1_000_000)
    with IpfsClient(kubo.api_url) as client:
        cid = client.add_bytes(data).cid
        assert b"".join(client.cat(cid, offset=300_000, length=400_000)) == data[300_000:700_000]


def test_add_chunks_streams_and_reports_progress(kubo) -> None:
    chunks = [os.urandom(100_000) for _ in range(20)]
    seen: list[int] = []
    with IpfsClient(kubo.api_url) as client:
        added = client.add_chunks(iter(chunks), on_progress=seen.append)
        assert added.cid == kubo_cli_cid(kubo, b"".join(chunks))
    assert seen[-1] == 2_000_000
    assert seen == sorted(seen)


def test_add_chunks_of_any_size_gives_the_cid_of_their_bytes(kubo) -> None:  # type: ignore[no-untyped-def]
    sizes = [0, 1, 65_552, UPLOAD_PIECE_SIZE, UPLOAD_PIECE_SIZE + 1, 2 * UPLOAD_PIECE_SIZE + 17, 5]
    chunks = [os.urandom(size) for size in sizes]
    with IpfsClient(kubo.api_url) as client:
        added = client.add_chunks(iter(chunks), pin=False)
    assert added.cid == kubo_cli_cid(kubo, b"".join(chunks))


def test_readers_hand_chunks_on_without_copying_them() -> None:
    chunks = [os.urandom(70_000), b"", os.urandom(10), os.urandom(300_000)]
    seen: list[int] = []
    reader = ProgressReader(IterReader(iter(chunks)), seen.append)
    handed = [reader.read(UPLOAD_PIECE_SIZE) for _ in range(4)]
    assert handed[:3] == [chunks[0], chunks[2], chunks[3]]
    assert all(a is b for a, b in zip(handed[:3], [chunks[0], chunks[2], chunks[3]],
                                      strict=True))
    assert handed[3] == b"" and seen == [70_000, 70_010, 370_010, 370_010]
    small = IterReader(iter(chunks))
    pieces = list(iter(lambda: small.read(4096), b""))
    assert [len(piece) for piece in pieces][:18] == [4096] * 17 + [70_000 - 17 * 4096]
    assert b"".join(pieces) == b"".join(chunks)


def test_unpinned_content_is_reported_unpinned(kubo) -> None:
    with IpfsClient(kubo.api_url) as client:
        cid = client.add_bytes(b"not pinned " + os.urandom(8), pin=False).cid
        assert not client.is_pinned(cid)
        client.pin(cid)
        assert client.is_pinned(cid)


def test_malformed_cid_is_a_clear_error(kubo) -> None:
    with IpfsClient(kubo.api_url) as client, pytest.raises(MalformedCid):
        client.cat_bytes("not-a-cid")


def test_unreachable_node_is_ipfs_unavailable() -> None:
    with IpfsClient("http://127.0.0.1:9", timeout_seconds=2) as client:
        with pytest.raises(IpfsUnavailable, match="unreachable"):
            client.identity()
        with pytest.raises(IpfsUnavailable):
            client.add_bytes(b"x")


def test_import_settings_are_pinned_in_the_node_config(kubo) -> None:
    result = subprocess.run(
        [str(KUBO_BINARY), "config", "Import.UnixFSChunker"],
        capture_output=True, env=kubo_env(kubo.repo), check=True,
    )
    assert result.stdout.decode().strip() == "size-262144"
    data = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB: several chunks
    # a plain CLI add (no flags) must give the same CID as our client: the node pins the params
    plain = subprocess.run(
        [str(KUBO_BINARY), "add", "-Q", "--only-hash"], input=data, capture_output=True,
        env=kubo_env(kubo.repo), check=True,
    ).stdout.decode().strip()
    with IpfsClient(kubo.api_url) as client:
        assert client.add_bytes(data).cid == plain


def test_unpin_drops_the_pin_and_tolerates_a_second_call(kubo) -> None:  # type: ignore[no-untyped-def]
    client = IpfsClient(kubo.api_url)
    added = client.add_bytes(b"unpin me\n")
    assert client.is_pinned(added.cid)
    client.unpin(added.cid)
    assert not client.is_pinned(added.cid)
    client.unpin(added.cid)


def test_add_chunks_surfaces_an_error_raised_while_producing_chunks(kubo) -> None:  # type: ignore[no-untyped-def]
    def failing():  # type: ignore[no-untyped-def]
        yield b"x" * 1000
        raise ValueError("encryptor broke")

    with pytest.raises(ValueError, match="encryptor broke"):
        IpfsClient(kubo.api_url).add_chunks(failing())


@pytest.mark.parametrize("size", [0, 1000, 3 * 262144 + 17])
def test_stat_reports_a_files_size_from_its_root(kubo, size: int) -> None:  # type: ignore[no-untyped-def]
    """The pinner and the job fetcher size content before reading it (issue 14)."""
    with IpfsClient(kubo.api_url) as client:
        cid = client.add_bytes(os.urandom(size), pin=False).cid
        stat = client.stat(cid)
    assert (stat.size, stat.kind) == (size, "file")
    assert stat.cumulative_size >= size
