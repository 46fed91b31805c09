"""`datadao up` (what `make up` runs) as a user runs it: start, use, Ctrl-C, start again.
Nothing is lost across the restart: same chain, same IPFS repo, same database."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from web3 import Web3

from dapp.ipfs.client import IpfsClient
from dapp.ports import port_is_open
from dapp.store.db import make_engine
from tests.dapp.helpers.up import start_up, stop_with_ctrl_c, up_env, up_ports, wait_for_banner


def wait_for_indexed_asset(gateway: str, asset_id: int, timeout: float = 60) -> dict:
    """The catalog entry once the indexer has caught up (and read the metadata)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{gateway}/v1/assets/{asset_id}", timeout=10)
        if response.status_code == 200 and response.json().get("title"):
            return dict(response.json())
        assert time.monotonic() < deadline, response.text
        time.sleep(0.5)


def test_up_serves_stops_cleanly_and_resumes_with_nothing_lost(tmp_path: Path) -> None:
    ports = up_ports()
    env = up_env(ports, tmp_path / "data")
    gateway = f"http://127.0.0.1:{ports['GATEWAY']}"
    rpc = f"http://127.0.0.1:{ports['CHAIN']}"
    ipfs_api = f"http://127.0.0.1:{ports['IPFS_API']}"

    first_log, second_log = tmp_path / "up-1.log", tmp_path / "up-2.log"
    first = start_up(env, first_log)
    try:
        banner = wait_for_banner(first, first_log)
        assert f"{gateway}/" in banner and rpc in banner
        health = httpx.get(f"{gateway}/healthz", timeout=10).json()
        assert health["status"] == "ok", health
        web3 = Web3(Web3.HTTPProvider(rpc))
        sender, receiver = web3.eth.accounts[:2]
        tx = web3.eth.send_transaction({"from": sender, "to": receiver, "value": 12345})
        web3.eth.wait_for_transaction_receipt(tx)
        block_before = web3.eth.block_number
        with IpfsClient(ipfs_api) as ipfs:
            cid = ipfs.add_bytes(b"survives a restart " + os.urandom(16)).cid
        nonce = httpx.get(f"{gateway}/v1/auth/nonce").json()["nonce"]
        peer_before = health["ipfs"]["details"]["peer_id"]
        assert "seeded demo dataset #1, model #2, algorithm #3" in banner
        demo = wait_for_indexed_asset(gateway, 1)
        assert demo["title"] == "Lakeside weather, June 2026", demo
    finally:
        stop_with_ctrl_c(first)

    for name, port in ports.items():
        assert not port_is_open(port), f"{name} port {port} still open after Ctrl-C"

    second = start_up(env, second_log)
    try:
        second_banner = wait_for_banner(second, second_log)
        assert "deploying contracts" not in second_banner  # a resumed chain keeps its contracts
        assert "no demo assets seeded" in second_banner  # seeded once, not again
        web3 = Web3(Web3.HTTPProvider(rpc))
        assert web3.eth.block_number >= block_before
        assert web3.eth.get_transaction_receipt(tx)["status"] == 1
        health = httpx.get(f"{gateway}/healthz", timeout=10).json()
        assert health["ipfs"]["details"]["peer_id"] == peer_before  # the same IPFS repo
        with IpfsClient(ipfs_api) as ipfs:
            assert ipfs.is_pinned(cid)
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'dapp.db'}")
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT count(*) FROM auth_nonces WHERE nonce = :n"), {"n": nonce}
            ).scalar_one()
        assert stored == 1  # the same SQLite database
    finally:
        stop_with_ctrl_c(second)
