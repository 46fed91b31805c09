"""What the publisher does with their recovery key: decrypt their own content straight from
IPFS, and re-seal an asset's content key to more gateways in a new version over the same
content CID (nothing is uploaded again but a new metadata document).

The content key is opened on this machine from the entry sealed to the recovery key's public
key; the secret key never leaves the process, and the new metadata carries only sealed boxes.
Only the asset's owner can add the version: `check_owner` says so before anything is pinned,
and the registry's `addVersion` reverts `NotAssetOwner` for anyone else whatever a client does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from dapp.crypto.recovery import NotSealedToRecoveryKey
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key, seal_key
from dapp.crypto.segments import decrypt_stream
from dapp.errors import DappError, InvalidInput
from dapp.ipfs.client import IpfsClient
from dapp.metadata import MAX_METADATA_BYTES, AssetMetadata, SealedKey
from dapp.publishing.exchange import Exchange

NOT_SEALED_HINT = ("it was published without your recovery key (from the browser, without "
                   "it, or before the key existed): only a gateway it is sealed to can "
                   "serve it")


class OpenAssetHasNoKey(InvalidInput):
    """An open (unencrypted) asset: there is no content key to open or re-seal."""

    code = "open-asset-has-no-key"


class AlreadySealed(InvalidInput):
    """Every gateway asked for can already open the latest version's content key."""

    code = "already-sealed"


def recovered_content_key(metadata: AssetMetadata, recovery: GatewayKeyPair) -> bytes:
    """The content key of `metadata`'s version, opened with the publisher's recovery key."""
    if not metadata.content.encrypted:
        raise OpenAssetHasNoKey("this version is open (not encrypted): it has no content key",
                                hint="read it from IPFS as it is (`ipfs cat CONTENT_CID`)")
    mine = recovery.public_key_b64
    sealed = next((s.sealed_key for s in metadata.sealed_keys
                   if s.gateway_public_key == mine), None)
    if sealed is None:
        raise NotSealedToRecoveryKey("this version's content key is not sealed to your "
                                     "recovery key", hint=NOT_SEALED_HINT,
                                     details={"recovery_public_key": mine})
    return open_sealed_key(sealed, recovery)


def recovered_plaintext(ipfs: IpfsClient, content_cid: str, metadata: AssetMetadata,
                        recovery: GatewayKeyPair) -> Iterator[bytes]:
    """The version's plaintext, decrypted from IPFS with the recovery key (every segment's
    tag checked: a wrong byte ends in `ContentIntegrityError`, never in plaintext)."""
    key = recovered_content_key(metadata, recovery)
    return decrypt_stream(key, ipfs.cat(content_cid))


class NotSealedTo(InvalidInput):
    """A key asked to be removed that the latest version is not sealed to."""

    code = "not-sealed-to"


class KeepsRecoveryKey(InvalidInput):
    """Removing the publisher's own recovery key: nothing could re-seal the asset after it."""

    code = "keeps-recovery-key"


def resealed_metadata(metadata: AssetMetadata, content_key: bytes,
                      gateway_keys: Sequence[str], removed: Sequence[str] = (),
                      recovery_key: str | None = None) -> AssetMetadata:
    """`metadata` with the content key also sealed to each of `gateway_keys` not yet in it
    (each in a box of its own: a fresh ephemeral key per box) and without the boxes of
    `removed`, dated now."""
    present = {s.gateway_public_key for s in metadata.sealed_keys}
    gone = list(dict.fromkeys(removed))
    for key in gone:
        if key == recovery_key:
            raise KeepsRecoveryKey("that is your recovery key: the asset stays sealed to it",
                                   hint="remove gateways only")
        if key not in present:
            raise NotSealedTo(f"the latest version is not sealed to {key}",
                              hint="the version's metadata (sealed_keys) lists its keys")
    added = [key for key in dict.fromkeys(gateway_keys) if key not in present]
    if not added and not gone:
        raise AlreadySealed("the latest version is already sealed to every gateway given",
                            hint="those gateways can serve it as it is")
    sealed = [*(s for s in metadata.sealed_keys if s.gateway_public_key not in gone),
              *(SealedKey(gateway_public_key=key, sealed_key=seal_key(content_key, key))
                for key in added)]
    document = metadata.model_copy(update={
        "sealed_keys": sealed,
        "created_at": datetime.now(UTC).replace(microsecond=0)})
    return AssetMetadata.from_json(document.to_canonical_json())  # validated again


@dataclass(frozen=True)
class Resealed:
    asset_id: int
    version: int
    content_cid: str
    metadata_cid: str
    metadata: AssetMetadata
    added: tuple[str, ...]
    removed: tuple[str, ...]
    tx_hash: str
    block: int


def reseal(ipfs: IpfsClient, exchange: Exchange, asset_id: int, gateway_keys: Sequence[str],
           recovery: GatewayKeyPair, removed: Sequence[str] = ()) -> Resealed:
    """A new version of `asset_id` over the latest version's content CID, its content key
    sealed to `gateway_keys` as well as to every recipient it had but `removed`."""
    exchange.check_owner(asset_id)
    asset = exchange.asset(asset_id)
    metadata = AssetMetadata.from_json(
        b"".join(ipfs.cat(asset.metadata_cid, length=MAX_METADATA_BYTES + 1)))
    content_key = recovered_content_key(metadata, recovery)
    resealed = resealed_metadata(metadata, content_key, gateway_keys, removed,
                                 recovery.public_key_b64)
    ipfs.pin(asset.content_cid)  # the new version names it too: keep it here
    added = ipfs.add_bytes(resealed.to_canonical_json(), pin=True)
    try:
        version, sent = exchange.add_version(asset_id, asset.content_cid, added.cid)
    except DappError:
        with suppress(DappError):
            ipfs.unpin(added.cid)  # nothing names it: do not keep it
        raise
    present = {s.gateway_public_key for s in metadata.sealed_keys}
    return Resealed(asset_id=asset_id, version=version, content_cid=asset.content_cid,
                    metadata_cid=added.cid, metadata=resealed,
                    added=tuple(k for k in dict.fromkeys(gateway_keys) if k not in present),
                    removed=tuple(dict.fromkeys(removed)),
                    tx_hash=sent.tx_hash, block=sent.block_number)
