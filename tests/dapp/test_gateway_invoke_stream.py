"""Streamed paid calls (issue 17): a warm model whose `handle` returns a generator answers as
JSON lines, chunk by chunk; the call's voucher pays for the first chunk, the buyer pays each
further one after it arrived (`POST /v1/streams/{id}/pay`), and the gateway never runs more
than one chunk (`model_stream_credit`) ahead of the vouchers.

The real stack: ganache with the ComputeMarket, Kubo, the gateway as a subprocess acting as a
registered provider (dev account 8) over HTTP, the bubblewrap sandbox; buyers are dev accounts
9 and 5, each with a COMPUTE license and channels of its own. Charges are checked in the
gateway's voucher ledger and then on chain after a redemption round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from threading import Thread

import httpx
import pytest
from web3 import Web3

from dapp.client.gateway import GatewayClient
from dapp.client.metered import MeteredClient, SignedVouchers
from dapp.client.metered_stream import invoke_stream
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.reader import MarketReader
from dapp.store.db import make_engine
from tests.dapp.conftest import fund_account
from tests.dapp.helpers.gateway import assert_problem, dev_account, session
from tests.dapp.helpers.invoke import (
    BUYER,
    CHAIN_ID,
    PRICE,
    PROVIDER,
    Stack,
    invoke_url,
    publish_model,
    start_provider_stack,
)

OTHER_BUYER = dev_account(5)
MAX_CHUNKS = 6  # the gateway's own per-call limit here
# Yields `n` chunks (a JSON object, then text, then bytes, in turn), or forever; each chunk
# carries the request's secret and every secret this worker was ever sent, so a stream that
# reached the wrong buyer would show it.
STREAMING_MODEL_PY = """\
import json, time
seen = []

def handle(body):
    request = json.loads(body or b"{}")
    seen.append(request.get("secret"))
    if request.get("whole"):
        return {"whole": True}
    return chunks(request, list(seen))

def chunks(request, seen):
    i = 0
    while request.get("forever") or i < request.get("n", 3):
        i += 1
        if request.get("fail_at") == i:
            raise ValueError("no chunk")
        time.sleep(request.get("pause", 0))
        kind = i % 3
        if kind == 1:
            yield {"i": i, "secret": request.get("secret"), "seen": seen}
        elif kind == 2:
            yield "text %d;" % i
        else:
            yield b"\\x00bytes %d" % i
"""


@pytest.fixture(scope="module")
def stack(chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    fund_account(chain, deployments_file, OTHER_BUYER.address, 10**21)
    started = start_provider_stack(
        chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-stream"),
        rate_limit_per_minute=100_000, invoke_price=PRICE, voucher_batch_size=10_000,
        voucher_batch_age_seconds=3600, compute_cpu_seconds=10, compute_wall_seconds=30,
        compute_memory_mb=256, model_call_seconds=5, model_stream_max_chunks=MAX_CHUNKS,
        model_stream_pay_seconds=2)
    yield started
    started.gateway.process.stop()


@pytest.fixture(scope="module")
def model_id(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    folder = tmp_path_factory.mktemp("stream-model") / "streaming"
    folder.mkdir()
    (folder / "model.py").write_text(STREAMING_MODEL_PY)
    return publish_model(stack, folder, licensees=(BUYER.address, OTHER_BUYER.address))


def stored(stack: Stack, channel: int) -> int:
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    voucher = ledger.latest(str(channel))
    return 0 if voucher is None else voucher.cumulative_amount


def redeemed_on_chain(stack: Stack, channel: int) -> int:
    response = httpx.post(f"{stack.gateway.url}/v1/provider/redeem",
                          headers=session(stack.gateway, PROVIDER), timeout=120)
    assert response.status_code == 200, response.text
    return int(stack.channel(channel)[5])


def metered_client(stack: Stack, tmp_path: Path, buyer=BUYER) -> MeteredClient:  # type: ignore[no-untyped-def]
    web3 = Web3(Web3.HTTPProvider(stack.web3.provider.endpoint_uri))  # type: ignore[attr-defined]
    gateway = GatewayClient(stack.gateway.url, buyer, chain_id=CHAIN_ID)
    return MeteredClient(gateway, SignedVouchers(tmp_path / f"signed-{buyer.address}.json"),
                         MarketReader(web3, stack.market.address), CHAIN_ID)


def read_stream(client: httpx.Client, stack: Stack, model: int, channel: int, body: dict,  # type: ignore[type-arg]
                signer=BUYER, pay: bool = True, **params: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    """Every line of one raw streamed call, each chunk after the first paid once read."""
    lines: list[dict] = []  # type: ignore[type-arg]
    amount = stored(stack, channel) + PRICE
    with client.stream("POST", invoke_url(stack, model), json=body, timeout=60,
                       params={"stream": "true", **params},
                       headers=stack.voucher(channel, amount, signer=signer)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            item = json.loads(line)
            lines.append(item)
            if pay and "seq" in item and item["seq"] > 1:
                amount += PRICE
                paid = client.post(f"{stack.gateway.url}/v1/streams/{lines[0]['stream']}/pay",
                                   headers=stack.voucher(channel, amount, signer=signer))
                assert paid.status_code == 200, paid.text
    return lines


def test_streamed_answer_arrives_in_order_and_is_paid_chunk_by_chunk(stack: Stack,
                                                                    model_id: int) -> None:
    """Five chunks of three kinds, in order, then the end line; the ledger holds five prices
    and redemption moves exactly five on chain. A non-generator answer is one chunk."""
    channel = stack.open_channel(deposit=20 * PRICE)
    with httpx.Client() as client:
        lines = read_stream(client, stack, model_id, channel, {"n": 5, "secret": "s"})
        whole = read_stream(client, stack, model_id, channel, {"whole": True})
    head, *chunks, end = lines
    assert head["price"] == str(PRICE) and head["credit"] == 1
    assert [c["seq"] for c in chunks] == [1, 2, 3, 4, 5]
    assert chunks[0]["json"]["i"] == 1 and chunks[1] == {"seq": 2, "text": "text 2;"}
    assert chunks[2]["base64"] == "AGJ5dGVzIDM="  # b"\x00bytes 3"
    assert chunks[3]["json"]["i"] == 4
    assert end == {"end": "done", "chunks": 5, "paid_chunks": 5,
                   "accepted_cumulative": str(5 * PRICE)}
    assert [line.get("json") for line in whole[1:-1]] == [{"whole": True}]
    assert whole[-1]["paid_chunks"] == 1
    assert stored(stack, channel) == 6 * PRICE
    assert redeemed_on_chain(stack, channel) == 6 * PRICE


def test_client_cutting_the_stream_after_k_chunks_is_charged_for_k(stack: Stack, model_id: int,
                                                                   tmp_path: Path) -> None:
    """The Python client reads 3 chunks of a model that would yield forever and stops: the
    gateway's ledger and then the chain hold three prices, and the worker goes on to serve the
    buyer's next call (its generator stopped, not left running)."""
    channel = stack.open_channel(deposit=20 * PRICE)
    metered = metered_client(stack, tmp_path)
    received = []
    with invoke_stream(metered, model_id, json.dumps({"forever": True, "pause": 0.05}).encode(),
                       channel_id=channel) as stream:
        for chunk in stream:
            received.append(chunk.seq)
            if len(received) == 3:
                break
    assert received == [1, 2, 3] and stream.paid_chunks == 3
    assert stream.cumulative == 3 * PRICE
    assert stored(stack, channel) == 3 * PRICE
    after = metered.invoke(model_id, b'{"whole": true}', channel_id=channel)
    assert json.loads(after.body) == {"whole": True}
    assert after.cumulative == 4 * PRICE
    assert redeemed_on_chain(stack, channel) == 4 * PRICE


def test_model_yielding_forever_is_cut_at_the_limit_and_charged_at_most_the_maximum(
        stack: Stack, model_id: int, tmp_path: Path) -> None:
    """A model that never stops: the gateway ends the stream at its per-call limit
    (MAX_CHUNKS), or earlier at the buyer's own maximum; the charge is that many prices."""
    channel = stack.open_channel(deposit=50 * PRICE)
    with httpx.Client() as client:
        capped = read_stream(client, stack, model_id, channel, {"forever": True})
        asked = read_stream(client, stack, model_id, channel, {"forever": True},
                            max_chunks="2")
    assert capped[-1]["end"] == "max-chunks" and capped[-1]["chunks"] == MAX_CHUNKS
    assert len(capped) == MAX_CHUNKS + 2
    assert asked[-1]["end"] == "max-chunks" and asked[-1]["chunks"] == 2
    assert stored(stack, channel) == (MAX_CHUNKS + 2) * PRICE
    assert redeemed_on_chain(stack, channel) == (MAX_CHUNKS + 2) * PRICE
    client_channel = stack.open_channel(deposit=50 * PRICE)
    metered = metered_client(stack, tmp_path)
    with invoke_stream(metered, model_id, b'{"forever": true}', channel_id=client_channel,
                       max_chunks=4) as stream:
        assert [chunk.seq for chunk in stream] == [1, 2, 3, 4]
    assert stream.end is not None and stream.end.end == "max-chunks"
    assert stored(stack, client_channel) == 4 * PRICE


def test_buyer_who_stops_paying_gets_at_most_one_unpaid_chunk(stack: Stack,
                                                             model_id: int) -> None:
    """A buyer that reads without paying gets the prepaid chunk and one on credit, then the
    stream ends `unpaid`; a voucher for a chunk not yet delivered is refused (409)."""
    channel = stack.open_channel(deposit=20 * PRICE)
    with httpx.Client() as client:
        lines = read_stream(client, stack, model_id, channel, {"forever": True}, pay=False)
        head, *chunks, end = lines
        ahead = client.post(f"{stack.gateway.url}/v1/streams/{head['stream']}/pay",
                            headers=stack.voucher(channel, 2 * PRICE))
    assert [c["seq"] for c in chunks] == [1, 2]
    assert end["end"] == "unpaid" and end["paid_chunks"] == 1
    assert ahead.status_code == 404  # the stream is over: nothing more to pay into
    assert stored(stack, channel) == PRICE


def test_paying_ahead_of_delivery_is_refused(stack: Stack, model_id: int) -> None:
    """While chunk 1 (prepaid) is all that arrived, a voucher for chunk 2 is 409 nothing-to-pay
    and takes nothing."""
    channel = stack.open_channel(deposit=20 * PRICE)
    with httpx.Client() as client, client.stream(
            "POST", invoke_url(stack, model_id), json={"n": 3, "pause": 0.3}, timeout=60,
            params={"stream": "true"}, headers=stack.voucher(channel, PRICE)) as response:
        lines = response.iter_lines()
        head = json.loads(next(lines))
        first = json.loads(next(lines))
        assert first["seq"] == 1
        early = client.post(f"{stack.gateway.url}/v1/streams/{head['stream']}/pay",
                            headers=stack.voucher(channel, 2 * PRICE))
        assert_problem(early, 409, "nothing-to-pay")
    assert stored(stack, channel) == PRICE


def test_stream_of_one_buyer_never_reaches_another_buyer(stack: Stack, model_id: int) -> None:
    """Two buyers stream the same model at once: each stream carries only its own buyer's
    secret (per-buyer workers), and buyer B's vouchers cannot pay into A's stream."""
    channel_a = stack.open_channel(deposit=20 * PRICE)
    channel_b = stack.open_channel(deposit=20 * PRICE, buyer=OTHER_BUYER.address)
    results: dict[str, list[dict]] = {}  # type: ignore[type-arg]

    def run(name: str, channel: int, signer) -> None:  # type: ignore[no-untyped-def]
        with httpx.Client() as client:
            results[name] = read_stream(client, stack, model_id, channel,
                                        {"n": 4, "pause": 0.1, "secret": f"secret-{name}"},
                                        signer=signer)

    threads = [Thread(target=run, args=("a", channel_a, BUYER)),
               Thread(target=run, args=("b", channel_b, OTHER_BUYER))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert "secret-a" in json.dumps(results["a"]) and "secret-b" not in json.dumps(results["a"])
    assert "secret-b" in json.dumps(results["b"]) and "secret-a" not in json.dumps(results["b"])
    assert results["a"][-1]["end"] == results["b"][-1]["end"] == "done"

    with httpx.Client() as client, client.stream(
            "POST", invoke_url(stack, model_id), json={"n": 3, "pause": 0.3}, timeout=60,
            params={"stream": "true"}, headers=stack.voucher(channel_a, 5 * PRICE)) as response:
        lines = response.iter_lines()
        head = json.loads(next(lines))
        json.loads(next(lines))
        json.loads(next(lines))  # chunk 2: delivered, unpaid
        other = client.post(f"{stack.gateway.url}/v1/streams/{head['stream']}/pay",
                            headers=stack.voucher(channel_b, 5 * PRICE, signer=OTHER_BUYER))
        assert_problem(other, 403, "not-this-streams-channel")
    assert stored(stack, channel_b) == 4 * PRICE


def test_model_failing_mid_stream_ends_it_charged_for_what_arrived(stack: Stack,
                                                                  model_id: int) -> None:
    """A generator that raises at chunk 3: the stream ends `model-failed` after two chunks,
    both paid; nothing more."""
    channel = stack.open_channel(deposit=20 * PRICE)
    with httpx.Client() as client:
        lines = read_stream(client, stack, model_id, channel, {"n": 5, "fail_at": 3})
    assert [line["seq"] for line in lines[1:-1]] == [1, 2]
    assert lines[-1]["end"] == "model-failed" and lines[-1]["reason"] == "raised ValueError"
    assert stored(stack, channel) == 2 * PRICE
