"""Licensed download throughput: the gateway (SIWE session, license check, DDX1 decryption,
streamed) vs `ipfs cat` of the same stored bytes from the same Kubo, and vs reading the
plaintext file from disk; one client, then 32 concurrent clients; the gateway's memory.

    .venv/bin/python -m bench.downloads [--sizes-mb 1,100,1000] [--concurrent-sizes-mb 1,100]
                                        [--clients 32]

Starts the whole stack (bench/stack.py) in a temporary directory. Clients read each body with
httpx and throw the bytes away (nothing is written to disk).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import best_of, peak_rss_kib, reset_peak_rss, rss_kib, section
from bench.stack import BenchStack, emit, running_stack, write_random_file

READ = 1 << 20
Fetch = Callable[[httpx.Client], int]


@dataclass
class Asset:
    size: int
    path: Path
    asset_id: int
    content_cid: str


def gateway_fetch(bench: BenchStack, asset_id: int, headers: dict[str, str]) -> Fetch:
    def fetch(http: httpx.Client) -> int:
        got = 0
        with http.stream("GET", f"{bench.gateway_url}/v1/assets/{asset_id}/content",
                         headers=headers) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(READ):
                got += len(chunk)
        return got
    return fetch


def cat_fetch(bench: BenchStack, cid: str) -> Fetch:
    def fetch(http: httpx.Client) -> int:
        got = 0
        with http.stream("POST", f"{bench.ipfs_api_url}/api/v0/cat",
                         params={"arg": cid}) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(READ):
                got += len(chunk)
        return got
    return fetch


def disk_read(path: Path) -> int:
    got = 0
    with path.open("rb", buffering=0) as source:
        while chunk := source.read(READ):
            got += len(chunk)
    return got


def one_client(fetch: Fetch, runs: int) -> tuple[float, int]:
    """Best-of-`runs` seconds for one download on a warm connection (one download first,
    not timed: the connection, and the gateway's caches of metadata, key and license), and
    the bytes it got."""
    with httpx.Client(timeout=600) as http:
        fetch(http)
        measured = best_of(runs, lambda: fetch(http))
    return measured.seconds, int(measured.value)  # type: ignore[call-overload]


def concurrent_clients(fetch: Fetch, clients: int) -> tuple[float, int]:
    """Wall seconds for `clients` threads, each with its own connection, to download once
    (started together), and the total bytes they got."""
    barrier = threading.Barrier(clients + 1)
    totals = [0] * clients
    errors: list[BaseException] = []

    def work(index: int) -> None:
        with httpx.Client(timeout=600) as http:
            barrier.wait()
            try:
                totals[index] = fetch(http)
            except BaseException as error:  # reported below, after the others finish
                errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return seconds, sum(totals)


def rate(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def check_plaintext(bench: BenchStack, asset: Asset, headers: dict[str, str]) -> None:
    """The gateway serves exactly the published bytes (checked once, outside the timing)."""
    digest = hashlib.sha256()
    with httpx.stream("GET", f"{bench.gateway_url}/v1/assets/{asset.asset_id}/content",
                      headers=headers, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(READ):
            digest.update(chunk)
    expected = hashlib.sha256(asset.path.read_bytes()).hexdigest()
    if digest.hexdigest() != expected:
        raise SystemExit(f"asset {asset.asset_id}: the gateway served different bytes")


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def label(size: int) -> str:
    return f"{size / 1e9:g} GB" if size >= 1_000_000_000 else f"{size / 1e6:g} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", default="1,100,1000",
                        help="file sizes for the one-client runs (MB)")
    parser.add_argument("--concurrent-sizes-mb", default="1,100",
                        help="file sizes for the concurrent runs (MB)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--no-append", action="store_true",
                        help="print the tables only (a trial run)")
    args = parser.parse_args()
    sizes = [int(float(s) * 1_000_000) for s in args.sizes_mb.split(",") if s]
    concurrent_sizes = [int(float(s) * 1_000_000)
                        for s in args.concurrent_sizes_mb.split(",") if s]

    single_rows: list[list[object]] = []
    concurrent_rows: list[list[object]] = []
    # one account downloads --clients at once: a load, not what the per-account stream cap is for
    with running_stack(max_streams_per_account=max(16, args.clients)) as bench:
        gateway_pid = bench.pid("gateway")
        assets: dict[int, Asset] = {}
        with section("publishing and buying the test files"):
            for size in sorted(set(sizes) | set(concurrent_sizes)):
                path = write_random_file(bench.settings.data_dir / f"plain-{size}.bin", size)
                published = bench.publish(path, f"bench {label(size)}")
                bench.buy(published.asset_id, bench.buyer)
                assets[size] = Asset(size, path, published.asset_id,
                                     published.content.content_cid)
                print(f"  asset #{published.asset_id}: {label(size)}", flush=True)
        client = bench.signed_in(bench.buyer)
        headers = client.auth_headers
        check_plaintext(bench, assets[min(assets)], headers)
        rss_before = rss_kib(gateway_pid)

        for size in sizes:
            asset = assets[size]
            runs = 10 if size <= 10_000_000 else 3 if size <= 100_000_000 else 1
            with section(f"one client, {label(size)} (best of {runs})"):
                reset_peak_rss(gateway_pid)
                gw_s, gw_bytes = one_client(gateway_fetch(bench, asset.asset_id, headers), runs)
                gw_peak = peak_rss_kib(gateway_pid)
                cat_s, cat_bytes = one_client(cat_fetch(bench, asset.content_cid), runs)
                disk = best_of(runs, lambda asset=asset: disk_read(asset.path))  # type: ignore[misc]
            if gw_bytes != size:
                raise SystemExit(f"gateway served {gw_bytes} bytes of {size}")
            gw, cat, plain = rate(gw_bytes, gw_s), rate(cat_bytes, cat_s), rate(size, disk.seconds)
            single_rows.append([label(size), f"{gw:,.1f}", f"{cat:,.1f}", f"{gw / cat:.2f}",
                                f"{plain:,.0f}", f"{gw / plain:.3f}",
                                f"{gw_peak / 1024:,.0f} MiB", load_average()])
            print(single_rows[-1], flush=True)

        for size in concurrent_sizes:
            asset = assets[size]
            with section(f"{args.clients} concurrent clients, {label(size)}"):
                reset_peak_rss(gateway_pid)
                gw_s, gw_bytes = concurrent_clients(
                    gateway_fetch(bench, asset.asset_id, headers), args.clients)
                gw_peak = peak_rss_kib(gateway_pid)
                cat_s, cat_bytes = concurrent_clients(
                    cat_fetch(bench, asset.content_cid), args.clients)
            if gw_bytes != size * args.clients:
                raise SystemExit(f"gateway served {gw_bytes} bytes of {size * args.clients}")
            gw, cat = rate(gw_bytes, gw_s), rate(cat_bytes, cat_s)
            concurrent_rows.append([f"{args.clients} x {label(size)}", f"{gw:,.1f}",
                                    f"{cat:,.1f}", f"{gw / cat:.2f}", f"{gw_s:.2f} s",
                                    f"{gw_peak / 1024:,.0f} MiB", load_average()])
            print(concurrent_rows[-1], flush=True)

        rss_after = rss_kib(gateway_pid)

    memory = (f"Gateway RSS {rss_before / 1024:,.0f} MiB before the downloads, "
              f"{rss_after / 1024:,.0f} MiB after; peak RSS: the gateway's VmHWM during that "
              "row's runs (reset with clear_refs before each row). Load: `uptime`'s 1-minute "
              "load average after the row (other work shared the machine's 2 cores).")
    emit(
        not args.no_append,
        "Downloads: licensed + decrypted through the gateway vs ipfs cat (one client)",
        ["file", "gateway MB/s", "ipfs cat MB/s", "ratio (aim ≥ 0.8)", "disk read MB/s",
         "gateway / disk", "gateway peak RSS", "load"],
        single_rows,
        "Gateway: GET /v1/assets/{id}/content with a SIWE session and a bought license, "
        "decrypted DDX1 (AES-256-GCM, 64 KiB segments) streamed from Kubo. ipfs cat: "
        "POST /api/v0/cat of the same content CID on the same Kubo (the stored, encrypted "
        "bytes). Disk: the plaintext file read in 1 MiB blocks (page cache warm). After one "
        "untimed download on the same connection, best of 10 (≤ 10 MB), 3 (≤ 100 MB) or one "
        "run (1 GB); bodies read with httpx and discarded. " + memory,
    )
    if concurrent_rows:
        emit(
            not args.no_append,
            f"Downloads: {args.clients} concurrent clients, aggregate",
            ["clients x file", "gateway MB/s", "ipfs cat MB/s", "ratio (aim ≥ 0.8)",
             "gateway wall time", "gateway peak RSS", "load"],
            concurrent_rows,
            f"{args.clients} threads in one client process, each with its own connection, "
            "started together; aggregate = all bytes / wall time. Clients, gateway and Kubo "
            "share the machine's cores. " + memory,
        )


if __name__ == "__main__":
    main()
