"""Resumable uploads of DDX1 ciphertext from publishers (the browser's publish page).

An upload is created with its size (`start`), then written in order, one `Content-Range` chunk
at a time (`write`): a chunk must start where the bytes received so far end, so a cut upload
resumes from `received`. The last byte completes it: the file must be one DDX1 file of exactly
the announced size (its header says so), then it is added to this gateway's IPFS node, pinned,
and its CID returned. Kubo's RPC is never reachable from outside; only these calls are.

Limits: one upload at most `upload_max_bytes`; per account at most `upload_max_open` unfinished
uploads holding at most `upload_max_open_bytes` together; an upload untouched for
`upload_idle_seconds` is dropped with its bytes; and at most `upload_max_bytes_per_day` started
in any 24 hours (a completed upload stays pinned, published or not: this bounds how fast one
account fills the node). Only the account that created an upload sees
or writes it (another one gets 404, as for an id that does not exist). State lives in memory and
the partial files under `<data_dir>/uploads`, which a restart clears.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dapp.crypto.segments import HEADER_SIZE, TAG_SIZE, ContentIntegrityError, Header
from dapp.errors import DappError, InvalidInput, NotFound
from dapp.ipfs.client import IpfsClient

MIN_DDX1_SIZE = HEADER_SIZE + TAG_SIZE  # an empty file: a header and one empty segment
DAY_SECONDS = 24 * 3600


class UploadTooLarge(DappError):
    code = "upload-too-large"
    http_status = 413


class UploadLimitReached(DappError):
    code = "upload-limit"
    http_status = 429


class UploadOffsetMismatch(DappError):
    """A chunk that does not start where the upload's bytes end (resume from `received`)."""

    code = "upload-offset-mismatch"
    http_status = 409


class BadContentRange(InvalidInput):
    code = "bad-content-range"
    http_status = 416


class UploadBusy(DappError):
    code = "upload-busy"
    http_status = 409


class NotDdx1(InvalidInput):
    code = "not-ddx1"
    http_status = 422


@dataclass
class Upload:
    id: str
    owner: str
    size: int
    path: Path
    received: int = 0
    cid: str | None = None
    touched: float = 0.0
    busy: bool = False

    @property
    def open(self) -> bool:
        return self.cid is None


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_open: int
    max_open_bytes: int
    max_bytes_per_day: int
    idle_seconds: float


def parse_content_range(header: str | None, size: int) -> tuple[int, int]:
    """(start, end inclusive) of `Content-Range: bytes start-end/size`."""
    if header is None:
        raise BadContentRange("a chunk needs Content-Range: bytes START-END/SIZE")
    unit, _, spec = header.strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    if unit != "bytes" or not (first.isdigit() and last.isdigit() and total.isdigit()) \
            or max(len(first), len(last), len(total)) > 20:
        raise BadContentRange(f"Content-Range {header!r} is not bytes START-END/SIZE")
    start, end = int(first), int(last)
    if int(total) != size:
        raise BadContentRange(f"Content-Range says {total} bytes in all; the upload is {size}")
    if start > end or end >= size:
        raise BadContentRange(f"Content-Range {start}-{end} is outside 0-{size - 1}",
                              headers={"Content-Range": f"bytes */{size}"})
    return start, end


class UploadStore:
    def __init__(self, directory: Path, limits: UploadLimits) -> None:
        self.directory = directory
        self.limits = limits
        self._uploads: dict[str, Upload] = {}
        self._started: dict[str, list[tuple[float, int]]] = {}  # owner → (when, size), 24 h
        self._lock = threading.Lock()
        shutil.rmtree(directory, ignore_errors=True)  # what a previous process left
        directory.mkdir(parents=True, exist_ok=True)

    def start(self, owner: str, size: int) -> Upload:
        if size > self.limits.max_bytes:
            raise UploadTooLarge(f"{size} bytes is more than this gateway takes in one upload "
                                 f"({self.limits.max_bytes})",
                                 hint="publish it with the CLI to your own IPFS node")
        if size < MIN_DDX1_SIZE:
            raise NotDdx1(f"{size} bytes cannot be a DDX1 file (at least {MIN_DDX1_SIZE})")
        with self._lock:
            self._expire(time.monotonic())
            mine = [u for u in self._uploads.values() if u.owner == owner.lower() and u.open]
            if len(mine) >= self.limits.max_open:
                raise UploadLimitReached(
                    f"{len(mine)} unfinished uploads already (at most {self.limits.max_open})",
                    hint="finish or wait for the idle ones to expire")
            if sum(u.size for u in mine) + size > self.limits.max_open_bytes:
                raise UploadLimitReached(
                    f"unfinished uploads of this account would exceed "
                    f"{self.limits.max_open_bytes} bytes", hint="finish the others first")
            now = time.monotonic()
            recent = [(when, n) for when, n in self._started.get(owner.lower(), [])
                      if now - when < DAY_SECONDS]
            if sum(n for _, n in recent) + size > self.limits.max_bytes_per_day:
                raise UploadLimitReached(
                    f"this account started uploads of {sum(n for _, n in recent)} bytes in the "
                    f"last 24 hours; at most {self.limits.max_bytes_per_day}",
                    hint="try again later, or publish with the CLI to your own IPFS node")
            self._started[owner.lower()] = [*recent, (now, size)]
            upload_id = secrets.token_hex(16)
            upload = Upload(upload_id, owner.lower(), size, self.directory / upload_id,
                            touched=time.monotonic())
            upload.path.touch()
            self._uploads[upload_id] = upload
            return upload

    def get(self, owner: str, upload_id: str) -> Upload:
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None or upload.owner != owner.lower():
                raise NotFound(f"no upload {upload_id} of this account")
            return upload

    def write(self, owner: str, upload_id: str, start: int, data: bytes) -> Upload:
        """Append `data` at `start` (which must be `received`); the caller completes it."""
        with self._lock:
            upload = self._get_locked(owner, upload_id)
            if not upload.open:
                raise UploadOffsetMismatch("this upload is complete", details={
                    "received": upload.received, "cid": upload.cid})
            if upload.busy:
                raise UploadBusy("another chunk of this upload is being written",
                                 hint="send one chunk at a time")
            if start != upload.received:
                raise UploadOffsetMismatch(
                    f"the chunk starts at {start}; {upload.received} bytes have arrived",
                    hint=f"resume from byte {upload.received}",
                    details={"received": upload.received})
            upload.busy = True
        written = False
        try:
            with upload.path.open("r+b") as file:
                file.seek(start)
                file.write(data)
            written = True
        finally:
            with self._lock:
                upload.busy = False
                upload.touched = time.monotonic()
                if written:
                    upload.received = start + len(data)
        return upload

    def complete(self, upload: Upload, ipfs: IpfsClient) -> Upload:
        """Check the DDX1 header against the size, add and pin the file; drop the bytes."""
        try:
            with upload.path.open("rb") as file:
                header = Header.parse(file.read(HEADER_SIZE))
                if header.layout.ciphertext_size != upload.size:
                    raise NotDdx1(f"the DDX1 header describes {header.layout.ciphertext_size} "
                                  f"bytes, the upload has {upload.size}")
                file.seek(0)
                added = ipfs.add_stream(file, pin=True)
        except ContentIntegrityError as error:
            self._drop(upload)
            raise NotDdx1(f"not a DDX1 file: {error.message}",
                          hint="encrypt the content first (docs/DDX1.md)") from None
        except NotDdx1:
            self._drop(upload)
            raise
        with self._lock:
            upload.cid = added.cid
            upload.touched = time.monotonic()
        upload.path.unlink(missing_ok=True)
        return upload

    def _get_locked(self, owner: str, upload_id: str) -> Upload:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.owner != owner.lower():
            raise NotFound(f"no upload {upload_id} of this account")
        return upload

    def _drop(self, upload: Upload) -> None:
        with self._lock:
            self._uploads.pop(upload.id, None)
        upload.path.unlink(missing_ok=True)

    def _expire(self, now: float) -> None:
        for owner, started in list(self._started.items()):
            if all(now - when >= DAY_SECONDS for when, _ in started):
                del self._started[owner]
        for upload in [u for u in self._uploads.values()
                       if now - u.touched > self.limits.idle_seconds and not u.busy]:
            del self._uploads[upload.id]
            upload.path.unlink(missing_ok=True)
