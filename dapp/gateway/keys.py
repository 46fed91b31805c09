"""The gateway's X25519 key pair: loaded at startup, created on the first start.

Publishers seal each content key to this key's public half (`GET /v1/gateway`); only this
gateway opens them. The file is 0600 and is created atomically (written to a private temp
file, then hard-linked into place), so replicas starting at once agree on one key.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from dapp.crypto.sealing import GatewayKeyPair


def load_or_create_gateway_keypair(path: Path) -> GatewayKeyPair:
    """The key pair in `path`; a new one saved there if the file does not exist yet."""
    if path.exists():
        return GatewayKeyPair.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    GatewayKeyPair.generate().save(candidate)
    try:
        os.link(candidate, path)  # fails if another process got there first: use theirs
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
    return GatewayKeyPair.load(path)
