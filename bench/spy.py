"""Where the gateway's CPU goes during a benchmark run: py-spy's raw samples (`py-spy record
--gil -f raw`, one line per distinct stack and its count) sorted into the parts of a call.

A background thread's samples are the background's; any other sample goes to the part of its
innermost frame that names one (a web3 call inside the
voucher check counts as a chain read, a SQLite statement inside the ledger as the ledger);
frames of no part fall through to their callers, down to the event loop itself.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

#: (part, substrings of a frame: "function (path:line)"); the first part that matches the
#: innermost frame wins, so the more specific parts come first
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("background: redeemer, job worker, head and license feeds",
     ("Redeemer.", "JobWorker.", "HeadWatcher.", "LicenseFeed.", "MeteredCalls._background",
      "WarmPool.evict_idle")),
    ("chain reads (web3: cache misses)", ("web3/", "eth_abi/", "requests/", "urllib3/")),
    ("voucher ledger (SQLite read + compare-and-set)", ("VoucherLedger.", "sqlalchemy/")),
    ("voucher check (parse, digest, signer, channel cache)",
     ("VoucherVerifier.", "dapp/market/vouchers.py", "MarketReader.", "coincurve/")),
    ("license, model and sandbox checks (cached)",
     ("require_license", "LicenseChecker.", "ModelStore.check_is_model", "ready_files",
      "RegistryReader.", "check_runnable", "require_sandbox", "current_account",
      "SessionStore.")),
    ("model call (pipe to the warm worker)", ("ModelStore.run", "WarmPool.", "WarmWorker.")),
    ("thread hops (anyio worker threads)",
     ("anyio/", "concurrent/futures", "call_soon_threadsafe", "_write_to_self",
      "_read_from_self")),
    ("access log, metrics, rate limit", ("AccessMiddleware._log", "AccessMiddleware._count",
                                         "logging/", "prometheus_client/", "PeerPolicy.")),
    ("the invoke route itself", ("invoke_model", "Reservation.", "_admit")),
    ("FastAPI + Starlette (middleware incl. the gateway's, routing, parameters, response)",
     ("fastapi/", "starlette/", "pydantic", "dapp/gateway/middleware.py")),
    ("HTTP server (uvicorn + httptools/h11)", ("uvicorn/", "httptools", "h11/")),
    ("event loop", ("asyncio/", "uvloop")),
)
OTHER = "other"


def part_of(stack: list[str]) -> str:
    background, marks = PARTS[0]  # a background thread's samples are its own, whatever it calls
    if any(mark in frame for frame in stack for mark in marks):
        return background
    for frame in reversed(stack):
        for part, marks in PARTS:
            if any(mark in frame for mark in marks):
                return part
    return OTHER


def parts(raw: Path) -> Counter[str]:
    """Samples per part in a raw py-spy file."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[part_of(stack.split(";"))] += int(count)
    return counts


def breakdown(runs: dict[str, tuple[Path, float]]) -> tuple[list[str], list[list[object]]]:
    """A table: per part, the CPU ms per call of each run (`name`: (raw file, CPU seconds per
    call)), its share of the samples times the run's measured CPU per call."""
    counted = {name: (parts(raw), cpu) for name, (raw, cpu) in runs.items() if raw.is_file()}
    names = list(counted)
    order = [part for part, _ in PARTS] + [OTHER]
    rows: list[list[object]] = []
    for part in order:
        cells: list[object] = [part]
        for name in names:
            counts, cpu = counted[name]
            total = sum(counts.values()) or 1
            cells.append(f"{counts[part] / total * cpu * 1000:.3f}")
        if any(counted[name][0][part] for name in names):
            rows.append(cells)
    rows.append(["all (measured: gateway process CPU / calls)",
                 *(f"{counted[name][1] * 1000:.3f}" for name in names)])
    return ["part of a call", *(f"{name} (ms/call)" for name in names)], rows
