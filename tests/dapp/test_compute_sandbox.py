"""The compute sandbox with real processes: results come out, the network does not, every
limit ends the job as failed with its reason, and (as root) the child runs under its own uid on
staged copies, so the gateway's key, database and model cache are out of its reach."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dapp.compute.sandbox import (
    SANDBOX_IDS,
    SandboxLimits,
    protect_data_dir,
    run_python_in_sandbox,
)

FAST = SandboxLimits(cpu_seconds=5, memory_bytes=512 << 20, output_bytes=1 << 20,
                     wall_seconds=10)


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "algorithm.py"
    path.write_text(textwrap.dedent(body))
    return path


def run(tmp_path: Path, body: str, limits: SandboxLimits = FAST, **inputs: Path):  # type: ignore[no-untyped-def]
    work = tmp_path / "work"
    work.mkdir()
    return run_python_in_sandbox(script(tmp_path, body), work, inputs, limits)


def test_algorithm_reads_input_and_writes_output(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    result = run(tmp_path, """
        import os, pathlib
        rows = pathlib.Path(os.environ["INPUT"]).read_text().splitlines()[1:]
        total = sum(int(x) for row in rows for x in row.split(","))
        (pathlib.Path(os.environ["OUTPUT"]) / "sum.txt").write_text(str(total))
    """, INPUT=data)
    assert result.succeeded, result.stderr_tail
    assert (result.output_dir / "sum.txt").read_text() == "10"


def test_no_network_not_even_localhost(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(tmp_path, f"""
            import socket
            s = socket.socket(); s.settimeout(2)
            raise SystemExit(0 if s.connect_ex(("127.0.0.1", {port})) == 0 else 7)
        """)
    assert not result.succeeded
    assert result.reason == "exited with code 7"


@pytest.mark.parametrize(
    ("body", "limits", "reason"),
    [
        ("while True: pass", SandboxLimits(cpu_seconds=1, wall_seconds=20),
         "cpu time limit exceeded"),
        ("x = bytearray(800 << 20)", SandboxLimits(memory_bytes=256 << 20),
         "memory limit exceeded"),
        ("import time; time.sleep(60)", SandboxLimits(wall_seconds=1.5),
         "wall time limit exceeded"),
        ("import os; open(os.environ['OUTPUT'] + '/big', 'wb').write(b'x' * (4 << 20))",
         SandboxLimits(output_bytes=1 << 20), "output size limit exceeded"),
        ("raise SystemExit(3)", FAST, "exited with code 3"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", FAST,
         "killed by signal SIGSEGV"),
    ],
)
def test_limits_end_the_job_as_failed_with_its_reason(
    tmp_path: Path, body: str, limits: SandboxLimits, reason: str
) -> None:
    result = run(tmp_path, body, limits)
    assert not result.succeeded
    assert result.reason == reason
    assert result.wall_seconds < 30


def test_many_small_files_over_the_output_limit_fail(tmp_path: Path) -> None:
    result = run(tmp_path, """
        import os
        for i in range(40):
            open(os.path.join(os.environ["OUTPUT"], f"part{i}"), "wb").write(b"x" * 50_000)
    """)
    assert not result.succeeded
    assert result.reason == "output size limit exceeded"


def test_environment_is_minimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPP_SECRET_SHOULD_NOT_LEAK", "hunter2")
    result = run(tmp_path, """
        import os
        raise SystemExit(9 if any("SECRET" in k for k in os.environ) else 0)
    """)
    assert result.succeeded


# -- filesystem isolation (the gateway runs as root here: the child gets its own uid) ----------
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the per-run uid needs a root gateway")


@pytest.fixture
def exposed_data_dir() -> Iterator[Path]:
    """A data folder as a careless setup leaves it: world-traversable, with a 0600 key file, a
    0700 model cache holding a 0644 file, and one world-readable file (proof the path is open)."""
    base = Path(tempfile.mkdtemp(prefix="sandbox-test-data-"))
    os.chmod(base, 0o755)
    (base / "gateway-x25519.key").write_bytes(b"SECRET-KEY-BYTES")
    os.chmod(base / "gateway-x25519.key", 0o600)
    cache = base / "models"
    cache.mkdir(mode=0o700)
    (cache / "model.py").write_text("SECRET-MODEL-CODE")
    os.chmod(cache / "model.py", 0o644)
    (base / "public.txt").write_text("anyone")
    os.chmod(base / "public.txt", 0o644)
    yield base
    shutil.rmtree(base)


@as_root
@pytest.mark.parametrize("target", ["gateway-x25519.key", "models/model.py"])
def test_algorithm_cannot_read_the_gateways_private_files(
    tmp_path: Path, exposed_data_dir: Path, target: str
) -> None:
    data = tmp_path / "data.csv"  # under pytest's 0700 folder: readable only as a staged copy
    data.write_text("1,2\n")
    result = run(tmp_path, f"""
        import json, os, pathlib
        out = pathlib.Path(os.environ["OUTPUT"])
        numbers = open(os.environ["INPUT"]).read().split(",")
        (out / "sum.txt").write_text(str(sum(map(int, numbers))))
        print(json.dumps({{"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
                          "cwd": os.getcwd(), "input": os.environ["INPUT"]}}))
        assert not pathlib.Path({str(exposed_data_dir / "public.txt")!r}).exists()
        print(pathlib.Path({str(exposed_data_dir / target)!r}).read_text())
    """, INPUT=data)
    work = tmp_path / "work"
    assert not result.succeeded
    assert result.reason == "exited with code 1"
    assert "FileNotFoundError" in result.stderr_tail  # the data folder is not even there
    stdout = (work / "stdout.log").read_text()
    assert "SECRET" not in stdout and "SECRET" not in result.stderr_tail
    seen = json.loads(stdout.splitlines()[0])
    assert seen["uid"] in SANDBOX_IDS and seen["gid"] == seen["uid"] and seen["groups"] == []
    assert (result.output_dir / "sum.txt").read_text() == "3"  # staged input read, output kept
    assert seen["cwd"] == "/tmp" and seen["input"] == "/in/INPUT/data.csv"


@as_root
def test_links_in_the_output_are_dropped_not_followed(tmp_path: Path,
                                                       exposed_data_dir: Path) -> None:
    key = exposed_data_dir / "gateway-x25519.key"
    result = run(tmp_path, f"""
        import os
        out = os.environ["OUTPUT"]
        os.symlink({str(key)!r}, os.path.join(out, "result.bin"))
        os.mkfifo(os.path.join(out, "pipe"))
        open(os.path.join(out, "real.txt"), "w").write("fine")
    """)
    assert result.succeeded, result.stderr_tail
    assert sorted(p.name for p in result.output_dir.iterdir()) == ["real.txt"]


@as_root
def test_output_folder_swapped_for_a_link_yields_nothing(tmp_path: Path,
                                                         exposed_data_dir: Path) -> None:
    result = run(tmp_path, f"""
        import os, shutil
        for name in os.listdir(os.environ["OUTPUT"]):
            shutil.rmtree(os.path.join(os.environ["OUTPUT"], name))
        os.symlink({str(exposed_data_dir)!r}, os.environ["OUTPUT"] + "/inner")
        os.rename(os.environ["OUTPUT"], "/tmp/moved")  # a mount point: refused
    """)
    assert not result.succeeded and result.reason == "exited with code 1"
    assert list(result.output_dir.iterdir()) == []


@as_root
def test_processes_left_behind_are_killed(tmp_path: Path) -> None:
    marker = f"sandbox-leftover-{os.getpid()}-{time.monotonic_ns()}"
    result = run(tmp_path, f"""
        import os
        if os.fork() == 0:
            os.setsid()  # out of the process group the wall-time kill reaches
            os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)",
                                          "{marker}"])
    """)
    assert result.succeeded, result.stderr_tail
    deadline = time.monotonic() + 5
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(marker)


def _alive(marker: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes() \
                    and _state(proc) != "Z":
                return True
        except OSError:
            continue
    return False


def _state(proc: Path) -> str:
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def test_data_dir_is_made_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    protect_data_dir(data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    protect_data_dir(tmp_path / "new")
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


@as_root
def test_input_folders_are_staged_readable_and_read_only(tmp_path: Path,
                                                         exposed_data_dir: Path) -> None:
    folder = tmp_path / "algorithm"
    (folder / "pkg" / "deep").mkdir(parents=True)
    (folder / "pkg" / "deep" / "weights.txt").write_text("42")
    os.chmod(folder / "pkg" / "deep" / "weights.txt", 0o600)  # private here, readable staged
    (folder / "helper.py").write_text("VALUE = 'helped'")
    os.chmod(folder / "helper.py", 0o444)  # the fetcher's mode: hard-linked, not copied
    (folder / "main.py").write_text(textwrap.dedent("""
        import os, pathlib, sys
        sys.path.insert(0, os.environ["ALGORITHM"])
        import helper
        here = pathlib.Path(os.environ["ALGORITHM"])
        weights = (here / "pkg" / "deep" / "weights.txt").read_text()
        try:
            (here / "helper.py").write_text("changed")
        except OSError:  # a read-only mount
            pass
        else:
            raise SystemExit(5)
        try:
            (here / "link").read_text()
        except OSError:  # the key is not mounted
            pass
        else:
            raise SystemExit(6)
        (pathlib.Path(os.environ["OUTPUT"]) / "out.txt").write_text(helper.VALUE + weights)
    """))
    os.symlink(exposed_data_dir / "gateway-x25519.key", folder / "link")
    work = tmp_path / "work"
    work.mkdir()
    result = run_python_in_sandbox(folder / "main.py", work, {"ALGORITHM": folder}, FAST)
    assert result.succeeded, result.stderr_tail
    assert (result.output_dir / "out.txt").read_text() == "helped42"
    assert (folder / "helper.py").read_text() == "VALUE = 'helped'"
    assert stat.S_IMODE((folder / "helper.py").stat().st_mode) == 0o444
