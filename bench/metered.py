"""Metered calls: calls per second through `POST /v1/models/{id}/invoke` paid with a channel
voucher, against the same endpoint unpaid (the provider's price set to 0), and the gas the
gateway's own redemption round spends per voucher.

    .venv/bin/python -m bench.metered [--calls 160] [--clients 1,8] [--rounds 2] [--no-append]

Starts the whole stack (bench/stack.py) with the dev provider (account 3), publishes a tiny
model (model.py + weights.json, encrypted and sealed to the gateway), grants the buyer
(account 2) a COMPUTE license on it and opens one channel per client thread from the buyer.
Paid and unpaid runs alternate (`--rounds`, best kept): the gateway is restarted with
`invoke_price` 0 or the price, which it writes on chain (`updateProvider`) before it answers.
Each call runs the model in the sandbox either way. A paid call carries a voucher for one
price more than the channel's last, which the gateway checks (EIP-712 signer, channel state,
deposit, expiry) and stores durably before it answers; an unpaid call carries the buyer's SIWE
session instead. Both check the COMPUTE license. The gas of voucher batches of 1, 10 and 100
built in isolation is in the gas table (bench/gas.py); here it is the gateway's own round,
one voucher per channel.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3
from web3.logs import DISCARD

from bench.common import ms, percentile, section
from bench.stack import PERPETUAL, BenchStack, emit, running_stack
from dapp.chain.accounts import dev_account
from dapp.chain.constants import Scope
from dapp.market.provider import DEV_PROVIDER_INDEX, market_reader
from dapp.market.vouchers import ACCEPTED_HEADER, VOUCHER_HEADER, sign_voucher

PRICE = 10**15  # 0.001 DDT per call
MODEL_PY = """\
import json, os, pathlib, sys
weights = json.loads((pathlib.Path(os.environ["MODEL_DIR"]) / "weights.json").read_text())
request = json.loads(sys.stdin.buffer.read() or b"{}")
print(json.dumps({"scaled": request.get("x", 0) * weights["scale"]}))
"""


@dataclass
class Channel:
    channel_id: int
    cumulative: int = 0


@dataclass
class Run:
    paid: bool
    clients: int
    calls: int
    seconds: float
    latencies: list[float]
    failures: int
    gateway_cpu: float = 0.0  # the gateway process's CPU seconds during the run

    @property
    def cpu_per_call(self) -> float:
        return self.gateway_cpu / self.calls

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds


def publish_model(bench: BenchStack, folder: Path) -> int:
    folder.mkdir()
    (folder / "model.py").write_text(MODEL_PY)
    (folder / "weights.json").write_text(json.dumps({"scale": 3}))
    asset_id = bench.publish(folder, "Bench scaler", kind="model").asset_id
    grant = bench.registry.functions.grant(asset_id, bench.buyer.address, Scope.COMPUTE,
                                           PERPETUAL)
    bench.web3.eth.wait_for_transaction_receipt(
        grant.transact({"from": bench.publisher.address, "gas": 200_000}))
    return asset_id


def open_channels(bench: BenchStack, count: int, deposit: int) -> list[Channel]:
    """`count` channels from the buyer to the provider (ganache has the buyer unlocked)."""
    market = market_reader(bench.settings, bench.web3).contract
    provider = dev_account(DEV_PROVIDER_INDEX).address
    exchange = bench.exchange()
    token = exchange.token_contract(exchange.default_token)
    sender = {"from": bench.buyer.address, "gas": 500_000}
    wait = bench.web3.eth.wait_for_transaction_receipt
    wait(token.functions.approve(market.address, count * deposit).transact(sender))
    expiry = bench.web3.eth.get_block("latest")["timestamp"] + 7 * 24 * 3600
    channels = []
    for _ in range(count):
        receipt = wait(market.functions.openChannel(provider, token.address, deposit,
                                                       expiry).transact(sender))
        (event,) = market.events.ChannelOpened().process_receipt(receipt, errors=DISCARD)
        channels.append(Channel(int(event["args"]["channelId"])))
    return channels


def provider_info(bench: BenchStack) -> dict[str, Any]:
    answer = httpx.get(f"{bench.gateway_url}/v1/provider", timeout=10)
    return dict(answer.json()) if answer.status_code == 200 else {}


def restart_gateway(bench: BenchStack, price: int) -> None:
    """The gateway again with `invoke_price` = `price`, back once it reports that price."""
    gateway = bench.process("gateway")
    gateway.stop()
    bench.stack.processes.remove(gateway)
    bench.stack.settings = bench.stack.settings.with_overrides(invoke_price=price)
    bench.settings = bench.stack.settings
    bench.stack.start_gateway()
    wait_for_price(bench, price)


def wait_for_price(bench: BenchStack, price: int) -> None:
    info: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = provider_info(bench)
        if info.get("registered") and info.get("price") == str(price):
            return
        time.sleep(0.5)
    raise SystemExit(f"the gateway did not come back with price {price}: {info}")


def gateway_cpu_seconds(bench: BenchStack) -> float:
    """The gateway process's CPU time so far (user + system, every thread; not its sandboxed
    model workers, which are processes of their own)."""
    fields = Path(f"/proc/{bench.pid('gateway')}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class PreparedCall:
    request: bytes  # the whole HTTP/1.1 request, voucher signed in advance
    expected: bytes  # the answer's body
    amount: int | None  # the voucher's cumulative amount (None: unpaid)


def prepare_calls(bench: BenchStack, model_id: int, calls: int, channel: Channel | None,
                  chain_id: int, market: str, session: dict[str, str]) -> list[PreparedCall]:
    """`calls` requests built before the timed window: the voucher of call k is the channel's
    amount + k prices, known in advance, so signing it is no part of the measured call."""
    host = bench.gateway_url.split("://", 1)[1]
    prepared = []
    for n in range(calls):
        body = json.dumps({"x": n}).encode()
        headers = {"Host": host, "Content-Type": "application/json",
                   "Content-Length": str(len(body))}
        amount = None
        if channel is None:
            headers.update(session)
        else:
            amount = channel.cumulative + (n + 1) * PRICE
            headers[VOUCHER_HEADER] = sign_voucher(bench.buyer.key, chain_id, market,
                                                   channel.channel_id, amount).header_value()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = f"POST /v1/models/{model_id}/invoke HTTP/1.1\r\n{head}\r\n".encode()
        prepared.append(PreparedCall(request + body,
                                     json.dumps({"scaled": 3 * n}).encode(), amount))
    return prepared


def _read_answer(stream: Any) -> tuple[int, dict[bytes, bytes], bytes]:
    status = int(stream.readline().split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers.get(b"content-length", b"0")))


def call_loop(bench: BenchStack, prepared: list[PreparedCall],
              channel: Channel | None) -> tuple[list[float], int]:
    """The prepared calls one after the other on one keep-alive connection: the latency of
    each successful call and the number that failed. A raw HTTP/1.1 client (the request bytes
    are ready; the answer is parsed by its Content-Length): httpx spent more CPU per call
    than the gateway, on the same 2 cores."""
    host, port = bench.gateway_url.split("://", 1)[1].rsplit(":", 1)
    latencies: list[float] = []
    failures = 0
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = connection.makefile("rb")
        for call in prepared:
            start = time.perf_counter()
            connection.sendall(call.request)
            status, headers, body = _read_answer(stream)
            elapsed = time.perf_counter() - start
            ok = status == 200 and json.loads(body) == json.loads(call.expected)
            if ok and call.amount is not None:
                ok = headers.get(ACCEPTED_HEADER.lower().encode()) == str(call.amount).encode()
                if ok and channel is not None:
                    channel.cumulative = call.amount
            if ok:
                latencies.append(elapsed)
            else:
                failures += 1
            if headers.get(b"connection") == b"close":
                break
    return latencies, failures


def measure(bench: BenchStack, model_id: int, channels: list[Channel], clients: int,
            calls: int, paid: bool, chain_id: int, market: str,
            session: dict[str, str]) -> Run:
    per_client = calls // clients
    prepared = [prepare_calls(bench, model_id, per_client, channels[i] if paid else None,
                              chain_id, market, session) for i in range(clients)]
    cpu_before = gateway_cpu_seconds(bench)
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(
            lambda i: call_loop(bench, prepared[i], channels[i] if paid else None),
            range(clients)))
    seconds = time.perf_counter() - start
    gateway_cpu = gateway_cpu_seconds(bench) - cpu_before
    latencies = [t for result in results for t in result[0]]
    return Run(paid, clients, per_client * clients, seconds, latencies,
               sum(result[1] for result in results), gateway_cpu)


def redeem_round(bench: BenchStack) -> tuple[int, int]:
    """Force the gateway's redemption round as the provider: (vouchers redeemed, gas used)."""
    from dapp.client.gateway import GatewayClient

    with GatewayClient(bench.gateway_url, dev_account(DEV_PROVIDER_INDEX), timeout=120,
                       chain_id=int(bench.web3.eth.chain_id)) as client:
        client.sign_in()
        answer = httpx.post(f"{bench.gateway_url}/v1/provider/redeem",
                            headers=client.auth_headers, timeout=120)
    answer.raise_for_status()
    body = answer.json()
    gas = sum(int(bench.web3.eth.get_transaction_receipt(tx)["gasUsed"])
              for tx in body["tx_hashes"])
    return len(body["redeemed"]), gas


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=160, help="calls per measurement")
    parser.add_argument("--clients", default="1,8", help="concurrent clients to try")
    parser.add_argument("--rounds", type=int, default=2, help="paid/unpaid alternations")
    parser.add_argument("--no-append", action="store_true",
                        help="print the tables only (a trial run)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]

    best: dict[tuple[bool, int], Run] = {}
    with (running_stack(invoke_price=PRICE) as bench,
          tempfile.TemporaryDirectory(prefix="bench-model-") as tmp):
        chain_id = int(bench.web3.eth.chain_id)
        wait_for_price(bench, PRICE)
        market = Web3.to_checksum_address(provider_info(bench)["market"])
        model_id = publish_model(bench, Path(tmp) / "scaler")
        # channel 0 pays the warm-up and the one-client run and its share of every other run
        deposit = (args.rounds * (4 + 2 * args.calls) + 8) * PRICE
        channels = open_channels(bench, max(client_counts), deposit)
        session = bench.signed_in(bench.buyer).auth_headers
        for round_number in range(1, args.rounds + 1):
            for paid in (False, True):
                with section(f"round {round_number}: {'paid' if paid else 'unpaid'} calls"):
                    restart_gateway(bench, PRICE if paid else 0)
                    measure(bench, model_id, channels, 1, 4, paid, chain_id, market, session)
                    for clients in client_counts:
                        run = measure(bench, model_id, channels, clients, args.calls, paid,
                                      chain_id, market, session)
                        print(f"  {clients} client(s): {run.calls_per_second:.1f} calls/s, "
                              f"{run.failures} failed", flush=True)
                        key = (paid, clients)
                        if key not in best or run.seconds < best[key].seconds:
                            best[key] = run
        with section("the gateway's redemption round"):
            vouchers, gas = redeem_round(bench)
            print(f"  {vouchers} vouchers, {gas:,} gas", flush=True)

    rows: list[list[object]] = []
    for clients in client_counts:
        unpaid, paid = best[(False, clients)], best[(True, clients)]
        for run in (unpaid, paid):
            rows.append([
                f"{clients} client{'s' if clients > 1 else ''}",
                "voucher, checked + stored" if run.paid else "unpaid (price 0, SIWE session)",
                run.calls, f"{run.calls_per_second:.1f}",
                ms(percentile(run.latencies, 0.5)) if run.latencies else "-",
                ms(percentile(run.latencies, 0.99)) if run.latencies else "-",
                run.failures,
                f"{paid.calls_per_second / unpaid.calls_per_second:.2f}" if run.paid else "1.00",
            ])
    emit(
        not args.no_append,
        "Metered calls: paid with a voucher vs the same endpoint unpaid",
        ["clients", "payment", "calls", "calls/s", "p50", "p99", "failed",
         "ratio (aim ≥ 0.9)"],
        rows,
        f"POST /v1/models/{{id}}/invoke on a tiny JSON model; every call runs it in the "
        f"sandbox (a fresh process). Paid: one channel per client, each call a voucher for one "
        f"price ({PRICE} base units) more, checked and stored durably before the answer. Best "
        f"of {args.rounds} alternating rounds. The gateway's redemption round after the runs: "
        f"{vouchers} vouchers (one per channel) in one redeemMany, {gas:,} gas, "
        f"{gas // max(vouchers, 1):,} per voucher (batches of 1, 10 and 100: the gas table).",
    )


if __name__ == "__main__":
    main()
