"""Deterministic packing of what a publisher uploads: one file as is, a folder as a tar stream.

The same tree always packs to the same bytes, so the same upload gives the same CID: entries
sorted by path (parents before children), mtime 0, uid/gid 0, no user or group names, mode
0644 for files and 0755 for folders, POSIX ustar headers with pax records only where a name or
size needs them, no record padding past the two zero blocks. Symlinks and special files are
refused rather than followed. `plan_pack` reads every file once (sizes and sha256 for the
metadata, total size for the encryptor); `iter_packed` streams the same bytes in small chunks
and checks that no file changed in between.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
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


class PackedFile(NamedTuple):
    path: str  # relative, '/'-separated; the file's own name when not an archive
    size: int
    sha256: str  # hex digest of the file's bytes


@dataclass(frozen=True)
class PackPlan:
    files: list[PackedFile]
    directories: list[str]
    size: int  # bytes `iter_packed` yields: the plaintext size to encrypt
    is_archive: bool


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


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _walk(root: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(folders, files) under `root` as path-part tuples, sorted, nothing followed."""
    folders: list[tuple[str, ...]] = []
    files: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        with os.scandir(root.joinpath(*parts)) as entries:
            for entry in entries:
                child = (*parts, entry.name)
                mode = entry.stat(follow_symlinks=False).st_mode
                _refuse_special(Path(entry.path), mode)
                if stat.S_ISDIR(mode):
                    folders.append(child)
                    pending.append(child)
                else:
                    files.append(child)
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


def plan_pack(path: Path) -> PackPlan:
    """Sizes, digests and the packed size of a file or folder, without packing it."""
    try:
        mode = path.lstat().st_mode
    except OSError as error:
        raise PackingError(f"cannot read {path}: {error.strerror}") from None
    _refuse_special(path, mode)
    if stat.S_ISREG(mode):
        size, sha256 = _file_digest(path)
        return PackPlan([PackedFile(_relative_name((path.name,)), size, sha256)], [], size,
                        is_archive=False)
    folders, file_parts = _walk(path)
    files = [PackedFile(_relative_name(parts), *_file_digest(path.joinpath(*parts)))
             for parts in file_parts]
    directories = [_relative_name(parts) for parts in folders]
    plan = PackPlan(files, directories, 0, is_archive=True)
    size = sum(len(_tar_header(name, file.size if file else 0, file is None))
               + (file.size + _pad(file.size) if file else 0)
               for name, file in _entries(plan)) + len(END_OF_ARCHIVE)
    return PackPlan(files, directories, size, is_archive=True)


def _file_chunks(path: Path, expected: PackedFile) -> Iterator[bytes]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(min(READ_CHUNK, expected.size - size + 1)):
            size += len(chunk)
            if size > expected.size:
                break
            digest.update(chunk)
            yield chunk
    if size != expected.size or digest.hexdigest() != expected.sha256:
        raise PackingError(f"{expected.path} changed while it was being packed",
                           hint="wait until nothing writes to it and start again")


def iter_packed(path: Path, plan: PackPlan) -> Iterator[bytes]:
    """The packed bytes of `path` as `plan` describes them, a chunk at a time."""
    if not plan.is_archive:
        yield from _file_chunks(path, plan.files[0])
        return
    for name, file in _entries(plan):
        if file is None:
            yield _tar_header(name, 0, is_dir=True)
            continue
        member = path.joinpath(*name.split("/"))
        _refuse_special(member, member.lstat().st_mode)
        yield _tar_header(name, file.size, is_dir=False)
        yield from _file_chunks(member, file)
        if _pad(file.size):
            yield b"\0" * _pad(file.size)
    yield END_OF_ARCHIVE
