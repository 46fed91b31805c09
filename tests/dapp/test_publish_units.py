"""The publishing helpers that need no chain: units, revert decoding, DAO calldata, gateway
keys (from a small HTTP server standing in for a gateway's `/v1/gateway`), metadata, and the
upload with an in-memory stand-in for Kubo."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import cast

import pytest
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hexbytes import HexBytes

from dapp.chain.contracts import load_abi
from dapp.chain.transactions import ErrorDecoder
from dapp.cli.hints import cli_message
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key
from dapp.crypto.segments import decrypt_stream
from dapp.errors import InvalidInput, ServiceUnavailable
from dapp.ipfs.client import AddedContent, IpfsClient
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.packing import PackingError, iter_packed, plan_pack
from dapp.publishing.exchange import Exchange
from dapp.publishing.gateways import check_public_key, fetch_gateway_key, gateway_keys
from dapp.publishing.pipeline import (
    ContentRequest,
    PublishPipeline,
    build_metadata,
    governor_propose_calldata,
)
from dapp.publishing.units import (
    format_amount,
    format_duration,
    parse_amount,
    parse_duration,
    parse_share_bps,
    scope_index,
)


@pytest.mark.parametrize(("text", "decimals", "base"), [
    ("10", 18, 10 * 10**18), ("0.5", 18, 5 * 10**17), ("1.000001", 6, 1_000_001),
    (" 3 ", 0, 3), ("0", 18, 0),
])
def test_amounts_in_token_units(text: str, decimals: int, base: int) -> None:
    assert parse_amount(text, decimals) == base
    assert parse_amount(format_amount(base, decimals), decimals) == base


@pytest.mark.parametrize("text", ["-1", "abc", "0.0000001", "nan", "inf"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text, 6)


def test_amounts_print_without_exponent_or_trailing_zeros() -> None:
    assert format_amount(10 * 10**18, 18) == "10"
    assert format_amount(975 * 10**16, 18) == "9.75"
    assert format_amount(1, 18) == "0.000000000000000001"


@pytest.mark.parametrize(("text", "seconds"), [
    ("30d", 30 * 86_400), ("12h", 43_200), ("90m", 5_400), ("3600s", 3_600), ("3600", 3_600),
    ("1w", 604_800), ("1y", 365 * 86_400), ("0", 0), ("perpetual", 0),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["30 days", "-1d", "1.5d", ""])
def test_bad_durations_say_what_works(text: str) -> None:
    with pytest.raises(InvalidInput, match="duration"):
        parse_duration(text)


def test_curator_share_is_a_percentage_up_to_half() -> None:
    assert parse_share_bps("10") == 1000 and parse_share_bps("2.5%") == 250
    assert parse_share_bps("0") == 0 and parse_share_bps("50") == 5000
    for bad in ("51", "0.001", "ten"):
        with pytest.raises(InvalidInput):
            parse_share_bps(bad)
    assert scope_index("COMPUTE") == 1
    with pytest.raises(InvalidInput):
        scope_index("stream")


def _revert(signature: str, types: list[str], values: list[object]) -> str:
    return HexBytes(function_signature_to_4byte_selector(signature)
                    + encode(types, values)).to_0x_hex()


def test_revert_data_is_named_from_the_abis() -> None:
    decoder = ErrorDecoder([load_abi("AssetRegistry"), load_abi("TestToken")])
    data = _revert("NotAssetOwner(uint256,address)", ["uint256", "address"],
                   [7, "0x" + "ab" * 20])
    error = decoder.reverted("setting an offer", data)
    assert error.error_name == "NotAssetOwner"
    assert error.error_args == {"assetId": 7,
                                "caller": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"}
    assert "setting an offer reverted with NotAssetOwner(assetId=7" in str(error)
    assert error.exit_code == 12
    assert "--account" in cli_message(error)  # the CLI's hint; the core's error names no flag
    assert error.hint is None
    assert decoder.decode(_revert("Error(string)", ["string"], ["nope"])) == (
        "Error", {"message": "nope"})
    assert decoder.decode("0xdeadbeef") == (None, {})
    assert "no reason given" in str(decoder.reverted("x", None))


def test_dao_proposal_is_a_governor_propose_of_the_publish_call() -> None:
    target = "0x" + "12" * 20
    calldata = governor_propose_calldata(target, "0xabcdef", "Publish it")
    raw = bytes(HexBytes(calldata))
    assert raw[:4] == function_signature_to_4byte_selector(
        "propose(address[],uint256[],bytes[],string)")
    targets, values, calls, description = decode(
        ["address[]", "uint256[]", "bytes[]", "string"], raw[4:])
    assert targets == (target,) and values == (0,) and calls == (b"\xab\xcd\xef",)
    assert description == "Publish it"


class _GatewayInfo(BaseHTTPRequestHandler):
    body: bytes = b""
    status: int = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/v1/gateway" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway_info() -> Iterator[tuple[str, type[_GatewayInfo]]]:
    handler = type("Handler", (_GatewayInfo,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_gateway_keys_come_from_flags_and_from_gateways(gateway_info) -> None:  # type: ignore[no-untyped-def]
    url, handler = gateway_info
    announced, given = GatewayKeyPair.generate(), GatewayKeyPair.generate()
    handler.body = json.dumps({"public_key": announced.public_key_b64,
                               "chain_id": 1337}).encode()
    assert fetch_gateway_key(url + "/") == announced.public_key_b64
    assert gateway_keys([given.public_key_b64, announced.public_key_b64], [url]) == [
        given.public_key_b64, announced.public_key_b64]  # once each, in order

    handler.body = b'{"other": 1}'
    with pytest.raises(ServiceUnavailable, match="public_key"):
        fetch_gateway_key(url)
    handler.status = 500
    with pytest.raises(ServiceUnavailable, match="answered 500"):
        fetch_gateway_key(url)
    with pytest.raises(InvalidInput, match="not base64"):
        check_public_key("not a key!")
    with pytest.raises(InvalidInput, match="16 bytes"):
        check_public_key("AAAAAAAAAAAAAAAAAAAAAA==")


def test_unreachable_gateway_says_to_pass_seal_to() -> None:
    with pytest.raises(ServiceUnavailable, match="unreachable") as raised:
        fetch_gateway_key("http://127.0.0.1:9")
    assert "--seal-to" in cli_message(raised.value)  # the CLI's hint
    assert raised.value.hint and "--" not in raised.value.hint  # the core's: any client's


def test_metadata_is_checked_before_any_upload(tmp_path: Path) -> None:
    data = tmp_path / "a.txt"
    data.write_text("a")
    plan = plan_pack(data)
    request = ContentRequest(path=data, title="A", license_text="CC0", tags=("Bad Tag",),
                             open=True)
    with pytest.raises(InvalidMetadata, match="tags"):
        build_metadata(request, plan, [])
    good = build_metadata(ContentRequest(path=data, title="A", license_text="CC0", open=True),
                          plan, [])
    assert good.size == 1 and good.files[0].path == "a.txt" and not good.content.encrypted


class _MemoryIpfs:
    """Stands in for `IpfsClient` in `PublishPipeline.upload`: keeps what is added."""

    def __init__(self, during_upload: Callable[[], None] | None = None) -> None:
        self.added: list[bytes] = []
        self._during_upload = during_upload

    def add_chunks(self, chunks: Iterator[bytes], *, pin: bool = True,
                   on_progress: Callable[[int], None] | None = None) -> AddedContent:
        data = bytearray()
        for chunk in chunks:
            data += chunk
            if self._during_upload is not None and len(data) > 300_000:
                self._during_upload()
                self._during_upload = None
        return self.add_bytes(bytes(data))

    def add_bytes(self, data: bytes, *, pin: bool = True) -> AddedContent:
        self.added.append(data)
        return AddedContent(cid=f"cid-{len(self.added)}", size=len(data))


def make_corpus(root: Path) -> Path:
    (root / "texts").mkdir(parents=True)
    (root / "README.md").write_text("# corpus\n")
    (root / "texts" / "a.txt").write_bytes(b"alpha " * 100_000)
    (root / "texts" / "b.bin").write_bytes(random.Random(7).randbytes(700_000))
    return root


@pytest.mark.parametrize("folder", [True, False])
def test_upload_reads_once_and_records_each_files_sha256(tmp_path: Path, folder: bool) -> None:
    root = make_corpus(tmp_path / "corpus")
    path = root if folder else root / "texts" / "b.bin"
    gateway = GatewayKeyPair.generate()
    ipfs = _MemoryIpfs()
    pipeline = PublishPipeline(cast(IpfsClient, ipfs), cast(Exchange, None))
    uploaded = pipeline.upload(ContentRequest(path=path, title="Corpus", license_text="CC0",
                                              gateway_keys=(gateway.public_key_b64,)))
    content, metadata_json = ipfs.added
    assert AssetMetadata.from_json(metadata_json) == uploaded.metadata
    assert {f.path: f.sha256 for f in uploaded.metadata.files} == {
        f.path: hashlib.sha256((root / f.path if folder else path).read_bytes()).hexdigest()
        for f in uploaded.metadata.files}
    key = open_sealed_key(uploaded.metadata.sealed_keys[0].sealed_key, gateway)
    packed = b"".join(decrypt_stream(key, [content]))
    assert packed == b"".join(iter_packed(path, plan_pack(path)))
    assert uploaded.packed_sha256 == hashlib.sha256(packed).hexdigest()
    assert uploaded.packed_size == len(packed) and uploaded.stored_size == len(content)


def test_a_file_written_during_the_upload_is_refused_and_no_metadata_added(tmp_path: Path
                                                                          ) -> None:
    root = make_corpus(tmp_path / "corpus")
    os.utime(root / "texts" / "b.bin", (5, 5))

    def overwrite() -> None:
        with (root / "texts" / "b.bin").open("r+b") as file:
            file.write(b"changed in place")

    ipfs = _MemoryIpfs(during_upload=overwrite)
    pipeline = PublishPipeline(cast(IpfsClient, ipfs), cast(Exchange, None))
    with pytest.raises(PackingError, match="changed"):
        pipeline.upload(ContentRequest(path=root, title="Corpus", license_text="CC0",
                                       gateway_keys=(GatewayKeyPair.generate().public_key_b64,)))
    assert ipfs.added == []
