"""Real services for the dapp suites, started on free ports and stopped afterwards.

Nothing here is a mock: ganache from npm, Kubo built from the Go proxy, SQLite files, the
gateway as a uvicorn subprocess. Fixtures start their service only when a test asks for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dapp.config import Settings
from dapp.devstack.chain import anvil_process, ganache_process, start_chain
from dapp.devstack.kubo import KuboPorts, start_kubo
from dapp.devstack.process import REPO_ROOT, ManagedProcess, free_port
from dapp.devstack.up import run_brownie_script, settings_env

CHAIN_ID = 1337


@dataclass
class Chain:
    process: ManagedProcess
    rpc_url: str
    port: int


@dataclass
class Kubo:
    process: ManagedProcess
    repo: Path
    ports: KuboPorts

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def restart(self) -> None:
        self.process.stop()
        self.process = start_kubo(self.repo, self.ports, self.process.log_file)


@dataclass
class Gateway:
    process: ManagedProcess
    url: str
    settings: Settings


def start_ganache_chain(log_dir: Path) -> Chain:
    port = free_port()
    process = start_chain(ganache_process(port, CHAIN_ID, log_dir / f"ganache-{port}.log"), port)
    return Chain(process=process, rpc_url=f"http://127.0.0.1:{port}", port=port)


def start_anvil_chain(log_dir: Path) -> Chain:
    port = free_port()
    process = start_chain(anvil_process(port, CHAIN_ID, log_dir / f"anvil-{port}.log"), port)
    return Chain(process=process, rpc_url=f"http://127.0.0.1:{port}", port=port)


def start_test_kubo(base: Path) -> Kubo:
    ports = KuboPorts(api=free_port(), gateway=free_port(), swarm=free_port())
    repo = base / f"ipfs-{ports.api}"
    process = start_kubo(repo, ports, base / f"kubo-{ports.api}.log")
    return Kubo(process=process, repo=repo, ports=ports)


def start_gateway(settings: Settings, log_file: Path) -> Gateway:
    env = {**os.environ, **settings_env(settings)}
    process = ManagedProcess(
        name="gateway",
        argv=[sys.executable, "-m", "dapp.gateway"],
        log_file=log_file,
        env=env,
        cwd=REPO_ROOT,
    ).start()
    url = settings.resolved_gateway_public_url
    process.wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503))
    return Gateway(process=process, url=url, settings=settings)


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def chain(service_logs: Path) -> Iterator[Chain]:
    """One ganache for the session (the chain `make up` runs)."""
    started = start_ganache_chain(service_logs)
    yield started
    started.process.stop()


@pytest.fixture(scope="session")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubo]:
    started = start_test_kubo(tmp_path_factory.mktemp("kubo"))
    yield started
    started.process.stop()


@pytest.fixture(scope="session")
def deployments_file(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contracts deployed to the session chain by the real deploy script (Brownie)."""
    path = tmp_path_factory.mktemp("deploy") / "deployments.json"
    run_brownie_script(chain.rpc_url, "scripts/deploy.py", path, path.with_suffix(".log"))
    return path


def make_settings(base: Path, chain: Chain, kubo: Kubo, **overrides: object) -> Settings:
    return Settings(
        data_dir=base,
        chain_rpc_url=chain.rpc_url,
        ipfs_api_url=kubo.api_url,
        ipfs_gateway_url=kubo.gateway_url,
        gateway_port=free_port(),
        **overrides,  # type: ignore[arg-type]
    )


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `datadao` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "dapp.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO_ROOT,
        timeout=timeout,
    )
