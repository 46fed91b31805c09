"""The public metadata JSON of an asset version, read from IPFS once per CID (content-
addressed, so it never changes) into `cid_metadata` + `metadata_tags` for the catalog.

A document is validated as `datadao/asset-metadata@1` (`AssetMetadata.from_json`); a valid
one gives the catalog its title, description, size and tags, and a model's the tasks it
serves (`metadata_tasks`, for `GET /v1/models?task=`). One that is JSON but not valid
is kept with `schema_error` saying why, and the catalog gets what it can read of those four
fields (so an asset with a sloppy document can still be found); one that is not a JSON
object at all is kept with `error` and nothing else. Neither stops the pinner or the indexer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, insert

from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.store.models import CidMetadata, MetadataTag, MetadataTask

MAX_TAGS = 50


@dataclass(frozen=True)
class CatalogFields:
    title: str = ""
    description: str = ""
    size: int | None = None
    tags: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)  # a valid model document's only


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


def validated_fields(metadata: AssetMetadata) -> CatalogFields:
    tasks = sorted(metadata.service.tasks) if metadata.service is not None else []
    return CatalogFields(title=metadata.title, description=metadata.description,
                         size=metadata.size, tags=sorted(metadata.tags)[:MAX_TAGS],
                         tasks=tasks)


@dataclass(frozen=True)
class ReadDocument:
    document: dict[str, Any]
    fields: CatalogFields
    schema_error: str | None = None


def parse_document(data: bytes) -> ReadDocument:
    """The document and its catalog fields; ValueError when it is not a JSON object."""
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError("metadata is not a JSON object")
    try:
        metadata = AssetMetadata.from_json(data)
    except InvalidMetadata as problem:
        return ReadDocument(document, catalog_fields(document), problem.message[:1000])
    return ReadDocument(document, validated_fields(metadata))


def read_document(ipfs: IpfsClient, cid: str, max_bytes: int) -> ReadDocument:
    data = b"".join(ipfs.cat(cid, length=max_bytes + 1))
    if len(data) > max_bytes:
        raise ValueError(f"metadata is larger than {max_bytes} bytes")
    return parse_document(data)


def store_metadata(engine: Engine, ipfs: IpfsClient, cid: str, max_bytes: int) -> None:
    """Read and store one metadata document; an unreadable one is stored with its error.
    IPFS being unavailable propagates (the pin is retried)."""
    try:
        read: ReadDocument | None = read_document(ipfs, cid, max_bytes)
        error = None
    except (ValueError, UnicodeDecodeError) as problem:
        read, error = None, str(problem)[:1000]
    fields = read.fields if read is not None else CatalogFields()
    with engine.begin() as connection:
        connection.execute(delete(MetadataTag).where(MetadataTag.cid == cid))
        connection.execute(delete(MetadataTask).where(MetadataTask.cid == cid))
        connection.execute(delete(CidMetadata).where(CidMetadata.cid == cid))
        connection.execute(insert(CidMetadata).values(
            cid=cid, title=fields.title, description=fields.description, size=fields.size,
            document=read.document if read is not None else None, error=error,
            schema_error=read.schema_error if read is not None else None))
        if fields.tags:
            connection.execute(insert(MetadataTag), [{"cid": cid, "tag": t} for t in fields.tags])
        if fields.tasks:
            connection.execute(insert(MetadataTask),
                               [{"cid": cid, "task": t} for t in fields.tasks])
