"""The compute sandbox with real processes: results come out, the network does not, and every
limit ends the job as failed with its reason."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from dapp.compute.sandbox import SandboxLimits, run_python_in_sandbox

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
