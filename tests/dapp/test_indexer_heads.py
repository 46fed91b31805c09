"""New heads by WebSocket subscription on a real ganache (which serves WebSocket on its HTTP
port): the indexer's runner starts a round per head, and polls when the subscription is gone
(a TCP proxy in front of ganache's port cuts it) until it subscribes again; the gateway's
cached version count is dropped by the block that adds a version."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from dapp.chain.heads import HeadWatcher, ws_url_for
from dapp.config import Settings
from dapp.gateway.caches import StaleCaches
from dapp.gateway.content.registry import RegistryReader
from dapp.indexer.runner import Runner
from dapp.ipfs.cid import cid_to_chain
from dapp.store.catalog import Catalog
from dapp.store.db import make_engine
from tests.dapp.conftest import Chain, dev_web3
from tests.dapp.helpers.registry_index import Exchange, fake_cid
from tests.dapp.helpers.tcp_proxy import TcpProxy

PATIENCE = 20.0  # seconds: a loaded CI machine, not the expected latency


def eventually(condition: Callable[[], bool], timeout: float = PATIENCE) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def proxy(chain: Chain) -> Iterator[TcpProxy]:
    server = TcpProxy(chain.port)
    yield server
    server.close()


def start_runner(tmp_path: Path, chain: Chain, deployments_file: Path, ws_url: str,
                 poll_seconds: float) -> tuple[Runner, threading.Thread, Callable[[], int]]:
    settings = Settings(data_dir=tmp_path, chain_rpc_url=chain.rpc_url,
                        deployments_file=deployments_file, chain_ws_url=ws_url,
                        indexer_poll_seconds=poll_seconds,
                        database_url=f"sqlite:///{tmp_path / 'index.db'}")
    runner = Runner(settings, head_retry_seconds=0.2, head_max_retry_seconds=1.0)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    catalog = Catalog(make_engine(settings.resolved_database_url))

    def cursor() -> int:
        try:
            return int(catalog.indexed_block(1337) or -1)
        except Exception:  # not migrated yet
            return -1

    return runner, thread, cursor


def mine(web3: Web3) -> int:
    web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(web3.eth.block_number)


def test_ws_url_is_the_rpc_port_unless_configured() -> None:
    assert ws_url_for("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert ws_url_for("https://node.example/v3/k") == "wss://node.example/v3/k"
    assert ws_url_for("http://127.0.0.1:8545", "ws://elsewhere:8546") == "ws://elsewhere:8546"
    assert ws_url_for("http://127.0.0.1:8545", "off") is None


def test_a_new_head_starts_a_round_without_waiting_for_the_poll(
        tmp_path: Path, chain: Chain, deployments_file: Path) -> None:
    """With a 60 s poll interval only the subscription can get a new block indexed soon."""
    web3 = dev_web3(chain.rpc_url)
    runner, thread, cursor = start_runner(tmp_path, chain, deployments_file,
                                          f"ws://127.0.0.1:{chain.port}", poll_seconds=60)
    try:
        assert runner_subscribed(runner)
        assert eventually(lambda: cursor() >= web3.eth.block_number)
        for _ in range(3):
            block = mine(web3)
            assert eventually(lambda block=block: cursor() >= block), f"block {block}"
        assert runner.heads is not None and runner.heads.heads >= 3
    finally:
        runner.request_stop()
        thread.join(10)
    assert not thread.is_alive()


def runner_subscribed(runner: Runner) -> bool:
    return eventually(lambda: runner.heads is not None and runner.heads.subscribed)


def test_a_dropped_subscription_falls_back_to_polling_and_resubscribes(
        tmp_path: Path, chain: Chain, deployments_file: Path, proxy: TcpProxy) -> None:
    web3 = dev_web3(chain.rpc_url)
    runner, thread, cursor = start_runner(tmp_path, chain, deployments_file,
                                          f"ws://127.0.0.1:{proxy.port}", poll_seconds=0.5)
    try:
        assert runner_subscribed(runner)
        heads = runner.heads
        assert heads is not None and heads.subscriptions == 1
        block = mine(web3)
        assert eventually(lambda: cursor() >= block)

        proxy.drop()  # the node's WebSocket is gone; its HTTP port still answers
        assert eventually(lambda: not heads.subscribed)
        seen = heads.heads
        for _ in range(2):
            block = mine(web3)
            assert eventually(lambda block=block: cursor() >= block), "polling stopped"
        assert heads.heads == seen  # indexed by polling: no head was announced meanwhile

        proxy.allow()
        assert eventually(lambda: heads.subscribed and heads.subscriptions == 2)
        block = mine(web3)
        assert eventually(lambda: cursor() >= block and heads.heads > seen)
    finally:
        runner.request_stop()
        thread.join(10)
    assert not thread.is_alive()


def test_a_stale_version_count_does_not_serve_the_old_version_after_add_version(
        chain: Chain, exchange: Exchange) -> None:
    """The count is cached for 10 minutes here, and no indexer reports the change: only the
    block's head announcement can make "latest" the new version."""
    publisher = exchange.accounts[1]
    asset_id = exchange.publish(publisher, 0, fake_cid("heads-v1"), fake_cid("heads-m1"), 0,
                                [(10**18, 86400, 0)])
    reader = RegistryReader(exchange.web3, exchange.registry.address, count_ttl_seconds=600)
    caches = StaleCaches()
    caches.watch(registry=reader)
    heads = HeadWatcher(f"ws://127.0.0.1:{chain.port}", on_head=caches.new_head).start()
    try:
        assert heads.wait_subscribed(PATIENCE)
        assert reader.resolve(asset_id).number == 1  # the count (1) is cached now
        exchange.send(exchange.registry.functions.addVersion(
            asset_id, cid_to_chain(fake_cid("heads-v2")), cid_to_chain(fake_cid("heads-m2"))),
            publisher)
        assert eventually(lambda: reader.resolve(asset_id).number == 2, timeout=5)
        assert reader.resolve(asset_id).content_cid == fake_cid("heads-v2")
    finally:
        heads.stop()
