"""Issue 16, shown on this machine: 3 Kubo nodes with 3 IPFS Cluster peers (replication factor
2), one indexer pinning through the Cluster, 2 gateways sharing PostgreSQL (one provider
account, one gateway key); during 50 concurrent licensed downloads one Kubo node that holds
the content and one gateway are SIGKILLed.

Both gateways read content from the three nodes, the victim first (DAPP_IPFS_READ_SOURCES):
their streams from it move to the next node from the byte reached. The downloads alternate
between the gateways and each names both (`download_from_gateways`): those at the killed
gateway resume at the other with a Range request. Every file must come out byte-identical (the
client's own size and sha256 check, and the test's against the plaintext). Paid model calls
go to both gateways before the kill and to the survivor after it: the survivor redeems them
all, once, and the chain's total is every call's price, no more, no less.

`make scale` runs it (marked `scale`); docs/INDEXER.md records its times."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from dapp.chain.accounts import Keystore
from dapp.client.failover import download_from_gateways
from dapp.client.gateway import DownloadResult, ExpectedContent
from dapp.devstack.process import REPO_ROOT, ManagedProcess
from dapp.devstack.up import settings_env
from dapp.gateway.keys import load_or_create_gateway_keypair
from dapp.ipfs.cid import cid_from_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata
from tests.dapp.conftest import CHAIN_ID, Postgres, fund_account, make_settings
from tests.dapp.helpers.cluster import ClusterPeer, LocalCluster, running_cluster
from tests.dapp.helpers.content import BUYER as LICENSEE
from tests.dapp.helpers.content import buy, market_for, publish, write_random
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.invoke import (
    PASSWORD,
    PRICE,
    Stack,
    assert_paid_call,
    call,
    publish_scaler,
    start_provider_gateway,
    start_provider_stack,
)

pytestmark = pytest.mark.scale  # 3 Cluster peers, killed nodes: `make scale`

DOWNLOADS = 50
SIZE = 16 << 20
READ_PAUSE = 0.1  # seconds per MiB a client waits: the kills land mid-download
# a client's receive buffer, small (loopback's may grow to 32 MiB and hold a whole file)
RECEIVE_BUFFER = 256 << 10


def small_buffer() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(socket_options=[
        (socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)])


@dataclass
class Service:
    cluster: LocalCluster
    victim: ClusterPeer
    a: Stack
    b: Stack
    provider: LocalAccount
    asset_id: int
    expected: ExpectedContent
    plaintext: bytes
    model: int
    indexer: ManagedProcess


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def pinned_on(cluster: LocalCluster, cid: str) -> list[str]:
    """Peers whose Kubo holds `cid` pinned, per the Cluster."""
    info = cluster.pin_info(cid)
    return [peer for peer, state in (info.get("peer_map") or {}).items()
            if state.get("status") == "pinned"]


@pytest.fixture(scope="module")
def service(chain, deployments_file: Path, postgres: Postgres,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("failover")
    with running_cluster(base / "cluster", 3) as cluster:
        yield from _service(cluster, chain, deployments_file, postgres, base)


def _service(cluster: LocalCluster, chain, deployments_file: Path,  # type: ignore[no-untyped-def]
             postgres: Postgres, base: Path) -> Iterator[Service]:
    database_url = postgres.create_database("scale_failover")
    origin, spare = cluster.peers[0].kubo, cluster.peers[2].kubo
    indexer_settings = make_settings(
        base / "indexer", chain, spare, deployments_file=deployments_file,
        database_url=database_url, indexer_poll_seconds=0.2, pin_backend="cluster",
        cluster_api_urls=cluster.api_urls, pin_replication_min=2, pin_replication_max=2,
        pin_retry_base_seconds=0.5, pin_check_seconds=2.0)
    indexer = ManagedProcess(name="indexer", argv=[sys.executable, "-m", "dapp.indexer"],
                             log_file=base / "indexer.log", cwd=REPO_ROOT,
                             env={**os.environ, **settings_env(indexer_settings)}).start()

    # the dataset, sealed to the gateways' shared key (made before they start), bought
    base_a, base_b = base / "gateway-a", base / "gateway-b"
    key_a = base_a / "keys" / "gateway-x25519.key"
    key_a.parent.mkdir(parents=True, mode=0o700)
    public_key = load_or_create_gateway_keypair(key_a).public_key_b64
    market = market_for(SimpleNamespace(settings=indexer_settings),  # type: ignore[arg-type]
                        origin, deployments_file)
    plaintext = write_random(base / "dataset.bin", SIZE, seed=16)
    asset_id = publish(market, base / "dataset.bin", seal_to=public_key)
    buy(market, asset_id, LICENSEE.address)
    (content, metadata, _published) = market.registry.functions.version(asset_id, 1).call()
    content_cid, metadata_cid = cid_from_chain(*content), cid_from_chain(*metadata)
    holders = wait_for(lambda: len(pinned_on(cluster, content_cid)) == 2
                       and pinned_on(cluster, content_cid), 90, "the indexer's pin on 2 peers")
    victim = cluster.peer(holders[0])
    survivors = [p for p in cluster.peers if p is not victim]
    with IpfsClient(survivors[0].kubo.api_url, timeout_seconds=30) as ipfs:
        document = b"".join(ipfs.cat(metadata_cid))
    expected = ExpectedContent(asset_id, 1, metadata_cid, AssetMetadata.from_json(document))

    # two provider gateways over one database, reading the victim first
    provider: LocalAccount = Account.create()
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    sources = [f"{p.kubo.api_url}|{p.kubo.gateway_url}" for p in [victim, *survivors]]
    shared: dict[str, Any] = dict(
        database_url=database_url, invoke_price=PRICE, rate_limit_per_minute=100_000,
        voucher_batch_size=10_000, voucher_batch_age_seconds=3600, ipfs_read_sources=sources,
        max_streams_per_account=4 * DOWNLOADS, nonce_max_per_client=4 * DOWNLOADS)
    a = start_provider_stack(chain, survivors[0].kubo, deployments_file, base_a,
                             provider=provider, **shared)
    Keystore(base_b / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings_b = make_settings(base_b, chain, survivors[0].kubo,
                               deployments_file=deployments_file, provider_account="provider",
                               keystore_password=PASSWORD, **shared)
    settings_b.gateway_key_file.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    shutil.copy2(key_a, settings_b.gateway_key_file)
    gateway_b = start_provider_gateway(settings_b, base_b / "gateway.log",
                                       f"http://127.0.0.1:{settings_b.gateway_port}")
    b = dataclasses.replace(a, gateway=gateway_b, log_dir=base_b)
    model = publish_scaler(a, base / "scaler")
    try:
        yield Service(cluster, victim, a, b, provider, asset_id, expected, plaintext, model,
                      indexer)
    finally:
        for process in (a.gateway.process, b.gateway.process, indexer):
            process.stop()


def test_downloads_survive_a_killed_kubo_node_and_a_killed_gateway_and_vouchers_count_once(
        service: Service, tmp_path: Path) -> None:
    started = time.monotonic()
    channel_id = service.a.open_channel(provider=service.provider.address)
    with httpx.Client() as client:  # paid calls at both gateways before the kills
        for n in (1, 2, 3, 4):
            assert_paid_call(call(client, service.a if n % 2 else service.b, service.model,
                                  channel_id, n), n)

    urls = [service.a.gateway.url, service.b.gateway.url]
    progress = [0] * DOWNLOADS
    account = Account.from_key(LICENSEE.key)

    def download(i: int) -> DownloadResult:
        def on_progress(done: int, _total: int) -> None:
            progress[i] = done
            time.sleep(READ_PAUSE)

        order = urls if i % 2 == 0 else urls[::-1]  # half start at A, half at B
        return download_from_gateways(order, account, service.asset_id,
                                      tmp_path / f"copy-{i}.bin", chain_id=CHAIN_ID,
                                      expected=service.expected, on_progress=on_progress,
                                      rounds=3, transport=small_buffer)

    with ThreadPoolExecutor(DOWNLOADS) as pool:
        futures = [pool.submit(download, i) for i in range(DOWNLOADS)]
        wait_for(lambda: sum(map(bool, progress)) >= DOWNLOADS // 2, 120,
                 "half the downloads' first bytes")
        cut_at = sum(progress)
        service.cluster.kill(service.victim.index)  # SIGKILL: its Kubo and its Cluster peer
        time.sleep(0.3)
        service.a.gateway.process.kill()  # SIGKILL gateway A mid-stream
        killed_at = time.monotonic()
        results = [future.result(timeout=300) for future in futures]
    elapsed = time.monotonic() - started

    digest = hashlib.sha256(service.plaintext).hexdigest()
    for i, result in enumerate(results):
        assert result.size == SIZE
        assert hashlib.sha256((tmp_path / f"copy-{i}.bin").read_bytes()).hexdigest() == digest
    assert cut_at < DOWNLOADS * SIZE  # the kills landed mid-download
    resumed = [r for r in results if r.resumed_from]
    assert resumed, "no download was resumed at the other gateway"
    log_b = (service.b.log_dir / "gateway.log").read_text()
    assert "resuming" in log_b and service.victim.kubo.api_url in log_b  # B left the victim

    with httpx.Client() as client:  # paid calls at the survivor after the kills
        for n in (5, 6):
            assert_paid_call(call(client, service.b, service.model, channel_id, n), n)
    round_ = httpx.post(f"{service.b.gateway.url}/v1/provider/redeem",
                        headers=session(service.b.gateway, service.provider), timeout=180)
    assert round_.status_code == 200, round_.text
    paid = [e for e in round_.json()["redeemed"] if e["channel"] == str(channel_id)]
    assert len(paid) == 1 and paid[0]["cumulative_amount"] == str(6 * PRICE), round_.json()
    assert service.a.channel(channel_id)[5] == 6 * PRICE  # Channel.redeemed: each call once
    print(f"\n{DOWNLOADS} downloads of {SIZE >> 20} MiB: {elapsed:.1f} s in all, "
          f"{time.monotonic() - killed_at:.1f} s after the kills; {len(resumed)} resumed at "
          f"the other gateway; {log_b.count('resuming')} IPFS source switches at B")


def test_a_gateway_reading_a_dead_node_first_still_serves_a_fresh_download(
        service: Service, tmp_path: Path) -> None:
    """After the kills (the module's first test), the survivor's reads skip the dead node."""
    if service.victim.index not in service.cluster.killed:  # run on its own: kill it here
        service.cluster.kill(service.victim.index)
    result = download_from_gateways([service.b.gateway.url],
                                    Account.from_key(LICENSEE.key), service.asset_id,
                                    tmp_path / "late.bin", chain_id=CHAIN_ID,
                                    expected=service.expected)
    assert result.size == SIZE and (tmp_path / "late.bin").read_bytes() == service.plaintext
