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


BPS = 10_000
PERPETUAL = 2**64 - 1
MAX_UINT = 2**256 - 1


def _error_arg(value: Any) -> str:
    """One argument as Brownie's `decode_typed_error` prints it: ints in decimal, addresses in
    lower case, bytes as their Python repr."""
    if hasattr(value, "address"):
        value = value.address
    if isinstance(value, str):
        return value.lower()
    return str(value)


def error(name: str, *args: Any) -> str:
    """The exact `revert_msg` Brownie 1.22 gives a custom error: `"Name: arg1, arg2"`
    (`"Name: "` without arguments)."""
    return f"{name}: {', '.join(_error_arg(arg) for arg in args)}"


def reverts(name: str, *args: Any) -> Any:
    """`brownie.reverts` for the custom error `name(args...)`, matched exactly."""
    import brownie

    return brownie.reverts(error(name, *args))


def publish_asset(
    registry: Any,
    token: Any,
    owner: Any,
    label: str = "asset",
    curator_share_bps: int = 1000,
    offers: list | None = None,
) -> int:
    """Publish an asset with one 30-day DOWNLOAD offer of 10 DDT unless `offers` is given."""
    tx = registry.publish(
        DATASET, cid(f"content-{label}"), cid(f"metadata-{label}"), curator_share_bps,
        offers if offers is not None else [offer_input(token)],
        {"from": owner},
    )
    return tx.return_value


def split(
    amount: int, curator_share_bps: int, fee_bps: int = PROTOCOL_FEE_BPS
) -> tuple[int, int, int]:
    """(owner, curators, fee) of a payment as the registry computes it."""
    fee = amount * fee_bps // BPS
    curators = amount * curator_share_bps // BPS
    return amount - fee - curators, curators, fee


@pytest.fixture(scope="module")
def stranger(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="module")
def curator2(accounts: Any) -> Any:
    return accounts[5]


@pytest.fixture(scope="module")
def new_owner(accounts: Any) -> Any:
    return accounts[6]


def as_cid(value: Any) -> tuple[bytes, int]:
    """A Cid read from a call or an event, comparable with `cid(...)`."""
    from hexbytes import HexBytes

    return (bytes(HexBytes(value[0])), int(value[1]))


MIN_UNBONDING_DELAY = DAY


def offer_terms(registry: Any, asset_id: int, offer_id: int) -> tuple:
    """The terms a buyer commits to, (token, maxPrice, duration, scope), as the offer reads now."""
    offer = registry.offer(asset_id, offer_id)
    return (offer[0], offer[1], offer[2], offer[3])


def buy(
    registry: Any,
    asset_id: int,
    offer_id: int,
    licensee: Any,
    sender: Any,
    terms: tuple | None = None,
    max_price: int | None = None,
) -> Any:
    """`registry.buy` committing to `terms` (default: the offer's terms as they read now), with
    `max_price` instead of the committed price when given."""
    token, committed_price, duration, scope = terms if terms is not None else offer_terms(
        registry, asset_id, offer_id
    )
    max_price = committed_price if max_price is None else max_price
    return registry.buy(
        asset_id, offer_id, licensee, token, max_price, duration, scope, {"from": sender}
    )


def order(
    registry: Any, asset_id: int, offer_id: int, licensee: Any, terms: tuple | None = None
) -> tuple:
    """One `buyMany` Order committing to `terms` (default: the offer's terms now)."""
    return (asset_id, offer_id, getattr(licensee, "address", licensee),
            *(terms if terms is not None else offer_terms(registry, asset_id, offer_id)))


def wait(seconds: int) -> None:
    from brownie import chain

    chain.sleep(seconds)
    chain.mine()


def activate(registry: Any, asset_id: int, staker: Any) -> None:
    """Wait out the stake warm-up and start earning (no-op wait on registries without one)."""
    wait(registry.unbondingDelay() + 1)
    if hasattr(registry, "activateStake"):
        registry.activateStake(asset_id, staker, {"from": staker})
