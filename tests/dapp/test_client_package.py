"""The packages other projects use. The Python client (clients/python, `datadao-client`): its
wheel ships dapp.client and every dapp module that imports, and no server module; installed
alone, with the server's packages made unimportable, it reads a real chain through the docs
example. The @datadao/abi npm package: its generated ABIs match the build."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp
import pytest

from dapp.devstack.process import REPO_ROOT
from tests.dapp.conftest import Chain

PACKAGE = REPO_ROOT / "clients" / "python"
#: the server side: none of it may be in the wheel or imported by the client
SERVER_MODULES = ("dapp.gateway", "dapp.indexer", "dapp.store", "dapp.publishing",
                  "dapp.compute", "dapp.cli", "dapp.devstack", "dapp.config")
#: packages only the server installs; the client's import of any of them must fail the test
SERVER_PACKAGES = ("fastapi", "uvicorn", "starlette", "sqlalchemy", "alembic", "ipfshttpclient",
                   "brownie", "pydantic_settings", "typer", "psycopg", "tenseal")
BLOCKER = f"""
import sys
class _NoServer:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_PACKAGES!r}:
            raise ImportError(f"server package {{name}} imported by the client")
        return None
sys.meta_path.insert(0, _NoServer())
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(PACKAGE)], check=True, timeout=120)
    [built] = out.glob("datadao_client-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=120)
    return target


def wheel_modules(wheel: Path) -> set[str]:
    names = zipfile.ZipFile(wheel).namelist()
    return {name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            for name in names if name.endswith(".py")}


def client_closure() -> set[str]:
    """Every module dapp.client imports, directly or through another dapp module (dapp's
    modules with their parent packages, and the top-level names of the others)."""
    graph = grimp.build_graph("dapp", include_external_packages=True, cache_dir=None)
    seen: set[str] = set()
    todo = [m for m in graph.modules if m.startswith("dapp.client")]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            if module.startswith("dapp"):
                todo.extend(graph.find_modules_directly_imported_by(module))
    parents = {".".join(m.split(".")[:i]) for m in seen for i in range(1, m.count(".") + 1)}
    return seen | parents


#: the distribution that provides each third-party module the client imports
DISTRIBUTIONS = {"web3": "web3", "eth_account": "eth-account", "eth_abi": "eth-abi",
                 "eth_hash": "eth-hash", "eth_typing": "eth-typing", "eth_utils": "eth-utils",
                 "hexbytes": "hexbytes", "requests": "requests", "httpx": "httpx",
                 "pydantic": "pydantic", "sha3": "safe-pysha3", "tenseal": "tenseal",
                 "coincurve": "coincurve"}


def test_wheel_ships_every_module_the_client_imports_and_no_server_module(wheel: Path) -> None:
    shipped = wheel_modules(wheel)
    imported = client_closure()
    missing = {m for m in imported if m.startswith("dapp")} - shipped
    assert not missing, f"add to clients/python/pyproject.toml force-include: {sorted(missing)}"
    server = {m for m in shipped for s in SERVER_MODULES if m == s or m.startswith(f"{s}.")}
    assert not server, f"server modules in the client wheel: {sorted(server)}"
    names = zipfile.ZipFile(wheel).namelist()
    assert "dapp/chain/abi/AssetRegistry.json" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    metadata = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    declared = {re.split(r"[<>=!; \[]", line.split(":", 1)[1].strip())[0].lower()
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    third_party = {m for m in imported if "." not in m and not m.startswith("dapp")
                   and m not in sys.stdlib_module_names}
    undeclared = {m for m in third_party if DISTRIBUTIONS.get(m) not in declared}
    assert not undeclared, f"imported by the client, not declared by its wheel: {undeclared}"
    assert not declared & {"fastapi", "uvicorn", "sqlalchemy", "ipfshttpclient",
                           "pydantic-settings", "eth-brownie"}


def test_installed_client_reads_the_chain_without_server_packages(
        installed: Path, chain: Chain, deployments_file: Path, tmp_path: Path) -> None:
    script = BLOCKER + f"""
import importlib, pkgutil, runpy
import dapp, dapp.client
assert dapp.__file__.startswith({str(installed)!r}), dapp.__file__
for module in pkgutil.iter_modules(dapp.client.__path__, "dapp.client."):
    importlib.import_module(module.name)
sys.argv = ["example.py", {chain.rpc_url!r}, {str(deployments_file)!r}]
runpy.run_path({str(PACKAGE / "example.py")!r}, run_name="__main__")
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=120,
                            capture_output=True, text=True,
                            env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "assets in 0x" in result.stdout
    assert "compute market 0x" in result.stdout


def test_committed_typescript_abis_match_the_build() -> None:
    """frontend/packages/abi/src/abis is what `make abi` makes of the build: no stale ABI."""
    result = subprocess.run([sys.executable, "tools/export_abi_ts.py", "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
