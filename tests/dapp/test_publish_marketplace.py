"""What NFT marketplaces read (issue 19): `datadao publish --image` puts the marketplace
documents on IPFS and on chain; the test reads `tokenURI`, the licence tokens' `uri` and
`contractURI` back as a marketplace would — ipfs:// resolved through Kubo's HTTP gateway, the
JSON checked for name, description, image and attributes."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from dapp.chain.contracts import load_abi
from dapp.chain.deployments import load_deployment
from dapp.publishing.marketplace import check_document, collection_document, encode_document
from tests.dapp.conftest import CHAIN_ID, Chain, Kubo
from tests.dapp.helpers.publishing import Market, new_market


@pytest.fixture(scope="module")
def market(chain: Chain, kubo: Kubo, deployments_file: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Market:
    return new_market(chain, kubo, deployments_file, tmp_path_factory.mktemp("marketplace"))


def tiny_png() -> bytes:
    """A valid 1 by 1 pixel PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def resolve(kubo: Kubo, uri: str) -> bytes:
    """An ipfs:// URI as a marketplace fetches it: through an HTTP gateway."""
    assert uri.startswith("ipfs://"), uri
    response = httpx.get(f"{kubo.gateway_url}/ipfs/{uri.removeprefix('ipfs://')}", timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def read_document(kubo: Kubo, uri: str, *, collection: bool = False) -> dict[str, Any]:
    document = json.loads(resolve(kubo, uri))
    check_document(document, collection=collection)
    return document


def contracts(market: Market) -> tuple[Any, Any]:
    deployment = load_deployment(market.deployments_file, CHAIN_ID)
    web3 = market.web3
    return tuple(web3.eth.contract(address=deployment.contract(name).address,
                                   abi=load_abi(name))
                 for name in ("AssetRegistry", "LicenseTokens"))  # type: ignore[return-value]


def test_token_uris_resolve_to_marketplace_documents_with_the_image(
        market: Market, kubo: Kubo, tmp_path: Path) -> None:
    data = tmp_path / "stations.csv"
    data.write_text("station,temp\nA,3\n")
    image = tmp_path / "cover.png"
    image.write_bytes(tiny_png())
    published = market.publish(data, "--open", "--image", str(image), "--description",
                               "hourly readings", "--tag", "weather")
    registry, tokens = contracts(market)
    asset_id = int(published["asset_id"])

    token_uri = registry.functions.tokenURI(asset_id).call()
    assert token_uri == published["token_uri"]
    asset = read_document(market.kubo, token_uri)
    assert asset["name"] == "test stations.csv" and asset["description"] == "hourly readings"
    assert resolve(kubo, asset["image"]) == image.read_bytes()
    traits = {(a["trait_type"], a["value"]) for a in asset["attributes"]}
    assert ("kind", "dataset") in traits and ("tag", "weather") in traits
    assert ("metadata", f"ipfs://{published['metadata_cid']}") in traits  # beside it

    licence_id = tokens.functions.licenseId(asset_id, 0, True).call()
    licence = read_document(kubo, tokens.functions.uri(licence_id).call())
    assert licence["image"] == asset["image"] and str(asset_id) in licence["description"]

    with market.ipfs() as ipfs:  # the collections' documents, set by the registry's admin
        collection = ipfs.add_bytes(encode_document(collection_document(
            "DataDAO assets", "Datasets, models and algorithms", asset["image"]))).cid
    admin = market.web3.eth.accounts[0]
    tx = tokens.functions.setContractURIs(f"ipfs://{collection}", f"ipfs://{collection}"
                                          ).transact({"from": admin})
    assert market.web3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    for contract in (registry, tokens):
        document = read_document(kubo, contract.functions.contractURI().call(), collection=True)
        assert document["name"] == "DataDAO assets"


def test_publish_with_a_file_that_is_no_image_is_refused_before_upload(
        market: Market, tmp_path: Path) -> None:
    data = tmp_path / "notes.csv"
    data.write_text("a,b\n")
    result = market.cli("publish", str(data), "--title", "x", "--license-text", "CC0",
                        "--price", "1", "--open", "--image", str(data))
    assert result.returncode == 2, result.stderr
    assert "is not a PNG, JPEG, GIF, WebP or SVG image" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_document_refuses_what_marketplaces_cannot_show() -> None:
    good = {"name": "n", "description": "d", "image": "ipfs://bafy", "attributes": []}
    check_document(good)
    for bad in ({**good, "name": ""}, {**good, "image": "http://x"},
                {**good, "attributes": [{"value": 1}]}, [good]):
        with pytest.raises(ValueError):
            check_document(bad)
