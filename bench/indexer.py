"""The indexer: events per second catching up on AssetRegistry events vs a bare `eth_getLogs`
loop that only fetches the same logs (same chain, same block range, same range size), on
SQLite and on PostgreSQL, and how far the running indexer lags behind the head under a steady
load, polling only and following new heads by subscription.

    .venv/bin/python -m bench.indexer [--events 100000] [--per-block 20] [--tps 10]
                                      [--seconds 30] [--chain anvil|ganache]

Starts the whole stack without its indexer (bench/stack.py), on anvil by default (ganache
takes hours to mine 100,000 transactions on a loaded 2-core machine). The events are
`LicenseGranted` (the publisher grants the demo asset to a new address each time): sent
unlocked in JSON-RPC batches with automining off, then mined `--per-block` to a block. The
catch-up runs in-process (`Indexer.sync_to`) on a fresh SQLite file and a fresh PostgreSQL
database (a throw-away cluster, bench/postgres.py); the lag test runs `python -m
dapp.indexer` as `up` does and reads its cursor from the store while a thread sends `--tps`
grants per second (one block per transaction), once with `DAPP_CHAIN_WS_URL=off` (polling
only, the baseline) and once subscribed to new heads.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.exc import OperationalError
from web3 import Web3

from bench.common import section, timed
from bench.postgres import BenchPostgres, running_postgres
from bench.stack import PERPETUAL, BenchStack, emit, running_stack
from dapp.devstack.process import REPO_ROOT, ManagedProcess
from dapp.devstack.up import settings_env
from dapp.indexer import Indexer
from dapp.indexer.contracts import contracts_from_deployment
from dapp.indexer.handlers import default_handlers
from dapp.indexer.source import ChainSource
from dapp.store.catalog import Catalog
from dapp.store.db import make_engine

DEMO_ASSET = 1  # seeded by the stack, owned by the publisher
SEND_BATCH = 500


_HTTP = httpx.Client(timeout=300)  # one connection (and TLS context) for every call


def rpc(url: str, method: str, *params: Any) -> Any:
    answer = _HTTP.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                   "params": list(params)}).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def licensee(n: int) -> str:
    return Web3.to_checksum_address(f"0x{0xbe0000 + n:040x}")


# grant(assetId, licensee, scope, expiresAt): the licensee is the second 32-byte word
_LICENSEE_WORD = slice(2 + 8 + 64, 2 + 8 + 128)


def grant_call(bench: BenchStack, registry: Any, n: int) -> dict[str, Any]:
    """The grant to licensee(n), encoded once by web3 and then by replacing the licensee's
    word (web3's encoder costs more than ganache's mining of it)."""
    template = _grant_template(registry)
    data = (template[:_LICENSEE_WORD.start] + licensee(n)[2:].lower().rjust(64, "0")
            + template[_LICENSEE_WORD.stop:])
    return {"from": bench.publisher.address, "to": registry.address, "data": data,
            "gas": 120_000}


_TEMPLATES: dict[str, str] = {}


def _grant_template(registry: Any) -> str:
    if registry.address not in _TEMPLATES:
        _TEMPLATES[registry.address] = registry.encode_abi(
            "grant", args=[DEMO_ASSET, licensee(0), 0, PERPETUAL])
    return _TEMPLATES[registry.address]


def emit_grants(bench: BenchStack, count: int, per_block: int,
                chain: str = "ganache") -> tuple[int, int]:
    """`count` LicenseGranted events, `per_block` to a block; returns (first, last) block."""
    url = bench.settings.chain_rpc_url
    registry = bench.registry
    first = int(rpc(url, "eth_blockNumber"), 16) + 1
    if chain == "anvil":
        rpc(url, "evm_setAutomine", False)
    else:
        rpc(url, "miner_stop")
    try:
        sent = 0
        while sent < count:
            block = min(per_block, count - sent)
            for start in range(0, block, SEND_BATCH):
                size = min(SEND_BATCH, block - start)
                payload = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction",
                            "params": [{**grant_call(bench, registry, sent + start + i),
                                        "gas": hex(120_000)}]}
                           for i in range(size)]
                answers = _HTTP.post(url, json=payload).json()
                errors = [a["error"] for a in answers if "error" in a]
                if errors:
                    raise RuntimeError(f"eth_sendTransaction: {errors[0]}")
            rpc(url, "evm_mine")
            sent += block
        last = int(rpc(url, "eth_blockNumber"), 16)
    finally:
        if chain == "anvil":
            rpc(url, "evm_setAutomine", True)
        else:
            rpc(url, "miner_start")  # ganache mines an empty block here
    mined = rpc(url, "eth_getBlockByNumber", hex(last), False)["transactions"]
    if len(mined) != min(per_block, count):
        raise RuntimeError(f"block {last} holds {len(mined)} transactions, not {per_block}")
    if bench.web3.eth.get_transaction_receipt(mined[-1])["status"] != 1:
        raise RuntimeError("the last grant reverted")
    return first, last


def get_logs_loop(bench: BenchStack, addresses: list[str], first: int, last: int,
                  step: int) -> int:
    """The baseline: fetch every log of the followed contracts, range by range, and drop it."""
    source = ChainSource(bench.web3)
    fetched = 0
    for start in range(first, last + 1, step):
        fetched += len(source.get_logs(start, min(last, start + step - 1), addresses))
    return fetched


@dataclass(frozen=True, order=True)
class CatchUp:
    seconds: float
    events: int
    batches: int
    main_cpu: float  # the indexer's own CPU seconds (this process, while it caught up)
    reader_cpu: float  # its reader process's (the child, once it ended)


def catch_up(bench: BenchStack, url: str, head: int) -> CatchUp:
    """A fresh indexer indexing everything up to `head`: seconds, events, batches and CPU."""
    settings = bench.settings.with_overrides(database_url=url)
    indexer = Indexer(settings, engine=make_engine(url))
    indexer.prepare()  # migrations and the cursor: set-up, not catching up
    children_before, cpu_before = _children_cpu(), time.process_time()
    measured = timed(lambda: indexer.sync_to(head))
    main_cpu = time.process_time() - cpu_before
    indexer.close()  # (its reader process: waited for, so its CPU is counted below)
    report = measured.value
    return CatchUp(seconds=measured.seconds, events=int(report.events),  # type: ignore[attr-defined]
                   batches=int(report.batches),  # type: ignore[attr-defined]
                   main_cpu=main_cpu, reader_cpu=_children_cpu() - children_before)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class LoadSender(threading.Thread):
    """Sends `tps` grants per second, paced by the clock: each is sent when it is due, without
    waiting for the one before to be mined (an unlocked `eth_sendTransaction`; the node
    numbers them and automines one block each), while a second thread notes when each new
    block appears (eth_blockNumber every 5 ms)."""

    def __init__(self, bench: BenchStack, tps: float, seconds: float, offset: int) -> None:
        super().__init__(name="load", daemon=True)
        self.bench, self.tps, self.seconds, self.offset = bench, tps, seconds, offset
        self.mined_at: dict[int, float] = {}
        self.sent = 0
        self.late = 0.0  # the most a send started after it was due
        self.elapsed = seconds  # the real sending time once done (a loaded sender lags)
        self.error: BaseException | None = None
        self._sending = True

    def run(self) -> None:
        url = self.bench.settings.chain_rpc_url
        registry = self.bench.registry
        watcher = threading.Thread(target=self._watch, args=(url,), name="blocks", daemon=True)
        watcher.start()
        start = time.monotonic()
        try:
            with httpx.Client(timeout=60) as client:
                while (due := start + self.sent / self.tps) < start + self.seconds:
                    time.sleep(max(0.0, due - time.monotonic()))
                    self.late = max(self.late, time.monotonic() - due)
                    call = {**grant_call(self.bench, registry, self.offset + self.sent),
                            "gas": hex(120_000)}
                    answer = client.post(url, json={"jsonrpc": "2.0", "id": 1,
                                                    "method": "eth_sendTransaction",
                                                    "params": [call]}).json()
                    if "error" in answer:
                        raise RuntimeError(f"eth_sendTransaction: {answer['error']}")
                    self.sent += 1
            self.elapsed = time.monotonic() - start
            time.sleep(0.2)  # the last block's appearance
        except BaseException as error:
            self.error = error
        finally:
            self._sending = False
            watcher.join()

    def _watch(self, url: str) -> None:
        with httpx.Client(timeout=60) as client:
            seen = -1
            while self._sending:
                answer = client.post(url, json={"jsonrpc": "2.0", "id": 1,
                                                "method": "eth_blockNumber", "params": []})
                number = int(answer.json()["result"], 16)
                now = time.monotonic()
                if seen >= 0:
                    for block in range(seen + 1, number + 1):
                        self.mined_at.setdefault(block, now)
                seen = max(seen, number)
                time.sleep(0.005)


def lag_under_load(bench: BenchStack, tps: float, seconds: float, offset: int,
                   ws_url: str) -> dict[str, float]:
    settings = bench.settings.with_overrides(
        chain_ws_url=ws_url,
        database_url=f"sqlite:///{bench.settings.data_dir / f'lag-{offset}.db'}")
    chain_id = int(bench.web3.eth.chain_id)
    indexer = ManagedProcess(
        name="indexer", argv=[sys.executable, "-m", "dapp.indexer"],
        log_file=settings.data_dir / "logs" / "bench-indexer.log",
        env={**os.environ, **settings_env(settings)}, cwd=REPO_ROOT,
    ).start()
    catalog = Catalog(make_engine(settings.resolved_database_url))

    def cursor() -> int:
        try:
            return int(catalog.indexed_block(chain_id) or -1)
        except OperationalError:  # the indexer holds the write lock this instant
            return -1

    try:
        head = bench.web3.eth.block_number
        indexer.wait_until(lambda: cursor() >= head, timeout=600)
        load = LoadSender(bench, tps, seconds, offset)
        samples: list[tuple[int, float]] = []  # (blocks behind, seconds behind)
        load.start()
        while load.is_alive():
            now = time.monotonic()
            at = cursor()
            if at < 0:
                time.sleep(0.01)
                continue
            mined = list(load.mined_at.items())  # (one copy: the watcher adds to it)
            latest = max((b for b, _ in mined), default=head)
            behind = max(0, latest - at)
            waiting = [t for b, t in mined if b > at]
            samples.append((behind, now - min(waiting) if waiting else 0.0))
            time.sleep(0.1)
        load.join()
        if load.error is not None:
            raise load.error
        final = max(load.mined_at)
        drained = timed(lambda: indexer.wait_until(lambda: cursor() >= final, timeout=120))
    finally:
        indexer.stop()
    blocks = [b for b, _ in samples]
    lags = sorted(s for _, s in samples)
    return {
        "sent": load.sent, "tps": load.sent / load.elapsed, "samples": len(samples),
        "blocks_mean": statistics.fmean(blocks), "blocks_max": max(blocks),
        "seconds_p50": lags[len(lags) // 2], "seconds_p95": lags[int(len(lags) * 0.95)],
        "seconds_p99": lags[int(len(lags) * 0.99)], "late": load.late,
        "seconds_max": lags[-1], "drain": drained.seconds,
    }


def catch_up_rows(bench: BenchStack, postgres: BenchPostgres | None, head: int,
                  fetched: int, fetch_seconds: float, blocks: int) -> list[list[object]]:
    fetch_rate = fetched / fetch_seconds
    stores = [("SQLite", lambda run: f"sqlite:///{bench.settings.data_dir}/catch-up-{run}.db")]
    if postgres is not None:
        stores.append(("PostgreSQL", lambda run: postgres.fresh_database(f"catch_up_{run}")))
    rows: list[list[object]] = []
    for name, url_of in stores:
        best = min(catch_up(bench, url_of(run), head) for run in range(2))
        if best.events != fetched:
            raise SystemExit(f"the indexer indexed {best.events} events, getLogs fetched "
                             f"{fetched}")
        rate = best.events / best.seconds
        rows.append([f"indexer (sync_to head, {name}, {best.batches} batches)",
                     f"{best.events:,}", f"{blocks:,}", f"{best.seconds:.2f}", f"{rate:,.0f}",
                     f"{rate / fetch_rate:.2f}",
                     f"{best.main_cpu / best.events * 1e6:.1f} + "
                     f"{best.reader_cpu / best.events * 1e6:.1f}"])
        print(rows[-1], flush=True)
    rows.append(["eth_getLogs loop (fetch only)", f"{fetched:,}", f"{blocks:,}",
                 f"{fetch_seconds:.2f}", f"{fetch_rate:,.0f}", "1.00", ""])
    return rows


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--per-block", type=int, default=20)
    parser.add_argument("--tps", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--chain", choices=["anvil", "ganache"], default="anvil")
    parser.add_argument("--no-append", action="store_true",
                        help="print the tables only (a trial run)")
    parser.add_argument("--skip-lag", action="store_true",
                        help="the catch-up only, not the lag under load (a trial run)")
    args = parser.parse_args()

    with running_stack(indexer=False, chain=args.chain) as bench, \
            running_postgres(bench.settings.data_dir / "logs") as postgres:
        settings = bench.settings
        chain_id = int(bench.web3.eth.chain_id)
        specs = contracts_from_deployment(settings, chain_id, default_handlers().contracts())
        addresses = [s.address for s in specs]
        from_block = min(s.from_block for s in specs)
        with section(f"sending {args.events:,} grants, {args.per_block} per block"):
            sending = timed(lambda: emit_grants(bench, args.events, args.per_block, args.chain))
            first, last = sending.value  # type: ignore[misc]
            print(f"  blocks {first}..{last} in {sending.seconds:.1f} s", flush=True)
        head = bench.web3.eth.block_number
        step = settings.indexer_max_range

        with section(f"catching up blocks {from_block}..{head}: getLogs loop, then indexer"):
            load_before = load_average()
            fetch = [timed(lambda: get_logs_loop(bench, addresses, from_block, head, step))
                     for _ in range(2)]
            fetched = int(fetch[0].value)  # type: ignore[call-overload]
            fetch_seconds = min(m.seconds for m in fetch)
            rows = catch_up_rows(bench, postgres, head, fetched, fetch_seconds,
                                 head - from_block + 1)
            load_after = load_average()

        lags = []
        for mode, ws_url in (() if args.skip_lag else (("polling only", "off"),
                                                       ("subscribed to new heads", ""))):
            with section(f"lag behind the head, {mode}: {args.tps:g} tx/s for "
                         f"{args.seconds:g} s"):
                lag = lag_under_load(bench, args.tps, args.seconds,
                                     offset=args.events + len(lags) * 1_000_000,
                                     ws_url=ws_url)
                lags.append((mode, lag, load_average()))
        followed = ", ".join(sorted(s.name for s in specs))

    emit(
        not args.no_append,
        f"Indexer: catching up {fetched:,} events vs a bare eth_getLogs loop",
        ["", "events", "blocks", "seconds", "events/s", "ratio to getLogs (aim ≥ 0.5)",
         "CPU µs/event: indexer + reader process"],
        rows,
        f"{args.events:,} LicenseGranted events ({args.per_block} per block) plus the deploy "
        f"and demo publish, on {args.chain}; followed contracts: {followed}. Both read the "
        f"node over HTTP, the loop in ranges of {step} blocks (indexer_max_range), the "
        f"indexer as its range sizer and DAPP_INDEXER_MAX_LOGS "
        f"({settings.indexer_max_logs:,}) decide; each batch one database transaction with "
        "raw events, derived rows, undo journal (within the reorg window), block hashes and "
        "cursor, on a fresh SQLite file or PostgreSQL database (fsync off, as in the tests). "
        "Best of 2 runs each. The last column: CPU time per event of the indexer's process "
        "(handlers, writes) and of its reader process (fetch, decode, rows), which run at "
        "once on 2 cores shared with the node (and PostgreSQL's server); the loop's client "
        f"and node take the loop's whole time. Machine {load_before} before, {load_after} "
        "after.",
    )
    if args.skip_lag:
        return
    emit(
        not args.no_append,
        f"Indexer: lag behind the head under {args.tps:g} tx/s for {args.seconds:g} s",
        ["mode", "tx sent", "tx/s reached", "samples", "blocks behind (mean / max)",
         "seconds behind (p50 / p95 / p99 / max)", "drain after the load", "machine"],
        [[mode, int(lag["sent"]), f"{lag['tps']:.1f}", int(lag["samples"]),
          f"{lag['blocks_mean']:.1f} / {lag['blocks_max']:.0f}",
          f"{lag['seconds_p50']:.2f} / {lag['seconds_p95']:.2f} / {lag['seconds_p99']:.2f}"
          f" / {lag['seconds_max']:.2f}",
          f"{lag['drain']:.2f} s", load] for mode, lag, load in lags],
        "`python -m dapp.indexer` (poll interval "
        f"{settings.indexer_poll_seconds:g} s, {settings.confirmations} confirmations, SQLite) "
        f"as `up` runs it, on {args.chain}; polling only: DAPP_CHAIN_WS_URL=off (the "
        "baseline); subscribed: eth_subscribe newHeads on the node's port, a round per "
        "announced head. One LicenseGranted transaction per block (automining), sent when "
        "due by the clock without waiting for the previous one to be mined; a watcher notes "
        "each new block's time (eth_blockNumber every 5 ms). Every ~0.1 s "
        "the cursor is read from the store: blocks behind = newest mined block - cursor; "
        "seconds behind = how long the oldest block not yet indexed has been mined (0 when "
        "caught up). Drain: from the last transaction to the cursor reaching its block. "
        "Aim: p50 ≤ 0.1 s at 10 tx/s.",
    )


if __name__ == "__main__":
    main()
