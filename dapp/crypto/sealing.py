"""Content keys sealed to gateways: X25519 sealed boxes (libsodium `crypto_box_seal`).

A publisher seals each content key to the public key of every gateway allowed to serve the
asset and puts the sealed keys in the asset metadata; only the gateway's secret key opens them.
Keys travel as standard base64 text. The secret key lives in a 0600 file and never in a repr.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from dapp.errors import DappError, InvalidInput

KEY_FILE_KIND = "datadao/gateway-x25519-key@1"


class SealedKeyError(InvalidInput):
    """A sealed content key that cannot be opened here, or a recipient key that is not one."""

    code = "sealed-key"
    http_status = 422


class GatewayKeyFileError(DappError):
    """The gateway key file is missing, unreadable, malformed or readable by others."""

    code = "gateway-key-file"
    exit_code = 2


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise SealedKeyError(f"{what} is not valid base64") from None


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class GatewayKeyPair:
    """A gateway's X25519 key pair. Only the public half is ever shown."""

    __slots__ = ("_private_key",)

    def __init__(self, private_key: PrivateKey) -> None:
        self._private_key = private_key

    @classmethod
    def generate(cls) -> GatewayKeyPair:
        return cls(PrivateKey.generate())

    @property
    def public_key(self) -> PublicKey:
        return self._private_key.public_key

    @property
    def public_key_b64(self) -> str:
        return _b64encode(bytes(self.public_key))

    def open(self, sealed: bytes) -> bytes:
        return SealedBox(self._private_key).decrypt(sealed)

    def save(self, path: Path) -> None:
        """Write the key file readable by its owner only (0600), replacing any old one."""
        document = {"kind": KEY_FILE_KIND, "public_key": self.public_key_b64,
                    "secret_key": _b64encode(bytes(self._private_key))}
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            json.dump(document, file)
            file.write("\n")

    @classmethod
    def load(cls, path: Path) -> GatewayKeyPair:
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise GatewayKeyFileError(f"cannot read gateway key file {path}: {error.strerror}",
                                      hint="create one with the gateway's key command") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise GatewayKeyFileError(f"gateway key file {path} is readable by others",
                                      hint=f"run: chmod 600 {path}")
        try:
            document = json.loads(text)
            if document["kind"] != KEY_FILE_KIND:
                raise ValueError(document["kind"])
            keypair = cls(PrivateKey(base64.b64decode(document["secret_key"], validate=True)))
        except (ValueError, KeyError, TypeError, binascii.Error, CryptoError):
            raise GatewayKeyFileError(f"{path} is not a gateway key file") from None
        if document.get("public_key") not in (None, keypair.public_key_b64):
            raise GatewayKeyFileError(f"{path}: public key does not match the secret key")
        return keypair

    def __repr__(self) -> str:
        return f"GatewayKeyPair(public_key_b64={self.public_key_b64!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a gateway key pair is not pickled; save() it to a 0600 file")


def seal_key(content_key: bytes, recipient_public_b64: str) -> str:
    """`content_key` sealed to a gateway's public key, as base64."""
    raw_public = _b64decode(recipient_public_b64, "gateway public key")
    if len(raw_public) != PublicKey.SIZE:
        raise SealedKeyError(f"gateway public key is {len(raw_public)} bytes, not 32")
    return _b64encode(SealedBox(PublicKey(raw_public)).encrypt(content_key))


def open_sealed_key(sealed_b64: str, keypair: GatewayKeyPair) -> bytes:
    """The content key inside `sealed_b64`, or `SealedKeyError` if it is not sealed to us."""
    sealed = _b64decode(sealed_b64, "sealed key")
    try:
        return keypair.open(sealed)
    except CryptoError:
        raise SealedKeyError(
            "sealed key cannot be opened with this gateway's key",
            hint=f"it was sealed to another gateway, not {keypair.public_key_b64}") from None
