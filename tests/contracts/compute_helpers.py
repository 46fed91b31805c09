"""Fixtures and helpers shared by the ComputeMarket tests (`from compute_helpers import *`).

Kept out of conftest.py so the compute tests add nothing to the other suites' fixtures.
Fixtures that change chain state after the market exists are function-scoped: a module-scoped
one first used by a later test would survive `fn_isolation` into every test after it.
"""

from __future__ import annotations

from typing import Any

import pytest
from brownie import chain
from conftest import ALGORITHM, COMPUTE, cid, offer_input
from eth_account import Account

from dapp.market.vouchers import voucher_message as gateway_voucher_message

DAY = 24 * 3600
TOKEN = 10**18
JOB_COLLATERAL = 50 * TOKEN
MAX_JOB_DURATION = 7 * DAY
CHALLENGE_WINDOW = DAY
ARBITRATION_PERIOD = 3 * DAY
EXIT_DELAY = 7 * DAY
MIN_STAKE = 100 * TOKEN
DISPUTE_BOND_BPS = 1000  # 10 % of the job's price
PARAMS = (
    JOB_COLLATERAL,
    MAX_JOB_DURATION,
    CHALLENGE_WINDOW,
    ARBITRATION_PERIOD,
    EXIT_DELAY,
    MIN_STAKE,
    DISPUTE_BOND_BPS,
)
STAKE = 200 * TOKEN
PROVIDER_FEE = 5 * TOKEN
DATA_FEE = 2 * TOKEN
LICENSE_PRICE = 25 * TOKEN  # offer 2 of the `asset` fixture: perpetual COMPUTE
ENDPOINT = "https://compute.example/p"
MAX_UINT = 2**256 - 1

# JobStatus
NONE, OPEN, ACCEPTED, SUBMITTED, DISPUTED, FINALIZED, REFUNDED = range(7)


def voucher_message(
    market: Any,
    channel_id: int,
    cumulative: int,
    chain_id: int | None = None,
    verifying_contract: str | None = None,
) -> Any:
    """The gateway's own voucher encoding (dapp.market.vouchers), so contract and
    gateway are tested against one definition."""
    return gateway_voucher_message(
        chain.id if chain_id is None else chain_id,
        verifying_contract or market.address,
        channel_id,
        cumulative,
    )


def sign_voucher(
    signer: Any, market: Any, channel_id: int, cumulative: int, **domain: Any
) -> bytes:
    """The buyer's EIP-712 voucher signature (65 bytes r || s || v)."""
    key = signer.private_key if hasattr(signer, "private_key") else signer
    signed = Account.sign_message(voucher_message(market, channel_id, cumulative, **domain), key)
    return bytes(signed.signature)


def compact_voucher(
    signer: Any, market: Any, channel_id: int, cumulative: int, **domain: Any
) -> tuple[int, int, bytes, bytes]:
    """A `CompactVoucher` for `redeemMany`: the same EIP-712 signature in EIP-2098 form (r, vs)."""
    signature = sign_voucher(signer, market, channel_id, cumulative, **domain)
    return (channel_id, cumulative, *to_compact(signature))


def to_compact(signature: bytes) -> tuple[bytes, bytes]:
    """(r, vs) of a 65-byte r || s || v signature (EIP-2098: the top bit of vs is v - 27)."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r, ((v - 27) << 255 | s).to_bytes(32, "big")


def as_dict(value: Any) -> dict[str, Any]:
    return value.dict()


@pytest.fixture(scope="module")
def provider(accounts: Any) -> Any:
    return accounts[4]


@pytest.fixture(scope="module")
def provider2(accounts: Any) -> Any:
    return accounts[5]


@pytest.fixture(scope="module")
def stranger(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="module")
def market(ComputeMarket: Any, registry: Any, token: Any, admin: Any, accounts: Any) -> Any:
    deployed = ComputeMarket.deploy(admin, registry, PARAMS, {"from": admin})
    for account in accounts[:9]:
        token.approve(deployed, MAX_UINT, {"from": account})
    return deployed


@pytest.fixture
def registered(market: Any, token: Any, provider: Any) -> Any:
    """`provider` registered with STAKE at PROVIDER_FEE per job."""
    market.registerProvider(ENDPOINT, token, PROVIDER_FEE, STAKE, {"from": provider})
    return provider


@pytest.fixture
def algorithm(registry: Any, token: Any, publisher: Any, asset: int, buyer: Any) -> int:
    """Asset 2: an ALGORITHM by `publisher` (open: its offer 1 is a free perpetual COMPUTE
    license), listed by `asset`'s owner as allowed to run on it (any version); `buyer` bought its
    COMPUTE license, as `createJob` requires of the job's buyer."""
    tx = registry.publish(
        ALGORITHM,
        cid("algo-1"),
        cid("algo-meta-1"),
        0,
        [offer_input(token, 0, 0, COMPUTE)],
        {"from": publisher},
    )
    algorithm_id = tx.return_value
    registry.trustAlgorithm(asset, algorithm_id, 0, {"from": publisher})
    license_algorithm(registry, algorithm_id, buyer)
    return algorithm_id


def license_algorithm(registry: Any, algorithm_id: int, account: Any) -> Any:
    """`account` buys offer 1 of `algorithm_id` (the fixture algorithm's free COMPUTE offer)."""
    terms = offer_terms(registry, algorithm_id, 1)
    return registry.buy(algorithm_id, 1, account, *terms, {"from": account})


def offer_terms(registry: Any, asset: int, offer_id: int) -> tuple:
    """(token, maxPrice, duration, scope): what a buyer commits to in `buy`, as the offer reads."""
    return tuple(registry.offer(asset, offer_id))[:4]


@pytest.fixture
def licensed(registry: Any, asset: int, buyer: Any) -> Any:
    """`buyer` holds the perpetual COMPUTE license on `asset`."""
    registry.buy(asset, 2, buyer, *offer_terms(registry, asset, 2), {"from": buyer})
    return buyer


@pytest.fixture
def signer_buyer(accounts: Any, token: Any, market: Any, admin: Any) -> Any:
    """A buyer whose private key the tests hold (for vouchers), funded and approved."""
    local = accounts.add("0x" + "11" * 32)
    admin.transfer(local, 10 * TOKEN)
    token.mint(local, 1_000_000 * TOKEN, {"from": admin})
    token.approve(market, MAX_UINT, {"from": local})
    return local


def deadline_in(seconds: int) -> int:
    return chain[-1].timestamp + seconds


def _arg(value: Any) -> str:
    text = str(value)
    return text.lower() if text.startswith("0x") and len(text) == 42 else text


def err(name: str, *args: Any) -> str:
    """The revert message Brownie decodes for custom error `name(args)` (addresses lower-case)."""
    return f"{name}: {', '.join(_arg(arg) for arg in args)}"
