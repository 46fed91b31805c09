"""Helpers the dapp test modules share: plain functions, classes and constants, one module per
topic. Fixtures shared by several modules live in ../conftest.py; test modules import from here
(or from conftest) and never from each other (test_layout.py checks that)."""

import pytest

# These modules assert; have pytest rewrite them so a failure shows the compared values, as it
# did when they lived in test modules. Registered before any of them is imported.
pytest.register_assert_rewrite(
    *(f"{__name__}.{name}" for name in (
        "compute", "content", "gateway", "governance", "invoke", "publishing", "registry_index",
        "toolchain_index"))
)
