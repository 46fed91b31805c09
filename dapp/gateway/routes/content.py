"""Licensed downloads: `GET|HEAD /v1/assets/{id}/content` and the publisher's download counts.

The version comes from chain, the license from `hasLicense`, the bytes from Kubo, decrypted on
the fly one 64 KiB segment at a time (memory does not grow with the file). One `Range` per
request (206 + Content-Range); `ETag` and `Last-Modified` per version make resuming safe
(`If-Range`) and caching cheap (`If-None-Match` → 304).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from dapp.errors import DappError
from dapp.gateway.content.downloads import asset_downloads, record_download
from dapp.gateway.content.service import ContentGateway, ContentPlan
from dapp.gateway.deps import AccountDep, ContentDep, ServicesDep
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.ranges import ByteRange, parse_range
from dapp.store.catalog import DownloadRecord

router = APIRouter(prefix="/v1", tags=["downloads"])
log = logging.getLogger("dapp.gateway.content")

MAX_VERSION = 2**32 - 1
VERSION_HEADER = "X-DataDAO-Version"


class NotAssetOwner(DappError):
    code = "not-asset-owner"
    http_status = 403


class DownloadAborted(Exception):
    """Raised after the headers went out: the server can only cut the connection."""


_CONTENT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "the whole plaintext",
          "content": {"application/octet-stream": {}, "application/x-tar": {}}},
    206: {"description": "the requested byte range (see Content-Range)",
          "content": {"application/octet-stream": {}, "application/x-tar": {}}},
    304: {"description": "If-None-Match matched: the client's copy is current"},
    409: {"description": "the content key is not sealed to this gateway"},
    416: {"description": "the range is outside the content (Content-Range: bytes */size)"},
    502: {"description": "the stored content fails its integrity check"},
}


@router.api_route("/assets/{asset_id}/content", methods=["GET", "HEAD"],
                  response_class=Response, responses=_CONTENT_RESPONSES)
async def asset_content(*,
    request: Request,
    asset_id: int,
    version: int | None = Query(None, ge=1, le=MAX_VERSION,
                                description="version number; default the latest"),
    account: AccountDep,
    content: ContentDep,
) -> Response:
    """The asset's plaintext for a licensee: whole (200) or one byte range (206)."""
    resolved = await content.authorize(asset_id, version, account)
    plan = await content.plan(resolved)
    headers = _entity_headers(plan)
    if _none_match(request.headers.get("if-none-match"), plan.etag):
        return Response(status_code=304, headers=headers)
    byte_range = None
    if _if_range_holds(request.headers.get("if-range"), plan):
        byte_range = parse_range(request.headers.get("range"), plan.size)
    status = 200 if byte_range is None else 206
    headers["Content-Length"] = str(plan.size if byte_range is None else byte_range.length)
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(plan.size)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=plan.media_type)
    content.streams.acquire(account)  # 429 past the account's share of Kubo connections
    try:
        chunks = await content.open_stream(plan, byte_range)
    except BaseException:
        content.streams.release(account)
        raise
    body = _served(chunks, content, plan, account, byte_range)
    return _SlotHoldingResponse(body, status_code=status, headers=headers,
                                media_type=plan.media_type,
                                release=lambda: content.streams.release(account))


class _SlotHoldingResponse(StreamingResponse):
    """Gives the account's stream slot back when the response ends, however it ends: also
    when the client leaves before the body started (the body's own `finally` never runs)."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _entity_headers(plan: ContentPlan) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "ETag": plan.etag,
        "Last-Modified": format_datetime(plan.version.published, usegmt=True),
        "Content-Disposition": _disposition(plan.filename),
        "Cache-Control": "private, no-transform",
        VERSION_HEADER: str(plan.version.number),
    }


def _disposition(filename: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _none_match(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if not header:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in _tags(header))


def _if_range_holds(header: str | None, plan: ContentPlan) -> bool:
    """True when Range applies: no If-Range, or its strong ETag / exact date still matches."""
    if not header:
        return True
    header = header.strip()
    if header.startswith(('"', "W/")):
        return header == plan.etag
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when == plan.version.published


async def _served(chunks: AsyncIterator[bytes], content: ContentGateway, plan: ContentPlan,
                  account: str, byte_range: ByteRange | None) -> AsyncIterator[bytes]:
    """Pass the plaintext on, count it, and log the download however it ends."""
    metrics: GatewayMetrics = content.metrics
    sent = 0
    outcome = "disconnected"
    try:
        async for chunk in chunks:
            yield chunk
            sent += len(chunk)
            metrics.bytes_served.inc(len(chunk))
        outcome = "complete"
    except DappError as error:  # IPFS broke or a segment failed: cut the connection
        outcome = "aborted"
        log.error("download of asset %s v%s by %s aborted after %d bytes: %s",
                  plan.version.asset_id, plan.version.number, account, sent, error)
        raise DownloadAborted(str(error)) from error
    finally:
        metrics.downloads.labels(outcome).inc()
        # complete: the stream ended and its end is the file's last byte (a whole download or
        # the final part of a resumed one); the public count counts licensees with one.
        completed = outcome == "complete" and (byte_range is None or
                                               byte_range.end == plan.size - 1)
        with anyio.CancelScope(shield=True):
            await _record(content, plan, account, byte_range, sent, completed)


async def _record(content: ContentGateway, plan: ContentPlan, account: str,
                  byte_range: ByteRange | None, sent: int, completed: bool) -> None:
    record = DownloadRecord(
        asset_id=plan.version.asset_id, version_index=plan.version.number, account=account,
        bytes_served=sent,
        range_start=None if byte_range is None else byte_range.start,
        range_end=None if byte_range is None else byte_range.end,
        downloaded_at=datetime.now(UTC), completed=completed,
    )
    try:
        recorded = await anyio.to_thread.run_sync(
            lambda: record_download(content.services.catalog(), record))
    except DappError as error:
        log.error("download log unavailable: %s", error)
        recorded = False
    if not recorded:
        content.metrics.downloads_unrecorded.inc()


class VersionDownloadsOut(BaseModel):
    version: int
    downloads: int = Field(description="requests served; each resumed part counts")
    full_downloads: int = Field(description="requests for the whole file (no Range)")
    bytes_served: int
    accounts: int = Field(description="distinct accounts")
    completed: int = Field(description="distinct accounts that received the whole file (a "
                                       "request streamed to the file's last byte)")


class AssetDownloadsOut(BaseModel):
    asset_id: int
    downloads: int
    full_downloads: int
    bytes_served: int
    accounts: int
    completed: int = Field(description="distinct accounts that received the whole file: the "
                                       "catalog's public downloads count")
    versions: list[VersionDownloadsOut]


@router.get("/assets/{asset_id}/downloads", response_model=AssetDownloadsOut)
def asset_download_counts(
    asset_id: int,
    account: AccountDep,
    content: ContentDep,
    services: ServicesDep,
) -> AssetDownloadsOut:
    """How often the asset was downloaded, per version: for the asset's owner (on chain) only."""
    owner = content.registry().owner_of(asset_id)
    if owner.lower() != account.lower():
        raise NotAssetOwner(f"only the owner of asset {asset_id} sees its downloads",
                            hint=f"sign in as {owner}")
    stats = asset_downloads(services.catalog().engine, asset_id)
    return AssetDownloadsOut(
        asset_id=stats.asset_id, downloads=stats.downloads,
        full_downloads=stats.full_downloads, bytes_served=stats.bytes_served,
        accounts=stats.accounts, completed=stats.completed,
        versions=[VersionDownloadsOut(version=v.version, downloads=v.downloads,
                                      full_downloads=v.full_downloads,
                                      bytes_served=v.bytes_served, accounts=v.accounts,
                                      completed=v.completed)
                  for v in stats.versions],
    )
