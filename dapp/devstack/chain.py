"""Dev chains: ganache (the chain of `make up`, via npx, optionally persistent) and anvil."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from dapp.config import DEV_MNEMONIC
from dapp.devstack.process import NODE_BIN, REPO_ROOT, ManagedProcess
from dapp.ports import ensure_port_free

DEV_ACCOUNTS = 10
DEV_BALANCE_ETH = 10_000
BLOCK_GAS_LIMIT = 30_000_000


def rpc_is_ready(rpc_url: str) -> bool:
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    return httpx.post(rpc_url, json=payload, timeout=1.0).status_code == 200


def ganache_process(
    port: int, chain_id: int, log_file: Path, db_path: Path | None = None
) -> ManagedProcess:
    """Ganache 7 from node_modules through npx; with `db_path` the chain survives restarts.

    Requests are processed one at a time: with ganache's default (concurrent) processing,
    transactions of different senders arriving together — a gateway's raw EIP-1559 sends
    beside a wallet's `eth_sendTransaction` — can get one transaction executed twice or an
    account's queue stuck for good ("the tx doesn't have the correct nonce", then every later
    send of that account hangs). tests/dapp/test_devchain.py sends that mix."""
    ensure_port_free(port, "the dev chain", "DAPP_CHAIN_PORT")
    argv = [
        "npx", "--no-install", "ganache",
        "--server.host", "127.0.0.1",
        "--server.port", str(port),
        "--chain.chainId", str(chain_id),
        "--chain.hardfork", "shanghai",
        "--wallet.mnemonic", DEV_MNEMONIC,
        "--wallet.totalAccounts", str(DEV_ACCOUNTS),
        "--wallet.defaultBalance", str(DEV_BALANCE_ETH),
        "--miner.blockGasLimit", str(BLOCK_GAS_LIMIT),
        "--chain.asyncRequestProcessing", "false",
        "--logging.quiet",
    ]
    if db_path is not None:
        db_path.mkdir(parents=True, exist_ok=True)
        argv += ["--database.dbPath", str(db_path)]
    return ManagedProcess(name="ganache", argv=argv, log_file=log_file, cwd=REPO_ROOT)


def anvil_process(port: int, chain_id: int, log_file: Path) -> ManagedProcess:
    ensure_port_free(port, "the dev chain", "DAPP_CHAIN_PORT")
    argv = [
        str(NODE_BIN / "anvil"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--hardfork", "shanghai",
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", str(DEV_ACCOUNTS),
        "--balance", str(DEV_BALANCE_ETH),
        "--gas-limit", str(BLOCK_GAS_LIMIT),
        "--silent",
    ]
    # anvil pages old states out to $HOME/.foundry/anvil/tmp and never removes them (tens of GB
    # after long runs): its HOME is a folder beside its log, which goes with the run's files.
    env = {**os.environ, "HOME": str(log_file.parent / f"{log_file.stem}-home")}
    return ManagedProcess(name="anvil", argv=argv, log_file=log_file, env=env, cwd=REPO_ROOT)


def start_chain(process: ManagedProcess, port: int, timeout: float = 60.0) -> ManagedProcess:
    process.start()
    rpc_url = f"http://127.0.0.1:{port}"
    process.wait_until(lambda: rpc_is_ready(rpc_url), timeout)
    return process
