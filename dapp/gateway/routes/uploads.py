"""Publishing from the browser: resumable ciphertext uploads and the metadata document.

`POST /v1/uploads {size}` → an upload id; `PUT /v1/uploads/{id}` with `Content-Range` appends a
chunk (in order; each at most `max_request_bytes`); `GET /v1/uploads/{id}` says how much
arrived; the last chunk answers with the content's CID. `POST /v1/uploads/metadata` stores an
asset metadata document in its canonical bytes and answers its CID. All need a signed-in
account (the same sessions as downloads); see dapp/gateway/uploads.py for the limits.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from dapp.gateway.deps import AccountDep, PartsDep
from dapp.gateway.uploads import BadContentRange, Upload, parse_content_range
from dapp.ipfs.cid import cid_to_chain
from dapp.metadata import AssetMetadata

router = APIRouter(prefix="/v1", tags=["publishing"])

UploadId = Annotated[str, Path(pattern="^[0-9a-f]{32}$")]


class UploadIn(BaseModel):
    size: int = Field(ge=0, lt=1 << 63, description="bytes of the DDX1 file to upload")


class ChainCid(BaseModel):
    """A CID as `publish` takes it: `Cid{bytes32 digest; uint64 codec}`."""

    digest: str = Field(description="0x-prefixed sha2-256 digest")
    codec: int

    @classmethod
    def of(cls, cid: str) -> ChainCid:
        digest, codec = cid_to_chain(cid)
        return cls(digest="0x" + digest.hex(), codec=codec)


class UploadOut(BaseModel):
    id: str
    size: int
    received: int = Field(description="bytes stored so far: the next chunk starts here")
    cid: str | None = Field(description="the content's CID once the last byte arrived")
    chain: ChainCid | None = Field(None, description="the CID as `publish` takes it")


class MetadataOut(BaseModel):
    cid: str
    chain: ChainCid
    size: int
    sha256: str = Field(description="of the canonical bytes stored")


def _out(upload: Upload) -> UploadOut:
    return UploadOut(id=upload.id, size=upload.size, received=upload.received, cid=upload.cid,
                     chain=ChainCid.of(upload.cid) if upload.cid else None)


@router.post("/uploads", response_model=UploadOut, status_code=201)
def start_upload(body: UploadIn, account: AccountDep, parts: PartsDep) -> UploadOut:
    """Start an upload of `size` bytes of DDX1 ciphertext (docs/DDX1.md)."""
    return _out(parts.uploads.start(account, body.size))


@router.get("/uploads/{upload_id}", response_model=UploadOut)
def upload_status(upload_id: UploadId, account: AccountDep, parts: PartsDep) -> UploadOut:
    """How much of the upload arrived (resume from `received`), and its CID once complete."""
    return _out(parts.uploads.get(account, upload_id))


@router.put("/uploads/{upload_id}", response_model=UploadOut)
async def upload_chunk(upload_id: UploadId, request: Request, account: AccountDep,
                       parts: PartsDep) -> UploadOut:
    """Append the bytes of `Content-Range: bytes START-END/SIZE`; START must be `received`.
    The chunk that completes the upload answers with the CID."""
    upload = parts.uploads.get(account, upload_id)
    start, end = parse_content_range(request.headers.get("content-range"), upload.size)
    data = await request.body()  # bounded by BodySizeLimit (max_request_bytes)
    if len(data) != end - start + 1:
        raise BadContentRange(f"Content-Range names {end - start + 1} bytes, the body has "
                              f"{len(data)}")
    written = await anyio.to_thread.run_sync(parts.uploads.write, account, upload_id, start, data)
    if written.received == written.size and written.cid is None:
        written = await anyio.to_thread.run_sync(parts.uploads.complete, written,
                                                 parts.services.ipfs)
    return _out(written)


@router.post("/uploads/metadata", response_model=MetadataOut, status_code=201)
async def upload_metadata(request: Request, account: AccountDep, parts: PartsDep
                          ) -> MetadataOut:
    """Validate an asset metadata document (`datadao/asset-metadata@1`) and store its
    canonical bytes (sorted keys, no spaces: what the CLI writes) on IPFS."""
    del account  # signed in is what it takes
    canonical = AssetMetadata.from_json(await request.body()).to_canonical_json()
    added = await anyio.to_thread.run_sync(
        lambda: parts.services.ipfs.add_bytes(canonical, pin=True))
    return MetadataOut(cid=added.cid, chain=ChainCid.of(added.cid), size=len(canonical),
                       sha256=hashlib.sha256(canonical).hexdigest())
