"""Run untrusted algorithm code in a separate process with no network and hard limits.

Isolation: a new network namespace (`unshare -n`: only a downed loopback, so not even
localhost is reachable), rlimits on CPU time, address space and file size, a minimal
environment, its own process group (killed whole at the wall-time limit). The filesystem is
not isolated beyond the working directory it is given; run the executor as a dedicated user
(or swap in a container/cluster executor) when that matters.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dapp.errors import DappError

UNSHARE = "/usr/bin/unshare"
LOG_TAIL_BYTES = 4096
# What Python prints when code in the sandbox reaches for the network it does not have.
NETWORK_ERRORS = ("Network is unreachable", "Temporary failure in name resolution",
                  "Name or service not known", "Cannot assign requested address")


class SandboxUnavailable(DappError):
    code = "sandbox-unavailable"
    http_status = 503


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    output_bytes: int = 64 << 20
    wall_seconds: float = 120.0


@dataclass(frozen=True)
class SandboxResult:
    succeeded: bool
    reason: str | None
    exit_code: int | None
    wall_seconds: float
    output_dir: Path
    stderr_tail: str


def network_isolation_works() -> bool:
    try:
        return subprocess.run([UNSHARE, "-n", "--", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _apply_limits(limits: SandboxLimits) -> None:
    """Runs in the child between fork and exec."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _directory_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def _tail(path: Path) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return handle.read().decode(errors="replace")


def _failure_reason(exit_code: int, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return "wall time limit exceeded"
    if exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in stderr:
        return "cpu time limit exceeded"
    if exit_code == -signal.SIGXFSZ or "File too large" in stderr:
        return "output size limit exceeded"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory limit exceeded"
    if any(marker in stderr for marker in NETWORK_ERRORS):
        return f"network access denied (exited with code {exit_code})"
    if exit_code < 0:
        return f"killed by signal {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"


def run_python_in_sandbox(
    script: Path,
    workdir: Path,
    inputs: dict[str, Path],
    limits: SandboxLimits,
    stdin_bytes: bytes | None = None,
) -> SandboxResult:
    """Run `script` with `python -I`; inputs are passed as env vars (`INPUT`, `ALGORITHM`...),
    results go to `$OUTPUT` (= workdir/output), stdout/stderr to workdir files."""
    if not network_isolation_works():
        raise SandboxUnavailable("cannot create a network namespace for the sandbox",
                                 hint="the compute executor needs CAP_SYS_ADMIN (unshare -n)")
    output_dir = workdir / "output"
    output_dir.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8",
           "OUTPUT": str(output_dir), **{name: str(path) for name, path in inputs.items()}}
    stdout_path, stderr_path = workdir / "stdout.log", workdir / "stderr.log"
    started = time.monotonic()
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [UNSHARE, "-n", "--", sys.executable, "-I", str(script)],
            cwd=workdir, env=env, stdout=stdout, stderr=stderr,
            stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
            preexec_fn=lambda: _apply_limits(limits),
        )
        timed_out = False
        try:
            process.communicate(stdin_bytes, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    wall = time.monotonic() - started
    stderr_tail = _tail(stderr_path)
    exit_code = process.returncode
    if not timed_out and exit_code == 0:
        if _directory_size(output_dir) > limits.output_bytes:
            return SandboxResult(False, "output size limit exceeded", exit_code, wall,
                                 output_dir, stderr_tail)
        return SandboxResult(True, None, exit_code, wall, output_dir, stderr_tail)
    reason = _failure_reason(exit_code, stderr_tail, timed_out)
    return SandboxResult(False, reason, exit_code, wall, output_dir, stderr_tail)
