"""Pinning on a real Kubo that is stopped and started again: retries back off exponentially,
indexing never waits for IPFS, and every queued CID ends pinned once the node is back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from dapp.chain.events import DecodedEvent
from dapp.indexer.pins import Pinner, PinPolicy
from dapp.indexer.writer import StateWriter
from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata, ContentInfo, FileEntry
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.models import AssetVersion, CidMetadata, MetadataTag, Pin
from tests.dapp.conftest import Chain, Kubo, deploy_toolchain, dev_web3, emit_transfers
from tests.dapp.helpers.toolchain_index import make_indexer, token_handlers

POLICY = PinPolicy(base_delay=10.0, max_delay=40.0, metadata_max_bytes=4096)


class FakeClock:
    """The pinner's notion of now, moved by the test (backoff without sleeping)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def running_kubo(kubo: Kubo) -> Iterator[Kubo]:
    """The session's Kubo, guaranteed running again after a test that stops it."""
    yield kubo
    if not kubo.process.is_running():
        kubo.restart()


def pins(engine: Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as connection:
        return {p.cid: (p.status, p.attempts) for p in connection.execute(select(Pin))}


def queue(engine: Engine, *entries: tuple[str, str]) -> None:
    with engine.begin() as connection:
        writer = StateWriter(connection, chain_id=1337)
        for cid, kind in entries:
            writer.request_pin(cid, kind, asset_id=1)
            writer.request_pin(cid, kind, asset_id=1)  # queued once


def unpinned_content(ipfs: IpfsClient) -> tuple[str, str]:
    content = ipfs.add_bytes(b"encrypted bytes of a dataset", pin=False).cid
    document = {"title": "Rainfall", "description": "daily", "tags": ["Weather", "rain"],
                "size": 28}
    metadata = ipfs.add_bytes(json.dumps(document).encode(), pin=False).cid
    return content, metadata


def test_pins_back_off_while_kubo_is_down_and_complete_when_it_returns(
    running_kubo: Kubo, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pins.db'}")
    migrate(engine)
    clock = FakeClock()
    with IpfsClient(running_kubo.api_url, timeout_seconds=10) as ipfs:
        content, metadata = unpinned_content(ipfs)
        queue(engine, (content, "content"), (metadata, "metadata"))
        pinner = Pinner(engine, ipfs, POLICY, clock=clock)
        running_kubo.process.stop()

        first = pinner.run_once()
        assert (first.pinned, first.failed, first.node_down) == (0, 1, True)
        pinner.run_once()  # the other pin was still due: it fails too
        assert pins(engine) == {content: ("retrying", 1), metadata: ("retrying", 1)}
        assert pinner.run_once().failed == 0  # nothing due before the backoff ends
        clock.now += POLICY.base_delay
        pinner.run_once()
        pinner.run_once()
        assert pins(engine) == {content: ("retrying", 2), metadata: ("retrying", 2)}
        clock.now += POLICY.base_delay  # the second delay is twice the first
        assert pinner.run_once().failed == 0

        running_kubo.restart()
        clock.now += POLICY.max_delay
        assert pinner.run_once().pinned == 2
        assert pins(engine) == {content: ("pinned", 2), metadata: ("pinned", 2)}
        assert ipfs.is_pinned(content) and ipfs.is_pinned(metadata)
    with engine.connect() as connection:
        stored = connection.execute(select(CidMetadata).where(CidMetadata.cid == metadata)).one()
        tags = connection.execute(select(MetadataTag.tag).where(MetadataTag.cid == metadata))
        assert (stored.title, stored.size, stored.error) == ("Rainfall", 28, None)
        assert sorted(tags.scalars()) == ["rain", "weather"]


def test_a_document_that_is_not_metadata_is_pinned_and_marked(running_kubo: Kubo,
                                                              tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pins.db'}")
    migrate(engine)
    with IpfsClient(running_kubo.api_url, timeout_seconds=10) as ipfs:
        not_json = ipfs.add_bytes(b"\x00\x01 not json", pin=False).cid
        queue(engine, (not_json, "metadata"))
        assert Pinner(engine, ipfs, POLICY).run_once().pinned == 1
    with engine.connect() as connection:
        stored = connection.execute(select(CidMetadata).where(CidMetadata.cid == not_json)).one()
    assert stored.error and stored.document is None


def test_indexing_goes_on_while_kubo_is_down(chain: Chain, running_kubo: Kubo,
                                             tmp_path: Path) -> None:
    """CIDs named by events are queued in the indexing transaction; the index reaches the
    head with Kubo stopped, and the pins complete once it is back."""
    with IpfsClient(running_kubo.api_url, timeout_seconds=10) as ipfs:
        content, metadata = unpinned_content(ipfs)
        by_amount = {1: (content, "content"), 2: (metadata, "metadata")}

        def on_publish(writer: StateWriter, event: DecodedEvent) -> None:
            if event.args["value"] in by_amount:
                cid, kind = by_amount[event.args["value"]]
                writer.request_pin(cid, kind, asset_id=event.args["value"])

        web3 = dev_web3(chain.rpc_url)
        token = deploy_toolchain(web3)
        running_kubo.process.stop()
        head = emit_transfers(token, [1, 2, 3])
        indexer = make_indexer(chain, f"sqlite:///{tmp_path / 'ix.db'}", [token],
                               handlers=token_handlers(on_publish))
        assert indexer.run_once().last_block == head
        clock = FakeClock()
        pinner = Pinner(indexer.db, ipfs, POLICY, clock=clock)
        assert pinner.run_once().node_down
        assert {status for status, _ in pins(indexer.db).values()} <= {"queued", "retrying"}

        running_kubo.restart()
        clock.now += POLICY.max_delay
        pinner.run_once()
        assert {cid: status for cid, (status, _) in pins(indexer.db).items()} == {
            content: "pinned", metadata: "pinned"}
        assert ipfs.is_pinned(content) and ipfs.is_pinned(metadata)


# --- size before bytes (issue 14) ---------------------------------------------------------------
CAPPED = PinPolicy(base_delay=10.0, max_delay=40.0, metadata_max_bytes=4096,
                   max_content_bytes=64 << 10)


def pin_rows(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with engine.connect() as connection:
        return {p.cid: (p.status, p.last_error) for p in connection.execute(select(Pin))}


def test_content_over_the_cap_is_not_pinned_and_its_pin_says_why(kubo: Kubo,
                                                                 tmp_path: Path) -> None:
    """Every CID on chain used to be pinned recursively, whatever its size: now Kubo is asked
    the size the root declares first, and content over `max_content_bytes` is refused."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pins.db'}")
    migrate(engine)
    with IpfsClient(kubo.api_url, timeout_seconds=10) as ipfs:
        huge = ipfs.add_bytes(os.urandom(300 << 10), pin=False).cid
        small = ipfs.add_bytes(os.urandom(1000), pin=False).cid
        big_metadata = ipfs.add_bytes(b'{"title": "' + b"x" * 8000 + b'"}', pin=False).cid
        queue(engine, (huge, "content"), (small, "content"), (big_metadata, "metadata"))
        pinner = Pinner(engine, ipfs, CAPPED)
        first = pinner.run_once()
        assert (first.pinned, first.refused, first.failed) == (1, 2, 0)
        rows = pin_rows(engine)
        assert rows[small] == ("pinned", None)
        status, reason = rows[huge]
        assert status == "refused" and reason is not None
        assert reason.startswith(f"content is {300 << 10} bytes")
        assert f"over the cap of {64 << 10} bytes (max_content_bytes)" in reason
        status, reason = rows[big_metadata]
        assert status == "refused" and reason is not None and "metadata_max_bytes" in reason
        assert not ipfs.is_pinned(huge) and not ipfs.is_pinned(big_metadata)
        assert pinner.run_once().refused == 0  # refused for good, not retried
    with engine.connect() as connection:
        stored = connection.execute(
            select(CidMetadata).where(CidMetadata.cid == big_metadata)).one()
    assert stored.error and "larger than" in stored.error


def test_content_not_of_the_size_its_metadata_declares_is_not_pinned(kubo: Kubo,
                                                                     tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pins.db'}")
    migrate(engine)
    with IpfsClient(kubo.api_url, timeout_seconds=10) as ipfs:
        content = ipfs.add_bytes(os.urandom(5000), pin=False).cid
        document = AssetMetadata(
            title="Rows", kind="dataset", license="MIT", size=100,
            files=[FileEntry(path="rows.csv", size=100, sha256="0" * 64)],
            content=ContentInfo(encrypted=False, plaintext_size=100))
        metadata = ipfs.add_bytes(document.to_canonical_json(), pin=False).cid
        with engine.begin() as connection:
            connection.execute(insert(AssetVersion).values(
                asset_id=1, version_index=1, content_cid=content, metadata_cid=metadata,
                block_number=1, block_hash="0x" + "00" * 32, log_index=0,
                tx_hash="0x" + "00" * 32))
        queue(engine, (content, "content"), (metadata, "metadata"))
        assert Pinner(engine, ipfs, CAPPED).run_once().refused == 1
        rows = pin_rows(engine)
        assert rows[metadata] == ("pinned", None)
        assert rows[content] == ("refused", "content is 5000 bytes; its metadata declares 100")
        assert not ipfs.is_pinned(content)
