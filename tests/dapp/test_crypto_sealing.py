"""Content keys sealed to gateway X25519 keys."""

from __future__ import annotations

import base64
import json
import pickle
import stat
from pathlib import Path

import pytest

from dapp.crypto.sealing import (
    GatewayKeyFileError,
    GatewayKeyPair,
    SealedKeyError,
    open_sealed_key,
    seal_key,
)
from dapp.crypto.segments import generate_content_key


def test_seal_and_open() -> None:
    gateway = GatewayKeyPair.generate()
    content_key = generate_content_key()
    sealed = seal_key(content_key, gateway.public_key_b64)
    assert len(base64.b64decode(sealed)) == 32 + 48  # ephemeral key + MAC
    assert open_sealed_key(sealed, gateway) == content_key
    assert seal_key(content_key, gateway.public_key_b64) != sealed  # fresh ephemeral key


def test_wrong_gateway_cannot_open() -> None:
    sealed = seal_key(generate_content_key(), GatewayKeyPair.generate().public_key_b64)
    other = GatewayKeyPair.generate()
    with pytest.raises(SealedKeyError, match="cannot be opened") as caught:
        open_sealed_key(sealed, other)
    assert caught.value.http_status == 422


def test_tampered_sealed_key_is_refused() -> None:
    gateway = GatewayKeyPair.generate()
    raw = bytearray(base64.b64decode(seal_key(b"k" * 32, gateway.public_key_b64)))
    raw[-1] ^= 1
    with pytest.raises(SealedKeyError):
        open_sealed_key(base64.b64encode(bytes(raw)).decode(), gateway)


@pytest.mark.parametrize("bad", ["not base64!", "", base64.b64encode(b"short").decode()])
def test_bad_inputs(bad: str) -> None:
    gateway = GatewayKeyPair.generate()
    with pytest.raises(SealedKeyError):
        seal_key(b"k" * 32, bad)
    with pytest.raises(SealedKeyError):
        open_sealed_key(bad, gateway)


def test_secret_never_in_repr() -> None:
    gateway = GatewayKeyPair.generate()
    secret_b64 = base64.b64encode(bytes(gateway._private_key)).decode()
    for text in (repr(gateway), str(gateway), f"{gateway}"):
        assert secret_b64 not in text
        assert gateway.public_key_b64 in text
    with pytest.raises(TypeError):
        pickle.dumps(gateway)


def test_save_and_load(tmp_path: Path) -> None:
    gateway = GatewayKeyPair.generate()
    path = tmp_path / "keys" / "gateway.key"
    gateway.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = GatewayKeyPair.load(path)
    assert loaded.public_key_b64 == gateway.public_key_b64
    sealed = seal_key(b"x" * 32, gateway.public_key_b64)
    assert open_sealed_key(sealed, loaded) == b"x" * 32


def test_save_tightens_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.key"
    path.write_text("old")
    path.chmod(0o644)
    GatewayKeyPair.generate().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "gateway.key"
    with pytest.raises(GatewayKeyFileError, match="cannot read"):
        GatewayKeyPair.load(path)
    GatewayKeyPair.generate().save(path)
    path.chmod(0o640)
    with pytest.raises(GatewayKeyFileError, match="chmod 600"):
        GatewayKeyPair.load(path)
    path.chmod(0o600)
    document = json.loads(path.read_text())
    document["public_key"] = GatewayKeyPair.generate().public_key_b64
    path.write_text(json.dumps(document))
    with pytest.raises(GatewayKeyFileError, match="does not match"):
        GatewayKeyPair.load(path)
    path.write_text("{}")
    with pytest.raises(GatewayKeyFileError, match="not a gateway key file"):
        GatewayKeyPair.load(path)
