"""The gateway as a real HTTP server: /healthz reports the real chain and IPFS node, and 503
naming the part that is down."""

from __future__ import annotations

from pathlib import Path

import httpx

from dapp.ipfs.client import IpfsClient
from tests.dapp.conftest import make_settings, start_anvil_chain, start_gateway, start_test_kubo


def test_healthz_reports_chain_ipfs_and_database_then_503_when_kubo_stops(
    chain, tmp_path: Path
) -> None:
    kubo = start_test_kubo(tmp_path)
    gateway = start_gateway(make_settings(tmp_path, chain, kubo), tmp_path / "gateway.log")
    try:
        with IpfsClient(kubo.api_url) as client:
            peer_id = client.identity().peer_id
        healthy = httpx.get(f"{gateway.url}/healthz", timeout=10)
        assert healthy.status_code == 200, healthy.text
        body = healthy.json()
        assert body["status"] == "ok" and body["down"] == []
        assert body["chain"]["details"]["chain_id"] == 1337
        assert body["chain"]["details"]["latest_block"] >= 0
        assert body["ipfs"]["details"]["peer_id"] == peer_id
        assert body["ipfs"]["details"]["version"] == "0.43.0"
        assert body["database"]["details"]["backend"] == "sqlite"

        kubo.process.stop()
        degraded = httpx.get(f"{gateway.url}/healthz", timeout=20)
        assert degraded.status_code == 503
        assert degraded.json()["down"] == ["ipfs"]
        assert "unreachable" in degraded.json()["ipfs"]["error"]

        kubo.restart()
        assert httpx.get(f"{gateway.url}/healthz", timeout=10).status_code == 200
    finally:
        gateway.process.stop()
        kubo.process.stop()


def test_healthz_names_the_chain_and_the_database_when_they_are_down(kubo, tmp_path: Path) -> None:
    doomed_chain = start_anvil_chain(tmp_path)
    settings = make_settings(
        tmp_path, doomed_chain, kubo, database_url="postgresql+psycopg://nobody@127.0.0.1:9/none"
    )
    gateway = start_gateway(settings, tmp_path / "gateway.log")
    try:
        first = httpx.get(f"{gateway.url}/healthz", timeout=20)
        assert first.status_code == 503
        assert first.json()["down"] == ["database"]
        doomed_chain.process.stop()
        second = httpx.get(f"{gateway.url}/healthz", timeout=30)
        assert second.status_code == 503
        assert second.json()["down"] == ["chain", "database"]
        assert second.json()["ipfs"]["ok"] is True
    finally:
        gateway.process.stop()
        doomed_chain.process.stop()
