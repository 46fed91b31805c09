"""Shared fixtures: a fresh registry and token per module, chain state reset per test."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

PROTOCOL_FEE_BPS = 250
UNBONDING_DELAY = 3 * 24 * 3600
DOWNLOAD, COMPUTE = 0, 1
DATASET, MODEL, ALGORITHM = 0, 1, 2
RAW, DAG_PB = 0x55, 0x70
PRICE = 10 * 10**18
DAY = 24 * 3600


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any) -> None:
    pass


def cid(label: str, codec: int = RAW) -> tuple[bytes, int]:
    """A Cid struct (digest, codec) for a made-up content label."""
    return (hashlib.sha256(label.encode()).digest(), codec)


def offer_input(
    token: Any, price: int = PRICE, duration: int = 30 * DAY, scope: int = DOWNLOAD
) -> tuple:
    return (token.address, price, duration, scope)


@pytest.fixture(scope="module")
def admin(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="module")
def treasury(accounts: Any) -> Any:
    return accounts[9]


@pytest.fixture(scope="module")
def publisher(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="module")
def buyer(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture(scope="module")
def curator(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="module")
def token(TestToken: Any, admin: Any, accounts: Any) -> Any:
    deployed = TestToken.deploy("DataDAO Dev Token", "DDT", {"from": admin})
    for account in accounts[:9]:
        deployed.mint(account, 1_000_000 * 10**18, {"from": admin})
    return deployed


@pytest.fixture(scope="module")
def registry(AssetRegistry: Any, token: Any, admin: Any, treasury: Any, accounts: Any) -> Any:
    deployed = AssetRegistry.deploy(
        admin, treasury, PROTOCOL_FEE_BPS, UNBONDING_DELAY, token, [token], {"from": admin}
    )
    for account in accounts[:9]:
        token.approve(deployed, 2**256 - 1, {"from": account})
    return deployed


@pytest.fixture(scope="module")
def asset(registry: Any, token: Any, publisher: Any) -> int:
    """Asset 1: a dataset by `publisher` with offer 1 (30-day DOWNLOAD, 10 DDT) and offer 2
    (perpetual COMPUTE, 25 DDT); curators' share 10 %."""
    tx = registry.publish(
        DATASET, cid("content-1"), cid("metadata-1"), 1000,
        [offer_input(token), offer_input(token, 25 * 10**18, 0, COMPUTE)],
        {"from": publisher},
    )
    return tx.return_value
