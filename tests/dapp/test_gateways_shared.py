"""Two gateway processes behind one public address, sharing one PostgreSQL database and one
provider account, on one chain (issue 16, "many gateways, one service").

Gateway A and gateway B are real subprocesses with their own data directories and ports; they
share `DAPP_DATABASE_URL` (a fresh database on the session's PostgreSQL), the provider account
(each imports the same key into its own keystore), the gateway key (B starts with a copy of
A's, as replicas of one gateway do) and the public URL `PUBLIC_URL`, which the SIWE domain and
the provider's registered endpoint follow. The client talks to each at its own port, as a load
balancer would, alternating between them.

What must hold whichever gateway took a request: a voucher is accepted once and redeemed once;
a session signed in at A is honoured at B; a sign-in nonce is spent once across both; the rate
limit counts requests at both. And the provider account's transactions from two processes never
share a nonce (the PostgreSQL advisory lock around each send)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from dapp.chain.accounts import Keystore
from dapp.chain.constants import JobStatus
from dapp.compute import jobs as states
from dapp.market.vouchers import VOUCHER_HEADER
from tests.dapp.conftest import Gateway, Postgres, fund_account, make_settings
from tests.dapp.helpers.gateway import (
    ALICE,
    assert_problem,
    fresh_challenge,
    session,
    sign_in,
    sign_text,
    siwe_text,
)
from tests.dapp.helpers.invoke import (
    PASSWORD,
    PRICE,
    Stack,
    assert_paid_call,
    call,
    invoke_url,
    publish_scaler,
    start_provider_gateway,
    start_provider_stack,
)
from tests.dapp.helpers.provider_race import PASSWORD as PROVIDER_PASSWORD
from tests.dapp.helpers.provider_race import VOUCHER_AMOUNT, prepare_race
from tests.dapp.helpers.provider_sends import (
    send_from_another_process,
    submit_result_from_another_process,
)

PUBLIC_URL = "http://gateways.datadao.test"
RATE_LIMIT = 300  # requests per minute per client, for both gateways together
OTHER_CLIENT = "127.0.0.2"  # a second source address on the loopback network


@dataclasses.dataclass
class Pair:
    a: Stack
    b: Stack
    provider: LocalAccount
    database_url: str
    model: int

    def each(self, n: int) -> Stack:
        """A for even n, B for odd n: calls alternate between the two gateways."""
        return self.a if n % 2 == 0 else self.b


@pytest.fixture(scope="module")
def pair(chain, kubo, deployments_file: Path, postgres: Postgres,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    database_url = postgres.create_database("gateways_shared")
    provider: LocalAccount = Account.create()
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    shared: dict[str, Any] = dict(
        database_url=database_url, gateway_public_url=PUBLIC_URL, invoke_price=PRICE,
        rate_limit_per_minute=RATE_LIMIT, voucher_batch_size=10_000,
        voucher_batch_age_seconds=3600)
    a = start_provider_stack(chain, kubo, deployments_file,
                             tmp_path_factory.mktemp("gateway-a"), provider=provider, **shared)
    base_b = tmp_path_factory.mktemp("gateway-b")
    Keystore(base_b / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings_b = make_settings(base_b, chain, kubo, deployments_file=deployments_file,
                               provider_account="provider", keystore_password=PASSWORD,
                               **shared)
    settings_b.gateway_key_file.parent.mkdir(parents=True, mode=0o700)
    shutil.copy2(a.gateway.settings.gateway_key_file, settings_b.gateway_key_file)
    gateway_b = start_provider_gateway(settings_b, base_b / "gateway.log",
                                       f"http://127.0.0.1:{settings_b.gateway_port}")
    b = dataclasses.replace(a, gateway=gateway_b, log_dir=base_b)
    model = publish_scaler(a, tmp_path_factory.mktemp("shared-model") / "scaler")
    yield Pair(a, b, provider, database_url, model)
    for gateway in (a.gateway, b.gateway):
        gateway.process.stop()


def redeem_at(gateway: Gateway, provider: LocalAccount) -> dict[str, Any]:
    response = httpx.post(f"{gateway.url}/v1/provider/redeem",
                          headers=session(gateway, provider), timeout=180)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def redemptions_on_chain(stack: Stack, channel_id: int, from_block: int) -> list[int]:
    """The channel's redeemed totals as each redemption since `from_block` left them: one
    entry per `redeem` (ChannelRedeemed) and per `redeemMany` naming it (VouchersRedeemed)."""
    market = stack.market.events
    totals = [int(event["args"]["redeemed"])
              for event in market.ChannelRedeemed().get_logs(from_block=from_block)
              if int(event["args"]["channelId"]) == channel_id]
    for event in market.VouchersRedeemed().get_logs(from_block=from_block):
        totals += [int(total) for channel, total
                   in zip(event["args"]["channelIds"], event["args"]["redeemed"], strict=True)
                   if int(channel) == channel_id]
    return totals


# --- vouchers ----------------------------------------------------------------------------------
def test_voucher_taken_at_one_gateway_is_refused_when_replayed_at_the_other(pair: Pair) -> None:
    channel_id = pair.a.open_channel(provider=pair.provider.address)
    with httpx.Client() as client:
        assert_paid_call(call(client, pair.a, pair.model, channel_id, 1), 1)
        replay = call(client, pair.b, pair.model, channel_id, 1)  # the same voucher, at B
    body = assert_problem(replay, 402, "payment-required")
    assert body["reason"] == "stale" and body["accepted_cumulative"] == str(PRICE)


def test_alternating_calls_count_once_each_and_are_redeemed_once_in_total(pair: Pair) -> None:
    channel_id = pair.a.open_channel(provider=pair.provider.address)
    start_block = pair.a.web3.eth.block_number
    with httpx.Client() as client:
        for n in range(1, 11):
            response = call(client, pair.each(n), pair.model, channel_id, n)
            assert_paid_call(response, n)
    # both gateways redeem at the same moment: one round pays, the other finds it paid
    rounds: dict[str, dict[str, Any]] = {}
    barrier = threading.Barrier(2)

    def redeem(name: str, stack: Stack) -> None:
        barrier.wait(30)
        rounds[name] = redeem_at(stack.gateway, pair.provider)

    threads = [threading.Thread(target=redeem, args=(name, stack))
               for name, stack in (("A", pair.a), ("B", pair.b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    assert set(rounds) == {"A", "B"}, "a redemption round did not answer"
    paid = [entry for round_ in rounds.values() for entry in round_["redeemed"]
            if entry["channel"] == str(channel_id)]
    assert len(paid) == 1 and paid[0]["cumulative_amount"] == str(10 * PRICE), rounds
    assert redemptions_on_chain(pair.a, channel_id, start_block) == [10 * PRICE]
    assert pair.a.channel(channel_id)[5] == 10 * PRICE  # Channel.redeemed


# --- sign-in -------------------------------------------------------------------------------------
def test_session_signed_in_at_one_gateway_is_honoured_at_the_other(pair: Pair) -> None:
    headers = session(pair.a.gateway, ALICE)
    me = httpx.get(f"{pair.b.gateway.url}/v1/auth/me", headers=headers, timeout=10)
    assert me.status_code == 200, me.text
    assert me.json()["account"] == ALICE.address


def test_nonce_issued_by_one_gateway_is_spent_once_across_both(pair: Pair) -> None:
    challenge = fresh_challenge(pair.a.gateway)
    assert challenge["domain"] == PUBLIC_URL.split("//", 1)[1]  # one service, one domain
    text = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    signature = sign_text(ALICE, text)
    assert sign_in(pair.b.gateway, text, signature).status_code == 200
    for gateway in (pair.a.gateway, pair.b.gateway):  # replayed at either: refused
        assert_problem(sign_in(gateway, text, signature), 401, "not-authenticated")


# --- the rate limit ------------------------------------------------------------------------------
def test_rate_limit_counts_the_requests_at_both_gateways(pair: Pair) -> None:
    transport = httpx.HTTPTransport(local_address=OTHER_CLIENT)
    allowed = {"A": 0, "B": 0}
    refused = {"A": 0, "B": 0}
    started = time.monotonic()
    with httpx.Client(transport=transport, timeout=10) as client:
        for n in range(2 * RATE_LIMIT):
            name, stack = ("A", pair.a) if n % 2 == 0 else ("B", pair.b)
            status = client.get(f"{stack.gateway.url}/v1/gateway").status_code
            if status == 429:
                refused[name] += 1
            else:
                assert status == 200
                allowed[name] += 1
    elapsed = time.monotonic() - started
    refill = elapsed * RATE_LIMIT / 60
    total = allowed["A"] + allowed["B"]
    print(f"\n{2 * RATE_LIMIT} requests from one client in {elapsed:.1f} s, alternating: "
          f"{allowed} allowed, {refused} refused (limit {RATE_LIMIT}/min in all)")
    # two separate limiters would have let all 600 through (300 each)
    assert RATE_LIMIT - 1 <= total <= RATE_LIMIT + refill + 5
    assert refused["A"] > 0 and refused["B"] > 0


# --- the provider account's transactions ---------------------------------------------------------
def test_two_processes_sending_for_one_provider_account_never_share_a_nonce(
        chain, deployments_file: Path, postgres: Postgres, tmp_path: Path) -> None:
    """Two processes on one PostgreSQL and one provider account, as two gateways run them: one
    redeems vouchers (a `redeemMany` round over the shared ledger), the other's job worker
    posts a job's result (`submitResult`), both then send approvals; all start at one moment,
    with the node's pending-nonce answers slowed so that unserialized sends would read the
    same nonce. Every transaction is mined, each with a nonce of its own (none replaced)."""
    race = prepare_race(chain, deployments_file, tmp_path,
                        postgres.create_database("provider_race"))
    settings = race.settings
    fields = dict(data_dir=settings.data_dir, chain_rpc_url=settings.chain_rpc_url,
                  deployments_file=settings.deployments_file, provider_account="provider",
                  keystore_password=PROVIDER_PASSWORD, database_url=settings.database_url)
    start_at = time.time() + 12  # the spawned processes import web3 and the dapp first
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        redeeming = pool.submit(send_from_another_process, chain.rpc_url,
                                str(deployments_file), settings.resolved_database_url,
                                race.account.account.key.hex(), start_at, 2, True)
        submitting = pool.submit(submit_result_from_another_process, fields, race.job_id,
                                 start_at, 2)
        redeemed, submitted = redeeming.result(timeout=180), submitting.result(timeout=180)
    assert redeemed["redeemed"] == [str(race.channel_id)], redeemed
    assert submitted["state"] == states.SUBMITTED, submitted
    hashes = redeemed["hashes"] + submitted["hashes"]
    assert len(hashes) == 6, (redeemed, submitted)  # redeemMany, submitResult, 4 approvals
    web3 = race.web3
    receipts = [web3.eth.wait_for_transaction_receipt(tx, timeout=60) for tx in hashes]
    assert all(receipt["status"] == 1 for receipt in receipts)
    nonces = sorted(int(web3.eth.get_transaction(tx)["nonce"]) for tx in hashes)
    assert nonces == list(range(nonces[0], nonces[0] + len(hashes))), nonces
    assert JobStatus(race.market.functions.getJob(race.job_id).call()[2]) == JobStatus.SUBMITTED
    assert race.market.functions.getChannel(race.channel_id).call()[5] == VOUCHER_AMOUNT
    race.worker.ipfs.close()
    race.engine.dispose()
    print(f"\nredeemMany, submitResult and 4 approvals from two processes: nonces {nonces}")


def test_a_voucher_header_at_both_gateways_at_once_is_accepted_once(pair: Pair) -> None:
    """The same voucher sent to A and B at the same moment: one call runs and is paid, the
    other is refused as stale."""
    channel_id = pair.a.open_channel(provider=pair.provider.address)
    headers = pair.a.voucher(channel_id, PRICE)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def post(stack: Stack) -> None:
        barrier.wait(10)
        response = httpx.post(invoke_url(stack, pair.model), json={"x": 1},
                              headers=headers, timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(stack,)) for stack in (pair.a, pair.b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert sorted(statuses) == [200, 402], statuses
    assert VOUCHER_HEADER in headers
