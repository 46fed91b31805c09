"""A job's result, published so that only its buyer can read it.

The buyer has an Ethereum account, not an encryption key this gateway could seal to, so the
result goes the same way as a dataset: DDX1-encrypted with a fresh content key, added to IPFS
(the CID posted on chain is of ciphertext: IPFS is public), and the key sealed to this gateway's
own X25519 key and kept in the gateway's database. The gateway serves the plaintext only to the
job's buyer, signed in (`GET /v1/jobs/{id}/result`). The on-chain `resultHash` is the sha2-256
of that plaintext, so the buyer can check what the gateway served against what the provider
committed to.

What the algorithm wrote to `$OUTPUT`: one file is the result as is (under its name); several
files or folders are packed as a deterministic tar (`dapp.packing`), named `result.tar`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key, seal_key
from dapp.crypto.segments import (
    HEADER_SIZE,
    RangeDecryptor,
    encrypt_stream,
    generate_content_key,
)
from dapp.errors import DappError
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.stream import ContentReader
from dapp.packing import PackStream, plan_pack

ARCHIVE_NAME = "result.tar"


class NoResult(DappError):
    code = "no-result"
    http_status = 422


@dataclass(frozen=True)
class PublishedResult:
    cid: str
    sha256: bytes  # of the plaintext
    size: int  # plaintext bytes
    name: str
    sealed_key: str  # the content key sealed to this gateway


def publish_result(output_dir: Path, ipfs: IpfsClient, keypair: GatewayKeyPair
                   ) -> PublishedResult:
    entries = sorted(output_dir.iterdir())
    if not entries:
        raise NoResult("the algorithm wrote nothing to $OUTPUT")
    single = entries[0] if len(entries) == 1 and entries[0].is_file() else None
    source = single or output_dir
    plan = plan_pack(source, digests=False)  # the stream hashes what it packs: one read
    plaintext = PackStream(source, plan)
    key = generate_content_key()
    added = ipfs.add_chunks(encrypt_stream(key, plaintext, plan.size))
    return PublishedResult(
        cid=added.cid, sha256=bytes.fromhex(plaintext.sha256), size=plan.size,
        name=single.name if single else ARCHIVE_NAME,
        sealed_key=seal_key(key, keypair.public_key_b64),
    )


async def stream_result(cid: str, sealed_key: str, reader: ContentReader,
                        keypair: GatewayKeyPair) -> AsyncIterator[bytes]:
    """The plaintext of a published result, authenticated segment by segment as it arrives."""
    key = open_sealed_key(sealed_key, keypair)
    header = bytearray()
    async for chunk in reader.cat(cid, 0, HEADER_SIZE):
        header += chunk
    decryptor = RangeDecryptor(key, bytes(header))
    length = decryptor.layout.ciphertext_size - HEADER_SIZE
    async for plaintext in decryptor.aiter(reader.cat(cid, HEADER_SIZE, length)):
        yield plaintext
