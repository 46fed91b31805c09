"""The set-up of a race between a provider account's two kinds of sends: a job worker holding a
computed result of an open job (its next step: `submitResult`) and a voucher ledger holding a
voucher to redeem (`redeemMany`), both on one fresh provider account registered on the
session's ComputeMarket. Used by test_provider_sends (one process) and test_gateways_shared
(two processes on one PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from dapp.chain.accounts import Keystore
from dapp.chain.client import connect
from dapp.chain.constants import MAX_UINT256, AssetKind, Scope
from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.chain.transactions import TransactionSender
from dapp.compute import jobs as states
from dapp.compute.runner import JobWorker
from dapp.compute.service import ComputeService
from dapp.config import Settings
from dapp.crypto.sealing import GatewayKeyPair
from dapp.gateway.vouchers import VoucherLedger
from dapp.ipfs.cid import cid_from_chain, cid_to_chain
from dapp.market.provider import ProviderAccount
from dapp.market.reader import market_error_decoder
from dapp.market.vouchers import sign_voucher
from dapp.store.db import make_engine
from tests.dapp.conftest import CHAIN_ID, Chain, dev_web3, fund_account
from tests.dapp.helpers.buying import buy_call

DDT = 10**18
PASSWORD = "provider-sends-password"
DEPOSIT = 5 * DDT
VOUCHER_AMOUNT = 2 * DDT
WEEK = 7 * 24 * 3600


def fake_cid(label: str) -> str:
    """A well-formed CID of bytes nobody stored (the worker never fetches them here)."""
    return cid_from_chain(Web3.keccak(text=label), 0x55)


@dataclass
class Race:
    settings: Settings
    web3: Web3  # the provider's
    engine: Engine
    account: ProviderAccount
    worker: JobWorker
    ledger: VoucherLedger
    market: Any  # the ComputeMarket, bound for reading
    job_id: int
    channel_id: int


def provider_settings(data_dir: Path, chain: Chain, deployments_file: Path,
                      database_url: str | None = None) -> Settings:
    return Settings(data_dir=data_dir, chain_rpc_url=chain.rpc_url,
                    deployments_file=deployments_file, provider_account="provider",
                    keystore_password=PASSWORD, database_url=database_url)  # type: ignore[arg-type]


def open_worker(settings: Settings, web3: Web3, engine: Engine,
                shared: bool) -> tuple[ProviderAccount, JobWorker]:
    """The provider account and its job worker as the gateway boots them (with the database's
    send lock when `shared`)."""
    account = ProviderAccount.open(settings, web3, send_lock_engine=engine if shared else None)
    worker = ComputeService(settings, engine, GatewayKeyPair.generate(),
                            lambda: account)._boot()
    return account, worker


def prepare_race(chain: Chain, deployments_file: Path, data_dir: Path,
                 database_url: str | None = None) -> Race:
    """A fresh provider (keystore under `data_dir`, store at `database_url` or SQLite there)
    registered; an open job for it whose result is computed; a channel with a voucher in the
    ledger."""
    provider: LocalAccount = Account.create()
    buyer: LocalAccount = Account.create()
    for who in (provider, buyer):
        fund_account(chain, deployments_file, who.address, 10_000 * DDT)
    Keystore(data_dir / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings = provider_settings(data_dir, chain, deployments_file, database_url)
    web3 = connect(settings.chain_rpc_url)
    engine = make_engine(settings.resolved_database_url)
    account, worker = open_worker(settings, web3, engine, database_url is not None)
    worker.run_once()  # the first round: registers the provider and stakes for jobs
    ledger = VoucherLedger(engine)
    ledger.bind(CHAIN_ID, account.market.address)

    # the buyer's side: a licensed dataset, an algorithm, an open job for this provider and a
    # channel with a signed voucher the gateway has accepted
    buyer_web3 = dev_web3(chain.rpc_url)
    deployment = load_deployment(deployments_file, CHAIN_ID)
    registry, token, market = (bind(buyer_web3, deployment, name)
                               for name in ("AssetRegistry", "TestToken", "ComputeMarket"))
    buyer_sender = TransactionSender(buyer_web3, buyer, market_error_decoder())

    def send(call: ContractFunction) -> Any:
        return buyer_sender.send(call, call.fn_name).receipt

    def publish(kind: AssetKind, label: str) -> int:
        receipt = send(registry.functions.publish(
            kind, cid_to_chain(fake_cid(f"{label}-content")),
            cid_to_chain(fake_cid(f"{label}-metadata")), 0,
            [(token.address, 0, 0, Scope.COMPUTE)]))
        (event,) = registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["assetId"])

    dataset = publish(AssetKind.DATASET, f"provider-sends-data-{provider.address}")
    algorithm = publish(AssetKind.ALGORITHM, f"provider-sends-algo-{provider.address}")
    send(registry.functions.trustAlgorithm(dataset, algorithm, 0))
    send(buy_call(registry, dataset, 1, buyer.address))
    send(token.functions.approve(market.address, MAX_UINT256))
    now = int(buyer_web3.eth.get_block("latest")["timestamp"])
    receipt = send(market.functions.createJob(dataset, algorithm, provider.address, now + 3600,
                                              token.address, MAX_UINT256))
    (created,) = market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    job_id = int(created["args"]["jobId"])
    receipt = send(market.functions.openChannel(provider.address, token.address, DEPOSIT,
                                                 now + WEEK))
    (opened,) = market.events.ChannelOpened().process_receipt(receipt, errors=DISCARD)
    channel_id = int(opened["args"]["channelId"])
    voucher = sign_voucher(buyer.key, CHAIN_ID, market.address, channel_id, VOUCHER_AMOUNT)
    assert ledger.accept(str(channel_id), VOUCHER_AMOUNT, voucher.signature_hex)

    # the worker queues the job and (as if its executor had run) holds a computed result
    assert worker.scan() == 1
    queued = worker.store.get(job_id)
    assert queued is not None and worker.store.start(queued)
    assert worker.store.computed(job_id, cid=fake_cid("provider-sends-result"),
                                 sha256=Web3.keccak(text="result"), size=7, name="result.txt",
                                 sealed_key="", seconds=0.1)
    computed = worker.store.get(job_id)
    assert computed is not None and computed.state == states.COMPUTED
    return Race(settings, web3, engine, account, worker, ledger, market, job_id, channel_id)
