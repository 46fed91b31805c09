"""One provider account, two senders in one gateway process: the job worker posting a result
(`submitResult`) and the voucher redeemer (`redeemMany`) send from the same account, each
taking its nonce from the node's pending count. They share the account's `SerializedSender`
(`dapp.market.provider.ProviderAccount.sender`), so both transactions are mined even when they
start at the same moment. Before, the worker built its own plain `TransactionSender`, and the
two could read the same nonce: one of the two transactions was refused.

The race is made certain, not lucky: during it the provider's web3 answers
`eth_getTransactionCount` only after NONCE_ANSWER_DELAY, so two sends that are not serialized
always read the same nonce before either transaction reaches the node.

Several gateway processes sharing one provider account coordinate through their PostgreSQL
database (an advisory lock around each send): tested in test_gateways_shared.

The redeemer itself: 65-byte vouchers go in one `redeemMany` in EIP-2098 compact form; a
signature of any other length (a contract wallet's) goes through `redeem`, one per call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from dapp.chain.accounts import Keystore
from dapp.chain.client import connect
from dapp.chain.constants import JobStatus
from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.chain.transactions import TransactionSender
from dapp.compute import jobs as states
from dapp.config import Settings
from dapp.gateway.metered.redeemer import Redeemer
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.provider import ProviderAccount
from dapp.market.reader import market_error_decoder
from dapp.market.vouchers import compact_signature, expand_signature, sign_voucher
from dapp.store.db import make_engine
from tests.dapp.conftest import CHAIN_ID, Chain, dev_web3, fund_account
from tests.dapp.helpers.provider_race import (
    DDT,
    DEPOSIT,
    PASSWORD,
    VOUCHER_AMOUNT,
    WEEK,
    prepare_race,
)
from tests.dapp.helpers.provider_sends import slow_nonce_answers


def test_job_result_and_voucher_redemption_from_one_provider_account_are_both_mined(
        chain: Chain, deployments_file: Path, tmp_path: Path) -> None:
    # the gateway's side: its provider account opened once, the job worker built from it the
    # way the gateway boots it, the redeemer on the same account's sender; an open job with a
    # computed result and a voucher in the ledger
    race = prepare_race(chain, deployments_file, tmp_path)
    web3, worker, ledger, market = race.web3, race.worker, race.ledger, race.market
    job_id, channel_id, provider = race.job_id, race.channel_id, race.account
    redeemer = Redeemer(ledger, provider.market, provider.sender,
                        race.settings.voucher_batch_size,
                        race.settings.voucher_batch_age_seconds)
    computed = worker.store.get(job_id)
    assert computed is not None

    # the race: both sends start together; the nonce answers are slow
    nonces: list[int] = []
    web3.middleware_onion.add(slow_nonce_answers(nonces), name="slow-nonce-answers")
    barrier = threading.Barrier(2)

    def post_result() -> None:
        barrier.wait(10)
        worker.advance(computed)  # an open job in state computed: submitResult

    def redeem() -> Any:
        barrier.wait(10)
        return redeemer.redeem()

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        posted, redeemed = pool.submit(post_result), pool.submit(redeem)
        errors = {what: future.exception(timeout=60)
                  for what, future in (("submitResult", posted), ("redeemMany", redeemed))}
    raced = time.monotonic() - started
    web3.middleware_onion.remove("slow-nonce-answers")
    worker.ipfs.close()

    failed = {what: f"{type(error).__name__}: {str(error)[:160]}"
              for what, error in errors.items() if error is not None}
    assert not failed, f"a send of the provider account failed in the race: {failed}"
    on_chain = market.functions.getJob(job_id).call()
    assert JobStatus(on_chain[2]) == JobStatus.SUBMITTED
    assert market.functions.getChannel(channel_id).call()[5] == VOUCHER_AMOUNT
    submitted = worker.store.get(job_id)
    assert submitted is not None and submitted.state == states.SUBMITTED, submitted
    round_ = redeemed.result()
    assert [v.channel_id for v in round_.redeemed] == [str(channel_id)]
    assert ledger.pending() == []
    # serialized: the second send read its nonce after the first transaction was in
    assert len(nonces) == 2 and nonces[1] == nonces[0] + 1, nonces
    txs = [web3.eth.get_transaction(tx) for tx in (submitted.tx_hash, round_.tx_hashes[0])]
    assert sorted(int(tx["nonce"]) for tx in txs) == nonces
    print(f"\nsubmitResult and redeemMany from {provider.address}: both mined in "
          f"{raced:.2f} s (nonces {nonces})")
    race.engine.dispose()



def test_compact_signatures_round_trip_as_the_contract_expands_them() -> None:
    for n in range(1, 20):
        voucher = sign_voucher(Account.create().key, CHAIN_ID, "0x" + "11" * 20, n, n * DDT)
        r, vs = compact_signature(voucher.signature)
        assert expand_signature(r, vs) == voucher.signature
        assert (int.from_bytes(vs, "big") >> 255) == voucher.signature[64] - 27
        assert voucher.compactable and voucher.compact() == (n, n * DDT, r, vs)


def test_65_byte_vouchers_are_redeemed_compact_in_one_batch_and_others_with_redeem(
        chain: Chain, deployments_file: Path, tmp_path: Path) -> None:
    provider: LocalAccount = Account.create()
    buyers: list[LocalAccount] = [Account.create() for _ in range(3)]
    for account in (provider, *buyers):
        fund_account(chain, deployments_file, account.address, 1_000 * DDT)
    Keystore(tmp_path / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings = Settings(data_dir=tmp_path, chain_rpc_url=chain.rpc_url,
                        deployments_file=deployments_file, provider_account="provider",
                        keystore_password=PASSWORD, invoke_price=DDT)  # type: ignore[arg-type]
    web3 = connect(settings.chain_rpc_url)
    account = ProviderAccount.open(settings, web3)
    account.ensure_registered(settings)
    ledger = VoucherLedger(make_engine(settings.resolved_database_url))
    ledger.bind(CHAIN_ID, account.market.address)
    redeemer = Redeemer(ledger, account.market, account.sender, 100, 3600)
    deployment = load_deployment(deployments_file, CHAIN_ID)
    channels = []
    for buyer in buyers:
        buyer_web3 = dev_web3(chain.rpc_url)
        token, market = (bind(buyer_web3, deployment, name)
                         for name in ("TestToken", "ComputeMarket"))
        sender = TransactionSender(buyer_web3, buyer, market_error_decoder())
        sender.send(token.functions.approve(market.address, DEPOSIT), "approve")
        now = int(buyer_web3.eth.get_block("latest")["timestamp"])
        receipt = sender.send(market.functions.openChannel(provider.address, token.address,
                                                           DEPOSIT, now + WEEK), "open").receipt
        (opened,) = market.events.ChannelOpened().process_receipt(receipt, errors=DISCARD)
        channels.append(int(opened["args"]["channelId"]))
    for buyer, channel_id in zip(buyers[:2], channels[:2], strict=True):
        voucher = sign_voucher(buyer.key, CHAIN_ID, market.address, channel_id, VOUCHER_AMOUNT)
        assert ledger.accept(str(channel_id), VOUCHER_AMOUNT, voucher.signature_hex)
    # a 66-byte signature (as a wallet with its own format would give): no compact form
    odd = sign_voucher(buyers[2].key, CHAIN_ID, market.address, channels[2], VOUCHER_AMOUNT)
    assert ledger.accept(str(channels[2]), VOUCHER_AMOUNT, odd.signature_hex + "00")

    round_ = redeemer.redeem()
    assert sorted(int(v.channel_id) for v in round_.redeemed) == channels[:2]
    (batch,) = round_.tx_hashes
    receipt = web3.eth.get_transaction_receipt(batch)
    (event,) = market.events.VouchersRedeemed().process_receipt(receipt, errors=DISCARD)
    assert (list(event["args"]["channelIds"]), list(event["args"]["redeemed"])) == (
        channels[:2], [VOUCHER_AMOUNT] * 2)
    # the odd one went through redeem(channel, amount, signature), which an EOA buyer's
    # ECDSA check refuses: written off, never part of the batch
    assert [int(v.channel_id) for v in round_.written_off] == [channels[2]]
    assert market.functions.getChannel(channels[2]).call()[5] == 0
    assert ledger.pending() == []
