"""Licensed content prepared with the library itself (pack, encrypt, add to IPFS, metadata with
the key sealed to the gateway, publish on chain) and bought with approve + buy over web3."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import load_abi
from dapp.crypto.sealing import seal_key
from dapp.crypto.segments import DEFAULT_SEGMENT_SIZE, encrypt_stream, generate_content_key
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import CIPHER_DDX1, AssetMetadata, ContentInfo, FileEntry, SealedKey
from dapp.packing import iter_packed, plan_pack
from tests.dapp.conftest import Gateway, Kubo
from tests.dapp.helpers.buying import buy_call
from tests.dapp.helpers.gateway import dev_account

PUBLISHER = dev_account(4)
BUYER = dev_account(5)
PRICE = 10 * 10**18
PERPETUAL = 0
SEGMENT = DEFAULT_SEGMENT_SIZE


@dataclass
class Market:
    web3: Web3
    registry: Contract
    token: Contract
    gateway: Gateway
    kubo: Kubo

    def gateway_key(self) -> str:
        response = httpx.get(f"{self.gateway.url}/v1/gateway", timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["public_key"])


def market_for(gateway: Gateway, kubo: Kubo, deployments_file: Path) -> Market:
    web3 = Web3(Web3.HTTPProvider(gateway.settings.chain_rpc_url, request_kwargs={"timeout": 30}))
    entry = json.loads(deployments_file.read_text())[str(web3.eth.chain_id)]
    registry = web3.eth.contract(address=entry["AssetRegistry"]["address"],
                                 abi=load_abi("AssetRegistry"))
    token = web3.eth.contract(address=entry["TestToken"]["address"], abi=load_abi("TestToken"))
    return Market(web3=web3, registry=registry, token=token, gateway=gateway, kubo=kubo)


def transact(market: Market, call, sender: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    tx_hash = call.transact({"from": sender, "gas": 1_500_000})
    receipt = market.web3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return dict(receipt)


def publish(market: Market, path: Path, *, title: str = "Weather stations 2024",
            encrypted: bool = True, duration: int = PERPETUAL, seal_to: str | None = None,
            tamper_at: int | None = None) -> int:
    """Pack, (encrypt,) add, write metadata, publish on chain; the new asset id.
    `tamper_at` flips one ciphertext byte at that offset before it reaches IPFS."""
    plan = plan_pack(path)
    packed = iter_packed(path, plan)
    sealed: list[SealedKey] = []
    if encrypted:
        content_key = generate_content_key()
        stream = encrypt_stream(content_key, packed, plan.size)
        if tamper_at is not None:
            stream = flipped(stream, tamper_at)
        public_key = seal_to or market.gateway_key()
        sealed = [SealedKey(gateway_public_key=public_key,
                            sealed_key=seal_key(content_key, public_key))]
    else:
        stream = packed
    with IpfsClient(market.kubo.api_url, timeout_seconds=120) as ipfs:
        content_cid = ipfs.add_chunks(stream).cid
        metadata = AssetMetadata(
            title=title, kind="dataset", license="CC-BY-4.0", size=plan.size,
            files=[FileEntry(path=f.path, size=f.size, sha256=f.sha256) for f in plan.files],
            content=ContentInfo(encrypted=encrypted, plaintext_size=plan.size,
                                cipher=CIPHER_DDX1 if encrypted else None,
                                segment_size=SEGMENT if encrypted else None),
            sealed_keys=sealed,
        )
        metadata_cid = ipfs.add_bytes(metadata.to_canonical_json()).cid
    offer = (market.token.address, PRICE, duration, 0)
    receipt = transact(market, market.registry.functions.publish(
        0, cid_to_chain(content_cid), cid_to_chain(metadata_cid), 0, [offer]),
        PUBLISHER.address)
    (event,) = market.registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["assetId"])


def flipped(chunks: Iterator[bytes], offset: int) -> Iterator[bytes]:
    position = 0
    for chunk in chunks:
        if position <= offset < position + len(chunk):
            data = bytearray(chunk)
            data[offset - position] ^= 0x01
            chunk = bytes(data)
        position += len(chunk)
        yield chunk


def buy(market: Market, asset_id: int, buyer: str) -> None:
    transact(market, market.token.functions.approve(market.registry.address, PRICE), buyer)
    transact(market, buy_call(market.registry, asset_id, 1, buyer), buyer)


def write_random(path: Path, size: int, seed: int) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data
