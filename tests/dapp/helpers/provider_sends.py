"""The provider account's sends under a slow node: the pending-nonce answer is held back
NONCE_ANSWER_DELAY, long enough for a second, unserialized send to read the same nonce. Used
in one process (test_provider_sends) and from several processes sharing one PostgreSQL
(`send_from_another_process`, run in a spawned process by test_gateways_shared)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint, RPCResponse

NONCE_ANSWER_DELAY = 0.3  # seconds the node "takes" to answer eth_getTransactionCount


def slow_nonce_answers(answers: list[int]) -> type[Web3Middleware]:
    """A middleware that records each pending-nonce answer and returns it only after
    NONCE_ANSWER_DELAY."""

    class SlowNonceAnswers(Web3Middleware):
        def wrap_make_request(self, make_request: Callable[[RPCEndpoint, Any], RPCResponse]
                              ) -> Callable[[RPCEndpoint, Any], RPCResponse]:
            def middleware(method: RPCEndpoint, params: Any) -> RPCResponse:
                response = make_request(method, params)
                if method == "eth_getTransactionCount":
                    answers.append(int(response["result"], 16))
                    time.sleep(NONCE_ANSWER_DELAY)
                return response

            return middleware

    return SlowNonceAnswers


def send_from_another_process(rpc_url: str, deployments_file: str, database_url: str,
                              key_hex: str, start_at: float, approvals: int, redeem: bool
                              ) -> dict[str, Any]:
    """One gateway process's provider sends, as the gateway makes them (`ProviderAccount`
    with the shared database's send lock): at `start_at`, a redemption round over the shared
    voucher ledger (when `redeem`), then `approvals` token approvals. Returns the hashes."""
    from eth_account import Account

    from dapp.chain.client import connect
    from dapp.chain.contracts import bind
    from dapp.chain.deployments import load_deployment
    from dapp.gateway.metered.redeemer import Redeemer
    from dapp.gateway.vouchers import VoucherLedger
    from dapp.market.provider import ProviderAccount
    from dapp.market.reader import MarketReader
    from dapp.store.db import make_engine

    web3 = connect(rpc_url)
    engine = make_engine(database_url)
    deployment = load_deployment(Path(deployments_file), web3.eth.chain_id)
    account = ProviderAccount(Account.from_key(key_hex),
                              MarketReader.from_deployment(web3, deployment),
                              send_lock_engine=engine)
    token = bind(web3, deployment, "TestToken")
    nonces: list[int] = []
    web3.middleware_onion.add(slow_nonce_answers(nonces), name="slow-nonce-answers")
    hashes: list[str] = []
    redeemed: list[str] = []
    time.sleep(max(0.0, start_at - time.time()))
    if redeem:
        round_ = Redeemer(VoucherLedger(engine), account.market, account.sender, 1, 0).redeem()
        hashes += round_.tx_hashes
        redeemed += [voucher.channel_id for voucher in round_.redeemed]
    for n in range(approvals):
        sent = account.sender.send(token.functions.approve(account.market.address, n + 1),
                                   f"approve {n + 1}")
        hashes.append(sent.tx_hash)
    engine.dispose()
    return {"hashes": hashes, "nonces": nonces, "redeemed": redeemed}


def submit_result_from_another_process(settings_fields: dict[str, Any], job_id: int,
                                       start_at: float, approvals: int) -> dict[str, Any]:
    """Another gateway process's job worker (booted as the gateway boots it, on the shared
    database, with its send lock) posting the computed result of `job_id` at `start_at`
    (`submitResult`), then `approvals` token approvals. Returns the hashes."""
    from dapp.chain.client import connect
    from dapp.chain.contracts import bind
    from dapp.chain.deployments import load_deployment
    from dapp.compute.service import ComputeService
    from dapp.config import Settings
    from dapp.crypto.sealing import GatewayKeyPair
    from dapp.market.provider import ProviderAccount
    from dapp.store.db import make_engine

    settings = Settings(**settings_fields)
    web3 = connect(settings.chain_rpc_url)
    engine = make_engine(settings.resolved_database_url)
    account = ProviderAccount.open(settings, web3, send_lock_engine=engine)
    worker = ComputeService(settings, engine, GatewayKeyPair.generate(), lambda: account)._boot()
    computed = worker.store.get(job_id)
    assert computed is not None
    deployment = load_deployment(settings.resolved_deployments_file, web3.eth.chain_id)
    token = bind(web3, deployment, "TestToken")
    nonces: list[int] = []
    web3.middleware_onion.add(slow_nonce_answers(nonces), name="slow-nonce-answers")
    time.sleep(max(0.0, start_at - time.time()))
    worker.advance(computed)  # an open job in state computed: submitResult
    submitted = worker.store.get(job_id)
    hashes = [submitted.tx_hash] if submitted is not None and submitted.tx_hash else []
    for n in range(approvals):
        sent = account.sender.send(token.functions.approve(account.market.address, n + 1),
                                   f"approve {n + 1}")
        hashes.append(sent.tx_hash)
    worker.ipfs.close()
    engine.dispose()
    return {"hashes": hashes, "nonces": nonces,
            "state": submitted.state if submitted is not None else None}
