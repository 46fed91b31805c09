"""A Kubo node with its own repo, bound to loopback, with the import settings pinned."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dapp.devstack.process import TOOLS_BIN, ManagedProcess, require_executable
from dapp.ports import ensure_port_free

KUBO_BINARY = TOOLS_BIN / "ipfs"

# Pinned so that the same bytes always give the same CID, whoever adds them.
IMPORT_SETTINGS: dict[str, Any] = {
    "CidVersion": 1,
    "UnixFSRawLeaves": True,
    "UnixFSChunker": "size-262144",
    "HashFunction": "sha2-256",
}


@dataclass(frozen=True)
class KuboPorts:
    api: int
    gateway: int
    swarm: int


def kubo_env(repo: Path) -> dict[str, str]:
    return {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}


def init_repo(repo: Path) -> None:
    """Create the repo once (keys, datastore); an existing repo is kept as it is."""
    if (repo / "config").is_file():
        return
    repo.mkdir(parents=True, exist_ok=True)
    binary = require_executable(KUBO_BINARY, "run `make deps` (builds Kubo from the Go proxy)")
    subprocess.run(
        [str(binary), "init", "--profile=test", "--empty-repo"],
        env=kubo_env(repo),
        check=True,
        capture_output=True,
    )


def configure_repo(repo: Path, ports: KuboPorts) -> None:
    """Loopback only, no bootstrap, no discovery, no remote config; pinned import settings."""
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    config["Addresses"].update(
        {
            "API": f"/ip4/127.0.0.1/tcp/{ports.api}",
            "Gateway": f"/ip4/127.0.0.1/tcp/{ports.gateway}",
            "Swarm": [f"/ip4/127.0.0.1/tcp/{ports.swarm}"],
            "Announce": [],
            "AppendAnnounce": [],
            "NoAnnounce": [],
        }
    )
    config["Bootstrap"] = []
    config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    config.setdefault("Routing", {})["Type"] = "none"
    config.setdefault("AutoConf", {})["Enabled"] = False
    config.setdefault("Import", {}).update(IMPORT_SETTINGS)
    config_path.write_text(json.dumps(config, indent=2))


def api_is_ready(api_url: str) -> bool:
    return httpx.post(f"{api_url}/api/v0/id", timeout=1.0).status_code == 200


def kubo_process(repo: Path, ports: KuboPorts, log_file: Path) -> ManagedProcess:
    """Prepare the repo and return the (not yet started) daemon process."""
    ensure_port_free(ports.api, "the IPFS API", "DAPP_IPFS_API_PORT")
    ensure_port_free(ports.gateway, "the IPFS gateway", "DAPP_IPFS_GATEWAY_PORT")
    ensure_port_free(ports.swarm, "IPFS swarm", "DAPP_IPFS_SWARM_PORT")
    init_repo(repo)
    configure_repo(repo, ports)
    return ManagedProcess(
        name="kubo",
        argv=[str(KUBO_BINARY), "daemon", "--offline=false", "--enable-gc=false"],
        log_file=log_file,
        env=kubo_env(repo),
    )


def start_kubo(
    repo: Path, ports: KuboPorts, log_file: Path, timeout: float = 60.0
) -> ManagedProcess:
    process = kubo_process(repo, ports, log_file).start()
    api_url = f"http://127.0.0.1:{ports.api}"
    process.wait_until(lambda: api_is_ready(api_url), timeout)
    return process
