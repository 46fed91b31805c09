"""Warm paid calls (issue 17): calls per second and p50 through `POST /v1/models/{id}/invoke`,
a model run cold (today's path: a fresh sandboxed process per call) against the same model
served warm (it defines `handle(body)`: loaded once per worker in the sandbox, answering over
a pipe), both paid with a voucher, and the warm model unpaid (price 0, SIWE session).

    .venv/bin/python -m bench.warm [--calls 2000] [--cold-calls 80] [--clients 1,8] [--profile DIR]
                                     [--no-append]

Starts the whole stack (bench/stack.py) with the dev provider, publishes the two tiny models
(the same arithmetic, `weights.json` next to them), grants the buyer a COMPUTE license and
opens one channel per client thread (bench/metered.py). Each configuration is warmed up (one
call per client) before it is timed; every answer is checked. The gateway runs with its
default `model_workers` (4): calls beyond that wait for a slot. The clients are cheap on
purpose (bench/metered.py: raw HTTP/1.1 on keep-alive connections, vouchers signed before
the timed window), and each run reports the gateway process's CPU time per call beside the
calls per second: the load average of a shared machine does not distort it as much.
`--profile DIR` samples the gateway with py-spy during the warm runs and adds a table of where
its CPU goes (bench/spy.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from web3 import Web3

from bench.common import ms, percentile, section
from bench.metered import (
    MODEL_PY,
    PRICE,
    Channel,
    Run,
    measure,
    open_channels,
    provider_info,
    restart_gateway,
    wait_for_price,
)
from bench.spy import breakdown
from bench.stack import PERPETUAL, BenchStack, emit, running_stack
from dapp.chain.constants import Scope

WARM_MODEL_PY = """\
import json, os, pathlib
weights = json.loads((pathlib.Path(os.environ["MODEL_DIR"]) / "weights.json").read_text())

def handle(body):
    request = json.loads(body or b"{}")
    return {"scaled": request.get("x", 0) * weights["scale"]}
"""


def publish(bench: BenchStack, folder: Path, source: str, title: str) -> int:
    folder.mkdir()
    (folder / "model.py").write_text(source)
    (folder / "weights.json").write_text(json.dumps({"scale": 3}))
    asset_id = bench.publish(folder, title, kind="model").asset_id
    grant = bench.registry.functions.grant(asset_id, bench.buyer.address, Scope.COMPUTE,
                                           PERPETUAL)
    bench.web3.eth.wait_for_transaction_receipt(
        grant.transact({"from": bench.publisher.address, "gas": 200_000}))
    return asset_id


@contextlib.contextmanager
def profiled(bench: BenchStack, folder: Path | None, name: str, clients: int) -> Iterator[None]:
    """py-spy samples the gateway (the thread holding the GIL, 250 Hz: where its Python CPU
    goes; from outside, nothing changes in the gateway) while the block runs, into
    `folder`/<name>-<clients>.txt; nothing without a folder or for the cold runs."""
    if folder is None or name.startswith("cold"):
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name.replace(', ', '-')}-{clients}.txt"
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--gil",
                            "-r", "250", "-f", "raw", "-o", str(out),
                            "-p", str(bench.pid("gateway"))],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="warm calls per measurement")
    parser.add_argument("--cold-calls", type=int, default=80, help="cold calls per measurement")
    parser.add_argument("--clients", default="1,8", help="concurrent clients to try")
    parser.add_argument("--profile", type=Path, default=None,
                        help="record the gateway with py-spy (raw stacks, one file per timed "
                             "warm run) into this folder")
    parser.add_argument("--no-append", action="store_true",
                        help="print the table only (a trial run)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    load = os.getloadavg()
    runs: dict[tuple[str, int], Run] = {}
    with (running_stack(invoke_price=PRICE) as bench,
          tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp):
        chain_id = int(bench.web3.eth.chain_id)
        wait_for_price(bench, PRICE)
        market = Web3.to_checksum_address(provider_info(bench)["market"])
        cold_id = publish(bench, Path(tmp) / "cold", MODEL_PY, "Bench scaler (cold)")
        warm_id = publish(bench, Path(tmp) / "warm", WARM_MODEL_PY, "Bench scaler (warm)")
        most = max(client_counts)
        deposit = (2 * args.calls + 2 * args.cold_calls + 4 * most) * PRICE
        channels: list[Channel] = open_channels(bench, most, deposit)
        session = bench.signed_in(bench.buyer).auth_headers

        def timed(name: str, model_id: int, calls: int, paid: bool) -> None:
            with section(name):
                for clients in client_counts:
                    measure(bench, model_id, channels, clients, clients, paid, chain_id,
                            market, session)  # warm-up: one call per client
                    with profiled(bench, args.profile, name, clients):
                        run = measure(bench, model_id, channels, clients, calls, paid,
                                      chain_id, market, session)
                    runs[(name, clients)] = run
                    print(f"  {clients} client(s): {run.calls_per_second:.1f} calls/s, p50 "
                          f"{ms(percentile(run.latencies, 0.5))}, gateway CPU "
                          f"{ms(run.cpu_per_call)}/call, {run.failures} failed, load "
                          f"{os.getloadavg()[0]:.1f}", flush=True)

        timed("cold, paid", cold_id, args.cold_calls, True)
        timed("warm, paid", warm_id, args.calls, True)
        restart_gateway(bench, 0)
        timed("warm, unpaid", warm_id, args.calls, False)

    rows: list[list[object]] = []
    for clients in client_counts:
        cold = runs[("cold, paid", clients)]
        unpaid = runs[("warm, unpaid", clients)]
        for name in ("cold, paid", "warm, paid", "warm, unpaid"):
            run = runs[(name, clients)]
            p50 = percentile(run.latencies, 0.5) if run.latencies else 0.0
            rows.append([
                f"{clients} client{'s' if clients > 1 else ''}", name, run.calls,
                f"{run.calls_per_second:.1f}", ms(p50) if run.latencies else "-",
                ms(percentile(run.latencies, 0.99)) if run.latencies else "-",
                ms(run.cpu_per_call), run.failures,
                f"{run.calls_per_second / cold.calls_per_second:.1f}",
                f"{run.calls_per_second / unpaid.calls_per_second:.2f}",
                f"{(p50 - percentile(unpaid.latencies, 0.5)) * 1000:+.1f} ms"
                if run.latencies and unpaid.latencies else "-",
            ])
    emit(
        not args.no_append,
        "Warm model calls: a model loaded once per sandboxed worker vs a fresh sandbox per call",
        ["clients", "path", "calls", "calls/s", "p50", "p99", "gateway CPU / call", "failed",
         "÷ cold paid", "÷ warm unpaid (aim ≥ 0.95)", "p50 - warm unpaid (aim ≤ 3 ms)"],
        rows,
        "POST /v1/models/{id}/invoke on a tiny JSON model, sent by a raw HTTP/1.1 client "
        "(one keep-alive connection per client thread, every request and its voucher built "
        "before the timed window). Gateway CPU / call: the gateway process's user + system "
        "CPU time during the run (every thread; not the sandboxed workers) / calls. Cold: "
        "today's path, every call a "
        "fresh bubblewrap sandbox and Python process. Warm: the same model with handle(body), "
        "loaded once per worker (per model and buyer) in the same sandbox, calls over a pipe. "
        f"Paid: one channel per client, each call a voucher one price ({PRICE} base units) "
        "higher, checked and stored durably before the model runs; unpaid: price 0, a SIWE "
        "session (the license is checked either way). One warm-up call per client before "
        "each timed run; gateway defaults (4 model workers). Target (issue 17): ≥ 500 paid "
        "calls/s with 8 clients, paid p50 within 3 ms of unpaid. Clients, gateway, ganache "
        "and Kubo share the machine's 2 cores; load average (1 min) before / after the run: "
        f"{load[0]:.1f} / {os.getloadavg()[0]:.1f}.",
    )
    if args.profile is not None:
        header, rows = breakdown({
            f"{name}, {clients} client{'s' if clients > 1 else ''}": (
                args.profile / f"{name.replace(', ', '-')}-{clients}.txt",
                runs[(name, clients)].cpu_per_call)
            for clients in client_counts for name in ("warm, paid", "warm, unpaid")})
        emit(not args.no_append, "Warm model calls: where the gateway's CPU goes", header, rows,
             "py-spy 250 Hz samples of the thread holding the GIL (`--profile`: py-spy "
             "attached from outside, nothing added to the gateway), sorted into the parts of "
             "a call by bench/spy.py; a part's share of the samples times the run's measured "
             "CPU per call. C code that releases the GIL (SQLite's statements, the pipe to the "
             "worker) is under-counted and its share shows up spread over the rest.")


if __name__ == "__main__":
    main()
