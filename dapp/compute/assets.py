"""A job's inputs on local disk: the dataset (its latest version on chain) and the algorithm
(the version the dataset's compute policy names, `dapp.compute.permission`), read from IPFS
and decrypted with the content key sealed to this gateway.

Size before bytes: Kubo is asked what the content CID's root declares (`IpfsClient.stat`)
before a byte is read; content over `max_content_bytes`, or not of the size its metadata
declares (the DDX1 ciphertext of `plaintext_size`), is refused (`AssetUnusable`, the job fails
with that reason), and the read is bounded by the declared size.

A single-file asset is written under its own name; a packed folder (a deterministic tar, see
`dapp.packing`) is unpacked with `dapp.packing.unpack_archive`, the same code as a metered
call's model: members adding up to at most `max_content_bytes` unpacked, no sparse member,
tarfile's `data` filter (no links out, no devices, no absolute paths). The result is made
read-only (files 0444, folders 0555).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dapp.chain.constants import AssetKind
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key
from dapp.crypto.segments import decrypt_stream, stored_size
from dapp.errors import DappError
from dapp.ipfs.cid import cid_from_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata
from dapp.packing import ArchiveRefused, unpack_archive

#: default cap of a job input (`Settings.max_content_bytes`)
MAX_CONTENT_BYTES = 4 << 30


class AssetUnusable(DappError):
    """The asset cannot be used for this job (not sealed to us, corrupt, no entry point)."""

    code = "asset-unusable"
    http_status = 422


@dataclass(frozen=True)
class FetchedAsset:
    asset_id: int
    kind: str
    path: Path  # the file, or the folder of a packed asset
    metadata: AssetMetadata


def is_archive(metadata: AssetMetadata) -> bool:
    """A packed folder (a tar) rather than one file stored as is (`dapp.packing`)."""
    files = metadata.files
    return not (len(files) == 1 and files[0].size == metadata.size)


class AssetFetcher:
    def __init__(self, registry: Any, ipfs: IpfsClient, keypair: GatewayKeyPair,
                 metadata_max_bytes: int = 1 << 20,
                 max_content_bytes: int = MAX_CONTENT_BYTES) -> None:
        self.registry = registry  # a web3 AssetRegistry contract
        self.ipfs = ipfs
        self.keypair = keypair
        self.metadata_max_bytes = metadata_max_bytes
        self.max_content_bytes = max_content_bytes

    def fetch(self, asset_id: int, into: Path, version: int | None = None) -> FetchedAsset:
        """Version `version` of the asset (None: its latest) under `into` (a new folder)."""
        kind = AssetKind.label_of(int(self.registry.functions.assetInfo(asset_id).call()[0]))
        read = self.registry.functions.latestVersion(asset_id) if version is None else \
            self.registry.functions.version(asset_id, version)
        (content, metadata_cid, _published) = read.call()
        content_cid = cid_from_chain(bytes(content[0]), int(content[1]))
        metadata = AssetMetadata.from_json(
            self._read_limited(cid_from_chain(bytes(metadata_cid[0]), int(metadata_cid[1]))))
        stored = self._checked_size(asset_id, content_cid, metadata)
        into.mkdir(parents=True)
        packed = into.with_name(into.name + ".packed")
        size = self._write_plaintext(content_cid, metadata, packed, stored)
        if size != metadata.size:
            raise AssetUnusable(f"asset {asset_id} decrypts to {size} bytes, its metadata "
                                f"says {metadata.size}")
        if is_archive(metadata):
            _extract(packed, into, self.max_content_bytes, asset_id)
            packed.unlink()
            path = into
        else:
            path = into / Path(metadata.files[0].path).name
            packed.rename(path)
            _check_digest(path, metadata.files[0].sha256, asset_id)
        _make_read_only(into)
        return FetchedAsset(asset_id, kind, path, metadata)

    def _read_limited(self, cid: str) -> bytes:
        data = bytearray()
        for chunk in self.ipfs.cat(cid, 0, self.metadata_max_bytes + 1):
            data += chunk
        return bytes(data)

    def _checked_size(self, asset_id: int, cid: str, metadata: AssetMetadata) -> int:
        """The content's size as its metadata declares it, once Kubo says the CID's root
        declares the same and it is within the cap; AssetUnusable otherwise."""
        declared = stored_size(metadata.content)
        cap = self.max_content_bytes
        if declared > cap:
            raise AssetUnusable(f"asset {asset_id}'s content is {declared} bytes, over this "
                                f"provider's cap of {cap} bytes (max_content_bytes)")
        stat = self.ipfs.stat(cid)
        if stat.kind != "file" or stat.size != declared:
            raise AssetUnusable(f"asset {asset_id}'s content {cid} is a {stat.size}-byte "
                                f"{stat.kind} on IPFS; its metadata declares {declared} bytes")
        return declared

    def _write_plaintext(self, cid: str, metadata: AssetMetadata, target: Path,
                         stored: int) -> int:
        chunks = self.ipfs.cat(cid, 0, stored + 1)  # never more than declared (+1 to notice)
        if metadata.content.encrypted:
            chunks = decrypt_stream(self._content_key(metadata), chunks)
        size = 0
        with target.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        return size

    def _content_key(self, metadata: AssetMetadata) -> bytes:
        mine = self.keypair.public_key_b64
        sealed = next((s.sealed_key for s in metadata.sealed_keys
                       if s.gateway_public_key == mine), None)
        if sealed is None:
            raise AssetUnusable(f"the content key of {metadata.title!r} is not sealed to this "
                                "gateway", hint="publish a version sealed to GET /v1/gateway")
        return open_sealed_key(sealed, self.keypair)


def entry_point(algorithm: FetchedAsset) -> Path:
    """The script to run: the asset itself if it is one .py file, else `main.py` at the top of
    the folder, else the folder's only .py file."""
    path = algorithm.path
    if path.is_file():
        if path.suffix != ".py":
            raise AssetUnusable(f"algorithm {algorithm.asset_id} is {path.name}, not a .py file")
        return path
    main = path / "main.py"
    if main.is_file():
        return main
    scripts = sorted(path.rglob("*.py"))
    if len(scripts) == 1:
        return scripts[0]
    raise AssetUnusable(f"algorithm {algorithm.asset_id} has no main.py and "
                        f"{len(scripts)} .py files", hint="name the entry point main.py")


def _extract(archive: Path, into: Path, max_bytes: int, asset_id: int) -> None:
    try:
        unpack_archive(archive, into, max_bytes)
    except ArchiveRefused as error:
        raise AssetUnusable(f"asset {asset_id} is not unpacked: {error.message}",
                            hint=error.hint) from None


def _check_digest(path: Path, expected: str, asset_id: int) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise AssetUnusable(f"asset {asset_id}'s file does not match its sha256 in the metadata")


def _make_read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o555)
    os.chmod(root, 0o555)
