"""CID text <-> on-chain `Cid{digest, codec}`, without Kubo."""

from __future__ import annotations

import base64
import hashlib

import pytest

from dapp.errors import MalformedCid
from dapp.ipfs.cid import (
    CODEC_DAG_PB,
    CODEC_RAW,
    cid_from_chain,
    cid_to_chain,
    decode_varint,
    encode_varint,
    validate_cid,
)

HELLO_RAW = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
HELLO_DIGEST = hashlib.sha256(b"hello world\n").digest()
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rest = divmod(number, 58)
        text = BASE58[rest] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def base32(data: bytes) -> str:
    return "b" + base64.b32encode(data).decode().rstrip("=").lower()


def test_known_raw_cid_is_sha256_of_its_bytes() -> None:
    assert cid_to_chain(HELLO_RAW) == (HELLO_DIGEST, CODEC_RAW)
    assert validate_cid(HELLO_RAW) == HELLO_RAW


@pytest.mark.parametrize("codec", [CODEC_RAW, CODEC_DAG_PB])
def test_chain_round_trip(codec: int) -> None:
    digest = hashlib.sha256(codec.to_bytes(2, "big")).digest()
    text = cid_from_chain(digest, codec)
    assert text.startswith("bafy" if codec == CODEC_DAG_PB else "bafk")
    assert cid_to_chain(text) == (digest, codec)
    assert validate_cid(text) == text


def test_cidv0_becomes_v1_dag_pb() -> None:
    v0 = base58_encode(b"\x12\x20" + HELLO_DIGEST)
    assert v0.startswith("Qm") and len(v0) == 46
    v1 = validate_cid(v0)
    assert v1.startswith("bafy")
    assert cid_to_chain(v0) == cid_to_chain(v1) == (HELLO_DIGEST, CODEC_DAG_PB)


def test_well_known_cidv0() -> None:
    digest, codec = cid_to_chain("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert codec == CODEC_DAG_PB and len(digest) == 32


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 0x55, 0x70, 2**63 - 1])
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert decode_varint(encoded, 0) == (value, len(encoded))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "prefix"),
        ("B" + HELLO_RAW[1:].upper(), "prefix"),
        ("bAFKREI" + HELLO_RAW[7:], "lower case"),
        (HELLO_RAW[:-1] + "1", "base32"),
        (HELLO_RAW[:-1] + "!", "base32"),
        (HELLO_RAW[:-10], "truncated"),
        ("b", "non-empty"),
        (base32(b"\x01\x55\x13\x20" + HELLO_DIGEST), "not sha2-256"),
        (base32(b"\x01\x55\x12\x14" + HELLO_DIGEST[:20]), "length"),
        (base32(b"\x01\x71\x12\x20" + HELLO_DIGEST), "codec"),
        (base32(b"\x02\x55\x12\x20" + HELLO_DIGEST), "version"),
        (base32(b"\x01\x55\x12\x20" + HELLO_DIGEST + b"\0"), "extra"),
        (base32(b"\x01\xd5\x00\x12\x20" + HELLO_DIGEST), "non-minimal"),
        (base32(b"\x01\xd5"), "truncated"),
        ("Qm" + "1" * 44, "sha2-256"),
        ("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50", "base58"),
        ("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff", "46"),
    ],
)
def test_malformed_cids_are_refused(text: str, message: str) -> None:
    with pytest.raises(MalformedCid, match=message) as caught:
        validate_cid(text)
    assert caught.value.hint


def test_non_canonical_base32_is_refused() -> None:
    # last character carries unused low bits: the same bytes, a second spelling
    bits = "abcdefghijklmnopqrstuvwxyz234567"
    tweaked = HELLO_RAW[:-1] + bits[bits.index(HELLO_RAW[-1]) + 1]
    with pytest.raises(MalformedCid, match="canonical"):
        validate_cid(tweaked)


def test_chain_values_are_checked() -> None:
    with pytest.raises(MalformedCid, match="32"):
        cid_from_chain(b"\0" * 31, CODEC_RAW)
    with pytest.raises(MalformedCid, match="codec"):
        cid_from_chain(HELLO_DIGEST, 0x71)
