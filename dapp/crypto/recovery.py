"""The publisher's recovery key: an X25519 key pair every publish also seals the content key to,
so the publisher can decrypt their own content from IPFS and re-seal it to another gateway
without any gateway.

It is stored in a 0600 file next to the keystore's accounts, its secret half encrypted under a
password exactly as an account's key is (Ethereum keystore v3: scrypt, AES-128-CTR, a MAC);
the public half is in clear, so a publish seals to it without asking for the password. The
unlocked key pair exists only in the process that asked for it, never in a repr or a pickle.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from pathlib import Path
from typing import Any

from eth_keyfile import create_keyfile_json, decode_keyfile_json
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey

from dapp.crypto.sealing import GatewayKeyPair, SealedKeyError
from dapp.errors import DappError, InvalidInput, NotFound

RECOVERY_FILE_KIND = "datadao/recovery-x25519-key@1"
MIN_PASSWORD = 8


class RecoveryKeyMissing(NotFound):
    """No recovery key file where one was looked for."""

    code = "recovery-key-missing"
    exit_code = 2


class RecoveryKeyFileError(DappError):
    """The recovery key file is unreadable, malformed, readable by others or already there."""

    code = "recovery-key-file"
    exit_code = 2


class WrongRecoveryPassword(DappError):
    code = "wrong-recovery-password"
    exit_code = 2


class NotSealedToRecoveryKey(SealedKeyError):
    """A version whose metadata has no content key sealed to this recovery key."""

    code = "not-sealed-to-recovery-key"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def create_recovery_key(path: Path, password: str) -> str:
    """Write a new recovery key to `path` (0600, never over an existing one); its public key."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    if path.exists():
        raise RecoveryKeyFileError(
            f"a recovery key already exists at {path}",
            hint="keep it: the assets published so far are sealed to it")
    secret = PrivateKey.generate()
    document = {"kind": RECOVERY_FILE_KIND, "public_key": _b64(bytes(secret.public_key)),
                "crypto": create_keyfile_json(bytes(secret), password.encode("utf-8"),
                                              kdf="scrypt")}
    document["crypto"].pop("address", None)  # an Ethereum address of it means nothing
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out)
        out.write("\n")
    return str(document["public_key"])


def _document(path: Path) -> dict[str, Any]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecoveryKeyMissing(f"no recovery key at {path}",
                                 hint="create one with the recovery key command") from None
    except OSError as error:
        raise RecoveryKeyFileError(f"cannot read recovery key {path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RecoveryKeyFileError(f"recovery key {path} is readable by others",
                                   hint=f"run: chmod 600 {path}")
    try:
        document = json.loads(text)
        if document["kind"] != RECOVERY_FILE_KIND or not isinstance(document["crypto"], dict):
            raise ValueError(document["kind"])
        public = base64.b64decode(document["public_key"], validate=True)
        if len(public) != PrivateKey.SIZE:
            raise ValueError("public key size")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise RecoveryKeyFileError(f"{path} is not a recovery key file") from None
    return dict(document)


def recovery_public_key(path: Path) -> str:
    """The public key of the recovery key at `path` (no password needed)."""
    return str(_document(path)["public_key"])


def unlock_recovery_key(path: Path, password: str) -> GatewayKeyPair:
    """The recovery key pair, once `password` opens it and it matches its public key."""
    document = _document(path)
    try:
        secret = decode_keyfile_json(document["crypto"], password.encode("utf-8"))
    except ValueError:
        raise WrongRecoveryPassword(f"wrong password for the recovery key {path}") from None
    try:
        keypair = GatewayKeyPair(PrivateKey(bytes(secret)))
    except (CryptoError, TypeError, ValueError):
        raise RecoveryKeyFileError(f"{path} holds no X25519 secret key") from None
    if keypair.public_key_b64 != document["public_key"]:
        raise RecoveryKeyFileError(f"{path}: public key does not match the secret key")
    return keypair
