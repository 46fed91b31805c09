"""Asset metadata documents: validation and canonical bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from dapp.crypto.sealing import GatewayKeyPair, seal_key
from dapp.crypto.segments import generate_content_key
from dapp.metadata import AssetMetadata, InvalidMetadata

GATEWAY = GatewayKeyPair.generate()
SEALED = seal_key(generate_content_key(), GATEWAY.public_key_b64)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": "datadao/asset-metadata@1",
        "title": "Wikipedia sentences — ünïcode",
        "description": "One sentence a line.",
        "kind": "dataset",
        "tags": ["nlp", "text", "cc-by-sa"],
        "license": "CC-BY-SA-4.0",
        "size": 4096,
        "files": [{"path": "data/sentences.txt", "size": 1000,
                   "sha256": hashlib.sha256(b"x").hexdigest()},
                  {"path": "README.md", "size": 10, "sha256": "0" * 64}],
        "content": {"encrypted": True, "cipher": "aes-256-gcm-ddx1",
                    "segment_size": 65536, "plaintext_size": 4096},
        "sealed_keys": [{"gateway_public_key": GATEWAY.public_key_b64, "sealed_key": SEALED}],
        "created_at": "2025-01-02T03:04:05Z",
    }
    base.update(changes)
    return base


def encoded(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2).encode()


def test_round_trip() -> None:
    metadata = AssetMetadata.from_json(encoded(document()))
    assert metadata.title.startswith("Wikipedia")
    assert metadata.created_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    canonical = metadata.to_canonical_json()
    assert AssetMetadata.from_json(canonical) == metadata
    assert json.loads(canonical) == document()


def test_canonical_bytes_are_stable() -> None:
    shuffled = dict(reversed(list(document().items())))
    first = AssetMetadata.from_json(encoded(document())).to_canonical_json()
    second = AssetMetadata.from_json(json.dumps(shuffled).encode()).to_canonical_json()
    assert first == second
    assert b'": ' not in first and b', "' not in first
    assert first.startswith(b'{"content":{"cipher":"aes-256-gcm-ddx1"')
    assert "ünïcode".encode() in first  # UTF-8, not \u escapes
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(
        AssetMetadata.from_json(first).to_canonical_json()).hexdigest()


def test_times_are_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    metadata = AssetMetadata.model_validate(
        document(created_at=datetime(2025, 1, 2, 5, 4, 5, tzinfo=plus_two)))
    assert json.loads(metadata.to_canonical_json())["created_at"] == "2025-01-02T03:04:05Z"


def test_plain_content_and_optional_fields() -> None:
    plain = document(content={"encrypted": False, "plaintext_size": 4096}, sealed_keys=[])
    del plain["created_at"], plain["tags"], plain["description"]
    metadata = AssetMetadata.from_json(encoded(plain))
    assert metadata.sealed_keys == [] and metadata.created_at is None
    canonical = json.loads(metadata.to_canonical_json())
    assert "created_at" not in canonical and "cipher" not in canonical["content"]


def test_built_from_python() -> None:
    metadata = AssetMetadata(
        title="m", kind="model", license="MIT", size=1,
        files=[{"path": "m.bin", "size": 1, "sha256": "a" * 64}],
        content={"encrypted": False, "plaintext_size": 1})
    assert json.loads(metadata.to_canonical_json())["schema"] == "datadao/asset-metadata@1"


def files(*paths: str) -> list[dict[str, Any]]:
    return [{"path": path, "size": 1, "sha256": "0" * 64} for path in paths]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schema": "datadao/asset-metadata@2"}, "schema"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "blank"),
        ({"title": "t" * 201}, "title"),
        ({"description": "d" * 10_001}, "description"),
        ({"kind": "spaceship"}, "kind"),
        ({"tags": ["UPPER"]}, "tags.0"),
        ({"tags": ["a" * 33]}, "tags.0"),
        ({"tags": [f"t{i}" for i in range(33)]}, "tags"),
        ({"tags": ["x", "x"]}, "repeat"),
        ({"license": ""}, "license"),
        ({"size": -1}, "size"),
        ({"size": "4096"}, "size"),
        ({"size": 4096.5}, "size"),
        ({"size": 10}, "plaintext_size"),
        ({"files": []}, "files"),
        ({"files": files("../etc/passwd")}, "relative"),
        ({"files": files("/abs")}, "relative"),
        ({"files": files("a//b")}, "relative"),
        ({"files": files("a", "a")}, "repeat"),
        ({"files": [{"path": "a", "size": 1, "sha256": "ABC"}]}, "sha256"),
        ({"files": [{"path": "a", "size": 5000, "sha256": "0" * 64}]}, "more than size"),
        ({"content": {"encrypted": True, "plaintext_size": 4096}}, "cipher"),
        ({"content": {"encrypted": "yes", "cipher": "aes-256-gcm-ddx1", "segment_size": 1,
                      "plaintext_size": 4096}}, "encrypted"),
        ({"content": {"encrypted": True, "cipher": "rot13", "segment_size": 1,
                      "plaintext_size": 4096}}, "cipher"),
        ({"sealed_keys": []}, "sealed key"),
        ({"sealed_keys": [{"gateway_public_key": "bm9wZQ==", "sealed_key": SEALED}]},
         "32"),
        ({"sealed_keys": [{"gateway_public_key": GATEWAY.public_key_b64,
                           "sealed_key": "***"}]}, "base64"),
        ({"sealed_keys": [{"gateway_public_key": GATEWAY.public_key_b64,
                           "sealed_key": SEALED}] * 2}, "one sealed key per gateway"),
        ({"created_at": "2025-01-02T03:04:05"}, "timezone"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_documents_are_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidMetadata, match=message) as caught:
        AssetMetadata.from_json(encoded(document(**changes)))
    assert caught.value.http_status == 422


def test_plain_content_with_sealed_keys_is_rejected() -> None:
    with pytest.raises(InvalidMetadata, match="no sealed keys"):
        AssetMetadata.from_json(encoded(document(
            content={"encrypted": False, "plaintext_size": 4096})))


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b"{" * 10, b"x" * (1024 * 1024 + 1)])
def test_non_documents_are_rejected(data: bytes) -> None:
    with pytest.raises(InvalidMetadata):
        AssetMetadata.from_json(data)


def test_sealed_key_base64_is_real() -> None:
    assert len(base64.b64decode(SEALED)) == 80
