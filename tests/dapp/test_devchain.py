"""The dev chain (`ganache_process`, the chain of `make up` and of these suites) takes the mix
of senders the stack produces at once: wallets' `eth_sendTransaction` beside locally signed
EIP-1559 transactions (gateway, CLI) with varied tips. With ganache's default concurrent
request processing this mix failed within a few dozen transactions: a transaction executed
twice ("the tx doesn't have the correct nonce. account has nonce of: N+1 tx has nonce of: N")
and that account's later sends never mined."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from tests.dapp.conftest import Chain, start_ganache_chain

SENDS_PER_ACCOUNT = 40
NODE_SENDERS = 4
RAW_SENDERS = 4
GWEI = 10**9


@pytest.fixture(scope="module")
def own_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    chain = start_ganache_chain(tmp_path_factory.mktemp("devchain"))
    yield chain
    chain.process.stop()


def connect(chain: Chain) -> Web3:
    return Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 20}))


def node_sends(chain: Chain, index: int, failures: list[str]) -> None:
    web3 = connect(chain)
    sender, receiver = web3.eth.accounts[index], web3.eth.accounts[9]
    for n in range(SENDS_PER_ACCOUNT):
        try:
            web3.eth.wait_for_transaction_receipt(web3.eth.send_transaction(
                {"from": sender, "to": receiver, "value": 1, "gas": 30_000}), timeout=20)
        except Exception as error:  # collected and asserted on below
            failures.append(f"node-signed {index}/{n}: {str(error)[:200]}")
            return


def raw_sends(chain: Chain, account: LocalAccount, seed: int, failures: list[str]) -> None:
    web3, tips = connect(chain), random.Random(seed)
    for n in range(SENDS_PER_ACCOUNT):
        try:
            base_fee = int(web3.eth.get_block("latest")["baseFeePerGas"])
            tip = tips.choice([1, GWEI, 2 * GWEI, 3 * GWEI])
            signed = account.sign_transaction({
                "to": web3.eth.accounts[9], "value": 1, "gas": 30_000, "chainId": 1337,
                "nonce": web3.eth.get_transaction_count(account.address, "pending"),
                "maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip})
            web3.eth.wait_for_transaction_receipt(
                web3.eth.send_raw_transaction(signed.raw_transaction), timeout=20)
        except Exception as error:  # collected and asserted on below
            failures.append(f"locally signed {account.address}/{n}: {str(error)[:200]}")
            return


def test_concurrent_node_signed_and_raw_senders_all_mine_once(own_chain: Chain) -> None:
    web3 = connect(own_chain)
    raw_accounts: list[LocalAccount] = [Account.create() for _ in range(RAW_SENDERS)]
    for account in raw_accounts:
        web3.eth.wait_for_transaction_receipt(web3.eth.send_transaction(
            {"from": web3.eth.accounts[8], "to": account.address, "value": 10**19}))
    failures: list[str] = []
    threads = [threading.Thread(target=node_sends, args=(own_chain, i, failures))
               for i in range(NODE_SENDERS)]
    threads += [threading.Thread(target=raw_sends, args=(own_chain, a, i, failures))
                for i, a in enumerate(raw_accounts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    senders = [*web3.eth.accounts[:NODE_SENDERS], *(a.address for a in raw_accounts)]
    assert [web3.eth.get_transaction_count(s) for s in senders] == \
        [SENDS_PER_ACCOUNT] * len(senders)

