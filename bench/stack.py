"""The local stack for the benchmarks that need all of it (downloads, license checks, the
indexer): ganache, Kubo, the deployed contracts, the gateway and (optionally) the indexer, on
free ports in a temporary directory, with helpers to publish, buy, grant and sign in.

    with running_stack() as bench:
        result = bench.publish(path, "title")
        bench.buy(result.asset_id, bench.buyer)
        client = bench.signed_in(bench.buyer)

Publisher and buyer are dev accounts of DEV_MNEMONIC (1 and 2; 0 deployed the contracts);
the deploy script gives each of the first ten accounts DDT to pay with.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from bench.common import render_table, report
from dapp.chain.accounts import dev_account
from dapp.chain.client import connect
from dapp.chain.constants import Scope
from dapp.chain.transactions import TransactionSender
from dapp.client.gateway import GatewayClient
from dapp.config import Settings
from dapp.devstack.chain import anvil_process, start_chain
from dapp.devstack.process import ManagedProcess
from dapp.devstack.up import Stack, local_stack_settings
from dapp.gateway.keys import load_or_create_gateway_keypair
from dapp.ipfs.client import IpfsClient
from dapp.ports import free_port
from dapp.publishing.exchange import Exchange, OfferTerms
from dapp.publishing.pipeline import ContentRequest, PublishPipeline, PublishResult

PUBLISHER, BUYER = 1, 2
DAY = 24 * 3600
PERPETUAL = 2**64 - 1
# The benchmarks drive one account far harder than a person would: no rate limit in the way.
BENCH_RATE_LIMIT = 100_000_000


def write_random_file(path: Path, size: int) -> Path:
    block = 1 << 20
    with path.open("wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(block, remaining))
            out.write(chunk)
            remaining -= len(chunk)
    return path


class _BenchStack(Stack):
    """`Stack` with the indexer optional (the indexer benchmark runs its own) and anvil
    instead of ganache on request (anvil mines 100,000 transactions in minutes, not hours)."""

    with_indexer: bool = True
    chain: str = "ganache"

    def start_indexer(self) -> None:
        if self.with_indexer:
            super().start_indexer()

    def start_chain(self) -> None:
        if self.chain != "anvil":
            super().start_chain()
            return
        s = self.settings
        self.say(f"starting anvil on :{s.chain_port}")
        chain = anvil_process(s.chain_port, s.chain_id, self.logs / "anvil.log")
        self.processes.append(chain)
        start_chain(chain, s.chain_port)


@dataclass
class BenchStack:
    stack: Stack
    settings: Settings
    web3: Web3
    publisher: LocalAccount
    buyer: LocalAccount

    @property
    def gateway_url(self) -> str:
        return self.settings.resolved_gateway_public_url

    @property
    def ipfs_api_url(self) -> str:
        return self.settings.ipfs_api_url

    def process(self, name: str) -> ManagedProcess:
        for process in self.stack.processes:
            if process.name == name:
                return process
        raise LookupError(f"no {name} process in this stack")

    def pid(self, name: str) -> int:
        return self.process(name).pid

    def exchange(self, account: LocalAccount | None = None) -> Exchange:
        exchange = Exchange.connect(self.settings, self.web3)
        if account is None:
            return exchange
        return exchange.with_sender(TransactionSender(self.web3, account,
                                                      Exchange.error_decoder()))

    @property
    def registry(self) -> Any:
        return self.exchange().registry

    def publish(self, path: Path, title: str, price: int = 1, kind: str = "dataset"
                ) -> PublishResult:
        """Encrypt, add and publish `path` as the publisher; offer 1: a 30-day download
        license for `price` whole DDT."""
        exchange = self.exchange(self.publisher)
        token = exchange.default_token
        decimals = exchange.token(token).decimals
        key = load_or_create_gateway_keypair(self.settings.gateway_key_file).public_key_b64
        offers = [OfferTerms(token=token, price=price * 10**decimals, duration=30 * DAY,
                             scope=Scope.DOWNLOAD)]
        with IpfsClient(self.settings.ipfs_api_url, timeout_seconds=600) as ipfs:
            pipeline = PublishPipeline(ipfs, exchange)
            request = ContentRequest(path=path, title=title, license_text="CC-BY-4.0",
                                     kind=kind, gateway_keys=(key,))
            return pipeline.publish(request, curator_share_bps=1000, offers=offers)

    def buy(self, asset_id: int, account: LocalAccount, offer_id: int = 1) -> None:
        exchange = self.exchange(account)
        exchange.buy(asset_id, exchange.quote(asset_id, offer_id))

    def grant(self, asset_id: int, licensee: str, expires_at: int = PERPETUAL) -> str:
        """The publisher grants a download license (its key is unlocked on ganache); returns
        the transaction hash without waiting for the receipt."""
        tx = self.registry.functions.grant(asset_id, Web3.to_checksum_address(licensee),
                                           Scope.DOWNLOAD, expires_at)
        return str(tx.transact({"from": self.publisher.address, "gas": 200_000}).hex())

    def signed_in(self, account: LocalAccount) -> GatewayClient:
        client = GatewayClient(self.gateway_url, account, timeout=600,
                               chain_id=int(self.web3.eth.chain_id))
        client.sign_in()
        return client


@contextmanager
def running_stack(*, indexer: bool = True, chain: str = "ganache", **overrides: Any
                  ) -> Iterator[BenchStack]:
    """The whole stack in a temporary directory (on `chain`: ganache or anvil); stopped (and
    deleted) on the way out."""
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        settings = local_stack_settings(Settings(
            data_dir=Path(tmp), chain_port=free_port(), ipfs_api_port=free_port(),
            ipfs_gateway_port=free_port(), ipfs_swarm_port=free_port(),
            gateway_port=free_port(), rate_limit_per_minute=BENCH_RATE_LIMIT, **overrides,
        ))
        stack = _BenchStack(settings, say=lambda text: print(f"  stack: {text}", flush=True))
        stack.with_indexer = indexer
        stack.chain = chain
        try:
            stack.start()
            yield BenchStack(stack=stack, settings=settings, web3=connect(settings.chain_rpc_url),
                             publisher=dev_account(PUBLISHER), buyer=dev_account(BUYER))
        finally:
            stack.stop()


def emit(append: bool, title: str, header: list[str], rows: list[list[object]],
         notes: str = "") -> None:
    """`report` (print and append to docs/BENCHMARKS.md), or only print for a trial run."""
    if append:
        report(title, header, rows, notes)
    else:
        print(f"\n{title} (not appended)\n{render_table(header, rows)}\n{notes}", flush=True)
