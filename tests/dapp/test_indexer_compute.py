"""The ComputeMarket's events into `compute_providers`, `compute_jobs` and `payment_channels`,
on the session ganache with the market the real deploy script deployed: every job path
(finalized, dispute paid / refunded, expired, declined, cancelled; accepted before the result
or by it), a provider's whole life, channels opened, topped up, extended, redeemed one by one
and in a batch (`VouchersRedeemed`) and reclaimed — each row checked against the market's own
views — and a reorg across a redeem that the channel follows to the new branch.

Providers and buyers are fresh keys imported into ganache, so these flows share no state with
the other suites' dev accounts (a provider registers once per market)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import load_deployment
from dapp.indexer.handlers import default_handlers
from dapp.indexer.handlers.compute import IGNORED
from dapp.ipfs.cid import cid_to_chain
from dapp.market.vouchers import sign_voucher
from dapp.store.models import ComputeJob, ComputeProvider, PaymentChannel, PayoutBalance
from dapp.store.providers import ProviderDirectory
from tests.dapp.conftest import CHAIN_ID, Chain
from tests.dapp.helpers.registry_index import (
    ALGORITHM,
    COMPUTE,
    DATASET,
    DAY,
    DDT,
    Exchange,
    assert_rebuild_and_other_ranges_agree,
    event_state,
    fake_cid,
    make_indexer,
    rows,
)

MAX_UINT = 2**256 - 1
PASSPHRASE = "indexer-compute"
PROVIDER_FEE = 5 * DDT
DATA_FEE = 2 * DDT
COLLATERAL = 50 * DDT  # scripts/deploy_modules.py COMPUTE_PARAMS
CHALLENGE_WINDOW = DAY
EXIT_DELAY = 7 * DAY
JOB_STATUSES = (None, "escrowed", "accepted", "submitted", "disputed", "finalized",
                "refunded")


@dataclass
class Market:
    ex: Exchange
    contract: Contract

    @property
    def calls(self) -> Any:
        return self.contract.functions

    def send(self, call: Any, sender: str) -> Any:
        return self.ex.send(call, sender)

    def fresh_account(self) -> LocalAccount:
        """A new key, unlocked in ganache, with ether and DDT, approving market and registry."""
        account: LocalAccount = Account.create()
        ex = self.ex
        ex.rpc("personal_importRawKey", account.key.to_0x_hex(), PASSPHRASE)
        assert ex.rpc("personal_unlockAccount", account.address, PASSPHRASE, 0)
        ex.web3.eth.wait_for_transaction_receipt(ex.web3.eth.send_transaction(
            {"from": ex.accounts[0], "to": account.address, "value": 10**19}))
        ex.send(ex.token.functions.mint(account.address, 10_000 * DDT), ex.accounts[0])
        for spender in (self.contract.address, ex.registry.address):
            ex.send(ex.token.functions.approve(spender, MAX_UINT), account.address)
        return account

    def register(self, stake: int, endpoint: str = "https://compute.example/p") -> str:
        provider = self.fresh_account().address
        self.send(self.calls.registerProvider(endpoint, self.ex.token.address, PROVIDER_FEE,
                                              stake), provider)
        return provider

    def create_job(self, dataset: int, algorithm: int, provider: str, buyer: str,
                   deadline_in: int = 2 * DAY) -> int:
        receipt = self.send(self.calls.createJob(dataset, algorithm, provider,
                                                 self.ex.now() + deadline_in,
                                                 self.ex.token.address, MAX_UINT), buyer)
        (created,) = self.contract.events.JobCreated().process_receipt(receipt, DISCARD)
        return int(created["args"]["jobId"])

    def submit(self, job_id: int, provider: str, label: str) -> tuple[str, str]:
        cid, result_hash = fake_cid(label), Web3.keccak(text=label)
        self.send(self.calls.submitResult(job_id, cid_to_chain(cid), result_hash), provider)
        return cid, "0x" + result_hash.hex()

    def open_channel(self, buyer: str, provider: str, deposit: int, expires_in: int) -> int:
        receipt = self.send(self.calls.openChannel(provider, self.ex.token.address, deposit,
                                                   self.ex.now() + expires_in), buyer)
        (opened,) = self.contract.events.ChannelOpened().process_receipt(receipt, DISCARD)
        return int(opened["args"]["channelId"])

    def redeem(self, channel_id: int, buyer: LocalAccount, provider: str,
               cumulative: int) -> None:
        voucher = sign_voucher(buyer.key, CHAIN_ID, self.contract.address, channel_id,
                               cumulative)
        self.send(self.calls.redeem(channel_id, cumulative, voucher.signature), provider)

    def redeem_many(self, vouchers: list[tuple[int, LocalAccount, int]], provider: str) -> None:
        """One `redeemMany` of (channel, buyer, cumulative) vouchers, compact signatures."""
        compact = [sign_voucher(buyer.key, CHAIN_ID, self.contract.address, channel_id,
                                cumulative).compact()
                   for channel_id, buyer, cumulative in vouchers]
        self.send(self.calls.redeemMany(compact), provider)

    def wait(self, seconds: int) -> None:
        self.ex.rpc("evm_increaseTime", seconds)
        self.ex.rpc("evm_mine")


@pytest.fixture(scope="module")
def market(exchange: Exchange, deployments_file: Path) -> Market:
    deployment = load_deployment(deployments_file, CHAIN_ID)
    return Market(ex=exchange, contract=bind(exchange.web3, deployment, "ComputeMarket"))


@dataclass
class Assets:
    dataset: int
    algorithm: int
    publisher: str


@pytest.fixture(scope="module")
def assets(market: Market) -> Assets:
    """A dataset with a perpetual COMPUTE offer and a data fee per job, and an algorithm."""
    ex, publisher = market.ex, market.ex.accounts[1]
    dataset = ex.publish(publisher, DATASET, fake_cid("cm-data"), fake_cid("cm-data-m"), 1000,
                         [(25 * DDT, 0, COMPUTE)])
    algorithm = ex.publish(publisher, ALGORITHM, fake_cid("cm-algo"), fake_cid("cm-algo-m"), 0,
                           [(0, 0, COMPUTE)])
    market.send(market.calls.setComputeFee(dataset, ex.token.address, DATA_FEE), publisher)
    ex.send(ex.registry.functions.trustAlgorithm(dataset, algorithm, 0), publisher)
    return Assets(dataset=dataset, algorithm=algorithm, publisher=publisher)


def licensed_buyer(market: Market, assets: Assets) -> LocalAccount:
    buyer = market.fresh_account()
    market.ex.buy(assets.dataset, 1, buyer.address)
    market.ex.buy(assets.algorithm, 1, buyer.address)  # free, but a license all the same
    return buyer


def one(engine: Engine, model: Any, **key: Any) -> Any:
    (row,) = rows(engine, model, **key)
    return row


def assert_provider_matches_chain(market: Market, engine: Engine, address: str) -> Any:
    row = one(engine, ComputeProvider, address=address)
    on_chain = market.calls.getProvider(address).call()
    price_token, price, stake, _locked, exit_at, endpoint = on_chain
    assert (row.endpoint, row.price_token, row.price, row.stake, row.active) == (
        endpoint, price_token, price, stake, exit_at == 0)
    return row


def assert_job_matches_chain(market: Market, engine: Engine, job_id: int) -> Any:
    row = one(engine, ComputeJob, job_id=job_id)
    job = market.calls.getJob(job_id).call()
    buyer, deadline, status, _params_id, provider, provider_fee, token, data_fee = job[:8]
    assert (row.buyer, row.provider, row.token, row.amount, row.deadline, row.dataset_id) == (
        buyer, provider, token, provider_fee + data_fee, deadline, job[10])
    assert (row.collateral, row.challenge_end or 0) == (job[8], job[9])
    expected = JOB_STATUSES[status]
    assert row.status == expected or (expected == "refunded" and row.status in (
        "declined", "cancelled"))
    if job[11] != b"\x00" * 32:
        assert row.result_hash == "0x" + job[11].hex()
    return row


def assert_channel_matches_chain(market: Market, engine: Engine, channel_id: int) -> Any:
    row = one(engine, PaymentChannel, channel_id=str(channel_id))
    buyer, expiry, token, deposit, provider, redeemed = market.calls.getChannel(
        channel_id).call()
    assert (row.buyer, row.provider, row.token, row.deposit, row.redeemed, row.expires_at) == (
        buyer, provider, token, deposit, redeemed, expiry)
    return row


# -- tests -------------------------------------------------------------------------------------
def test_every_market_event_is_handled_or_ignored_on_purpose() -> None:
    events = {e["name"] for e in load_abi("ComputeMarket") if e["type"] == "event"}
    handled = default_handlers().events_of("ComputeMarket")
    assert events - handled == IGNORED
    assert handled <= events


def test_jobs_and_their_provider_follow_every_path(chain: Chain, deployments_file: Path,
                                                   market: Market, assets: Assets,
                                                   tmp_path: Path) -> None:
    ex, calls, arbiter = market.ex, market.calls, market.ex.accounts[0]
    provider = market.register(stake=300 * DDT)
    buyer = licensed_buyer(market, assets).address
    paths = ("finalized", "paid", "lost", "expired", "declined", "cancelled", "unaccepted")
    job = {path: market.create_job(assets.dataset, assets.algorithm, provider, buyer)
           for path in paths}
    for path in ("paid", "expired"):  # accepted first; the others by their result
        market.send(calls.acceptJob(job[path]), provider)
    results = {path: market.submit(job[path], provider, f"result-{path}")
               for path in ("finalized", "paid", "lost")}
    for path in ("paid", "lost"):
        market.send(calls.dispute(job[path]), buyer)
    market.send(calls.declineJob(job["declined"]), provider)
    market.send(calls.cancelJob(job["cancelled"]), buyer)

    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=7)
    indexer.run_once()
    engine = indexer.db
    statuses = {path: one(engine, ComputeJob, job_id=job[path]).status for path in job}
    assert statuses == {"finalized": "submitted", "paid": "disputed", "lost": "disputed",
                        "expired": "accepted", "declined": "declined",
                        "cancelled": "cancelled", "unaccepted": "escrowed"}
    escrowed = one(engine, ComputeJob, job_id=job["expired"])
    assert (escrowed.amount, escrowed.token, escrowed.result_cid, escrowed.result_hash) == (
        PROVIDER_FEE + DATA_FEE, ex.token.address, None, None)

    market.send(calls.resolveDispute(job["paid"], True), arbiter)
    market.send(calls.resolveDispute(job["lost"], False), arbiter)  # collateral slashed
    market.wait(2 * DAY + 1)
    market.send(calls.finalize(job["finalized"]), ex.accounts[6])
    market.send(calls.expire(job["expired"]), ex.accounts[6])  # accepted: collateral slashed
    market.send(calls.expire(job["unaccepted"]), ex.accounts[6])  # never accepted: no slash
    indexer.run_once()
    for job_id in job.values():
        assert_job_matches_chain(market, engine, job_id)
    statuses = {path: one(engine, ComputeJob, job_id=job[path]).status for path in job}
    assert statuses == {"finalized": "finalized", "paid": "finalized", "lost": "refunded",
                        "expired": "refunded", "declined": "declined",
                        "cancelled": "cancelled", "unaccepted": "refunded"}
    for path, (cid, result_hash) in results.items():
        row = one(engine, ComputeJob, job_id=job[path])
        assert (row.result_cid, row.result_hash, row.amount) == (cid, result_hash, 7 * DDT)
    row = assert_provider_matches_chain(market, engine, provider)
    assert (row.stake, row.active) == (300 * DDT - 2 * COLLATERAL, True)
    directory = ProviderDirectory(engine)
    listed = directory.list_providers()
    assert directory.get_provider(provider) in listed
    assert directory.get_provider(provider).jobs == len(job)  # type: ignore[union-attr]
    assert [p.price for p in listed] == sorted(p.price for p in listed)
    # two finalized jobs paid the data fee through payRevenue: counted once, by the registry
    balance = one(engine, PayoutBalance, account=assets.publisher, token=ex.token.address)
    assert balance.credited - balance.withdrawn == ex.registry.functions.payoutBalance(
        assets.publisher, ex.token.address).call()

    market.send(calls.updateProvider("https://compute.example/v2", ex.token.address,
                                     2 * PROVIDER_FEE), provider)
    market.send(calls.addStake(10 * DDT), provider)
    market.send(calls.requestExit(), provider)
    indexer.run_once()
    row = assert_provider_matches_chain(market, engine, provider)
    assert (row.endpoint, row.price, row.stake, row.active) == (
        "https://compute.example/v2", 2 * PROVIDER_FEE, 210 * DDT, False)
    exiting = directory.get_provider(provider)
    assert exiting not in directory.list_providers()
    assert exiting in directory.list_providers(include_exiting=True)
    market.send(calls.cancelExit(), provider)
    indexer.run_once()
    assert assert_provider_matches_chain(market, engine, provider).active
    market.send(calls.requestExit(), provider)
    market.wait(EXIT_DELAY + 1)
    market.send(calls.withdrawStake(), provider)
    indexer.run_once()
    row = assert_provider_matches_chain(market, engine, provider)
    assert (row.stake, row.active) == (0, False)

    assert_rebuild_and_other_ranges_agree(indexer, chain, deployments_file, tmp_path, 1)


def test_channels_follow_top_ups_extensions_redeems_and_reclaims(
        chain: Chain, deployments_file: Path, market: Market, tmp_path: Path) -> None:
    calls = market.calls
    provider = market.register(stake=100 * DDT)
    buyer = market.fresh_account()
    drained = market.open_channel(buyer.address, provider, 10 * DDT, DAY)
    market.redeem(drained, buyer, provider, 4 * DDT)
    market.send(calls.topUp(drained, 5 * DDT), buyer.address)
    market.send(calls.extend(drained, market.ex.now() + 3 * DAY), buyer.address)
    partly = market.open_channel(buyer.address, provider, 8 * DDT, DAY)
    market.redeem_many([(drained, buyer, 15 * DDT), (partly, buyer, 3 * DDT)],  # all of one
                       provider)
    untouched = market.open_channel(buyer.address, provider, 2 * DDT, 30 * DAY)

    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=3)
    indexer.run_once()
    engine = indexer.db
    row = assert_channel_matches_chain(market, engine, drained)
    assert (row.deposit, row.redeemed, row.status) == (15 * DDT, 15 * DDT, "redeemed")
    row = assert_channel_matches_chain(market, engine, partly)
    assert (row.deposit, row.redeemed, row.status) == (8 * DDT, 3 * DDT, "open")

    market.wait(DAY + 1)
    market.send(calls.reclaim(partly), buyer.address)
    market.send(calls.topUp(drained, 1 * DDT), buyer.address)  # reopened
    indexer.run_once()
    row = assert_channel_matches_chain(market, engine, partly)
    assert (row.deposit, row.redeemed, row.status) == (3 * DDT, 3 * DDT, "reclaimed")
    row = assert_channel_matches_chain(market, engine, drained)
    assert (row.deposit, row.redeemed, row.status) == (16 * DDT, 15 * DDT, "open")
    row = assert_channel_matches_chain(market, engine, untouched)
    assert (row.deposit, row.redeemed, row.status, row.buyer, row.provider) == (
        2 * DDT, 0, "open", buyer.address, provider)


def test_a_reorg_across_a_redeem_leaves_the_channel_as_on_chain(
        chain: Chain, deployments_file: Path, market: Market, tmp_path: Path) -> None:
    ex, calls = market.ex, market.calls
    provider = market.register(stake=100 * DDT)
    buyer = market.fresh_account()
    channel = market.open_channel(buyer.address, provider, 10 * DDT, 5 * DAY)
    market.redeem(channel, buyer, provider, 2 * DDT)
    indexer = make_indexer(chain, deployments_file, tmp_path, indexer_max_range=5)
    indexer.run_once()

    snapshot = ex.rpc("evm_snapshot")
    market.redeem(channel, buyer, provider, 10 * DDT)  # the branch that will vanish
    market.send(calls.extend(channel, ex.now() + 9 * DAY), buyer.address)
    indexer.run_once()
    row = one(indexer.db, PaymentChannel, channel_id=str(channel))
    assert (row.redeemed, row.status) == (10 * DDT, "redeemed")

    assert ex.rpc("evm_revert", snapshot)
    market.redeem(channel, buyer, provider, 3 * DDT)  # the branch that stays
    report = indexer.run_once()
    assert report.rollbacks == 1 and report.last_block == ex.web3.eth.block_number
    row = assert_channel_matches_chain(market, indexer.db, channel)
    assert (row.deposit, row.redeemed, row.status) == (10 * DDT, 3 * DDT, "open")
    assert row.block_number == ex.web3.eth.block_number  # changed last by the new redeem
    fresh = make_indexer(chain, deployments_file, tmp_path, "fresh.db")
    fresh.run_once()
    assert event_state(indexer.db) == event_state(fresh.db)
