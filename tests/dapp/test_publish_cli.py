"""`datadao publish` end to end as a user runs it (subprocess, --json) against ganache, Kubo
and the contracts the deploy script put there: what lands on chain and on IPFS, what a gateway
can decrypt, and how failures read."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dapp.ipfs.cid import cid_from_chain
from dapp.metadata import AssetMetadata
from dapp.packing import iter_packed, plan_pack
from dapp.ports import free_port
from tests.dapp.conftest import Chain, Kubo
from tests.dapp.helpers.publishing import (
    LICENSE,
    PUBLISHER,
    Market,
    decrypted_sha256,
    new_market,
)


@pytest.fixture(scope="module")
def market(chain: Chain, kubo: Kubo, deployments_file: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Market:
    return new_market(chain, kubo, deployments_file, tmp_path_factory.mktemp("publisher"))


def make_folder(root: Path) -> Path:
    folder = root / "corpus"
    (folder / "texts").mkdir(parents=True)
    (folder / "README.md").write_text("# corpus\n")
    (folder / "texts" / "a.txt").write_bytes(b"alpha " * 10_000)
    (folder / "texts" / "b.txt").write_bytes(os.urandom(70_000))
    (folder / "empty").mkdir()
    return folder


def packed_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in iter_packed(path, plan_pack(path)):
        digest.update(chunk)
    return digest.hexdigest()


def check_on_chain(market: Market, published: dict[str, Any]) -> None:
    registry = market.registry()
    content, metadata, _ = registry.functions.latestVersion(published["asset_id"]).call()
    assert cid_from_chain(*content) == published["content_cid"]
    assert cid_from_chain(*metadata) == published["metadata_cid"]
    assert registry.functions.ownerOf(published["asset_id"]).call() == PUBLISHER.address


def test_publish_folder_encrypts_seals_pins_and_registers(market: Market, tmp_path: Path
                                                          ) -> None:
    folder = make_folder(tmp_path)
    published = market.publish(folder, "--seal-to", market.gateway.public_key_b64,
                               "--tag", "nlp", "--tag", "en", "--curator-share", "10")

    check_on_chain(market, published)
    info = market.registry().functions.assetInfo(published["asset_id"]).call()
    assert info[2] == 1000  # curator share in bps
    with market.ipfs() as ipfs:
        metadata = AssetMetadata.from_json(ipfs.cat_bytes(published["metadata_cid"]))
        assert ipfs.is_pinned(published["content_cid"])
        assert ipfs.is_pinned(published["metadata_cid"])
        stored = ipfs.cat_bytes(published["content_cid"])
    assert metadata.title == "test corpus" and metadata.tags == ["nlp", "en"]
    assert metadata.content.encrypted and metadata.license == LICENSE
    assert {f.path for f in metadata.files} == {"README.md", "texts/a.txt", "texts/b.txt"}
    assert b"alpha alpha" not in stored  # IPFS holds ciphertext only
    assert published["packed_sha256"] == packed_sha256(folder)
    assert decrypted_sha256(market, metadata, published["content_cid"]) == \
        published["packed_sha256"]
    assert published["offers"][0]["price"] == "10"
    assert published["offers"][0]["duration"] == 30 * 86_400


def test_same_folder_twice_packs_the_same_bytes_under_a_new_key(market: Market,
                                                                tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    first = market.publish(folder, "--seal-to", market.gateway.public_key_b64)
    second = market.publish(folder, "--seal-to", market.gateway.public_key_b64)
    assert first["packed_sha256"] == second["packed_sha256"]
    assert first["content_cid"] != second["content_cid"]  # new key, new ciphertext
    assert second["asset_id"] == first["asset_id"] + 1


def test_publish_50_mb_file_streams_within_a_minute(market: Market, tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    digest = hashlib.sha256()
    with big.open("wb") as out:
        for _ in range(50):
            block = os.urandom(1 << 20)
            digest.update(block)
            out.write(block)
    started = time.monotonic()
    published = market.publish(big, "--kind", "model", "--seal-to",
                               market.gateway.public_key_b64, timeout=120)
    elapsed = time.monotonic() - started
    print(f"50 MB publish: {elapsed:.1f} s wall, {published['seconds']} s in the command")
    assert elapsed < 60
    check_on_chain(market, published)
    assert published["packed_sha256"] == digest.hexdigest()  # a single file is not wrapped
    assert published["stored_size"] > 50 << 20
    with market.ipfs() as ipfs:
        metadata = AssetMetadata.from_json(ipfs.cat_bytes(published["metadata_cid"]))
        assert ipfs.is_pinned(published["content_cid"])
    assert metadata.kind == "model" and metadata.files[0].path == "weights.bin"
    assert decrypted_sha256(market, metadata, published["content_cid"]) == digest.hexdigest()


def test_open_asset_is_published_in_plaintext(market: Market, tmp_path: Path) -> None:
    data = tmp_path / "open.csv"
    data.write_text("id,value\n1,2\n")
    published = market.publish(data, "--open")
    check_on_chain(market, published)
    with market.ipfs() as ipfs:
        assert ipfs.cat_bytes(published["content_cid"]) == data.read_bytes()
        metadata = AssetMetadata.from_json(ipfs.cat_bytes(published["metadata_cid"]))
    assert not metadata.content.encrypted and metadata.sealed_keys == []
    assert published["encrypted"] is False


def test_kubo_down_is_one_line_and_leaves_the_chain_alone(market: Market, tmp_path: Path
                                                          ) -> None:
    data = tmp_path / "x.txt"
    data.write_text("nothing")
    before = market.registry().functions.assetCount().call()
    result = market.cli("publish", str(data), "--title", "x", "--license-text", LICENSE,
                        "--price", "1", "--seal-to", market.gateway.public_key_b64, "--json",
                        DAPP_IPFS_API_URL=f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 3, result.stderr
    assert "IPFS node" in result.stderr and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert market.registry().functions.assetCount().call() == before


def test_wrong_keystore_password_is_refused_before_anything_moves(market: Market,
                                                                  tmp_path: Path) -> None:
    data = tmp_path / "y.txt"
    data.write_text("nothing")
    before = market.registry().functions.assetCount().call()
    result = market.cli("publish", str(data), "--title", "y", "--license-text", LICENSE,
                        "--price", "1", "--seal-to", market.gateway.public_key_b64,
                        DAPP_KEYSTORE_PASSWORD="not the password")
    assert result.returncode == 11
    assert "wrong password for account 'publisher'" in result.stderr
    assert PUBLISHER.key.hex().removeprefix("0x") not in result.stderr + result.stdout
    assert market.registry().functions.assetCount().call() == before


def test_without_a_gateway_key_publish_says_what_to_pass(market: Market, tmp_path: Path
                                                         ) -> None:
    data = tmp_path / "z.txt"
    data.write_text("nothing")
    result = market.cli("publish", str(data), "--title", "z", "--license-text", LICENSE,
                        "--price", "1")
    assert result.returncode == 3
    assert "--seal-to" in result.stderr and "Traceback" not in result.stderr


def test_a_payment_token_that_is_no_token_is_refused_before_upload(market: Market,
                                                                   tmp_path: Path) -> None:
    data = tmp_path / "w.txt"
    data.write_text("nothing")
    before = market.registry().functions.assetCount().call()
    not_a_payment_token = PUBLISHER.address
    result = market.cli("publish", str(data), "--title", "w", "--license-text", LICENSE,
                        "--price", "1", "--open", "--token", not_a_payment_token)
    assert result.returncode == 2, result.stderr
    assert "is not an ERC-20 token" in result.stderr and "Traceback" not in result.stderr
    assert market.registry().functions.assetCount().call() == before


def test_dao_flag_prints_a_proposal_and_sends_nothing(market: Market, tmp_path: Path) -> None:
    data = tmp_path / "dao.txt"
    data.write_text("for the DAO")
    before = market.registry().functions.assetCount().call()
    dao = "0x" + "d0" * 20
    proposal = market.cli_json("publish", str(data), "--title", "dao", "--license-text",
                               LICENSE, "--price", "1", "--open", "--dao", dao)
    assert proposal["target"] == market.registry().address
    function, args = market.registry().decode_function_input(proposal["calldata"])
    assert function.fn_name == "publish"
    content = args["content"]
    assert cid_from_chain(content["digest"], content["codec"]) == proposal["content_cid"]
    assert proposal["propose_calldata"].startswith("0x7d5e81e2")  # Governor.propose selector
    assert market.registry().functions.assetCount().call() == before


def test_publish_waits_for_the_confirmations_asked_for(market: Market, tmp_path: Path) -> None:
    """ganache mines only on demand: a thread mines a block every 0.3 s meanwhile."""
    data = tmp_path / "confirmed.txt"
    data.write_text("confirmed")
    stop = threading.Event()

    def mine() -> None:
        web3 = market.web3
        while not stop.wait(0.3):
            web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        published = market.publish(data, "--open", "--confirmations", "3")
        head = market.web3.eth.block_number
    finally:
        stop.set()
        miner.join()
    assert head >= published["block"] + 3
