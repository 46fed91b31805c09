"""`make client-package`: install clients/python (`datadao-client`) in a fresh venv with its
declared dependencies from the package registry, start a local stack (dev chain, Kubo,
deployed contracts, gateway with the demo assets), and run the docs example against it
with that venv's Python, so nothing of the server is importable.

    .venv/bin/python tools/client_package_check.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dapp.config import Settings
from dapp.devstack.process import REPO_ROOT
from dapp.devstack.up import Stack, local_stack_settings
from dapp.ports import free_port

PACKAGE = REPO_ROOT / "clients" / "python"


def run(argv: list[str], **kwargs: object) -> None:
    print("$", " ".join(argv), flush=True)
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]


def install_client(work: Path) -> Path:
    """A fresh venv with the client wheel and its dependencies from the registry."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(PACKAGE)])
    found = subprocess.run([str(python), "-I", "-c", "import dapp.client; print(dapp.__file__)"],
                           check=True, capture_output=True, text=True, cwd=work).stdout.strip()
    assert found.startswith(str(venv)), f"dapp imported from {found}, not the venv"
    for server in ("fastapi", "sqlalchemy", "uvicorn", "ipfshttpclient", "brownie", "tenseal"):
        absent = subprocess.run([str(python), "-I", "-c", f"import {server}"], cwd=work,
                                capture_output=True).returncode != 0
        assert absent, f"{server} was installed with the client"
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="client-package-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    python = install_client(work)
    installed = time.monotonic()
    settings = local_stack_settings(Settings(
        data_dir=work / "stack", chain_port=free_port(), ipfs_api_port=free_port(),
        ipfs_gateway_port=free_port(), ipfs_swarm_port=free_port(), gateway_port=free_port()))
    stack = Stack(settings)
    try:
        stack.start()
        stack_up = time.monotonic()
        # -I: no PYTHONPATH, no script folder on the path: only what the venv installed
        run([str(python), "-I", str(PACKAGE / "example.py"), settings.chain_rpc_url,
             str(settings.resolved_deployments_file), settings.resolved_gateway_public_url],
            cwd=work)
    finally:
        stack.stop()
    done = time.monotonic()
    print(f"client-package: install {installed - started:.0f} s, "
          f"stack {stack_up - installed:.0f} s, example {done - stack_up:.1f} s (in {work})")


if __name__ == "__main__":
    main()
