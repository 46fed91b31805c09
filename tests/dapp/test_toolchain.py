"""The toolchain the repo installs for itself, exercised end to end on the real dev chain."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from dapp.devstack.process import REPO_ROOT
from dapp.devstack.up import brownie_env
from dapp.ports import free_port
from tests.dapp.conftest import run_cli


def test_solc_wrapper_answers_like_native_solc() -> None:
    wrapper = next((REPO_ROOT / ".tools" / "solcx").glob("solc-v*"))
    out = subprocess.run([str(wrapper), "--version"], capture_output=True, text=True, check=True)
    assert "Version: 0.8.28+commit." in out.stdout
    bad = subprocess.run([str(wrapper), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_brownie_compiles_openzeppelin_and_deploys_to_ganache(chain) -> None:
    """Brownie → solcjs wrapper → OpenZeppelin from node_modules → deployed on ganache, called."""
    result = subprocess.run(
        [sys.executable, "tools/brownie_attach.py", chain.rpc_url,
         "test", "tests/contracts/test_toolchain.py"],
        cwd=REPO_ROOT, env=brownie_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
    assert f"Attached to local RPC client listening at '127.0.0.1:{chain.port}'" in result.stdout


def test_up_refuses_a_taken_port_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = run_cli(
            "up",
            env={
                "DAPP_DATA_DIR": str(tmp_path),
                "DAPP_CHAIN_PORT": str(free_port()),
                "DAPP_IPFS_API_PORT": str(taken),
                "DAPP_IPFS_GATEWAY_PORT": str(free_port()),
                "DAPP_IPFS_SWARM_PORT": str(free_port()),
                "DAPP_GATEWAY_PORT": str(free_port()),
            },
            timeout=60,
        )
    assert result.returncode == 9
    assert f"port {taken} for the IPFS API is already taken" in result.stderr
    assert "DAPP_IPFS_API_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "chain").exists()  # nothing was started before the check
