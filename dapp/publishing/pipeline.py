"""Publishing a file or folder: pack → key → metadata → encrypt → IPFS → pin → transaction.

Every step before the transaction is checked first (metadata validated, the publish call
dry-run with stand-in CIDs), so the long upload starts only when the transaction should pass.
The upload streams: the packer reads files in chunks (each file once: its sha256 for the
metadata is computed on the way), the encryptor holds one segment, the IPFS client sends as it
reads — memory does not grow with the size of the upload. The metadata document is therefore
checked before the upload with stand-in digests and built for real after it.

A failure after the upload and before the transaction is mined leaves the chain untouched.
The upload is unpinned again when the IPFS client can (`unpin`), else its CIDs are named in
the error. Running the same publish again packs the same bytes (same `packed_sha256`) but
draws a new content key, so the encrypted content and its CID are new; nothing else differs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3

from dapp.crypto.sealing import seal_key
from dapp.crypto.segments import (
    CIPHER_NAME,
    DEFAULT_SEGMENT_SIZE,
    SegmentLayout,
    encrypt_stream,
    generate_content_key,
)
from dapp.errors import DappError, InvalidInput
from dapp.ipfs.client import IpfsClient
from dapp.market.private_inference import MODEL_FILE as PRIVATE_MODEL_FILE
from dapp.market.private_inference import parse_model
from dapp.metadata import AssetMetadata, ContentInfo, FileEntry, ModelService, SealedKey
from dapp.packing import PackPlan, PackStream, plan_pack
from dapp.publishing.exchange import Exchange, OfferTerms
from dapp.publishing.marketplace import asset_document, encode_document, licence_document
from dapp.publishing.units import kind_index

GOVERNOR_PROPOSE = "propose(address[],uint256[],bytes[],string)"
# Stands in for the files' digests while the metadata is checked before the upload.
UNKNOWN_SHA256 = "0" * 64


class GatewayKeysNeeded(InvalidInput):
    """Encrypted content with no gateway key to seal its content key to."""

    code = "gateway-keys-needed"


class OpenWithGatewayKeys(InvalidInput):
    """Open (unencrypted) content given gateway keys, which it cannot use."""

    code = "open-with-gateway-keys"


def _check_offers(offers: Sequence[OfferTerms]) -> None:
    if not offers:
        raise InvalidInput("an asset needs at least one offer",
                           hint="give it an offer (a price, and its terms)")


class PublishObserver(Protocol):
    """What a front end wants to know while a publish runs (the CLI draws progress bars)."""

    def stage(self, text: str) -> None: ...

    def upload_progress(self, done: int, total: int) -> None: ...


class SilentObserver:
    def stage(self, text: str) -> None:
        pass

    def upload_progress(self, done: int, total: int) -> None:
        pass


@dataclass(frozen=True)
class ContentRequest:
    """What to upload and how to describe it."""

    path: Path
    title: str
    license_text: str
    kind: str = "dataset"
    description: str = ""
    tags: tuple[str, ...] = ()
    gateway_keys: tuple[str, ...] = ()
    open: bool = False
    segment_size: int = DEFAULT_SEGMENT_SIZE
    service: ModelService | None = None  # a model's tasks and schemas


@dataclass(frozen=True)
class UploadedContent:
    content_cid: str
    metadata_cid: str
    metadata: AssetMetadata
    packed_sha256: str
    packed_size: int
    stored_size: int  # bytes on IPFS: the DDX1 file, or the packed bytes of an open asset


@dataclass(frozen=True)
class PublishResult:
    asset_id: int
    version: int
    owner: str
    tx_hash: str
    block: int
    gas_used: int
    content: UploadedContent


@dataclass(frozen=True)
class MarketplaceUris:
    """What `tokenURI` (asset NFT) and `uri` (its licence tokens) now return."""

    token_uri: str
    license_token_uri: str
    image_cid: str | None


@dataclass(frozen=True)
class Proposal:
    """A transaction for a DAO to vote on, instead of sending it."""

    dao: str
    target: str
    calldata: str
    propose_calldata: str
    description: str
    content: UploadedContent


def build_metadata(request: ContentRequest, plan: PackPlan,
                   sealed_keys: Sequence[SealedKey]) -> AssetMetadata:
    """The metadata document; raises `InvalidMetadata` before anything is uploaded. The
    plan's files must carry their digests (see `UNKNOWN_SHA256` for a check before them)."""
    if request.open:
        content = ContentInfo(encrypted=False, plaintext_size=plan.size)
    else:
        content = ContentInfo(encrypted=True, cipher=CIPHER_NAME,
                              segment_size=request.segment_size, plaintext_size=plan.size)
    document = {
        "schema": "datadao/asset-metadata@1",
        "title": request.title,
        "description": request.description,
        "kind": request.kind,
        "tags": list(request.tags),
        "license": request.license_text,
        "size": plan.size,
        "files": [FileEntry(path=f.path, size=f.size, sha256=f.sha256).model_dump()
                  for f in plan.files],
        "content": content.model_dump(exclude_none=True),
        "sealed_keys": [key.model_dump() for key in sealed_keys],
        **({"service": request.service.model_dump()} if request.service else {}),
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    private = request.path / PRIVATE_MODEL_FILE
    if request.kind == "model" and request.path.is_dir() and private.is_file():
        # a private (CKKS) model declares itself: buyers see its input size before paying
        model = parse_model(private.read_bytes())
        document["private_inference"] = {"scheme": "ckks", "input_size": model.input_size}
    return AssetMetadata.from_json(json.dumps(document).encode("utf-8"))


def _with_unknown_digests(plan: PackPlan) -> PackPlan:
    return replace(plan, files=[file._replace(sha256=UNKNOWN_SHA256) for file in plan.files])


def governor_propose_calldata(target: str, calldata: str, description: str) -> str:
    """OpenZeppelin Governor `propose([target], [0], [calldata], description)`."""
    selector = function_signature_to_4byte_selector(GOVERNOR_PROPOSE)
    arguments = encode(["address[]", "uint256[]", "bytes[]", "string"],
                       [[target], [0], [bytes(HexBytes(calldata))], description])
    return HexBytes(selector + arguments).to_0x_hex()


class PublishPipeline:
    def __init__(self, ipfs: IpfsClient, exchange: Exchange,
                 observer: PublishObserver | None = None) -> None:
        self.ipfs = ipfs
        self.exchange = exchange
        self.observer = observer or SilentObserver()

    # ---- upload --------------------------------------------------------------------------
    def upload(self, request: ContentRequest) -> UploadedContent:
        """Pack, encrypt (unless open), add and pin content and metadata; nothing on chain."""
        if not request.open and not request.gateway_keys:
            raise GatewayKeysNeeded("no gateway to seal the content key to",
                                    hint="give a gateway's public key or URL, or publish it "
                                         "open (unencrypted)")
        if request.open and request.gateway_keys:
            raise OpenWithGatewayKeys("an open asset is not encrypted, so it has no gateway keys",
                                      hint="give no gateway keys, or do not publish it open")
        self.observer.stage(f"reading {request.path}")
        plan = plan_pack(request.path, digests=False)
        content_key = None if request.open else generate_content_key()
        sealed = [SealedKey(gateway_public_key=key, sealed_key=seal_key(content_key, key))
                  for key in request.gateway_keys] if content_key else []
        build_metadata(request, _with_unknown_digests(plan), sealed)  # fail before uploading
        packed = PackStream(request.path, plan)
        if content_key is None:
            stored_size, stream = plan.size, iter(packed)
        else:
            stored_size = SegmentLayout(plan.size, request.segment_size).ciphertext_size
            stream = encrypt_stream(content_key, packed, plan.size, request.segment_size)
        self.observer.stage("uploading content" + ("" if request.open else " (encrypted)"))
        self.observer.upload_progress(0, stored_size)
        added = self.ipfs.add_chunks(
            stream, pin=True,
            on_progress=lambda done: self.observer.upload_progress(done, stored_size))
        metadata = build_metadata(request, replace(plan, files=packed.files), sealed)
        self.observer.stage("uploading metadata")
        metadata_added = self.ipfs.add_bytes(metadata.to_canonical_json(), pin=True)
        return UploadedContent(
            content_cid=added.cid, metadata_cid=metadata_added.cid, metadata=metadata,
            packed_sha256=packed.sha256, packed_size=plan.size, stored_size=stored_size)

    def _release(self, uploaded: UploadedContent, error: DappError) -> DappError:
        """After a failed transaction: unpin the upload if the client can, and say so."""
        unpin = getattr(self.ipfs, "unpin", None)
        cids = f"content {uploaded.content_cid}, metadata {uploaded.metadata_cid}"
        released = False
        if callable(unpin):
            try:
                for cid in (uploaded.content_cid, uploaded.metadata_cid):
                    unpin(cid)
                released = True
            except DappError:
                pass
        note = (f"nothing was published on chain; the upload ({cids}) was unpinned"
                if released else
                f"nothing was published on chain; the upload ({cids}) stays pinned, "
                "`ipfs pin rm` it if you do not retry")
        error.hint = f"{error.hint}; {note}" if error.hint else note
        error.add_note(note)  # kept by a client that says the hint in its own words
        return error

    # ---- on chain ------------------------------------------------------------------------
    def publish(self, request: ContentRequest, curator_share_bps: int,
                offers: Sequence[OfferTerms]) -> PublishResult:
        _check_offers(offers)
        kind = kind_index(request.kind)
        self.observer.stage("checking the publish transaction")
        self.exchange.check_publish(kind, curator_share_bps, offers)
        uploaded = self.upload(request)
        self.observer.stage("sending the publish transaction")
        try:
            asset_id, sent = self.exchange.publish(kind, uploaded.content_cid,
                                                   uploaded.metadata_cid, curator_share_bps,
                                                   offers)
        except DappError as error:
            raise self._release(uploaded, error) from error
        assert self.exchange.sender is not None
        return PublishResult(asset_id=asset_id, version=1, owner=self.exchange.sender.address,
                             tx_hash=sent.tx_hash, block=sent.block_number,
                             gas_used=sent.gas_used, content=uploaded)

    def publish_marketplace_documents(self, result: PublishResult, request: ContentRequest,
                                      image: bytes | None = None) -> MarketplaceUris | None:
        """Upload and pin the marketplace documents (and the image) beside the asset's
        metadata, and point the asset's `tokenURI` and licence tokens' `uri` at them (None:
        the deployment has no LicenseTokens)."""
        if self.exchange.license_tokens is None:
            return None
        self.observer.stage("uploading the marketplace documents")
        image_cid = None if image is None else self.ipfs.add_bytes(image, pin=True).cid
        asset = asset_document(
            title=request.title, description=request.description, kind=request.kind,
            tags=list(request.tags), license_text=request.license_text,
            metadata_cid=result.content.metadata_cid, content_cid=result.content.content_cid,
            image_cid=image_cid)
        asset_cid = self.ipfs.add_bytes(encode_document(asset), pin=True).cid
        licence_cid = self.ipfs.add_bytes(encode_document(licence_document(asset, result.asset_id)),
                                          pin=True).cid
        uris = MarketplaceUris(f"ipfs://{asset_cid}", f"ipfs://{licence_cid}", image_cid)
        self.observer.stage("sending the marketplace documents' transaction")
        self.exchange.set_marketplace_uris(result.asset_id, uris.token_uri,
                                           uris.license_token_uri)
        return uris

    def propose_publish(self, request: ContentRequest, curator_share_bps: int,
                        offers: Sequence[OfferTerms], dao: str) -> Proposal:
        """Upload, then return the publish call for DAO `dao` to vote on (nothing is sent)."""
        if not Web3.is_address(dao):
            raise InvalidInput(f"DAO {dao!r} is not an address")
        _check_offers(offers)
        kind = kind_index(request.kind)
        uploaded = self.upload(request)
        call = self.exchange.publish_call(kind, uploaded.content_cid, uploaded.metadata_cid,
                                          curator_share_bps, offers)
        target, calldata = str(call.address), call._encode_transaction_data()
        description = f"Publish {request.kind} \"{request.title}\" ({uploaded.content_cid})"
        return Proposal(dao=Web3.to_checksum_address(dao), target=target, calldata=calldata,
                        propose_calldata=governor_propose_calldata(target, calldata,
                                                                   description),
                        description=description, content=uploaded)

    def previous_request(self, asset_id: int, path: Path) -> ContentRequest:
        """A request for a new version described like the asset's latest one (same title,
        license, tags, gateways; open if it was open)."""
        asset = self.exchange.asset(asset_id)
        metadata = AssetMetadata.from_json(self.ipfs.cat_bytes(asset.metadata_cid))
        return ContentRequest(
            path=path, title=metadata.title, license_text=metadata.license, kind=asset.kind,
            description=metadata.description, tags=tuple(metadata.tags),
            gateway_keys=tuple(key.gateway_public_key for key in metadata.sealed_keys),
            open=not metadata.content.encrypted,
            segment_size=metadata.content.segment_size or DEFAULT_SEGMENT_SIZE,
            service=metadata.service)

    def add_version(self, asset_id: int, request: ContentRequest) -> PublishResult:
        """A new version under a new content key; the asset's kind cannot change."""
        self.observer.stage(f"checking asset {asset_id}")
        self.exchange.check_owner(asset_id)
        asset = self.exchange.asset(asset_id)
        if request.kind != asset.kind:
            request = replace(request, kind=asset.kind)
        uploaded = self.upload(request)
        self.observer.stage("sending the version transaction")
        try:
            version, sent = self.exchange.add_version(asset_id, uploaded.content_cid,
                                                      uploaded.metadata_cid)
        except DappError as error:
            raise self._release(uploaded, error) from error
        return PublishResult(asset_id=asset_id, version=version, owner=asset.owner,
                             tx_hash=sent.tx_hash, block=sent.block_number,
                             gas_used=sent.gas_used, content=uploaded)
