"""The layers of dapp/ are enforced by `lint-imports` (pyproject.toml): the tree as it is
keeps them, and one import against them — a store module reaching up into the gateway —
breaks the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dapp.devstack.process import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": ""})


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_against_the_layers_fails_lint(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "dapp", tmp_path / "dapp",
                    ignore=shutil.ignore_patterns("__pycache__", "abi"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / "dapp" / "store" / "db.py").open("a") as db:
        db.write("\nimport dapp.gateway.app  # noqa: E402,F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "dapp.store is not allowed to import dapp.gateway" in result.stdout
