"""What every benchmark shares: timing, the machine's details and the table it prints and
appends to docs/BENCHMARKS.md. Benchmarks compare against a baseline measured in the same run
(a ratio); nothing here asserts a speed."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_FILE = REPO_ROOT / "docs" / "BENCHMARKS.md"


@dataclass
class Measurement:
    seconds: float
    value: object = None


def timed(action: Callable[[], object]) -> Measurement:
    start = time.perf_counter()
    value = action()
    return Measurement(time.perf_counter() - start, value)


def best_of(runs: int, action: Callable[[], object]) -> Measurement:
    """The fastest of `runs` runs: the least disturbed by the rest of the machine."""
    return min((timed(action) for _ in range(runs)), key=lambda m: m.seconds)


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.1f} GiB RAM"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    return (f"{platform.node()}: {os.cpu_count()} x {cpu}{memory}; Python "
            f"{platform.python_version()}; commit {commit or '?'}")


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.5 = p50, 0.99 = p99)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def mb_per_second(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e6:,.1f} MB/s"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM again from the current RSS (clear_refs 5), to measure one phase's peak."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextmanager
def section(title: str) -> Iterator[None]:
    print(f"\n== {title} ==", flush=True)
    yield


def render_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(title: str, header: Sequence[str], rows: Sequence[Sequence[object]],
           notes: str = "") -> None:
    """Print the table and append it, with the machine's details, to docs/BENCHMARKS.md."""
    table = render_table(header, rows)
    print(f"\n{title}\n{table}\n{notes}", flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not BENCHMARKS_FILE.is_file():
        BENCHMARKS_FILE.write_text(
            "# Benchmarks\n\nAppended by `make bench`; newest last. Each table compares against "
            "a baseline measured in the same run.\n"
        )
    with BENCHMARKS_FILE.open("a") as out:
        out.write(f"\n## {title} — {stamp}\n\n{machine()}\n\n{table}\n")
        if notes:
            out.write(f"\n{notes}\n")
