"""`make up` / `datadao up`: the whole local stack on its embedded defaults.

Starts ganache (persistent chain under <data_dir>/chain), Kubo (repo under <data_dir>/ipfs),
deploys the contracts when this chain has none yet, then runs the gateway. Ctrl-C stops every
process it started; the next run resumes the same chain, IPFS repo and SQLite database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from dapp.chain.client import chain_status, connect
from dapp.chain.deployments import read_all
from dapp.config import Settings
from dapp.devstack.chain import ganache_process, start_chain
from dapp.devstack.kubo import KuboPorts, start_kubo
from dapp.devstack.process import NODE_BIN, REPO_ROOT, ManagedProcess
from dapp.errors import ServiceUnavailable
from dapp.ports import ensure_port_free

SOLCX_DIR = REPO_ROOT / ".tools" / "solcx"
DEPLOY_SCRIPT = "scripts/deploy.py"


def brownie_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Brownie subprocesses: npm tools on PATH, the solcjs wrapper for py-solc-x."""
    env = dict(os.environ)  # a child's environment, not configuration
    tool_dirs = [str(NODE_BIN), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*tool_dirs, env.get("PATH", "")])
    env["SOLCX_BINARY_PATH"] = str(SOLCX_DIR)
    return {**env, **(extra or {})}


def run_brownie_script(rpc_url: str, script: str, deployments_file: Path, log: Path) -> None:
    """Run a Brownie script (e.g. scripts/deploy.py) against the chain at `rpc_url`."""
    env = brownie_env({"DEPLOYMENTS_FILE": str(deployments_file.resolve())})
    argv = [sys.executable, "tools/brownie_attach.py", rpc_url, "run", script]
    with log.open("ab") as out:
        result = subprocess.run(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise ServiceUnavailable(f"{script} failed", hint=f"see {log}")


def needs_deploy(settings: Settings, chain_id: int) -> bool:
    """True when this chain has no registry at the address the deployments file records."""
    entry = read_all(settings.resolved_deployments_file).get(str(chain_id), {})
    registry = entry.get("AssetRegistry")
    if not isinstance(registry, dict):
        return True
    web3 = connect(settings.chain_rpc_url)
    return web3.eth.get_code(web3.to_checksum_address(str(registry["address"]))) == b""


@dataclass
class Stack:
    settings: Settings
    say: Callable[[str], None] = print
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.settings.data_dir / "logs"

    def start(self) -> None:
        s = self.settings
        for port, what, setting in (
            (s.chain_port, "the dev chain", "DAPP_CHAIN_PORT"),
            (s.ipfs_api_port, "the IPFS API", "DAPP_IPFS_API_PORT"),
            (s.ipfs_gateway_port, "the IPFS gateway", "DAPP_IPFS_GATEWAY_PORT"),
            (s.ipfs_swarm_port, "IPFS swarm", "DAPP_IPFS_SWARM_PORT"),
            (s.gateway_port, "the gateway", "DAPP_GATEWAY_PORT"),
        ):
            ensure_port_free(port, what, setting)

        self.start_chain()

        self.say(f"starting Kubo on :{s.ipfs_api_port} (repo {s.ipfs_repo_dir})")
        ports = KuboPorts(s.ipfs_api_port, s.ipfs_gateway_port, s.ipfs_swarm_port)
        kubo = start_kubo(s.ipfs_repo_dir, ports, self.logs / "kubo.log")
        self.processes.append(kubo)

        self.deploy_if_needed()
        self.start_gateway()
        self.seed_demo()
        self.start_indexer()

    def start_chain(self) -> None:
        s = self.settings
        self.say(f"starting ganache on :{s.chain_port} (chain db {s.chain_data_dir})")
        chain = ganache_process(s.chain_port, s.chain_id, self.logs / "ganache.log",
                                db_path=s.chain_data_dir)
        self.processes.append(chain)
        start_chain(chain, s.chain_port)

    def seed_demo(self) -> None:
        if not self.settings.resolved_deployments_file.is_file():
            return
        from dapp.devstack.demo import seed_demo_assets

        seeded = seed_demo_assets(self.settings)
        if seeded is None:
            self.say("registry already has assets: no demo assets seeded")
        else:
            self.say(f"seeded demo dataset #{seeded.dataset}, model #{seeded.model}, "
                     f"algorithm #{seeded.algorithm}")

    def deploy_if_needed(self) -> None:
        s = self.settings
        if not (REPO_ROOT / DEPLOY_SCRIPT).is_file():
            self.say(f"no {DEPLOY_SCRIPT} in this checkout: nothing to deploy")
            return
        chain_id = chain_status(connect(s.chain_rpc_url)).chain_id
        if not needs_deploy(s, chain_id):
            self.say(f"contracts already deployed on chain {chain_id} "
                     f"({s.resolved_deployments_file})")
            return
        self.say(f"deploying contracts to chain {chain_id} ...")
        run_brownie_script(s.chain_rpc_url, DEPLOY_SCRIPT, s.resolved_deployments_file,
                           self.logs / "deploy.log")

    def start_indexer(self) -> None:
        if not self.settings.resolved_deployments_file.is_file():
            self.say("no deployments yet: the indexer starts once contracts are deployed")
            return
        self.say("starting the indexer")
        indexer = ManagedProcess(
            name="indexer",
            argv=[sys.executable, "-m", "dapp.indexer"],
            log_file=self.logs / "indexer.log",
            env={**os.environ, **settings_env(self.settings)},
            cwd=REPO_ROOT,
        ).start()
        self.processes.append(indexer)

    def start_gateway(self) -> None:
        from dapp.market.provider import dev_provider_settings

        s = dev_provider_settings(self.settings)  # dev account 3 as compute provider
        env = {**os.environ, **settings_env(s)}
        gateway = ManagedProcess(
            name="gateway",
            argv=[sys.executable, "-m", "dapp.gateway"],
            log_file=self.logs / "gateway.log",
            env=env,
            cwd=REPO_ROOT,
        ).start()
        self.processes.append(gateway)
        url = s.resolved_gateway_public_url
        gateway.wait_until(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code < 600, 60)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def wait(self) -> None:
        """Block until Ctrl-C / SIGTERM (see `stop_on_signals`) or until a process dies."""
        while True:
            for process in self.processes:
                if not process.is_running():
                    raise ServiceUnavailable(f"{process.name} stopped",
                                             hint=f"see {process.log_file}")
            time.sleep(0.5)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the stack stops cleanly. SIGINT is set
    explicitly: a parent that ignores it (a shell's background job, nohup) passes the ignore
    on, and Python then installs no Ctrl-C handler of its own."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as DAPP_* variables, for child processes (the gateway, the indexer)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        key = f"DAPP_{name.upper()}"
        if isinstance(value, SecretStr):
            env[key] = value.get_secret_value()
        elif isinstance(value, list):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    return env


def local_stack_settings(settings: Settings) -> Settings:
    """The settings `up` runs with: every service URL follows the port it starts it on."""
    return settings.with_overrides(
        chain_rpc_url=f"http://127.0.0.1:{settings.chain_port}",
        ipfs_api_url=f"http://127.0.0.1:{settings.ipfs_api_port}",
        ipfs_gateway_url=f"http://127.0.0.1:{settings.ipfs_gateway_port}",
    )


def banner(settings: Settings) -> str:
    url = settings.resolved_gateway_public_url
    return "\n".join(
        [
            "",
            "DataDAO Exchange is up:",
            f"  dApp and gateway  {url}/",
            f"  API docs          {url}/docs",
            f"  health            {url}/healthz",
            f"  chain RPC         {settings.chain_rpc_url} (chain id {settings.chain_id})",
            f"  IPFS API          {settings.ipfs_api_url}",
            f"  deployments       {settings.resolved_deployments_file}",
            f"  logs              {settings.data_dir / 'logs'}",
            *demo_lines(settings),
            "Ctrl-C stops everything; `make up` again resumes the same chain, IPFS repo and data.",
        ]
    )


def demo_lines(settings: Settings) -> list[str]:
    """The demo assets' ids and a command to try each (README.md, "Try it", goes step by step:
    accounts, tokens, licenses, a channel)."""
    from dapp.devstack.demo import read_demo_assets

    demo = read_demo_assets(settings)
    if demo is None:
        return []
    lines = [f"  demo dataset      #{demo.dataset}  "
             f"datadao download {demo.dataset} -o weather.tar"]
    if demo.model is not None:
        lines.append(f"  demo model        #{demo.model}  "
                     f"echo '{{\"day\": 12}}' | datadao invoke {demo.model} --channel CHANNEL_ID")
        lines.append("                        "
                     "echo '{\"day\": 12}' | datadao route tabular-regression")
    if demo.algorithm is not None:
        lines.append(f"  demo algorithm    #{demo.algorithm}  "
                     f"datadao job start {demo.dataset} {demo.algorithm}")
    lines.append("  CLI accounts      two funded dev keys and the steps: README.md, \"Try it\"")
    return lines
