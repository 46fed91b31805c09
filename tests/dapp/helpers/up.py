"""`datadao up` (what `make up` runs) as a subprocess on free ports, for the suites that start
the whole stack: start it, wait for its banner, stop it with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dapp.devstack.process import REPO_ROOT
from dapp.ports import free_port

SERVICES = ("CHAIN", "IPFS_API", "IPFS_GATEWAY", "IPFS_SWARM", "GATEWAY")


def up_ports() -> dict[str, int]:
    """A free port for each service `up` starts, by the name of its DAPP_*_PORT setting."""
    return {name: free_port() for name in SERVICES}


def up_env(ports: dict[str, int], data_dir: Path) -> dict[str, str]:
    env = {f"DAPP_{name}_PORT": str(port) for name, port in ports.items()}
    env["DAPP_DATA_DIR"] = str(data_dir)
    return env


def start_up(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dapp.cli.main", "up"],
        cwd=REPO_ROOT, env={**os.environ, **env},
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def wait_for_banner(process: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text()
        if "DataDAO Exchange is up" in output:
            return output
        assert process.poll() is None, output
        time.sleep(0.2)
    raise AssertionError(f"no banner in {timeout}s:\n{log.read_text()}")


def stop_with_ctrl_c(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0
