"""Everything between "this account asks for asset N" and the plaintext bytes.

1. the version from chain (`RegistryReader`), 2. `hasLicense` (`LicenseChecker`, ≤ 5 s cache),
3. the metadata JSON from IPFS, validated (cached by metadata CID), 4. the content key sealed to
this gateway, opened (cached by content CID and sealed key), 5. the DDX1 header, checked against
the metadata and the stored size (cached by content CID), 6. the requested plaintext range
mapped to whole encrypted segments, read from Kubo and decrypted as it arrives.

Everything that can fail before the first byte does (IPFS down, wrong key, tampered first
segment): the stream is primed before the response starts, so those failures are still
problem+json answers. A failure after that can only cut the connection.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from anyio import to_thread

from dapp.chain.deployments import load_deployment
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key
from dapp.crypto.segments import (
    HEADER_SIZE,
    TAG_SIZE,
    ContentIntegrityError,
    Header,
    RangeDecryptor,
)
from dapp.errors import DappError, NotLicensed
from dapp.gateway.caches import StaleCaches
from dapp.gateway.content.registry import AssetVersion, RegistryReader
from dapp.gateway.content.streams import StreamSlots
from dapp.gateway.keys import load_or_create_gateway_keypair
from dapp.gateway.licenses import LicenseChecker, Scope
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.ranges import ByteRange
from dapp.gateway.services import Services
from dapp.ipfs.sources import FailoverIpfsReader, IpfsSource
from dapp.ipfs.stream import ContentReader
from dapp.metadata import AssetMetadata, InvalidMetadata

log = logging.getLogger("dapp.gateway.content")

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class NotSealedToGateway(DappError):
    """The asset's metadata carries no content key sealed to this gateway's public key."""

    code = "not-sealed-to-gateway"
    http_status = 409


class LruCache(Generic[K, V]):
    """A small least-recently-used map (used from the event loop only)."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._max = max_entries

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class ContentPlan:
    """What a download of one asset version serves, decided before any content byte moves."""

    version: AssetVersion
    metadata: AssetMetadata
    size: int  # plaintext bytes
    content_key: bytes | None  # None: open asset, served as stored
    header: bytes | None  # the DDX1 header of encrypted content

    @property
    def is_archive(self) -> bool:
        files = self.metadata.files
        return not (len(files) == 1 and files[0].size == self.metadata.size)

    @property
    def filename(self) -> str:
        if not self.is_archive:
            return self.metadata.files[0].path.rsplit("/", 1)[-1]
        return _safe_name(self.metadata.title) + ".tar"

    @property
    def media_type(self) -> str:
        return "application/x-tar" if self.is_archive else "application/octet-stream"

    @property
    def etag(self) -> str:
        return f'"{self.version.content_cid}.v{self.version.number}"'


def _safe_name(title: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_. " else "_" for c in title).strip(" .")
    return "-".join(name.split())[:120] or "content"


async def _run(function: Callable[..., T], *args: Any) -> T:
    return await to_thread.run_sync(partial(function, *args))


class ContentGateway:
    """One per gateway process (made by `create_app`, reached through `deps.ContentDep`)."""

    def __init__(self, services: Services, metrics: GatewayMetrics, keypair: GatewayKeyPair,
                 reader: ContentReader, caches: StaleCaches) -> None:
        self.services = services
        self.caches = caches
        self.metrics = metrics
        self.keypair = keypair
        self.reader = reader
        self._registry: RegistryReader | None = None
        self._licenses: LicenseChecker | None = None
        self._lock = threading.Lock()
        self._metadata: LruCache[str, AssetMetadata] = LruCache(4096)
        self._keys: LruCache[tuple[str, str], bytes] = LruCache(4096)
        self._headers: LruCache[str, bytes] = LruCache(16_384)
        self._sizes: LruCache[str, int] = LruCache(16_384)
        self.streams = StreamSlots(services.settings.max_streams_per_account)

    @classmethod
    def start(cls, services: Services, metrics: GatewayMetrics, caches: StaleCaches
              ) -> ContentGateway:
        settings = services.settings
        keypair = load_or_create_gateway_keypair(settings.gateway_key_file)
        reader = FailoverIpfsReader(
            [IpfsSource.parse(source) for source in settings.resolved_ipfs_read_sources],
            timeout_seconds=settings.ipfs_timeout_seconds)
        log.info("gateway content key %s", keypair.public_key_b64)
        # one access-log line per request is ours; httpx would add one per Kubo read
        logging.getLogger("httpx").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
        return cls(services, metrics, keypair, reader, caches)

    async def aclose(self) -> None:
        await self.reader.aclose()
        with self._lock:
            readers = [r for r in (self._registry, self._licenses) if r is not None]
        for reader in readers:
            await _run(reader.close)

    # -- chain -------------------------------------------------------------------------------
    def registry_address(self) -> str:
        """The AssetRegistry this gateway serves (DeploymentMissing before it is deployed)."""
        deployment = load_deployment(self.services.settings.resolved_deployments_file,
                                     self.services.chain_id)
        return deployment.contract("AssetRegistry").address

    def registry(self) -> RegistryReader:
        with self._lock:
            if self._registry is None:
                self._registry = RegistryReader(self.services.web3, self.registry_address())
                self.caches.watch(registry=self._registry)
            return self._registry

    def licenses(self) -> LicenseChecker:
        with self._lock:
            if self._licenses is None:
                histogram = self.metrics.license_check_seconds
                self._licenses = LicenseChecker(
                    self.services.web3, self.registry_address(),
                    observe=lambda cached, seconds: histogram.labels(
                        "true" if cached else "false").observe(seconds),
                )
                self.caches.watch(licenses=self._licenses)
            return self._licenses

    async def authorize(self, asset_id: int, number: int | None, account: str) -> AssetVersion:
        """The version to serve, once the chain says `account` may download the asset."""
        # cached answers on the event loop; else in a worker thread (a chain read; the first
        # call also reads the deployment and the chain id)
        registry = self._registry
        version = registry.cached(asset_id, number) if registry is not None else None
        if version is None:
            version = await _run(lambda: self.registry().resolve(asset_id, number))
        await self.require_license(asset_id, account, Scope.DOWNLOAD)
        return version

    async def require_license(self, asset_id: int, account: str, scope: Scope) -> None:
        """NotLicensed (403, saying whether it never existed or expired) unless `account`
        holds a license of `scope` on the asset now."""
        checker = self._licenses
        allowed = checker.cached(asset_id, account, scope) if checker is not None else None
        if allowed is None:
            allowed = await _run(lambda: self.licenses().has_license(asset_id, account, scope))
        if not allowed:
            status = await _run(lambda: self.licenses().status(asset_id, account, scope))
            raise _not_licensed(asset_id, account, status.expires_at, scope)

    def require_license_blocking(self, asset_id: int, account: str, scope: Scope) -> None:
        """`require_license` for a caller already on a worker thread (a metered call checks
        its voucher, license and model in one hop): the cached answer, else the chain."""
        licenses = self.licenses()
        if not licenses.has_license(asset_id, account, scope):
            status = licenses.status(asset_id, account, scope)
            raise _not_licensed(asset_id, account, status.expires_at, scope)

    # -- IPFS --------------------------------------------------------------------------------
    async def plan(self, version: AssetVersion) -> ContentPlan:
        metadata = await self.metadata(version.metadata_cid)
        size = metadata.content.plaintext_size
        if not metadata.content.encrypted:
            await self._check_stored_size(version.content_cid, size)
            return ContentPlan(version, metadata, size, None, None)
        key = self.content_key(version.content_cid, metadata)
        header = await self.header(version.content_cid, metadata)
        return ContentPlan(version, metadata, size, key, header)

    async def metadata(self, cid: str) -> AssetMetadata:
        cached = self._metadata.get(cid)
        if cached is not None:
            return cached
        limit = self.services.settings.metadata_max_bytes
        data = await self._read(cid, 0, limit + 1)
        if len(data) > limit:
            raise InvalidMetadata(f"metadata {cid} is larger than {limit} bytes")
        metadata = AssetMetadata.from_json(data)
        self._metadata.put(cid, metadata)
        return metadata

    def content_key(self, content_cid: str, metadata: AssetMetadata) -> bytes:
        mine = self.keypair.public_key_b64
        sealed = next((s.sealed_key for s in metadata.sealed_keys
                       if s.gateway_public_key == mine), None)
        if sealed is None:
            error = NotSealedToGateway(
                "this asset's content key is not sealed to this gateway",
                hint="the publisher must add a sealed key for this gateway's public key "
                     "(GET /v1/gateway) in a new version",
                details={"gateway_public_key": mine})
            raise error
        cached = self._keys.get((content_cid, sealed))
        if cached is None:
            cached = open_sealed_key(sealed, self.keypair)
            self._keys.put((content_cid, sealed), cached)
        return cached

    async def header(self, cid: str, metadata: AssetMetadata) -> bytes:
        """The DDX1 header of `cid`, checked against the metadata and the stored size."""
        cached = self._headers.get(cid)
        if cached is None:
            cached = await self._read(cid, 0, HEADER_SIZE)
            layout = Header.parse(cached).layout
            await self._check_stored_size(cid, layout.ciphertext_size)
            self._headers.put(cid, cached)
        parsed = Header.parse(cached)
        content = metadata.content
        if (parsed.plaintext_size, parsed.segment_size) != (content.plaintext_size,
                                                           content.segment_size):
            raise ContentIntegrityError(
                f"content {cid} does not match its metadata (size {parsed.plaintext_size}, "
                f"segments {parsed.segment_size} vs {content.plaintext_size}, "
                f"{content.segment_size})")
        return cached

    async def _check_stored_size(self, cid: str, expected: int) -> None:
        stored = self._sizes.get(cid)
        if stored is None:
            stored = await self.reader.size(cid)
            self._sizes.put(cid, stored)
        if stored != expected:
            raise ContentIntegrityError(f"content {cid} is {stored} bytes, expected {expected}")

    async def _read(self, cid: str, offset: int, length: int) -> bytes:
        data = bytearray()
        async for chunk in self.reader.cat(cid, offset, length):
            data += chunk
        return bytes(data)

    # -- streaming ---------------------------------------------------------------------------
    async def open_stream(self, plan: ContentPlan, byte_range: ByteRange | None
                          ) -> AsyncIterator[bytes]:
        """The plaintext of `byte_range` (everything when None), with its first chunk already
        read: failures up to there raise here, before any response header is sent."""
        chunks = self._chunks(plan, byte_range)
        try:
            first = await anext(chunks, None)
        except BaseException:
            await chunks.aclose()
            raise
        return _prepend(first, chunks)

    def _chunks(self, plan: ContentPlan, byte_range: ByteRange | None) -> AsyncIterator[bytes]:
        cid = plan.version.content_cid
        if plan.content_key is None or plan.header is None:
            if plan.size == 0:
                return _nothing()
            if byte_range is None:
                return _exactly(self.reader.cat(cid, 0, plan.size), plan.size, cid)
            return _exactly(self.reader.cat(cid, byte_range.start, byte_range.length),
                            byte_range.length, cid)
        if plan.size == 0:  # one empty segment: still authenticated
            decryptor = RangeDecryptor(plan.content_key, plan.header)
            return decryptor.aiter(self.reader.cat(cid, HEADER_SIZE, TAG_SIZE))
        start, end = (0, plan.size - 1) if byte_range is None else (byte_range.start,
                                                                    byte_range.end)
        decryptor = RangeDecryptor(plan.content_key, plan.header, start, end)
        c_start, c_end, _ = decryptor.layout.ciphertext_range_for(start, end)
        return decryptor.aiter(self.reader.cat(cid, c_start, c_end - c_start + 1))


def _not_licensed(asset_id: int, account: str, expires_at: int,
                  scope: Scope = Scope.DOWNLOAD) -> NotLicensed:
    kind = scope.label
    details = {"asset_id": asset_id, "account": account, "scope": kind,
               "reason": "expired" if expires_at else "no-license",
               "expired_at": expires_at or None}
    if expires_at:
        return NotLicensed(
            f"the {kind} license of {account} for asset {asset_id} has expired",
            hint=f"buy the asset's {kind} offer again to extend it", details=details)
    return NotLicensed(f"{account} has no {kind} license for asset {asset_id}",
                       hint=f"buy one of the asset's {kind} offers first", details=details)


async def _prepend(first: bytes | None, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield


async def _exactly(chunks: AsyncIterator[bytes], length: int, cid: str) -> AsyncIterator[bytes]:
    """Pass `chunks` through, refusing to end short of (or past) `length` bytes."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > length:
            raise ContentIntegrityError(f"IPFS sent more of {cid} than asked for")
        yield chunk
    if received != length:
        raise ContentIntegrityError(f"IPFS stream of {cid} ended after {received} of "
                                    f"{length} bytes")
