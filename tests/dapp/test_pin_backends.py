"""The indexer's pinner on each pin backend: a real IPFS Cluster (3 peers, replication factor
2) that loses a peer, an IPFS Pinning Service API endpoint (a stand-in server: no real one
runs here) whose pin fails, and the local Kubo; a backend that does not answer loses nothing."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from dapp.config import Settings
from dapp.errors import InvalidInput
from dapp.indexer.__main__ import main as indexer_main
from dapp.indexer.pins import Pinner, PinPolicy
from dapp.indexer.runner import Runner
from dapp.indexer.writer import StateWriter
from dapp.ipfs.backends import pin_backend
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.cluster import ClusterPinBackend
from dapp.ipfs.pinning_service import PinningServiceBackend
from dapp.ports import free_port
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.models import Pin, PinPeer
from tests.dapp.conftest import Kubo
from tests.dapp.helpers.cluster import CTL, LocalCluster, running_cluster
from tests.dapp.helpers.pinning_service import PinningService

POLICY = PinPolicy(base_delay=1.0, max_delay=5.0, check_seconds=0.5)
TOKEN = "psa-token-7f3c1e9d"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster"), size=3) as started:
        yield started


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied by each test (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("store") / "pins.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(migrated: Path, tmp_path: Path) -> Engine:
    shutil.copy(migrated, tmp_path / "pins.db")
    return make_engine(f"sqlite:///{tmp_path / 'pins.db'}")


def queue_pin(engine: Engine, cid: str, asset_id: int = 7) -> None:
    with engine.begin() as connection:  # what the handlers do in the batch transaction
        writer = StateWriter(connection, chain_id=1337)
        writer.request_pin(cid, "content", asset_id=asset_id)
        writer.flush()


def pin_row(engine: Engine, cid: str) -> Pin:
    with engine.connect() as connection:
        return Pin(**connection.execute(select(Pin).where(Pin.cid == cid)).one()._mapping)


def peer_rows(engine: Engine, cid: str) -> dict[str, str]:
    with engine.connect() as connection:
        return {row.peer: row.status for row in connection.execute(
            select(PinPeer).where(PinPeer.cid == cid))}


def check_until(pinner: Pinner, engine: Engine, cid: str, done: object,
                timeout: float = 30.0) -> dict[str, str]:
    """Run the pinner's periodic check until the recorded peers satisfy `done`."""
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(POLICY.check_seconds)
        pinner.check()
        peers = peer_rows(engine, cid)
        if done(peers) or time.monotonic() > deadline:  # type: ignore[operator]
            return peers


@pytest.mark.scale  # a 3-peer IPFS Cluster: `make scale`
def test_cluster_pins_on_two_of_three_peers_and_repins_when_one_is_killed(
        cluster: LocalCluster, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    origin = cluster.peers[0]
    with IpfsClient(origin.kubo.api_url) as ipfs, \
            ClusterPinBackend(cluster.api_urls, 2, 2) as backend:
        cid = ipfs.add_bytes(b"an asset the cluster keeps twice " * 100, pin=False).cid
        queue_pin(engine, cid)
        pinner = Pinner(engine, ipfs, POLICY, backend=backend)
        assert pinner.run_once().pinned == 1
        assert pin_row(engine, cid).backend == "cluster"

        peers = check_until(pinner, engine, cid,
                            lambda p: sorted(p.values()) == ["pinned", "pinned"])
        assert sorted(peers.values()) == ["pinned", "pinned"], peers  # exactly 2 of 3
        holders = set(peers)
        assert holders == set(cluster.pin_info(cid)["allocations"])
        for peer in cluster.peers:  # the Kubo nodes agree with the Cluster
            with IpfsClient(peer.kubo.api_url) as node:
                assert node.is_pinned(cid) == (peer.peer_id in holders)

        victim = next(p for p in cluster.peers if p.peer_id in holders and p is not origin)
        cluster.kill(victim.index)
        seen: list[dict[str, str]] = []

        def repaired(peers: dict[str, str]) -> bool:
            seen.append(peers)
            return (victim.peer_id not in peers
                    and sorted(peers.values()) == ["pinned", "pinned"])

        peers = check_until(pinner, engine, cid, repaired, timeout=40)
    assert repaired(peers), seen[-3:]
    assert any(p.get(victim.peer_id) == "gone" for p in seen)  # the loss was recorded
    assert pin_row(engine, cid).repairs >= 1
    live = {p.peer_id for p in cluster.peers if p.index not in cluster.killed}
    assert set(peers) <= live
    assert set(cluster.pin_info(cid)["allocations"]) == set(peers)

    # removed from the Cluster behind the indexer's back: the next check pins it again
    ctl = [str(CTL), "--host", f"/ip4/127.0.0.1/tcp/{origin.api_port}"]
    subprocess.run([*ctl, "pin", "rm", cid], check=True, capture_output=True)
    caplog.set_level(logging.WARNING, logger="dapp.indexer.pins")
    with IpfsClient(origin.kubo.api_url) as ipfs, \
            ClusterPinBackend(cluster.api_urls, 2, 2) as backend:
        pinner = Pinner(engine, ipfs, POLICY, backend=backend)
        repairs = pin_row(engine, cid).repairs
        seen.clear()
        peers = check_until(pinner, engine, cid, lambda p: seen.append(p) or (
            pin_row(engine, cid).repairs > repairs
            and sorted(p.values()) == ["pinned", "pinned"]))
    assert sorted(peers.values()) == ["pinned", "pinned"], seen[-3:]
    assert pin_row(engine, cid).repairs == repairs + 1
    assert f"pin {cid} lost on peer" in caplog.text and " lost: repairing" in caplog.text


@pytest.mark.scale  # a 3-peer IPFS Cluster: `make scale`
def test_an_unreachable_cluster_is_a_clear_error_and_the_pin_is_tried_again(
        cluster: LocalCluster, engine: Engine) -> None:
    with IpfsClient(cluster.peers[0].kubo.api_url) as ipfs:
        cid = ipfs.add_bytes(b"pinned once the cluster answers", pin=False).cid
        queue_pin(engine, cid)
        dead = ClusterPinBackend([f"http://127.0.0.1:{free_port()}"], 2, 2)
        clock = [time.time()]
        round_ = Pinner(engine, ipfs, POLICY, clock=lambda: clock[0], backend=dead).run_once()
        assert (round_.pinned, round_.failed, round_.node_down) == (0, 1, True)
        row = pin_row(engine, cid)
        assert row.status == "retrying" and row.attempts == 1
        assert row.last_error is not None
        assert row.last_error.startswith("IPFS Cluster is unreachable while trying to pin")
        assert "\n" not in row.last_error
        dead.close()

        clock[0] += POLICY.max_delay
        with ClusterPinBackend(cluster.api_urls, 2, 2) as live:
            assert Pinner(engine, ipfs, POLICY, clock=lambda: clock[0],
                          backend=live).run_once().pinned == 1
    assert pin_row(engine, cid).status == "pinned"
    assert len(peer_rows(engine, cid)) == 2


@pytest.mark.scale  # a 3-peer IPFS Cluster: `make scale`
def test_the_indexers_pinner_thread_pins_through_the_configured_cluster(
        cluster: LocalCluster, engine: Engine, tmp_path: Path) -> None:
    """`DAPP_PIN_BACKEND=cluster` and the factors reach the runner's pinner thread."""
    settings = Settings(data_dir=tmp_path, ipfs_api_url=cluster.peers[0].kubo.api_url,
                        pin_backend="cluster", cluster_api_urls=cluster.api_urls,
                        pin_replication_min=1, pin_replication_max=1,
                        indexer_poll_seconds=0.2, pin_check_seconds=0.2)
    with IpfsClient(settings.ipfs_api_url) as ipfs:
        cid = ipfs.add_bytes(b"pinned by the runner's thread", pin=False).cid
    queue_pin(engine, cid)
    runner = Runner(settings)
    thread = threading.Thread(target=runner._pin_forever, args=(SimpleNamespace(db=engine),))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while list(peer_rows(engine, cid).values()) != ["pinned"]:
            assert time.monotonic() < deadline, peer_rows(engine, cid)
            time.sleep(0.2)
    finally:
        runner.stop.set()
        thread.join(10)
    assert pin_row(engine, cid).backend == "cluster"
    assert cluster.pin_info(cid)["allocations"] == list(peer_rows(engine, cid))


CLUSTER_USER, CLUSTER_PASSWORD = "indexer", "cl-pw-4b9e21"


@pytest.mark.scale  # an IPFS Cluster peer: `make scale`
def test_a_cluster_that_asks_for_credentials_pins_only_with_the_right_ones(
        tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """A Cluster REST API with basic_auth_credentials: the pinner sends the configured
    USER:PASSWORD; none or wrong ones are a clear error (the pin waits, nothing lost), and
    the password is never in the log or the stored error."""
    with running_cluster(tmp_path / "locked", size=1,
                         credentials=(CLUSTER_USER, CLUSTER_PASSWORD)) as locked, \
            IpfsClient(locked.peers[0].kubo.api_url) as ipfs:
        cid = ipfs.add_bytes(b"pinned behind the Cluster's password", pin=False).cid
        queue_pin(engine, cid)
        clock = [time.time()]
        base = Settings(data_dir=tmp_path, pin_backend="cluster",
                        cluster_api_urls=locked.api_urls)
        for credentials in (None, f"{CLUSTER_USER}:wrong-{CLUSTER_PASSWORD}"):
            with closing(pin_backend(base.with_overrides(cluster_api_credentials=credentials),
                                     ipfs)) as refused:
                round_ = Pinner(engine, ipfs, POLICY, clock=lambda: clock[0],
                                backend=refused).run_once()
            assert (round_.pinned, round_.failed) == (0, 1)
            row = pin_row(engine, cid)
            assert row.status == "retrying" and row.last_error is not None
            assert "refused to pin" in row.last_error and "(401)" in row.last_error
            clock[0] += POLICY.max_delay
        secret_file = tmp_path / "cluster-credentials"
        secret_file.write_text(f"{CLUSTER_USER}:{CLUSTER_PASSWORD}\n")
        settings = base.with_overrides(cluster_api_credentials_file=secret_file)
        with caplog.at_level(logging.DEBUG), closing(pin_backend(settings, ipfs)) as allowed:
            assert Pinner(engine, ipfs, POLICY, clock=lambda: clock[0],
                          backend=allowed).run_once().pinned == 1
        assert pin_row(engine, cid).status == "pinned"
        assert locked.pin_info(cid)["cid"] == cid
    assert CLUSTER_PASSWORD not in caplog.text
    assert CLUSTER_PASSWORD not in repr(settings) + repr(base.with_overrides(
        cluster_api_credentials=f"{CLUSTER_USER}:{CLUSTER_PASSWORD}"))


def test_cluster_credentials_are_refused_in_clear_and_must_be_user_colon_password(
        tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="would cross the network in clear"):
        Settings(pin_backend="cluster", cluster_api_urls=["http://10.0.0.5:9094"],
                 cluster_api_credentials="user:pw")
    for url in ("https://cluster.example:9094", "http://127.0.0.1:9094",
                "http://localhost:9094", "http://[::1]:9094"):
        Settings(pin_backend="cluster", cluster_api_urls=[url],
                 cluster_api_credentials="user:pw")
    settings = Settings(pin_backend="cluster", cluster_api_urls=["http://127.0.0.1:9094"],
                        cluster_api_credentials="no-colon")
    with IpfsClient("http://127.0.0.1:1") as ipfs:
        with pytest.raises(InvalidInput, match="not USER:PASSWORD"):
            pin_backend(settings, ipfs)
        with pytest.raises(InvalidInput, match="cannot read the Cluster API credentials file"):
            pin_backend(settings.with_overrides(cluster_api_credentials=None,
                                                cluster_api_credentials_file=tmp_path / "no"),
                        ipfs)
        made = pin_backend(settings.with_overrides(cluster_api_credentials="u:p:w"), ipfs)
        assert isinstance(made, ClusterPinBackend)
        assert made._http.auth is not None  # (u, "p:w"): the password may hold a colon
        made.close()


def test_pinning_service_client_pins_tracks_and_replaces_a_failed_request(
        kubo: Kubo, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    service = PinningService(TOKEN, kubo.api_url)
    with service.serving() as url, IpfsClient(kubo.api_url) as ipfs, \
            PinningServiceBackend(url, TOKEN) as backend:
        cid = ipfs.add_bytes(b"kept by a remote pinning service", pin=False).cid
        queue_pin(engine, cid)
        pinner = Pinner(engine, ipfs, POLICY, backend=backend)
        assert pinner.run_once().pinned == 1
        first = pin_row(engine, cid).request_id
        assert first in service.pins and service.pins[first]["pin"]["cid"] == cid
        assert set(service.authorizations) == {f"Bearer {TOKEN}"}
        peers = check_until(pinner, engine, cid, lambda p: list(p.values()) == ["pinned"])
        assert peers == {backend.peer: "pinned"} and ipfs.is_pinned(cid)

        queue_pin(engine, cid)  # queued again (a new version naming it): no second request
        assert len(service.pins) == 1

        service.fail(first)
        peers = check_until(pinner, engine, cid, lambda p: list(p.values()) == ["pinned"]
                            and pin_row(engine, cid).request_id != first)
        assert peers == {backend.peer: "pinned"}
        assert first not in service.pins  # replaced (POST /pins/{requestid})
        assert pin_row(engine, cid).repairs == 1

        wrong = PinningServiceBackend(url, "not-the-token")
        other = ipfs.add_bytes(b"refused by the service", pin=False).cid
        queue_pin(engine, other)
        round_ = Pinner(engine, ipfs, POLICY, backend=wrong).run_once()
        wrong.close()
    assert round_.node_down and pin_row(engine, other).status == "retrying"
    assert "refused the access token" in (pin_row(engine, other).last_error or "")
    assert TOKEN not in caplog.text and TOKEN not in repr(backend)


def test_kubo_backend_records_the_local_node_as_the_one_peer(kubo: Kubo, engine: Engine,
                                                              tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, ipfs_api_url=kubo.api_url)
    with IpfsClient(kubo.api_url) as ipfs:
        backend = pin_backend(settings, ipfs)
        assert backend.name == "kubo"  # the default: what `make up` runs
        cid = ipfs.add_bytes(b"on the one local node", pin=False).cid
        queue_pin(engine, cid)
        pinner = Pinner(engine, ipfs, POLICY, backend=backend)
        assert pinner.run_once().pinned == 1
        node = ipfs.identity().peer_id
        assert peer_rows(engine, cid) == {node: "pinned"}
        ipfs.unpin(cid)  # lost behind the indexer's back: the check pins it again
        peers = check_until(pinner, engine, cid, lambda p: p == {node: "pinned"}
                            and pin_row(engine, cid).repairs == 1)
        assert peers == {node: "pinned"} and ipfs.is_pinned(cid)


def test_pins_cli_prints_each_pin_with_its_peers(kubo: Kubo, engine: Engine, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with IpfsClient(kubo.api_url) as ipfs:
        cid = ipfs.add_bytes(b"listed by the operator", pin=False).cid
        queue_pin(engine, cid, asset_id=42)
        Pinner(engine, ipfs, POLICY).run_once()
        node = ipfs.identity().peer_id
    monkeypatch.setenv("DAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'pins.db'}")
    assert indexer_main(["--pins", "42"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{cid} content asset=42 pinned backend=kubo replicas=1")
    assert lines[1].split()[1:] == [node, "pinned"]


def test_pin_backend_settings_say_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs cluster_api_urls"):
        Settings(pin_backend="cluster")
    with pytest.raises(ValidationError, match="needs pinning_service_url"):
        Settings(pin_backend="pinning-service", pinning_service_url="http://127.0.0.1:1")
    with pytest.raises(ValidationError, match="above pin_replication_max"):
        Settings(pin_replication_min=3, pin_replication_max=2)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    settings = Settings(pin_backend="pinning-service", pinning_service_url="http://h:1/psa",
                        pinning_service_token_file=token_file)
    with IpfsClient("http://127.0.0.1:1") as ipfs:
        backend = pin_backend(settings, ipfs)
        assert backend._http.headers["Authorization"] == f"Bearer {TOKEN}"  # type: ignore[attr-defined]
        backend.close()
        missing = settings.with_overrides(pinning_service_token_file=tmp_path / "absent")
        with pytest.raises(InvalidInput, match="cannot read the pinning service token file"):
            pin_backend(missing, ipfs)
    assert TOKEN not in repr(Settings(pinning_service_token=TOKEN))
    cluster = Settings(pin_backend="cluster", cluster_api_urls=["http://127.0.0.1:9094/"],
                       pin_replication_min=2, pin_replication_max=3)
    with IpfsClient("http://127.0.0.1:1") as ipfs:
        made = pin_backend(cluster, ipfs)
        assert isinstance(made, ClusterPinBackend)
        assert (made.api_urls, made.replication_min, made.replication_max) == (
            ["http://127.0.0.1:9094"], 2, 3)
        made.close()
