"""Real services for the dapp suites, started on free ports and stopped afterwards.

Nothing here is a mock: ganache from npm, Kubo built from the Go proxy, SQLite files, the
gateway as a uvicorn subprocess. Fixtures start their service only when a test asks for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import Engine, MetaData, create_engine, select
from web3 import Web3
from web3.contract import Contract

from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.config import Settings
from dapp.devstack.chain import anvil_process, ganache_process, start_chain
from dapp.devstack.kubo import KuboPorts, start_kubo
from dapp.devstack.postgres import postgres_bin_dir, running_postgres
from dapp.devstack.process import REPO_ROOT, ManagedProcess
from dapp.devstack.up import run_brownie_script, settings_env
from dapp.ports import free_port

if TYPE_CHECKING:  # the helpers import this module: at run time they are imported in fixtures
    from tests.dapp.helpers.compute import Stack as ComputeStack
    from tests.dapp.helpers.registry_index import Exchange

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


def start_gateway(settings: Settings, log_file: Path, url: str | None = None) -> Gateway:
    """The gateway as a subprocess, reached at `url` (default: its public URL; several
    gateways behind one public address are each reached at their own port)."""
    env = {**os.environ, **settings_env(settings)}
    process = ManagedProcess(
        name="gateway",
        argv=[sys.executable, "-m", "dapp.gateway"],
        log_file=log_file,
        env=env,
        cwd=REPO_ROOT,
    ).start()
    url = url or settings.resolved_gateway_public_url
    process.wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503))
    return Gateway(process=process, url=url, settings=settings)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "scale: needs several nodes (an IPFS Cluster, killed peers): `make scale`, "
        "not `make test`")
    config.addinivalue_line(
        "markers", "rehearsal: a network deploy rehearsal (docs/DEPLOY.md): `make rehearse`, not "
        "`make test`")


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


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `datadao` as a user would, in a subprocess (`stdin` piped in when given; else
    none, as in a script: `pytest -s` at a terminal must not make it ask)."""
    return subprocess.run(
        [sys.executable, "-m", "dapp.cli.main", *args],
        **({"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO_ROOT,
        timeout=timeout,
    )


# --- store and indexer ------------------------------------------------------------------------
# The ERC-20 `Toolchain` test contract gives the indexer's machinery real logs to follow
# before the exchange's own contracts exist; PostgreSQL runs from Debian's binaries.

TOOLCHAIN_ARTIFACT = REPO_ROOT / "build" / "contracts" / "Toolchain.json"


@dataclass
class DeployedToken:
    contract: Contract
    block: int

    @property
    def address(self) -> str:
        return str(self.contract.address)


def dev_web3(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


def fund_account(chain: Chain, deployments_file: Path, account: str, ddt: int) -> None:
    """1 ETH and `ddt` base units of the deployed TestToken for a fresh key, from dev
    account 0 (the token's `mint` is open on the dev deployment)."""
    web3 = dev_web3(chain.rpc_url)
    funder = web3.eth.accounts[0]
    web3.eth.wait_for_transaction_receipt(web3.eth.send_transaction(
        {"from": funder, "to": account, "value": 10**18}))
    token = bind(web3, load_deployment(deployments_file, CHAIN_ID), "TestToken")
    web3.eth.wait_for_transaction_receipt(
        token.functions.mint(account, ddt).transact({"from": funder, "gas": 200_000}))


def deploy_toolchain(web3: Web3) -> DeployedToken:
    """A fresh Toolchain ERC-20 (1e18 minted to account 0) from Brownie's build artifact."""
    artifact = json.loads(TOOLCHAIN_ARTIFACT.read_text())
    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor().transact({"from": web3.eth.accounts[0]})
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash)
    contract = web3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    return DeployedToken(contract=contract, block=int(receipt["blockNumber"]))


def emit_transfers(token: DeployedToken, amounts: Sequence[int], to_index: int = 1) -> int:
    """One Transfer event (one block on ganache) per amount; returns the last block."""
    web3 = token.contract.w3
    sender, recipient = web3.eth.accounts[0], web3.eth.accounts[to_index]
    tx_hash = None
    for amount in amounts:
        tx_hash = token.contract.functions.transfer(recipient, amount).transact(
            {"from": sender, "gas": 100_000})
    if tx_hash is not None:
        web3.eth.wait_for_transaction_receipt(tx_hash)
    return int(web3.eth.block_number)


def table_dump(engine: Engine, exclude: Sequence[str] = ()) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows in primary-key order, to compare two databases for equality."""
    dump: dict[str, list[tuple[object, ...]]] = {}
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name in exclude or name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            dump[name] = [tuple(row) for row in connection.execute(select(table).order_by(*order))]
    return dump


@dataclass
class Postgres:
    process: ManagedProcess
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres(service_logs: Path) -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster (Debian's `postgresql` package) on a free port."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        # `make test` installs Debian's postgresql; only a bare pytest run outside CI may skip.
        missing = "PostgreSQL binaries missing: `make test` installs them (apt postgresql)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with running_postgres(bin_dir, service_logs, "dapp-pg") as (process, port):
        yield Postgres(process=process, port=port)


# --- fixtures several modules share (their plain helpers are in tests/dapp/helpers) ------------
@pytest.fixture
def web3(chain: Chain) -> Web3:
    """A web3 on the session's dev chain (test_indexer_sync, test_indexer_reader,
    test_faults_store)."""
    return dev_web3(chain.rpc_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database; the tests using it run on SQLite and on PostgreSQL
    (test_indexer_sync, test_indexer_reader)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
    else:
        server: Postgres = request.getfixturevalue("postgres")
        yield server.create_database(f"ix_{tmp_path.name[-20:].lower()}")


@pytest.fixture(scope="module")
def exchange(chain: Chain, deployments_file: Path) -> Exchange:
    """The deployed registry and token, dev accounts 0-7 approved (test_indexer_registry and
    test_indexer_compute; one per module, as each module scopes it)."""
    from tests.dapp.helpers.registry_index import make_exchange

    return make_exchange(chain, deployments_file)


@pytest.fixture(scope="module")
def compute_gateway(provider_settings: Settings) -> Iterator[Gateway]:
    """A provider gateway running compute jobs, acting for the account of `provider_settings`:
    each module using it defines that fixture (test_compute_jobs: dev account 8, test_cli_jobs:
    a fresh account), built with helpers.compute.compute_provider_settings."""
    started = start_gateway(provider_settings, provider_settings.data_dir / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def compute_stack(compute_gateway: Gateway, kubo: Kubo, deployments_file: Path) -> ComputeStack:
    from tests.dapp.helpers.compute import bind_stack

    return bind_stack(compute_gateway, kubo, deployments_file)


@pytest.fixture(scope="module")
def compute_dataset_id(compute_stack: ComputeStack,
                       tmp_path_factory: pytest.TempPathFactory) -> int:
    """The CSV dataset with a COMPUTE offer and a data fee per job; BUYER holds the license."""
    from tests.dapp.helpers.compute import publish_dataset

    return publish_dataset(compute_stack, tmp_path_factory.mktemp("dataset"))
