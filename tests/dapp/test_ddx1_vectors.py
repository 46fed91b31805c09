"""docs/ddx1-vectors.json against dapp/crypto: the same bytes the browser's DDX1 code
(frontend/src/crypto) is checked against in Vitest, so the two agree byte for byte."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from nacl.bindings import crypto_scalarmult_base
from nacl.public import PrivateKey

from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key, seal_key
from dapp.crypto.segments import ContentIntegrityError, decrypt_stream, encrypt_stream
from tools.ddx1_vectors import build

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "ddx1-vectors.json")
                     .read_text(encoding="utf-8"))
SEGMENTS = {vector["name"]: vector for vector in VECTORS["segments"]}
SEALED = {vector["name"]: vector for vector in VECTORS["sealed_keys"]}


def test_the_vectors_file_is_what_the_generator_writes() -> None:
    assert build() == VECTORS


def _plaintext(vector: dict) -> bytes:
    if "plaintext" in vector:
        return bytes.fromhex(vector["plaintext"])
    from tools.ddx1_vectors import _fixed
    return _fixed(f"{vector['name']}/plaintext", vector["plaintext_size"])


@pytest.mark.parametrize("name", sorted(SEGMENTS))
def test_python_encrypts_each_vector_to_its_bytes(name: str) -> None:
    vector = SEGMENTS[name]
    plaintext = _plaintext(vector)
    assert hashlib.sha256(plaintext).hexdigest() == vector["plaintext_sha256"]
    chunks = [plaintext[i:i + 7] for i in range(0, len(plaintext), 7)]  # odd chunking
    ciphertext = b"".join(encrypt_stream(
        bytes.fromhex(vector["content_key"]), chunks, vector["plaintext_size"],
        vector["segment_size"], salt=bytes.fromhex(vector["salt"])))
    assert len(ciphertext) == vector["ciphertext_size"]
    assert hashlib.sha256(ciphertext).hexdigest() == vector["ciphertext_sha256"]


@pytest.mark.parametrize("name", sorted(SEGMENTS))
def test_python_decrypts_each_vector(name: str) -> None:
    vector = SEGMENTS[name]
    plaintext = _plaintext(vector)
    ciphertext = b"".join(encrypt_stream(
        bytes.fromhex(vector["content_key"]), [plaintext], vector["plaintext_size"],
        vector["segment_size"], salt=bytes.fromhex(vector["salt"])))
    if "ciphertext" in vector:
        assert ciphertext == bytes.fromhex(vector["ciphertext"])
    key = bytes.fromhex(vector["content_key"])
    assert b"".join(decrypt_stream(key, [ciphertext])) == plaintext
    flipped = bytearray(ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(ContentIntegrityError):
        b"".join(decrypt_stream(key, [bytes(flipped)]))


@pytest.mark.parametrize("name", sorted(SEALED))
def test_python_opens_each_sealed_key_vector(name: str) -> None:
    vector = SEALED[name]
    secret = bytes.fromhex(vector["gateway_secret_key"])
    assert crypto_scalarmult_base(secret).hex() == vector["gateway_public_key"]
    keypair = GatewayKeyPair(PrivateKey(secret))
    sealed_b64 = base64.b64encode(bytes.fromhex(vector["sealed"])).decode()
    assert open_sealed_key(sealed_b64, keypair).hex() == vector["content_key"]
    # and a key sealed here (random ephemeral key) opens the same way
    again = seal_key(bytes.fromhex(vector["content_key"]), keypair.public_key_b64)
    assert open_sealed_key(again, keypair).hex() == vector["content_key"]
