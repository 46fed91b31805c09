"""Deterministic packing of files and folders."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from dapp.packing import PackedFile, PackingError, PackStream, iter_packed, plan_pack

TREE = {
    "b.txt": b"bee\n",
    "a/z.bin": bytes(range(256)) * 10,
    "a/empty": b"",
    "a-b/c.csv": b"x,y\n1,2\n",
    "deep/er/still/" + "long-name-" * 12 + ".txt": b"long names need pax\n",
    "ünïcode/naïve.txt": "héllo".encode(),
    "big.dat": os.urandom(600_000),
}


def make_tree(root: Path, order: list[str], mtime: int) -> Path:
    root.mkdir()
    (root / "empty-folder").mkdir()
    for name in order:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(TREE[name])
        target.chmod(0o755 if name.endswith(".bin") else 0o600)
        os.utime(target, (mtime, mtime))
    return root


def pack(path: Path) -> bytes:
    return b"".join(iter_packed(path, plan_pack(path)))


def test_folder_packs_to_the_same_bytes(tmp_path: Path) -> None:
    first = pack(make_tree(tmp_path / "one", sorted(TREE), mtime=1_000_000))
    second = pack(make_tree(tmp_path / "two", sorted(TREE, reverse=True), mtime=2_000_000))
    assert first == second
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_plan_matches_stream_and_tar_reads_it_back(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", sorted(TREE), mtime=5)
    plan = plan_pack(root)
    packed = b"".join(iter_packed(root, plan))
    assert plan.is_archive
    assert len(packed) == plan.size
    assert len(packed) % 512 == 0
    assert plan.files == sorted(
        (PackedFile(name, len(data), hashlib.sha256(data).hexdigest())
         for name, data in TREE.items()), key=lambda file: file.path.split("/"))
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        members = archive.getmembers()
        files = {m.name: archive.extractfile(m).read() for m in members if m.isfile()}
    assert files == TREE
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda name: name.split("/"))
    assert "empty-folder" in names and "a" in names
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            0, 0, 0, "", "")
        assert member.mode == (0o755 if member.isdir() else 0o644)


def test_parents_precede_their_children(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", sorted(TREE), mtime=5)
    with tarfile.open(fileobj=io.BytesIO(pack(root))) as archive:
        names = archive.getnames()
    assert names.index("a") < names.index("a/empty") < names.index("a-b")


def test_single_file_is_not_archived(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights" * 1000)
    plan = plan_pack(path)
    assert not plan.is_archive
    assert plan.size == 7000
    assert plan.files == [PackedFile("model.bin", 7000,
                                     hashlib.sha256(b"weights" * 1000).hexdigest())]
    assert pack(path) == b"weights" * 1000


def test_empty_folder_is_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    plan = plan_pack(tmp_path / "nothing")
    assert plan.files == [] and plan.size == 1024
    assert pack(tmp_path / "nothing") == b"\0" * 1024


def test_symlinks_are_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", ["b.txt"], mtime=5)
    (root / "link").symlink_to(root / "b.txt")
    with pytest.raises(PackingError, match="symlink"):
        plan_pack(root)
    with pytest.raises(PackingError, match="symlink"):
        plan_pack(root / "link")
    (root / "link").unlink()
    (tmp_path / "linked-tree").symlink_to(root)
    with pytest.raises(PackingError, match="symlink"):
        plan_pack(tmp_path / "linked-tree")


def test_special_files_and_missing_paths_are_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(PackingError, match="not a regular file"):
        plan_pack(tmp_path)
    with pytest.raises(PackingError, match="cannot read"):
        plan_pack(tmp_path / "missing")


@pytest.mark.parametrize("digests", [True, False])
@pytest.mark.parametrize("change", [b"same size", b"grown by more bytes", b"short"])
def test_a_file_changed_after_planning_is_refused(tmp_path: Path, change: bytes,
                                                  digests: bool) -> None:
    root = make_tree(tmp_path / "tree", ["b.txt", "big.dat"], mtime=5)
    plan = plan_pack(root, digests=digests)
    (root / "b.txt").write_bytes(change[:4] if change == b"same size" else change)
    with pytest.raises(PackingError, match="changed"):
        b"".join(iter_packed(root, plan))


def test_a_file_replaced_by_one_of_the_same_size_and_mtime_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", ["b.txt"], mtime=5)
    plan = plan_pack(root, digests=False)
    stand_in = tmp_path / "stand-in"
    stand_in.write_bytes(b"wasp")
    os.utime(stand_in, (5, 5))
    stand_in.replace(root / "b.txt")
    with pytest.raises(PackingError, match=r"b\.txt changed"):
        b"".join(iter_packed(root, plan))


@pytest.mark.parametrize("single", [True, False])
def test_a_file_written_while_it_streams_is_refused(tmp_path: Path, single: bool) -> None:
    root = make_tree(tmp_path / "tree", ["big.dat"], mtime=5)
    path = root / "big.dat" if single else root
    chunks = iter_packed(path, plan_pack(path, digests=False))
    while len(next(chunks)) != 256 * 1024:  # the first chunk of big.dat has gone past
        pass
    with (root / "big.dat").open("r+b") as file:
        file.seek(500_000)
        file.write(b"overwritten in place")
    with pytest.raises(PackingError, match=r"big\.dat changed"):
        b"".join(chunks)


@pytest.mark.parametrize("folder", [True, False])
def test_digests_computed_while_streaming_equal_a_separate_sha256(tmp_path: Path,
                                                                   folder: bool) -> None:
    root = make_tree(tmp_path / "tree", sorted(TREE), mtime=5)
    path = root if folder else root / "big.dat"
    plan = plan_pack(path, digests=False)
    assert all(file.sha256 is None for file in plan.files)
    stream = PackStream(path, plan)
    with pytest.raises(RuntimeError, match="consumed"):
        stream.files  # noqa: B018
    packed = b"".join(stream)
    assert stream.files == plan_pack(path).files
    assert [file.sha256 for file in stream.files] == [
        hashlib.sha256((path / file.path if folder else path).read_bytes()).hexdigest()
        for file in plan.files]
    assert stream.sha256 == hashlib.sha256(packed).hexdigest()
    assert packed == b"".join(iter_packed(path, plan_pack(path)))


def test_chunks_stay_small(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", sorted(TREE), mtime=5)
    assert max(len(chunk) for chunk in iter_packed(root, plan_pack(root))) <= 256 * 1024
