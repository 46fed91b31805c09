"""Deterministic packing of what a publisher uploads: one file as is, a folder as a tar stream.

The same tree always packs to the same bytes, so the same upload gives the same CID: entries
sorted by path (parents before children), mtime 0, uid/gid 0, no user or group names, mode
0644 for files and 0755 for folders, POSIX ustar headers with pax records only where a name or
size needs them, no record padding past the two zero blocks. Symlinks and special files are
refused rather than followed.

`plan_pack` finds the files, their sizes and the packed size (what the encryptor announces);
`PackStream` streams the packed bytes in small chunks and computes each file's sha256 as the
bytes go past, so publishing reads every file once. `plan_pack(path, digests=True)` hashes the
files up front as well, for callers that need the digests before streaming. A file that
changed since it was planned is refused: its size, inode and timestamps are compared when it
is opened and again after its last byte (as GNU tar does), and a digest from the plan must
match the streamed bytes.

`unpack_archive` is the one way back from a tar to a folder, for every consumer of packed
content (a job's dataset and algorithm, a metered call's model): the members must add up to at
most a cap *unpacked* (sparse members refused: a 10 KiB archive can hold a 600 MiB sparse
file), then tarfile's `data` filter extracts them (no absolute paths, no links out, no devices).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from dapp.errors import InvalidInput

READ_CHUNK = 256 * 1024
BLOCK = tarfile.BLOCKSIZE
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)
FILE_MODE = 0o644
DIR_MODE = 0o755


class PackingError(InvalidInput):
    """The path cannot be packed as it is (a symlink, a special file, a changing file...)."""

    code = "packing-refused"


class ArchiveRefused(InvalidInput):
    """A packed archive that is not unpacked: not a tar, sparse, or over the size cap."""

    code = "archive-refused"


class PackedFile(NamedTuple):
    path: str  # relative, '/'-separated; the file's own name when not an archive
    size: int
    sha256: str | None  # hex digest of the file's bytes; None in a plan made without digests


class FileStamp(NamedTuple):
    """What changes when a file is written or replaced (compared only, never published)."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileStamp:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns,
                   status.st_ctime_ns)


@dataclass(frozen=True)
class PackPlan:
    files: list[PackedFile]
    directories: list[str]
    size: int  # bytes `iter_packed` yields: the plaintext size to encrypt
    is_archive: bool
    stamps: dict[str, FileStamp] = field(default_factory=dict, compare=False)  # by file path


def _pad(size: int) -> int:
    return -size % BLOCK


def _relative_name(parts: tuple[str, ...]) -> str:
    name = "/".join(parts)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise PackingError(f"{name!r} is not a UTF-8 name", hint="rename it") from None
    return name


def _refuse_special(path: Path, mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise PackingError(f"{path} is a symlink; symlinks are not packed",
                           hint="replace it with the file or folder it points to")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise PackingError(f"{path} is not a regular file or folder")


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(root: Path) -> tuple[list[tuple[str, ...]], list[tuple[tuple[str, ...], FileStamp]]]:
    """(folders, files with their stamps) under `root` as path-part tuples, sorted, nothing
    followed."""
    folders: list[tuple[str, ...]] = []
    files: list[tuple[tuple[str, ...], FileStamp]] = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        with os.scandir(root.joinpath(*parts)) as entries:
            for entry in entries:
                child = (*parts, entry.name)
                status = entry.stat(follow_symlinks=False)
                _refuse_special(Path(entry.path), status.st_mode)
                if stat.S_ISDIR(status.st_mode):
                    folders.append(child)
                    pending.append(child)
                else:
                    files.append((child, FileStamp.of(status)))
    return sorted(folders), sorted(files)


def _tar_header(name: str, size: int, is_dir: bool) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = DIR_MODE if is_dir else FILE_MODE
    info.size = 0 if is_dir else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _entries(plan: PackPlan) -> list[tuple[str, PackedFile | None]]:
    """Folders and files in archive order: by path parts, so parents precede children."""
    entries: list[tuple[str, PackedFile | None]] = [(name, None) for name in plan.directories]
    entries += [(file.path, file) for file in plan.files]
    return sorted(entries, key=lambda entry: entry[0].split("/"))


def plan_pack(path: Path, *, digests: bool = True) -> PackPlan:
    """Sizes and the packed size of a file or folder, without packing it; with `digests`,
    also each file's sha256 (one more read of every file)."""
    try:
        status = path.lstat()
    except OSError as error:
        raise PackingError(f"cannot read {path}: {error.strerror}") from None
    _refuse_special(path, status.st_mode)
    if stat.S_ISREG(status.st_mode):
        name = _relative_name((path.name,))
        sha256 = file_sha256(path) if digests else None
        return PackPlan([PackedFile(name, status.st_size, sha256)], [], status.st_size,
                        is_archive=False, stamps={name: FileStamp.of(status)})
    folders, found = _walk(path)
    stamps = {_relative_name(parts): stamp for parts, stamp in found}
    files = [PackedFile(name, stamp.size,
                        file_sha256(path.joinpath(*name.split("/"))) if digests else None)
             for name, stamp in stamps.items()]
    directories = [_relative_name(parts) for parts in folders]
    plan = PackPlan(files, directories, 0, is_archive=True)
    size = sum(len(_tar_header(name, file.size if file else 0, file is None))
               + (file.size + _pad(file.size) if file else 0)
               for name, file in _entries(plan)) + len(END_OF_ARCHIVE)
    return PackPlan(files, directories, size, is_archive=True, stamps=stamps)


def _changed(planned: PackedFile) -> PackingError:
    return PackingError(f"{planned.path} changed while it was being packed",
                        hint="wait until nothing writes to it and start again")


def _file_chunks(path: Path, planned: PackedFile, stamp: FileStamp | None,
                 digest: hashlib._Hash) -> Iterator[bytes]:
    """The file's bytes into `digest` and out in chunks; refused if it is not as planned."""
    size = 0
    with path.open("rb") as file:
        if stamp is not None and FileStamp.of(os.fstat(file.fileno())) != stamp:
            raise _changed(planned)
        while chunk := file.read(min(READ_CHUNK, planned.size - size + 1)):
            size += len(chunk)
            if size > planned.size:
                raise _changed(planned)
            digest.update(chunk)
            yield chunk
        if size != planned.size or (
                stamp is not None and FileStamp.of(os.fstat(file.fileno())) != stamp):
            raise _changed(planned)
    if planned.sha256 is not None and digest.hexdigest() != planned.sha256:
        raise _changed(planned)


class PackStream:
    """The packed bytes of `path` as `plan` describes them, a chunk at a time; once they have
    all gone past, `files` holds every file's sha256 and `sha256` the packed bytes' own."""

    def __init__(self, path: Path, plan: PackPlan) -> None:
        self._path = path
        self._plan = plan
        self._files: list[PackedFile] | None = None
        self._packed_sha256: str | None = None

    @property
    def files(self) -> list[PackedFile]:
        if self._files is None:
            raise RuntimeError("the files' digests are known once the stream is consumed")
        return self._files

    @property
    def sha256(self) -> str:
        if self._packed_sha256 is None:
            raise RuntimeError("the packed digest is known once the stream is consumed")
        return self._packed_sha256

    def __iter__(self) -> Iterator[bytes]:
        plan = self._plan
        if not plan.is_archive:  # the packed bytes are the file's: one digest serves both
            planned = plan.files[0]
            digest = hashlib.sha256()
            yield from _file_chunks(self._path, planned, plan.stamps.get(planned.path), digest)
            self._files = [planned._replace(sha256=digest.hexdigest())]
            self._packed_sha256 = digest.hexdigest()
            return
        packed = hashlib.sha256()
        for chunk in self._archive_chunks():
            packed.update(chunk)
            yield chunk
        self._packed_sha256 = packed.hexdigest()

    def _archive_chunks(self) -> Iterator[bytes]:
        digests: dict[str, str] = {}
        for name, planned in _entries(self._plan):
            if planned is None:
                yield _tar_header(name, 0, is_dir=True)
                continue
            member = self._path.joinpath(*name.split("/"))
            _refuse_special(member, member.lstat().st_mode)
            yield _tar_header(name, planned.size, is_dir=False)
            digest = hashlib.sha256()
            yield from _file_chunks(member, planned, self._plan.stamps.get(name), digest)
            digests[name] = digest.hexdigest()
            if _pad(planned.size):
                yield b"\0" * _pad(planned.size)
        yield END_OF_ARCHIVE
        self._files = [file._replace(sha256=digests[file.path]) for file in self._plan.files]


def iter_packed(path: Path, plan: PackPlan) -> Iterator[bytes]:
    """The packed bytes of `path` as `plan` describes them, a chunk at a time."""
    return iter(PackStream(path, plan))


def unpack_archive(archive: Path, into: Path, max_bytes: int) -> None:
    """Extract the tar `archive` into the folder `into` when its regular members add up to at
    most `max_bytes` and none is sparse; ArchiveRefused (nothing extracted) otherwise, or when
    it is no tar or cannot be extracted safely."""
    try:
        with tarfile.open(archive, "r:") as tar:
            members = tar.getmembers()
            if any(member.issparse() for member in members):
                raise ArchiveRefused("the archive has a sparse member",
                                     hint="pack it with dapp.packing (no sparse files)")
            unpacked = sum(member.size for member in members if member.isreg())
            if unpacked > max_bytes:
                raise ArchiveRefused(f"the archive unpacks to {unpacked} bytes; at most "
                                     f"{max_bytes} are unpacked here")
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ArchiveRefused(f"the archive cannot be unpacked: {error}") from None
