"""Metered model calls against the real stack: ganache with the ComputeMarket, Kubo, and the
gateway as a subprocess acting as a registered provider (dev account 8 from its keystore).

A tiny model (a folder with model.py reading a weights file next to it) is published
encrypted and sealed to the gateway, with a COMPUTE license granted to dev account 9, which
opens channels (approve + openChannel) and pays each call with an EIP-712 voucher for the
cumulative amount. Redemption is forced through `POST /v1/provider/redeem` and checked on
chain: the provider's token balance and the channel's `redeemed` rise by exactly what was
called, across a SIGKILL of the gateway too."""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from dapp.chain.accounts import Keystore
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.private_inference import MAGIC
from dapp.market.vouchers import VOUCHER_HEADER
from dapp.store.db import make_engine
from tests.dapp.conftest import (
    REPO_ROOT,
    Gateway,
    fund_account,
    make_settings,
)
from tests.dapp.helpers.gateway import assert_problem, dev_account, session
from tests.dapp.helpers.invoke import (
    BUYER,
    CHAIN_ID,
    DATASET,
    PASSWORD,
    PRICE,
    PROVIDER,
    Stack,
    assert_paid_call,
    call,
    invoke_url,
    publish_model,
    publish_scaler,
    start_provider_gateway,
    start_provider_stack,
)
from tests.dapp.helpers.tcp_proxy import TcpProxy

STRANGER = dev_account(6)
OTHER_PROVIDER = dev_account(7)


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(chain, kubo, deployments_file: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    started = start_provider_stack(
        chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-invoke"),
        rate_limit_per_minute=100_000, invoke_price=PRICE, voucher_batch_size=10_000,
        voucher_batch_age_seconds=3600, compute_cpu_seconds=10, compute_wall_seconds=30,
        compute_memory_mb=512,
    )
    yield started
    started.gateway.process.stop()


@pytest.fixture(scope="module")
def model_id(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    return publish_scaler(stack, tmp_path_factory.mktemp("model") / "scaler")


def redeem_now(stack: Stack) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{stack.gateway.url}/v1/provider/redeem",
                          headers=session(stack.gateway, PROVIDER), timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


# --- tests ------------------------------------------------------------------------------------
def test_gateway_registered_itself_as_provider(stack: Stack) -> None:
    info = httpx.get(f"{stack.gateway.url}/v1/provider").json()
    assert info["address"] == PROVIDER.address and info["registered"]
    assert info["price"] == str(PRICE) and info["market"] == stack.market.address
    assert info["endpoint"] == stack.gateway.url and info["token"] == stack.token.address
    on_chain = stack.market.functions.getProvider(PROVIDER.address).call()
    assert on_chain[0] == stack.token.address and on_chain[1] == PRICE
    assert on_chain[2] >= 100 * 10**18  # at least minProviderStake (jobs may add more)


def test_hundred_paid_calls_redeem_to_exactly_hundred_prices(stack: Stack, model_id: int
                                                              ) -> None:
    redeem_now(stack)  # nothing else pending: the balance below moves only by this channel
    channel_id = stack.open_channel()
    started = time.monotonic()
    with httpx.Client() as client:
        for n in range(1, 101):
            assert_paid_call(call(client, stack, model_id, channel_id, n), n)
    elapsed = time.monotonic() - started
    print(f"\n100 paid calls in {elapsed:.2f} s ({100 / elapsed:.1f} calls/s)")
    assert stack.channel(channel_id)[5] == 0  # nothing redeemed yet: batching
    # the balance is compared around the redemption only: the gateway's job worker may move
    # the provider's tokens (stake top-up) while it boots
    before = stack.balance(PROVIDER.address)
    result = redeem_now(stack)
    assert result["amount"] == str(100 * PRICE) and len(result["tx_hashes"]) == 1
    assert stack.balance(PROVIDER.address) == before + 100 * PRICE
    assert stack.channel(channel_id)[5] == 100 * PRICE  # Channel.redeemed
    assert redeem_now(stack)["redeemed"] == []  # redeeming again pays nothing


def test_sigkill_after_call_60_loses_and_doubles_nothing(stack: Stack, model_id: int) -> None:
    redeem_now(stack)
    channel_id = stack.open_channel()
    with httpx.Client() as client:
        for n in range(1, 61):
            assert_paid_call(call(client, stack, model_id, channel_id, n), n)
    stack.gateway.process.kill()
    restarted = start_provider_gateway(stack.gateway.settings, stack.log_dir / "gateway.log")
    stack.gateway.process = restarted.process
    with httpx.Client() as client:
        replay = call(client, stack, model_id, channel_id, 60)  # paid before the kill
        body = assert_problem(replay, 402, "payment-required")
        assert body["reason"] == "stale" and body["accepted_cumulative"] == str(60 * PRICE)
        for n in range(61, 101):
            assert_paid_call(call(client, stack, model_id, channel_id, n), n)
    assert stack.channel(channel_id)[5] == 0
    before = stack.balance(PROVIDER.address)
    result = redeem_now(stack)
    assert result["amount"] == str(100 * PRICE)
    assert stack.balance(PROVIDER.address) == before + 100 * PRICE
    assert stack.channel(channel_id)[5] == 100 * PRICE


def test_round_after_a_crash_between_send_and_mark_does_not_redeem_twice(
    stack: Stack, model_id: int
) -> None:
    """The provider's redeemMany was mined but the ledger never marked it (simulated: the
    same voucher redeemed on chain directly); the next round only marks it."""
    redeem_now(stack)
    channel_id = stack.open_channel()
    with httpx.Client() as client:
        for n in range(1, 6):
            assert_paid_call(call(client, stack, model_id, channel_id, n), n)
    signature = stack.voucher(channel_id, 5 * PRICE)[VOUCHER_HEADER].rsplit(":", 1)[1]
    stack.transact(stack.market.functions.redeem(channel_id, 5 * PRICE, signature),
                   PROVIDER.address)
    before = stack.balance(PROVIDER.address)
    result = redeem_now(stack)
    assert result["already_settled"] == [str(channel_id)]
    assert result["redeemed"] == [] and result["tx_hashes"] == []
    assert stack.balance(PROVIDER.address) == before
    assert stack.channel(channel_id)[5] == 5 * PRICE


def test_missing_voucher_is_402_with_the_terms(stack: Stack, model_id: int) -> None:
    response = httpx.post(invoke_url(stack, model_id), json={"x": 1}, timeout=30)
    body = assert_problem(response, 402, "payment-required")
    assert body["reason"] == "missing"
    assert body["price"] == str(PRICE) and body["token"] == stack.token.address
    assert body["provider"] == PROVIDER.address and body["market"] == stack.market.address
    assert body["chain_id"] == CHAIN_ID and body["channel"] is None


@pytest.fixture(scope="module")
def rejection_channel(stack: Stack, model_id: int) -> int:
    """A channel with one paid call (10 prices deposit)."""
    channel_id = stack.open_channel(deposit=10 * PRICE)
    with httpx.Client() as client:
        assert_paid_call(call(client, stack, model_id, channel_id, 1), 1)
    return channel_id


def rejected(stack: Stack, model_id: int, headers: dict[str, str], reason: str) -> dict:  # type: ignore[type-arg]
    response = httpx.post(invoke_url(stack, model_id), json={"x": 1}, headers=headers,
                          timeout=30)
    body = assert_problem(response, 402, "payment-required")
    assert body["reason"] == reason, body
    assert body["price"] == str(PRICE) and body["provider"] == PROVIDER.address
    return body


def test_same_voucher_again_is_402_stale(stack: Stack, model_id: int,
                                         rejection_channel: int) -> None:
    body = rejected(stack, model_id, stack.voucher(rejection_channel, PRICE), "stale")
    assert body["channel"] == str(rejection_channel)
    assert body["accepted_cumulative"] == str(PRICE)
    # less than one price above the accepted amount is stale too
    rejected(stack, model_id, stack.voucher(rejection_channel, 2 * PRICE - 1), "stale")


def test_voucher_over_the_deposit_is_402(stack: Stack, model_id: int,
                                         rejection_channel: int) -> None:
    body = rejected(stack, model_id, stack.voucher(rejection_channel, 11 * PRICE), "over-deposit")
    assert body["deposit"] == str(10 * PRICE) and body["accepted_cumulative"] == str(PRICE)


def test_voucher_signed_by_someone_else_is_402(stack: Stack, model_id: int,
                                               rejection_channel: int) -> None:
    rejected(stack, model_id, stack.voucher(rejection_channel, 2 * PRICE, signer=STRANGER),
             "wrong-signer")


def test_voucher_for_another_chain_or_market_is_402(stack: Stack, model_id: int,
                                                    rejection_channel: int) -> None:
    other_chain = stack.voucher(rejection_channel, 2 * PRICE, chain_id=1)
    rejected(stack, model_id, other_chain, "wrong-signer")
    other_market = stack.voucher(rejection_channel, 2 * PRICE, market=stack.token.address)
    rejected(stack, model_id, other_market, "wrong-signer")


SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_malleated_voucher_the_contract_cannot_redeem_is_402(stack: Stack, model_id: int,
                                                              rejection_channel: int) -> None:
    """The buyer's own voucher rewritten as its ECDSA twin (s → n - s, v flipped) or with v
    0/1 recovers to the buyer too, but the contract's ECDSA refuses it: a call paid with it
    could never be redeemed. The gateway refuses it as the contract does."""
    header = stack.voucher(rejection_channel, 2 * PRICE)[VOUCHER_HEADER]
    channel, amount, signature = header.split(":")
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = raw[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    for forged in (twin, raw[:64] + bytes([raw[64] - 27])):
        with pytest.raises(ContractLogicError):  # what redeeming it would meet
            stack.market.functions.redeem(int(channel), int(amount), forged).call(
                {"from": PROVIDER.address})
        body = rejected(stack, model_id,
                        {VOUCHER_HEADER: f"{channel}:{amount}:0x{forged.hex()}"}, "wrong-signer")
        assert body["accepted_cumulative"] == str(PRICE)  # nothing reserved


def test_channel_about_to_expire_is_402(stack: Stack, model_id: int) -> None:
    channel_id = stack.open_channel(deposit=10 * PRICE, expires_in=20)
    body = rejected(stack, model_id, stack.voucher(channel_id, PRICE), "expired")
    assert body["channel"] == str(channel_id)


def test_unknown_channel_and_malformed_header_are_402(stack: Stack, model_id: int) -> None:
    rejected(stack, model_id, stack.voucher(10**9, PRICE), "unknown-channel")
    rejected(stack, model_id, {VOUCHER_HEADER: "1:abc:0x00"}, "malformed")


def test_channel_opened_just_after_a_refusal_as_unknown_pays_at_once(stack: Stack,
                                                                      model_id: int) -> None:
    """A buyer calls before its channel is mined (402 unknown-channel), then opens it: the
    gateway believed "missing" for its whole 3 s cache and refused the open channel as
    unknown; it reads a missing channel again after 1 s."""
    next_id = int(stack.market.functions.channelCount().call()) + 1
    rejected(stack, model_id, stack.voucher(next_id, PRICE), "unknown-channel")
    refused_at = time.monotonic()
    assert stack.open_channel(deposit=10 * PRICE) == next_id
    time.sleep(max(0.0, refused_at + 1.2 - time.monotonic()))
    assert time.monotonic() - refused_at < 2.5  # still inside the old 3 s cache
    with httpx.Client() as client:
        assert_paid_call(call(client, stack, model_id, next_id, 1), 1)


def test_channel_to_another_provider_is_402(stack: Stack, model_id: int) -> None:
    other = OTHER_PROVIDER.address
    stake = 100 * 10**18
    stack.transact(stack.token.functions.approve(stack.market.address, stake), other)
    stack.transact(stack.market.functions.registerProvider(
        "http://elsewhere.example", stack.token.address, PRICE, stake), other)
    channel_id = stack.open_channel(deposit=10 * PRICE, provider=other)
    rejected(stack, model_id, stack.voucher(channel_id, PRICE), "wrong-provider")


def test_failed_model_is_502_and_charged(stack: Stack, model_id: int) -> None:
    """The voucher is reserved before the model runs: a failing run is paid for (issue 14;
    before, a model that failed ran for free and the same voucher paid the next call)."""
    channel_id = stack.open_channel(deposit=10 * PRICE)
    response = httpx.post(invoke_url(stack, model_id), json={"crash": True},
                          headers=stack.voucher(channel_id, PRICE), timeout=30)
    body = assert_problem(response, 502, "model-failed")
    assert body["reason"] == "exited with code 3"
    assert body["accepted_cumulative"] == str(PRICE)
    assert response.headers["x-datadao-accepted-cumulative"] == str(PRICE)
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    stored = ledger.latest(str(channel_id))
    assert stored is not None and stored.cumulative_amount == PRICE
    rejected(stack, model_id, stack.voucher(channel_id, PRICE), "stale")  # spent
    with httpx.Client() as client:
        assert_paid_call(call(client, stack, model_id, channel_id, 2), 2)


def test_five_concurrent_calls_with_one_voucher_run_the_model_once(stack: Stack,
                                                                   model_id: int) -> None:
    """Five calls carrying the same voucher at the same moment: one reserves it and runs (a
    crashing input, so every run shows as a 502), the others are refused before running
    (402 stale; 503 models-busy would also have run nothing). Before issue 14 all five ran."""
    channel_id = stack.open_channel(deposit=10 * PRICE)
    headers = stack.voucher(channel_id, PRICE)
    start = threading.Barrier(5)

    def one(_: int) -> httpx.Response:
        with httpx.Client() as client:
            start.wait()
            return client.post(invoke_url(stack, model_id), json={"crash": True},
                               headers=headers, timeout=60)

    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(one, range(5)))
    statuses = sorted(response.status_code for response in responses)
    print(f"\n5 concurrent calls, one voucher: {statuses}")
    ran = [r for r in responses if r.status_code == 502]
    assert len(ran) == 1, [r.text for r in responses]
    for response in responses:
        if response.status_code == 402:
            assert response.json()["reason"] == "stale"
        elif response.status_code == 503:
            assert response.json()["type"].endswith("/models-busy")
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    stored = ledger.latest(str(channel_id))
    assert stored is not None and stored.cumulative_amount == PRICE


SLOW_SECONDS = 6.0
SLOW_MODEL_PY = f"import sys, time\ntime.sleep({SLOW_SECONDS})\nsys.stdout.write('slept')\n"


def test_attack_bad_vouchers_take_model_slots(stack: Stack, model_id: int,
                                              rejection_channel: int, tmp_path: Path) -> None:
    """Every model slot busy with paid slow runs, an attacker sends calls that pay nothing:
    a channel that does not exist, a voucher signed by someone else, a stale one. Each is
    answered 402 at once, and a good call still finds the slots full (503 models-busy, nothing
    reserved). Before, a call took a slot before its voucher was checked: the bad ones waited
    for a slot and got 503 after the queue time (never the 402 that says what is wrong), and a
    call naming an unknown channel held a slot while the chain was asked about it."""
    script = tmp_path / "model.py"
    script.write_text(SLOW_MODEL_PY)
    slow = publish_model(stack, script)
    workers = stack.gateway.settings.model_workers
    channels = [stack.open_channel(deposit=10 * PRICE) for _ in range(workers + 1)]
    with httpx.Client() as client:  # unpacked once: the timed calls below only run
        unpacked = client.post(invoke_url(stack, slow), content=b"",
                               headers=stack.voucher(channels[-1], PRICE), timeout=60)
    assert unpacked.status_code == 200, unpacked.text

    def slow_call(channel_id: int) -> httpx.Response:
        with httpx.Client() as client:
            return client.post(invoke_url(stack, slow), content=b"",
                               headers=stack.voucher(channel_id, PRICE), timeout=60)

    attacks = {"unknown-channel": stack.voucher(10**9 + 7, PRICE),
               "wrong-signer": stack.voucher(rejection_channel, 2 * PRICE, signer=STRANGER),
               "stale": stack.voucher(rejection_channel, PRICE)}
    with ThreadPoolExecutor(workers) as pool:
        running = [pool.submit(slow_call, channel_id) for channel_id in channels[:workers]]
        time.sleep(1.0)  # every slot taken, the runs have SLOW_SECONDS to go
        answers: dict[str, tuple[httpx.Response, float]] = {}
        for reason, headers in attacks.items():
            started = time.monotonic()
            response = httpx.post(invoke_url(stack, slow), content=b"", headers=headers,
                                  timeout=30)
            answers[reason] = response, time.monotonic() - started
        still_running = sum(not call.done() for call in running)
        good = httpx.post(invoke_url(stack, slow), content=b"",
                          headers=stack.voucher(channels[-1], 2 * PRICE), timeout=30)
        ran = [call.result() for call in running]
    told = ", ".join(f"{reason} {response.status_code} in {seconds:.2f} s"
                     for reason, (response, seconds) in answers.items())
    print(f"\nevery slot busy: {told}; a good call {good.status_code}")
    assert still_running == workers  # the attacks were answered while every slot was busy
    for reason, (response, seconds) in answers.items():
        assert assert_problem(response, 402, "payment-required")["reason"] == reason
        assert seconds < stack.gateway.settings.model_queue_seconds  # not queued for a slot
    assert_problem(good, 503, "models-busy")
    assert all(response.status_code == 200 for response in ran), [r.text for r in ran]
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    stored = ledger.latest(str(channels[-1]))
    assert stored is not None and stored.cumulative_amount == PRICE  # the 503 took nothing


# a private-inference request that passes the envelope's framing check (one context byte,
# one ciphertext byte), read before the model is looked up
PRIVATE_ENVELOPE = MAGIC + struct.pack(">I", 1) + b"c" + struct.pack(">II", 1, 1) + b"x"


@pytest.fixture(scope="module")
def stallable(chain, kubo, deployments_file: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Gateway, TcpProxy]]:
    """A provider gateway (an account of its own) reaching the chain through a TcpProxy."""
    base = tmp_path_factory.mktemp("stallable")
    provider = Account.create()
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    proxy = TcpProxy(chain.port)
    Keystore(base / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings = make_settings(
        base, chain, kubo, deployments_file=deployments_file, provider_account="provider",
        keystore_password=PASSWORD, invoke_price=PRICE, rate_limit_per_minute=100_000,
    ).model_copy(update={"chain_rpc_url": f"http://127.0.0.1:{proxy.port}"})
    gateway = start_provider_gateway(settings, base / "gateway.log",
                                     f"http://127.0.0.1:{settings.gateway_port}")
    yield gateway, proxy
    gateway.process.stop()
    proxy.close()


@pytest.mark.parametrize("route", ["invoke", "private"])
def test_attack_unpaid_calls_on_a_stalled_chain_take_the_gateways_shared_threads(
        stallable: tuple[Gateway, TcpProxy], route: str) -> None:
    """The chain stops answering (a hung RPC node) and an attacker sends 48 calls at once, each
    naming a model the gateway never read, so each call's admission (before any slot) waits on
    the chain on a worker thread (on /invoke and on /private, which looks the model up before
    it reads the envelope against it). Those threads must be the metered calls' own: the
    catalog, which reads only the database, still answers at once (calls beyond them wait at
    most the queue time, then 503 models-busy). Before, admission ran on the default thread
    pool (40 threads) that sign-in, the catalog and downloads use: they all waited for the
    chain's timeout (the catalog 29.5 s)."""
    gateway, proxy = stallable
    attacks, first = 48, 10**6 if route == "invoke" else 2 * 10**6  # models never read
    assert httpx.get(f"{gateway.url}/v1/assets", timeout=10).status_code == 200
    proxy.stall()

    def attack(n: int) -> httpx.Response:
        return httpx.post(f"{gateway.url}/v1/models/{first + n}/{route}",
                          content=PRIVATE_ENVELOPE if route == "private" else b"",
                          headers={VOUCHER_HEADER: f"1:{PRICE}:0x" + "11" * 65}, timeout=120)

    try:
        with ThreadPoolExecutor(attacks) as pool:
            answers = [pool.submit(attack, n) for n in range(attacks)]
            time.sleep(1.5)  # every attack admitted or waiting for the chain
            started = time.monotonic()
            catalog = httpx.get(f"{gateway.url}/v1/assets", timeout=60)
            waited = time.monotonic() - started
            proxy.allow()  # the held reads fail and are retried on a live chain
            statuses = sorted(answer.result().status_code for answer in answers)
    finally:
        proxy.allow()
    print(f"\nthe catalog answered {catalog.status_code} in {waited:.2f} s; attacks: "
          f"{ {status: statuses.count(status) for status in set(statuses)} }")
    assert catalog.status_code == 200
    assert waited < 3.0
    assert set(statuses) <= {404, 503}  # no model there, the chain, or models-busy: no 500


def test_buyer_without_a_compute_license_is_403_and_keeps_the_voucher(
        stack: Stack, tmp_path: Path) -> None:
    """The model's owner is paid through its offers: a channel whose buyer holds no COMPUTE
    license on the model is refused before the model runs, and the voucher stays unspent."""
    asset_id = publish_scaler(stack, tmp_path / "unlicensed", licensees=())
    channel_id = stack.open_channel(deposit=10 * PRICE)
    response = httpx.post(invoke_url(stack, asset_id), json={"x": 1},
                          headers=stack.voucher(channel_id, PRICE), timeout=30)
    body = assert_problem(response, 403, "not-licensed")
    assert body["scope"] == "compute" and body["reason"] == "no-license"
    assert body["account"] == BUYER.address
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    assert ledger.latest(str(channel_id)) is None

    stack.grant_compute(asset_id, BUYER.address)
    deadline = time.monotonic() + 5  # a "no" is cached for at most a second
    while True:
        with httpx.Client() as client:
            response = call(client, stack, asset_id, channel_id, 1)
        if response.status_code != 403 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert_paid_call(response, 1)  # the same voucher pays once licensed


def test_dataset_cannot_be_invoked(stack: Stack, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n")
    dataset_id = publish_model(stack, data, kind=DATASET)
    response = httpx.post(invoke_url(stack, dataset_id), json={}, timeout=30)
    assert_problem(response, 404, "not-a-model")


def test_single_file_model_runs(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text("import sys\nsys.stdout.write(sys.stdin.read().upper())\n")
    asset_id = publish_model(stack, script)
    channel_id = stack.open_channel(deposit=10 * PRICE)
    response = httpx.post(invoke_url(stack, asset_id), content=b"hello model",
                          headers=stack.voucher(channel_id, PRICE), timeout=30)
    assert response.status_code == 200, response.text
    assert response.content == b"HELLO MODEL"
    assert response.headers["content-type"] == "application/octet-stream"
    models = Path(stack.gateway.settings.data_dir) / "models"
    assert models.stat().st_mode & 0o777 == 0o700
    assert all(folder.stat().st_mode & 0o777 == 0o700 for folder in models.iterdir())


PRYING_MODEL_PY = """\
import json, os, sys
request = json.loads(sys.stdin.buffer.read())
if request.get("report"):
    print(json.dumps({"uid": os.getuid(), "model_dir": os.environ["MODEL_DIR"]}))
    sys.exit(0)
sys.stdout.write(open(request["path"], "rb").read().hex())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root gateway can give models their own uid")
def test_model_cannot_read_the_gateway_key_or_database(stack: Stack, tmp_path: Path) -> None:
    """A published model that opens the gateway's X25519 key (or its database) and prints it
    gets PermissionError: it runs under its own uid on a staged copy outside the data folder."""
    script = tmp_path / "model.py"
    script.write_text(PRYING_MODEL_PY)
    asset_id = publish_model(stack, script)
    data_dir = Path(stack.gateway.settings.data_dir)
    key = stack.gateway.settings.gateway_key_file.read_bytes()
    channel_id = stack.open_channel(deposit=10 * PRICE)
    for n, target in enumerate((stack.gateway.settings.gateway_key_file, data_dir / "dapp.db"),
                               start=1):
        response = httpx.post(invoke_url(stack, asset_id), json={"path": str(target)},
                              headers=stack.voucher(channel_id, n * PRICE), timeout=30)
        body = assert_problem(response, 502, "model-failed")
        assert body["reason"] == "exited with code 1"
        assert key not in response.content and key.hex().encode() not in response.content
    response = httpx.post(invoke_url(stack, asset_id), json={"report": True},
                          headers=stack.voucher(channel_id, 3 * PRICE), timeout=30)
    assert response.status_code == 200, response.text  # each failed call was charged
    seen = response.json()
    assert seen["uid"] != 0 and seen["uid"] != os.getuid()
    assert not Path(seen["model_dir"]).is_relative_to(data_dir)
    assert data_dir.stat().st_mode & 0o777 == 0o700


def test_parallel_calls_lose_no_value(stack: Stack, model_id: int) -> None:
    """20 concurrent calls with vouchers 1..20 prices: some may arrive after a higher one and
    be refused as stale, but every call answered 200 is paid by a distinct price."""
    redeem_now(stack)
    channel_id = stack.open_channel()

    def one(n: int) -> tuple[int, httpx.Response]:
        with httpx.Client() as client:
            return n, call(client, stack, model_id, channel_id, n)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(1, 21)))
    paid = [n for n, response in results if response.status_code == 200]
    for _, response in results:
        if response.status_code == 503:  # every model worker busy: refused before paying
            assert response.json()["type"].endswith("/models-busy"), response.text
        elif response.status_code != 200:
            assert response.json()["reason"] == "stale", response.text
    assert paid
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    stored = ledger.latest(str(channel_id))
    assert stored is not None and stored.cumulative_amount == max(paid) * PRICE
    # n calls answered 200 carry at least n prices of value
    assert len(paid) * PRICE <= stored.cumulative_amount
    before = stack.balance(PROVIDER.address)
    assert redeem_now(stack)["amount"] == str(max(paid) * PRICE)
    assert stack.balance(PROVIDER.address) == before + max(paid) * PRICE


def test_contract_buyer_pays_with_erc1271_signatures(stack: Stack, model_id: int) -> None:
    """A smart wallet (owner: BUYER) opens the channel; its owner's signatures are accepted
    through isValidSignature, by the gateway and by the market when redeeming: a 65-byte
    wallet signature goes in the compact redeemMany (ERC-1271 on its 65-byte expansion)."""
    artifact = json.loads((REPO_ROOT / "build/contracts/ExecutingSmartWallet.json").read_text())
    factory = stack.web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = stack.transact(factory.constructor(BUYER.address), BUYER.address)
    wallet = stack.web3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    deposit = 10 * PRICE
    stack.transact(stack.token.functions.mint(wallet.address, deposit), BUYER.address)
    approve = stack.token.functions.approve(stack.market.address, deposit)
    stack.transact(wallet.functions.execute(stack.token.address,
                                            approve._encode_transaction_data()), BUYER.address)
    expiry = stack.web3.eth.get_block("latest")["timestamp"] + 24 * 3600
    open_channel = stack.market.functions.openChannel(PROVIDER.address, stack.token.address,
                                                       deposit, expiry)
    stack.transact(wallet.functions.execute(stack.market.address,
                                            open_channel._encode_transaction_data()),
                   BUYER.address)
    channel_id = int(stack.market.functions.channelCount().call())
    assert stack.channel(channel_id)[0] == wallet.address
    stack.grant_compute(model_id, wallet.address)  # the wallet pays, so the wallet is licensed
    rejected(stack, model_id, stack.voucher(channel_id, PRICE, signer=STRANGER), "wrong-signer")
    with httpx.Client() as client:
        for n in range(1, 4):
            assert_paid_call(call(client, stack, model_id, channel_id, n), n)
    redeemed = redeem_now(stack)
    assert stack.channel(channel_id)[5] == 3 * PRICE
    batches = [event for tx in redeemed["tx_hashes"]
               for event in stack.market.events.VouchersRedeemed().process_receipt(
                   stack.web3.eth.get_transaction_receipt(tx), errors=DISCARD)]
    assert [(list(e["args"]["channelIds"]), list(e["args"]["redeemed"])) for e in batches] == [
        ([channel_id], [3 * PRICE])]


def test_metrics_count_calls_402s_and_pending_vouchers(stack: Stack) -> None:
    text = httpx.get(f"{stack.gateway.url}/metrics").text
    assert 'gateway_metered_calls_total{outcome="paid"}' in text
    assert 'gateway_payment_required_total{reason="stale"}' in text
    assert "gateway_vouchers_pending" in text


def test_only_the_provider_may_force_a_redemption(stack: Stack) -> None:
    response = httpx.post(f"{stack.gateway.url}/v1/provider/redeem",
                          headers=session(stack.gateway, BUYER), timeout=30)
    assert_problem(response, 403, "not-the-provider")


def test_a_free_provider_asks_a_signed_in_licensee_instead_of_a_voucher(
        stack: Stack, chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    """A provider whose price is 0 (a fresh account, so the paid gateway's terms stay as they
    are) takes no voucher: the caller signs in instead, and the COMPUTE license is checked on
    that account — the model's owner is still paid through its offers."""
    free = Account.create()
    fund_account(chain, deployments_file, free.address, 1000 * 10**18)
    served = start_provider_stack(chain, kubo, deployments_file, tmp_path, provider=free,
                                  invoke_price=0, rate_limit_per_minute=100_000)
    gateway = served.gateway  # the models it serves are sealed to this one
    try:
        assert httpx.get(f"{gateway.url}/v1/provider").json()["price"] == "0"
        model = publish_scaler(served, tmp_path / "scaler")  # licensed to BUYER only
        url = invoke_url(served, model)
        assert_problem(httpx.post(url, json={"x": 2}, timeout=30), 401, "not-authenticated")
        stranger = httpx.post(url, json={"x": 2}, headers=session(gateway, STRANGER), timeout=30)
        assert assert_problem(stranger, 403, "not-licensed")["account"] == STRANGER.address
        paid_nothing = httpx.post(url, json={"x": 2}, headers=session(gateway, BUYER),
                                  timeout=30)
        assert paid_nothing.status_code == 200, paid_nothing.text
        assert paid_nothing.json() == {"echo": {"x": 2}, "scaled": 6}
        assert paid_nothing.headers["x-datadao-price"] == "0"
    finally:
        gateway.process.stop()
