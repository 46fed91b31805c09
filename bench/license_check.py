"""License checks at the gateway: latency of a signed-in `HEAD /v1/assets/{id}/content` with
the license cache warm (one account, repeatedly) vs uncached (each account's first request,
so `hasLicense` goes to the chain), and requests per second of a small licensed download with
8 concurrent clients vs `/healthz` in the same run.

    .venv/bin/python -m bench.license_check [--warm 300] [--accounts 60] [--seconds 10]

Starts the whole stack (bench/stack.py). Fresh accounts come from `Account.create()`; the
publisher grants each one a download license on chain (signing in needs no ETH).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from bench.common import ms, percentile, section
from bench.stack import BenchStack, emit, running_stack, write_random_file

SMALL = 4096
Request = Callable[[httpx.Client], None]


def license_checks(bench: BenchStack) -> dict[str, float]:
    """The gateway's own count of cached / uncached `hasLicense` answers (from /metrics)."""
    counts = {"true": 0.0, "false": 0.0}
    text = httpx.get(f"{bench.gateway_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("gateway_license_check_seconds_count{"):
            cached = line.split('cached="', 1)[1].split('"', 1)[0]
            counts[cached] = float(line.rsplit(" ", 1)[1])
    return counts


def head_latency(http: httpx.Client, url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    response = http.head(url, headers=headers)
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"HEAD {url}: {response.status_code} {response.text[:200]}")
    return seconds


def requests_per_second(request: Request, clients: int, seconds: float) -> tuple[float, int]:
    """Requests/s of `clients` threads (own connection each) repeating `request` for
    `seconds`; and how many requests failed."""
    barrier = threading.Barrier(clients + 1)
    done = [0] * clients
    failed = [0] * clients
    stop = threading.Event()

    def work(index: int) -> None:
        with httpx.Client(timeout=30) as http:
            request(http)  # connect outside the timing
            barrier.wait()
            while not stop.is_set():
                try:
                    request(http)
                    done[index] += 1
                except (httpx.HTTPError, AssertionError):
                    failed[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return sum(done) / elapsed, sum(failed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=300, help="warm-cache requests")
    parser.add_argument("--accounts", type=int, default=60, help="fresh accounts (uncached)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-append", action="store_true",
                        help="print the tables only (a trial run)")
    args = parser.parse_args()

    with running_stack() as bench:
        with section("publishing a 4 KiB asset, buying it, granting it to fresh accounts"):
            path = write_random_file(bench.settings.data_dir / "small.bin", SMALL)
            asset_id = bench.publish(path, "bench 4 KiB").asset_id
            bench.buy(asset_id, bench.buyer)
            fresh: list[LocalAccount] = [Account.create() for _ in range(args.accounts)]
            hashes = [bench.grant(asset_id, account.address) for account in fresh]
            for tx_hash in hashes:
                receipt = bench.web3.eth.wait_for_transaction_receipt(tx_hash)
                assert receipt["status"] == 1, receipt
            sessions = [bench.signed_in(account) for account in fresh]
            buyer = bench.signed_in(bench.buyer)
        url = f"{bench.gateway_url}/v1/assets/{asset_id}/content"

        with section(f"warm cache: {args.warm} HEADs by one account"):
            with httpx.Client(timeout=30) as http:
                head_latency(http, url, buyer.auth_headers)  # fills the cache
                before = license_checks(bench)
                warm = [head_latency(http, url, buyer.auth_headers) for _ in range(args.warm)]
            after = license_checks(bench)
            warm_hits = after["true"] - before["true"]
            warm_misses = after["false"] - before["false"]

        with section(f"uncached: the first HEAD of each of {args.accounts} accounts"):
            with httpx.Client(timeout=30) as http:
                head_latency(http, url, buyer.auth_headers)  # same connection state as above
                before = license_checks(bench)
                cold = [head_latency(http, url, session.auth_headers) for session in sessions]
            after = license_checks(bench)
            cold_hits = after["true"] - before["true"]
            cold_misses = after["false"] - before["false"]

        clients = [sessions[i % len(sessions)] for i in range(args.clients)]
        by_thread: dict[int, dict[str, str]] = {}
        lock = threading.Lock()

        def download(http: httpx.Client) -> None:
            ident = threading.get_ident()
            with lock:
                if ident not in by_thread:
                    by_thread[ident] = clients[len(by_thread) % len(clients)].auth_headers
            response = http.get(url, headers=by_thread[ident])
            assert response.status_code == 200 and len(response.content) == SMALL

        def healthz(http: httpx.Client) -> None:
            response = http.get(f"{bench.gateway_url}/healthz")
            assert response.status_code == 200

        with section(f"{args.clients} clients for {args.seconds:g} s: download, then /healthz"):
            download_rps, download_failed = requests_per_second(download, args.clients,
                                                                args.seconds)
            health_rps, health_failed = requests_per_second(healthz, args.clients, args.seconds)

    emit(
        not args.no_append,
        "License checks: HEAD /v1/assets/{id}/content, warm vs uncached license cache",
        ["license cache", "requests", "p50", "p99", "mean", "hasLicense hits / misses"],
        [
            ["warm (one account)", len(warm), ms(percentile(warm, 0.5)),
             ms(percentile(warm, 0.99)), ms(statistics.fmean(warm)),
             f"{warm_hits:.0f} / {warm_misses:.0f}"],
            ["uncached (first request per account)", len(cold), ms(percentile(cold, 0.5)),
             ms(percentile(cold, 0.99)), ms(statistics.fmean(cold)),
             f"{cold_hits:.0f} / {cold_misses:.0f}"],
        ],
        "One client, sequential, keep-alive connection, signed-in (SIWE bearer session). "
        f"Uncached: {args.accounts} fresh accounts (Account.create()), each granted a download "
        "license by the owner and signed in beforehand; the timed request is each account's "
        "first, so hasLicense is an eth_call to ganache. Warm: the buyer's account after one "
        "request; positive answers live 5 s, so a run longer than that sees a miss now and "
        "then. Hits/misses from the gateway's gateway_license_check_seconds metric. Every "
        "HEAD also asks the chain for the asset's version count (an eth_call, never cached).",
    )
    emit(
        not args.no_append,
        f"License checks: licensed 4 KiB download vs /healthz, {args.clients} clients",
        ["endpoint", "requests/s", "failed", "ratio to /healthz"],
        [
            ["GET /v1/assets/{id}/content (4 KiB)", f"{download_rps:,.0f}", download_failed,
             f"{download_rps / health_rps:.2f}"],
            ["GET /healthz", f"{health_rps:,.0f}", health_failed, "1.00"],
        ],
        f"{args.clients} threads in one client process for {args.seconds:g} s each, one "
        "connection per thread, each download thread signed in as its own licensed account. "
        "/healthz asks the chain (chain id, head), Kubo (id) and the database on every "
        "request, so it is no empty baseline. Client and gateway share the machine's cores.",
    )


if __name__ == "__main__":
    main()
