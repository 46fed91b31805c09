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
