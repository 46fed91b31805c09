"""N Kubo nodes with N IPFS Cluster peers (ipfs-cluster-service v1.1.6) on loopback free
ports, for the pin backend tests and the kill tests of issue 16.

Every peer has its own Kubo (started by `dapp.devstack.kubo.start_kubo`, through conftest's
`start_test_kubo`); the Kubo nodes are swarm-connected to each other (no routing on loopback:
bitswap finds a block at a connected peer). The Cluster peers share a secret, use CRDT
consensus (every peer trusted), know each other from `peer_addresses`, and check on each
other every `monitor_seconds` (ping metrics, and the informers' metrics that allocation
reads, live twice that): a killed peer is dropped from new allocations within a few seconds.
The Cluster's own re-pinning is off unless `repinning=True`, so a test sees what the
indexer's own check repairs.

    with running_cluster(tmp_path, 3) as cluster:
        cluster.peers[0].api_url            # the REST API, http://127.0.0.1:<port>
        cluster.kill(1)                     # SIGKILL peer 1 and its Kubo
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dapp.devstack.process import TOOLS_BIN, ManagedProcess, require_executable
from dapp.ports import free_port
from tests.dapp.conftest import Kubo, start_test_kubo

SERVICE = TOOLS_BIN / "ipfs-cluster-service"
CTL = TOOLS_BIN / "ipfs-cluster-ctl"
INSTALL_HINT = "run `make deps` (tools/install-ipfs-cluster.sh builds it from the Go proxy)"


@dataclass
class ClusterPeer:
    index: int
    kubo: Kubo
    config_dir: Path
    api_port: int
    swarm_port: int
    peer_id: str
    process: ManagedProcess | None = None

    @property
    def name(self) -> str:
        return f"peer{self.index}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.swarm_port}/p2p/{self.peer_id}"

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()


@dataclass
class LocalCluster:
    peers: list[ClusterPeer]
    secret: str
    killed: set[int] = field(default_factory=set)
    #: the REST API's basic_auth_credentials (None: open, the default)
    credentials: tuple[str, str] | None = None

    @property
    def api_urls(self) -> list[str]:
        """Every peer's REST API, live ones first (what DAPP_CLUSTER_API_URLS takes)."""
        return [p.api_url for p in self.peers if p.index not in self.killed] + [
            p.api_url for p in self.peers if p.index in self.killed]

    def peer(self, peer_id: str) -> ClusterPeer:
        return next(p for p in self.peers if p.peer_id == peer_id)

    def kill(self, index: int) -> None:
        """SIGKILL one Cluster peer and its Kubo node (a machine that died)."""
        peer = self.peers[index]
        if peer.process is not None:
            peer.process.kill()
        peer.kubo.process.kill()
        self.killed.add(index)

    def pin_info(self, cid: str) -> dict[str, Any]:
        """`GET /pins/{cid}` at a live peer (the Cluster's view, for assertions)."""
        url = self.api_urls[0]
        return httpx.get(f"{url}/pins/{cid}", params={"local": "false"}, timeout=10,
                         auth=self.credentials).json()

    def stop(self) -> None:
        for peer in self.peers:
            if peer.process is not None:
                peer.process.stop()
            peer.kubo.process.stop()


Auth = tuple[str, str] | None


def _peers_seen(api_url: str, auth: Auth = None) -> int:
    """How many peers (itself included) a Cluster peer sees (`GET /peers` is JSON lines)."""
    response = httpx.get(f"{api_url}/peers", timeout=2, auth=auth)
    seen = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return len([p for p in seen if not p.get("error")])


def _allocatable(api_url: str, size: int, auth: Auth = None) -> bool:
    """Whether a peer holds every peer's valid metrics that allocation reads (the balanced
    allocator's `tag:group` and `freespace`): before that, a pin with a factor is refused."""
    for metric in ("tag:group", "freespace"):
        metrics = httpx.get(f"{api_url}/monitor/metrics/{metric}", timeout=2,
                            auth=auth).json() or []
        if len({m["peer"] for m in metrics if m.get("valid")}) < size:
            return False
    return True


def _init_peer(index: int, kubo: Kubo, base: Path, secret: str) -> ClusterPeer:
    binary = require_executable(SERVICE, INSTALL_HINT)
    config_dir = base / f"cluster-{index}"
    subprocess.run([str(binary), "--config", str(config_dir), "init", "--consensus", "crdt",
                    "--force"], env={**os.environ, "CLUSTER_SECRET": secret}, check=True,
                   capture_output=True)
    identity = json.loads((config_dir / "identity.json").read_text())
    return ClusterPeer(index=index, kubo=kubo, config_dir=config_dir, api_port=free_port(),
                       swarm_port=free_port(), peer_id=identity["id"])


def _configure(peer: ClusterPeer, others: list[ClusterPeer], monitor_seconds: float,
               repinning: bool, credentials: Auth = None) -> None:
    path = peer.config_dir / "service.json"
    config = json.loads(path.read_text())
    interval = f"{int(monitor_seconds * 1000)}ms"
    ttl = f"{int(monitor_seconds * 2000)}ms"
    config["cluster"].update({
        "peername": peer.name,
        "listen_multiaddress": [f"/ip4/127.0.0.1/tcp/{peer.swarm_port}"],
        "peer_addresses": [other.multiaddr for other in others],
        "monitor_ping_interval": interval,
        "peer_watch_interval": interval,
        "state_sync_interval": "5s",
        "pin_recover_interval": "5s",
        "disable_repinning": not repinning,
        "mdns_interval": "0s",
        "enable_relay_hop": False,
    })
    config["monitor"]["pubsubmon"]["check_interval"] = interval
    # a pin a peer missed in the pubsub broadcast (a mesh still forming) arrives with the next
    # rebroadcast of the CRDT heads: every 2 s here, not the default minute
    config["consensus"]["crdt"]["rebroadcast_interval"] = "2s"
    for informer in config["informer"].values():
        informer["metric_ttl"] = ttl
    config["api"] = {"restapi": {**config["api"]["restapi"],
                                 "http_listen_multiaddress":
                                     f"/ip4/127.0.0.1/tcp/{peer.api_port}"}}
    if credentials is not None:
        config["api"]["restapi"]["basic_auth_credentials"] = {credentials[0]: credentials[1]}
    kubo_api = f"/ip4/127.0.0.1/tcp/{peer.kubo.ports.api}"
    config["ipfs_connector"]["ipfshttp"]["node_multiaddress"] = kubo_api
    path.write_text(json.dumps(config, indent=2))


def _connect_kubos(kubos: list[Kubo]) -> None:
    identities = [httpx.post(f"{k.api_url}/api/v0/id", timeout=10).json()["ID"] for k in kubos]
    for i, kubo in enumerate(kubos):
        for j in range(i + 1, len(kubos)):
            address = f"/ip4/127.0.0.1/tcp/{kubos[j].ports.swarm}/p2p/{identities[j]}"
            httpx.post(f"{kubo.api_url}/api/v0/swarm/connect", params={"arg": address},
                       timeout=10).raise_for_status()


def start_cluster(base: Path, size: int = 3, monitor_seconds: float = 1.0,
                  repinning: bool = False, timeout: float = 60.0,
                  credentials: Auth = None) -> LocalCluster:
    require_executable(SERVICE, INSTALL_HINT)
    base.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    with ThreadPoolExecutor(size) as pool:
        kubos = list(pool.map(lambda _: start_test_kubo(base), range(size)))
    cluster = LocalCluster(peers=[], secret=secret, credentials=credentials)
    try:
        _connect_kubos(kubos)
        with ThreadPoolExecutor(size) as pool:
            cluster.peers = list(pool.map(lambda ik: _init_peer(ik[0], ik[1], base, secret),
                                          enumerate(kubos)))
        for peer in cluster.peers:
            _configure(peer, [p for p in cluster.peers if p is not peer], monitor_seconds,
                       repinning, credentials)
            peer.process = ManagedProcess(
                name=f"ipfs-cluster-service {peer.name}",
                argv=[str(SERVICE), "--config", str(peer.config_dir), "daemon"],
                log_file=base / f"cluster-{peer.index}.log",
                env={**os.environ, "CLUSTER_SECRET": secret}).start()
        deadline = time.monotonic() + timeout
        for peer in cluster.peers:
            assert peer.process is not None
            peer.process.wait_until(lambda p=peer: _peers_seen(p.api_url, credentials) == size
                                    and _allocatable(p.api_url, size, credentials),
                                    max(1.0, deadline - time.monotonic()))
    except BaseException:
        cluster.stop()
        for kubo in kubos:
            kubo.process.stop()
        raise
    return cluster


@contextmanager
def running_cluster(base: Path, size: int = 3, monitor_seconds: float = 1.0,
                    repinning: bool = False,
                    credentials: Auth = None) -> Iterator[LocalCluster]:
    cluster = start_cluster(base, size, monitor_seconds, repinning, credentials=credentials)
    try:
        yield cluster
    finally:
        cluster.stop()
