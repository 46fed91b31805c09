"""Test modules do not import each other.

Shared helpers live in ``tests/dapp/helpers/`` (plain functions, classes, constants) or in
``conftest.py`` (fixtures). A test module importing another one runs the other's module-level
code, takes its fixtures under a second definition and ties the two suites together, so it is
refused here, for the dapp suites and for the Brownie suites in ``tests/contracts`` alike. The
check reads the sources with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
SUITES = ("dapp", "contracts")


def _names_a_test_module(dotted: str) -> bool:
    return any(part.startswith("test_") for part in dotted.split("."))


def imported_test_modules(source: str, module: str) -> list[str]:
    """`line: module` for each import in `source` (the module named `module`, dotted) that
    names a test module: `tests.dapp.test_x`, `test_x`, `.test_x`, `from tests.dapp import
    test_x`, ..."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the module's package
                package = module.split(".")[:-node.level]
                base = ".".join([*package, base] if base else package)
            # `from package import test_x` imports a module too
            names = [base] if _names_a_test_module(base) else [
                f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if _names_a_test_module(name)]
    return found


@pytest.mark.parametrize(("source", "offends"), [
    ("from tests.dapp.test_gateway_content import session", True),
    ("from tests.dapp import test_gateway_content", True),
    ("import tests.contracts.test_compute_jobs", True),
    ("from test_compute_jobs import *", True),
    ("from .test_indexer_sync import make_indexer", True),
    ("from . import test_indexer_sync", True),
    ("def f():\n    from tests.dapp.test_up import x", True),
    ("from tests.dapp.conftest import Chain, fund_account", False),
    ("from tests.dapp.helpers.gateway import session", False),
    ("from compute_helpers import *", False),
    ("from . import conftest", False),
])
def test_the_check_sees_every_form_of_import(source: str, offends: bool) -> None:
    assert bool(imported_test_modules(source, "tests.dapp.test_example")) == offends


@pytest.mark.parametrize("suite", SUITES)
def test_no_test_module_imports_another(suite: str) -> None:
    offenders = {}
    for path in sorted((TESTS / suite).rglob("*.py")):  # test modules, helpers, conftest
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        if imports := imported_test_modules(path.read_text(), module):
            offenders[str(path.relative_to(TESTS.parent))] = imports
    assert not offenders, (
        "modules import test modules; move what test modules share to tests/dapp/helpers/ "
        f"(plain code) or a conftest.py (fixtures): {offenders}"
    )
