"""The public metadata JSON of an asset version, read from IPFS once per CID (content-
addressed, so it never changes) into `cid_metadata` + `metadata_tags` for the catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, insert

from dapp.ipfs.client import IpfsClient
from dapp.store.models import CidMetadata, MetadataTag

MAX_TAGS = 50


@dataclass(frozen=True)
class CatalogFields:
    title: str = ""
    description: str = ""
    size: int | None = None
    tags: list[str] = field(default_factory=list)


def catalog_fields(document: dict[str, Any]) -> CatalogFields:
    """The fields the catalog filters and shows; anything else stays in the document."""
    tags = document.get("tags")
    size = document.get("size")
    return CatalogFields(
        title=str(document.get("title") or document.get("name") or "")[:500],
        description=str(document.get("description") or ""),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        tags=sorted({str(t).strip().lower()[:100] for t in tags if str(t).strip()})[:MAX_TAGS]
        if isinstance(tags, list) else [],
    )


def read_document(ipfs: IpfsClient, cid: str, max_bytes: int) -> dict[str, Any]:
    data = b"".join(ipfs.cat(cid, length=max_bytes + 1))
    if len(data) > max_bytes:
        raise ValueError(f"metadata is larger than {max_bytes} bytes")
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError("metadata is not a JSON object")
    return document


def store_metadata(engine: Engine, ipfs: IpfsClient, cid: str, max_bytes: int) -> None:
    """Read and store one metadata document; an unreadable one is stored with its error.
    IPFS being unavailable propagates (the pin is retried)."""
    try:
        document: dict[str, Any] | None = read_document(ipfs, cid, max_bytes)
        error = None
    except (ValueError, UnicodeDecodeError) as problem:
        document, error = None, str(problem)[:1000]
    fields = catalog_fields(document) if document is not None else CatalogFields()
    with engine.begin() as connection:
        connection.execute(delete(MetadataTag).where(MetadataTag.cid == cid))
        connection.execute(delete(CidMetadata).where(CidMetadata.cid == cid))
        connection.execute(insert(CidMetadata).values(
            cid=cid, title=fields.title, description=fields.description, size=fields.size,
            document=document, error=error))
        if fields.tags:
            connection.execute(insert(MetadataTag), [{"cid": cid, "tag": t} for t in fields.tags])
