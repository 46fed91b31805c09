"""Slow metered calls cannot take the threads that sign-in and downloads need (issue 14).

A provider gateway (price 0, so the calls need no channels: a signed-in licensee calls) serves
a model that sleeps 6 s and a small dataset its buyer may download. While N such calls run, a
sign-in and a download are timed against a bound. Before issue 14 a model run held one of
anyio's 40 default threads for its whole run, the same threads every blocking step of
sign-in and downloads waits for: with more slow calls than that, everything else queued
behind them. Now runs take slots of their own pool (`model_workers`), and a call that finds
none free within `model_queue_seconds` is answered 503 with Retry-After."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from tests.dapp.conftest import fund_account
from tests.dapp.helpers.gateway import dev_account, session
from tests.dapp.helpers.invoke import (
    BUYER,
    DATASET,
    MODEL_OWNER,
    PERPETUAL,
    Stack,
    invoke_url,
    publish_model,
    start_provider_stack,
)

DOWNLOAD = 0  # license scope
STRANGER = dev_account(6)
SLEEP_SECONDS = 6.0
# Behind the slow calls, a sign-in would wait a whole call (about SLEEP_SECONDS); the bound
# leaves a loaded 2-core machine seconds of slack under that and still catches the queueing.
BOUND_SECONDS = SLEEP_SECONDS - 2.0
SLOW_MODEL_PY = f"""\
import sys, time
time.sleep({SLEEP_SECONDS})
sys.stdout.write("slept")
"""


@pytest.fixture(scope="module")
def served(chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    free = Account.create()
    fund_account(chain, deployments_file, free.address, 1000 * 10**18)
    started = start_provider_stack(chain, kubo, deployments_file,
                                   tmp_path_factory.mktemp("gateway-pool"), provider=free,
                                   invoke_price=0, rate_limit_per_minute=100_000,
                                   compute_wall_seconds=30)
    yield started
    started.gateway.process.stop()


@pytest.fixture(scope="module")
def slow_model(served: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    script = tmp_path_factory.mktemp("slow") / "model.py"
    script.write_text(SLOW_MODEL_PY)
    return publish_model(served, script)


@pytest.fixture(scope="module")
def dataset(served: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    rows = tmp_path_factory.mktemp("rows") / "rows.csv"
    rows.write_text("a,b\n" + "1,2\n" * 5000)
    asset_id = publish_model(served, rows, kind=DATASET, licensees=())
    served.transact(served.registry.functions.grant(asset_id, BUYER.address, DOWNLOAD,
                                                    PERPETUAL), MODEL_OWNER.address)
    return asset_id


def timed_sign_in(stack: Stack) -> float:
    started = time.monotonic()
    session(stack.gateway, STRANGER)
    return time.monotonic() - started


def timed_download(stack: Stack, asset_id: int, headers: dict[str, str]) -> float:
    started = time.monotonic()
    response = httpx.get(f"{stack.gateway.url}/v1/assets/{asset_id}/content", headers=headers,
                         timeout=60)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"a,b\n")
    return time.monotonic() - started


@pytest.mark.parametrize("slow_calls", [8, 48])
def test_slow_model_calls_do_not_delay_sign_in_or_downloads(
        served: Stack, slow_model: int, dataset: int, slow_calls: int) -> None:
    buyer = session(served.gateway, BUYER)
    warm = httpx.post(invoke_url(served, slow_model), content=b"", headers=buyer, timeout=60)
    assert warm.status_code == 200, warm.text  # the model is unpacked once, before timing
    idle_sign_in = statistics.median(timed_sign_in(served) for _ in range(3))
    idle_download = statistics.median(timed_download(served, dataset, buyer) for _ in range(3))

    def slow_call(_: int) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        with httpx.Client() as client:
            response = client.post(invoke_url(served, slow_model), content=b"",
                                   headers=buyer, timeout=120)
        return response, time.monotonic() - started

    sign_ins: list[float] = []
    downloads: list[float] = []
    with ThreadPoolExecutor(slow_calls) as pool:
        calls = [pool.submit(slow_call, n) for n in range(slow_calls)]
        time.sleep(0.3)  # the calls have arrived
        while not all(call.done() for call in calls):  # sample the whole busy window
            sign_ins.append(timed_sign_in(served))
            downloads.append(timed_download(served, dataset, buyer))
        results = [call.result() for call in calls]
    busy_sign_in, busy_download = max(sign_ins), max(downloads)

    ran = [seconds for response, seconds in results if response.status_code == 200]
    refused = [(response, seconds) for response, seconds in results
               if response.status_code == 503]
    print(f"\n{slow_calls} slow calls ({SLEEP_SECONDS} s each): sign-in {idle_sign_in:.3f} s "
          f"idle, busy max {busy_sign_in:.3f} s / median {statistics.median(sign_ins):.3f} s "
          f"of {len(sign_ins)}; download {idle_download:.3f} s idle, busy max "
          f"{busy_download:.3f} s / median {statistics.median(downloads):.3f} s; "
          f"{len(ran)} ran (longest {max(ran, default=0):.2f} s), "
          f"{len(refused)} refused 503 (longest wait "
          f"{max((s for _, s in refused), default=0):.2f} s)")
    assert busy_sign_in < BOUND_SECONDS
    assert busy_download < BOUND_SECONDS
    assert len(ran) + len(refused) == slow_calls, [r.text for r, _ in results]
    assert ran  # the pool runs calls, it does not just refuse them
    for response, seconds in refused:
        assert response.json()["type"].endswith("/models-busy"), response.text
        assert int(response.headers["retry-after"]) >= 1
        # refused after the queue time (2 s by default), not after a run's wall-time limit
        assert seconds < 2.0 + SLEEP_SECONDS + 3.0
