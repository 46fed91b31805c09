"""Write docs/ddx1-vectors.json: DDX1 files and sealed content keys from fixed inputs.

Run `python tools/ddx1_vectors.py` (from the repository root, PYTHONPATH=.) after a change to
`dapp/crypto`; `tests/dapp/test_ddx1_vectors.py` and `frontend/src/crypto/ddx1.test.ts` check
both implementations against the file, byte for byte (see docs/DDX1.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from nacl.bindings import crypto_box, crypto_scalarmult_base

from dapp.cli.recovery import shown_recovery_key
from dapp.crypto.segments import encrypt_stream
from dapp.metadata import SealedKey
from dapp.packing import iter_packed, plan_pack
from dapp.publishing.gateways import sealing_recipients
from dapp.publishing.pipeline import ContentRequest, build_metadata

OUT = Path(__file__).resolve().parents[1] / "docs" / "ddx1-vectors.json"


def _fixed(label: str, size: int) -> bytes:
    """Deterministic 'random' bytes: SHA-256 of a label, repeated."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def segment_vectors() -> list[dict[str, object]]:
    cases = [("empty", 0, 64), ("one-short-segment", 5, 64), ("two-segments-last-short", 100, 64),
             ("exact-boundary", 128, 64), ("default-segment-size", 70_000, 65_536)]
    vectors: list[dict[str, object]] = []
    for name, size, segment_size in cases:
        key, salt, plaintext = _fixed(f"{name}/key", 32), _fixed(f"{name}/salt", 16), \
            _fixed(f"{name}/plaintext", size)
        ciphertext = b"".join(encrypt_stream(key, [plaintext], size, segment_size, salt=salt))
        entry: dict[str, object] = {
            "name": name, "content_key": key.hex(), "salt": salt.hex(),
            "segment_size": segment_size, "plaintext_size": size,
            "plaintext_sha256": hashlib.sha256(plaintext).hexdigest(),
            "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
            "ciphertext_size": len(ciphertext)}
        if size <= 256:  # small cases in full; the large one by digest
            entry["plaintext"] = plaintext.hex()
            entry["ciphertext"] = ciphertext.hex()
        vectors.append(entry)
    return vectors


def sealed_key_vectors() -> list[dict[str, str]]:
    vectors = []
    for name in ("sealed-1", "sealed-2"):
        gateway_secret = _fixed(f"{name}/gateway-secret", 32)
        gateway_public = crypto_scalarmult_base(gateway_secret)
        ephemeral_secret = _fixed(f"{name}/ephemeral-secret", 32)
        ephemeral_public = crypto_scalarmult_base(ephemeral_secret)
        content_key = _fixed(f"{name}/content-key", 32)
        nonce = hashlib.blake2b(ephemeral_public + gateway_public, digest_size=24).digest()
        sealed = ephemeral_public + crypto_box(content_key, nonce, gateway_public,
                                               ephemeral_secret)
        vectors.append({"name": name, "gateway_secret_key": gateway_secret.hex(),
                        "gateway_public_key": gateway_public.hex(),
                        "ephemeral_secret_key": ephemeral_secret.hex(),
                        "content_key": content_key.hex(), "sealed": sealed.hex()})
    return vectors


TREE = {"a.txt": 5, "sub/b.bin": 600, "sub/deeper/c": 0, "z.csv": 513, "sub/a-b": 1}


def packing_vector() -> dict[str, object]:
    """A folder as dapp/packing.py packs it (the browser's src/packing.ts must agree)."""
    files = {path: _fixed(f"tar/{path}", size) for path, size in TREE.items()}
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for path, data in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        plan = plan_pack(root)
        packed = b"".join(iter_packed(root, plan))
    return {"files": {path: data.hex() for path, data in files.items()},
            "packed_size": plan.size, "packed": packed.hex(),
            "packed_sha256": hashlib.sha256(packed).hexdigest(),
            "listed": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in plan.files]}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def publish_metadata_vector() -> dict[str, object]:
    """The metadata `datadao publish FILE --gateway THIS --provider P` writes with a recovery
    key: the browser's publish page must write the same document for the same choices (this
    gateway ticked, P ticked, the `keys recovery show` line pasted). Sealed boxes are random in
    real use; fixed bytes stand for them here."""
    this_gateway, provider = (_b64(_fixed(f"metadata/{n}", 32)) for n in ("this", "provider"))
    recovery = _b64(_fixed("metadata/recovery", 32))
    chosen = [this_gateway, provider, this_gateway]  # a provider at this gateway: once
    recipients = sealing_recipients(chosen, [recovery])
    sealed = {key: _b64(_fixed(f"metadata/sealed/{key}", 80)) for key in recipients}
    data = _fixed("metadata/file", 1_000)
    created_at = datetime(2026, 12, 6, 7, 8, 9, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rain.csv"
        path.write_bytes(data)
        request = ContentRequest(path=path, title="Rain", license_text="CC-BY-4.0",
                                 description="Hourly rain", tags=("rain", "weather"),
                                 gateway_keys=recipients)
        document = build_metadata(request, plan_pack(path), [
            SealedKey(gateway_public_key=key, sealed_key=sealed[key]) for key in recipients])
    document = document.model_copy(update={"created_at": created_at})
    return {"form": {"title": "Rain", "description": "Hourly rain", "kind": "dataset",
                     "tags": "Rain, weather", "license": "CC-BY-4.0"},
            "file": {"name": "rain.csv", "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()},
            "chosen_gateway_keys": chosen,
            "recovery_show": shown_recovery_key(recovery, Path("/home/me/.datadao/keystore/"
                                                               "recovery/recovery-key.json")),
            "sealed": sealed, "created_at": created_at.isoformat(),
            "document": document.to_canonical_json().decode("utf-8")}


def build() -> dict[str, object]:
    return {"description": "DDX1 test vectors; see docs/DDX1.md. Generated by "
                           "tools/ddx1_vectors.py: do not edit by hand.",
            "segments": segment_vectors(), "sealed_keys": sealed_key_vectors(),
            "packing": packing_vector(), "publish_metadata": publish_metadata_vector()}


def main() -> int:
    OUT.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
