"""Warm paid calls (issue 17): a model that defines `handle(body)` is loaded once per worker in
the sandbox and answers calls over a pipe; workers are per (model, buyer), closed when idle,
killed by a call over the per-call time limit. Paid as every call: the voucher is reserved
before the model runs, and a failed call is charged.

The real stack: ganache with the ComputeMarket, Kubo, and the gateway as a subprocess acting
as a registered provider (dev account 8); buyers are dev accounts 9 and 5, each with a COMPUTE
license and a channel of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dapp.gateway.vouchers import VoucherLedger
from dapp.store.db import make_engine
from tests.dapp.conftest import fund_account
from tests.dapp.helpers.gateway import assert_problem, dev_account
from tests.dapp.helpers.invoke import (
    BUYER,
    PRICE,
    Stack,
    invoke_url,
    publish_model,
    start_provider_stack,
)
from tests.dapp.helpers.sandbox import _processes_with

OTHER_BUYER = dev_account(5)
CALL_SECONDS = 2.0
IDLE_SECONDS = 2.0
# Remembers every input it was sent and answers with them: what a model hostile to its other
# buyers would do. Also reports a random name drawn at load, so the tests see which worker
# answered.
REMEMBERING_MODEL_PY = """\
import json, os, pathlib, subprocess, sys, time
weights = json.loads((pathlib.Path(os.environ["MODEL_DIR"]) / "weights.json").read_text())
seen = []
instance = os.urandom(8).hex()

def handle(body):
    request = json.loads(body or b"{}")
    if request.get("crash"):
        sys.exit(3)
    if request.get("sleep"):
        time.sleep(request["sleep"])
    if request.get("allocate_mb"):
        bytearray(request["allocate_mb"] << 20)
    if request.get("leave"):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                          request["leave"]], start_new_session=True)
    previous = list(seen)
    seen.append(request)
    return {"scaled": request.get("x", 0) * weights["scale"], "seen": previous,
            "instance": instance}
"""


@pytest.fixture(scope="module")
def stack(chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    fund_account(chain, deployments_file, OTHER_BUYER.address, 10**21)
    started = start_provider_stack(
        chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-warm"),
        rate_limit_per_minute=100_000, invoke_price=PRICE, voucher_batch_size=10_000,
        voucher_batch_age_seconds=3600, compute_cpu_seconds=10, compute_wall_seconds=30,
        compute_memory_mb=256, model_call_seconds=CALL_SECONDS,
        model_idle_seconds=IDLE_SECONDS)
    yield started
    started.gateway.process.stop()


def publish_remembering(stack: Stack, folder: Path) -> int:
    folder.mkdir()
    (folder / "model.py").write_text(REMEMBERING_MODEL_PY)
    (folder / "weights.json").write_text(json.dumps({"scale": 3}))
    return publish_model(stack, folder, licensees=(BUYER.address, OTHER_BUYER.address))


@pytest.fixture()
def model_id(stack: Stack, tmp_path: Path) -> int:
    return publish_remembering(stack, tmp_path / "remembering")


def paid(client: httpx.Client, stack: Stack, model: int, channel: int, n: int, body: dict,  # type: ignore[type-arg]
         signer=BUYER) -> httpx.Response:  # type: ignore[no-untyped-def]
    return client.post(invoke_url(stack, model), json=body, timeout=60,
                       headers=stack.voucher(channel, n * PRICE, signer=signer))


def _appears(marker: str, seconds: float = 5.0) -> list[int]:
    """The processes whose command line holds `marker`, waited for: the model answers as soon
    as it started its child, which may show in /proc a moment later."""
    deadline = time.monotonic() + seconds
    while not (found := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def stored(stack: Stack, channel: int) -> int:
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    voucher = ledger.latest(str(channel))
    return 0 if voucher is None else voucher.cumulative_amount


def test_paid_calls_are_answered_by_one_loaded_worker(stack: Stack, model_id: int) -> None:
    """Twenty paid calls, each its own voucher: one worker (one process) answers them all,
    the model loaded once, and each voucher is stored before its answer."""
    channel = stack.open_channel(deposit=100 * PRICE)
    instances = set()
    with httpx.Client() as client:
        for n in range(1, 21):
            response = paid(client, stack, model_id, channel, n, {"x": n})
            assert response.status_code == 200, response.text
            assert response.headers["x-datadao-accepted-cumulative"] == str(n * PRICE)
            body = response.json()
            assert body["scaled"] == 3 * n
            assert len(body["seen"]) == n - 1  # the same model instance, warm
            instances.add(body["instance"])
    assert len(instances) == 1
    assert stored(stack, channel) == 20 * PRICE


def test_model_replaying_past_inputs_never_shows_one_buyer_input_to_another(
        stack: Stack, model_id: int) -> None:
    """The model keeps every input and returns them: buyer A's secret is in A's next answer
    (the worker is warm) and never in buyer B's, called right after on the same model."""
    channel_a = stack.open_channel(deposit=10 * PRICE)
    channel_b = stack.open_channel(deposit=10 * PRICE, buyer=OTHER_BUYER.address)
    secret = "A-SECRET-4711"
    with httpx.Client() as client:
        first = paid(client, stack, model_id, channel_a, 1, {"x": 1, "secret": secret})
        again = paid(client, stack, model_id, channel_a, 2, {"x": 2})
        other = paid(client, stack, model_id, channel_b, 1, {"x": 5}, signer=OTHER_BUYER)
        other_again = paid(client, stack, model_id, channel_b, 2, {"x": 6},
                           signer=OTHER_BUYER)
    for response in (first, again, other, other_again):
        assert response.status_code == 200, response.text
    assert secret in again.text  # A's own worker remembers A
    assert secret not in other.text and secret not in other_again.text
    assert other_again.json()["seen"] == [{"x": 5}]
    assert other.json()["instance"] != again.json()["instance"]


def test_failed_warm_call_is_502_charged_and_the_next_call_runs(stack: Stack,
                                                                model_id: int) -> None:
    """A model that exits in `handle` (and one over the memory cap): 502 with the accepted
    amount, the voucher spent; the worker is not reused, the next call gets a fresh one."""
    channel = stack.open_channel(deposit=10 * PRICE)
    with httpx.Client() as client:
        warm = paid(client, stack, model_id, channel, 1, {"x": 1})
        crashed = paid(client, stack, model_id, channel, 2, {"crash": True})
        body = assert_problem(crashed, 502, "model-failed")
        assert body["reason"] == "exited with code 3"
        assert body["accepted_cumulative"] == str(2 * PRICE)
        too_big = paid(client, stack, model_id, channel, 3, {"allocate_mb": 1024})
        body = assert_problem(too_big, 502, "model-failed")
        assert body["reason"] == "memory limit exceeded"
        assert body["accepted_cumulative"] == str(3 * PRICE)
        after = paid(client, stack, model_id, channel, 4, {"x": 4})
    assert after.status_code == 200, after.text
    assert after.json()["instance"] != warm.json()["instance"] and after.json()["seen"] == []
    assert stored(stack, channel) == 4 * PRICE


def test_call_over_the_time_limit_kills_the_worker_and_is_charged(stack: Stack,
                                                                  model_id: int) -> None:
    """A call that outlasts `model_call_seconds` fails 502 (charged) within about that time,
    and every process of its worker is gone, the ones the model started included."""
    channel = stack.open_channel(deposit=10 * PRICE)
    marker = f"dapp-warm-slow-{time.time_ns()}"
    with httpx.Client() as client:
        assert paid(client, stack, model_id, channel, 1, {"leave": marker}).status_code == 200
        assert _appears(marker)  # the model's own process runs beside the worker
        started = time.monotonic()
        slow = paid(client, stack, model_id, channel, 2, {"sleep": 30})
        took = time.monotonic() - started
    body = assert_problem(slow, 502, "model-failed")
    assert body["reason"] == "call time limit exceeded"
    assert body["accepted_cumulative"] == str(2 * PRICE)
    assert took < CALL_SECONDS + 10  # (slack for a loaded machine) the model asked for 30 s
    assert _processes_with(marker) == []


def test_idle_worker_is_evicted_with_every_process_it_left(stack: Stack,
                                                           model_id: int) -> None:
    """A worker idle for `model_idle_seconds` is closed, and the process its model started
    (in a session of its own) ends with it; the next call starts a fresh worker."""
    channel = stack.open_channel(deposit=10 * PRICE)
    marker = f"dapp-warm-left-{time.time_ns()}"
    with httpx.Client() as client:
        first = paid(client, stack, model_id, channel, 1, {"leave": marker})
        assert first.status_code == 200, first.text
        assert _appears(marker)
        deadline = time.monotonic() + IDLE_SECONDS + 10
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_with(marker)
        after = paid(client, stack, model_id, channel, 2, {"x": 2})
    assert left == []
    assert after.status_code == 200 and after.json()["seen"] == []
