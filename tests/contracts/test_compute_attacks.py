"""ComputeMarket audit findings (issue 13, "Contracts III"): one test per attack, named after it.

Each test failed on the code before its fix (docs/SECURITY.md, "Contracts: ComputeMarket")."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    ARBITRATION_PERIOD,
    CHALLENGE_WINDOW,
    DAY,
    ENDPOINT,
    EXIT_DELAY,
    JOB_COLLATERAL,
    MAX_UINT,
    PARAMS,
    PROVIDER_FEE,
    STAKE,
    TOKEN,
    err,
    offer_terms,
)
from conftest import ALGORITHM, COMPUTE, cid, offer_input

RESULT = (cid("result"), b"\x42" * 32)
ZERO = "0x" + "00" * 20


def test_attack_stake_drain_by_short_deadline_jobs(
    market, token, asset, algorithm, registered, licensed
):
    """A buyer makes jobs due in seconds against a provider that never saw them and expires them:
    the provider must not lose collateral to a job it could not have done."""
    for _ in range(STAKE // JOB_COLLATERAL):
        job = market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + 2, token, PROVIDER_FEE,
            {"from": licensed},
        ).return_value
        chain.sleep(5)
        chain.mine()
        tx = market.expire(job, {"from": licensed})
        assert "ProviderSlashed" not in tx.events
    assert market.getProvider(registered).dict()["stake"] == STAKE


def test_attack_late_decline_escapes_slash(
    market, token, asset, algorithm, registered, licensed
):
    """A provider that missed the deadline declines (or front-runs `expire`) to avoid the slash."""
    job = market.createJob(
        asset, algorithm, registered, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
        {"from": licensed},
    ).return_value
    market.acceptJob(job, {"from": registered})
    deadline = market.getJob(job).dict()["deadline"]
    chain.sleep(DAY + 10)
    chain.mine()
    with brownie.reverts(err("DeadlinePassed", job, deadline)):
        market.declineJob(job, {"from": registered})
    assert market.expire(job, {"from": licensed}).events["ProviderSlashed"]["amount"] > 0


@pytest.fixture
def other_token(TestToken, registry, admin, accounts):
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    registry.setPaymentToken(other, True, {"from": admin})
    for account in accounts[:9]:
        other.mint(account, 1_000 * TOKEN, {"from": admin})
    return other


def test_attack_price_token_switched_under_buyer(
    market, token, other_token, asset, algorithm, registered, licensed
):
    """The provider switches its price token between the buyer's quote and the buyer's
    transaction: the buyer, with allowances in both tokens, must not pay in the other one."""
    other_token.approve(market, MAX_UINT, {"from": licensed})
    market.updateProvider(ENDPOINT, other_token, PROVIDER_FEE, {"from": registered})
    before = other_token.balanceOf(licensed)
    mismatch = err("PriceTokenMismatch", registered, other_token, token)
    with brownie.reverts(mismatch):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
            {"from": licensed},
        )
    with brownie.reverts(mismatch):
        market.openChannel(
            registered, token, 3 * TOKEN, chain[-1].timestamp + DAY, {"from": licensed}
        )
    assert other_token.balanceOf(licensed) == before


@pytest.fixture
def blocklist_token(BlocklistToken, registry, admin, accounts, market):
    blocky = BlocklistToken.deploy({"from": admin})
    registry.setPaymentToken(blocky, True, {"from": admin})
    for account in accounts[:9]:
        blocky.mint(account, 1_000 * TOKEN, {"from": admin})
        blocky.approve(market, MAX_UINT, {"from": account})
    return blocky


def test_attack_blocked_recipient_locks_provider_stake(
    market, blocklist_token, asset, algorithm, provider, licensed, accounts
):
    """The buyer gets itself blocklisted by the job's token: a pushed refund reverts, the
    collateral stays locked and the provider's whole stake cannot be withdrawn."""
    market.registerProvider(ENDPOINT, blocklist_token, PROVIDER_FEE, STAKE, {"from": provider})
    job = market.createJob(
        asset, algorithm, provider, chain[-1].timestamp + DAY, blocklist_token, PROVIDER_FEE,
        {"from": licensed},
    ).return_value
    market.submitResult(job, *RESULT, {"from": provider})
    market.dispute(job, {"from": licensed})
    market.requestExit({"from": provider})
    blocklist_token.setBlocked(licensed, True, {"from": provider})
    chain.sleep(EXIT_DELAY + CHALLENGE_WINDOW + ARBITRATION_PERIOD + 10)
    chain.mine()
    market.settleStaleDispute(job, {"from": provider})
    assert market.withdrawStake({"from": provider}).return_value == STAKE
    owed = market.claimable(licensed, blocklist_token)
    assert owed > PROVIDER_FEE  # escrow + bond, kept for the buyer
    with brownie.reverts():  # the token refuses the blocked buyer...
        market.withdraw(blocklist_token, {"from": licensed})
    with brownie.reverts("ZeroAddress: "):
        market.withdrawTo(blocklist_token, ZERO, {"from": licensed})
    elsewhere = accounts[7]
    before = blocklist_token.balanceOf(elsewhere)
    tx = market.withdrawTo(blocklist_token, elsewhere, {"from": licensed})  # ...not its money
    assert tx.events["Withdrawn"]["to"] == elsewhere
    assert blocklist_token.balanceOf(elsewhere) == before + owed
    assert market.claimable(licensed, blocklist_token) == 0


def test_attack_free_dispute_option_with_zero_arbitration(market, admin):
    """With arbitrationPeriod 0 every dispute is stale at once: the buyer keeps the result and
    takes the escrow back. The admin must not be able to set it (nor other nonsense periods)."""
    for bad in (
        (JOB_COLLATERAL, 7 * DAY, DAY, 0, 7 * DAY, 100 * TOKEN, 1000),
        (JOB_COLLATERAL, 7 * DAY, 1, 3 * DAY, 7 * DAY, 100 * TOKEN, 1000),
    ):
        with brownie.reverts("InvalidParams: "):
            market.setParams(bad, {"from": admin})


def test_attack_job_on_non_dataset_asset(market, registry, token, algorithm, registered, buyer):
    """`datasetId` must be a DATASET: a job on an algorithm pays the wrong owner its data fee
    and passes a free COMPUTE license off as a data license."""
    registry.buy(algorithm, 1, buyer, *offer_terms(registry, algorithm, 1), {"from": buyer})
    with brownie.reverts(err("WrongAssetKind", algorithm, ALGORITHM)):
        market.createJob(
            algorithm, algorithm, registered, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
            {"from": buyer},
        )


def test_attack_params_changed_under_running_job(
    market, token, asset, algorithm, registered, licensed, admin
):
    """The admin shortens the arbitration period after a dispute: the dispute goes stale early and
    the provider loses its fee without a ruling. A running job keeps the params it started with."""
    job = market.createJob(
        asset, algorithm, registered, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
        {"from": licensed},
    ).return_value
    market.submitResult(job, *RESULT, {"from": registered})
    market.dispute(job, {"from": licensed})
    shorter = list(PARAMS)
    shorter[3] = DAY
    shorter[6] = 0
    market.setParams(tuple(shorter), {"from": admin})
    chain.sleep(CHALLENGE_WINDOW + DAY + 10)
    chain.mine()
    stale_at = market.getJob(job).dict()["challengeEnd"] + ARBITRATION_PERIOD
    with brownie.reverts(err("DisputeNotStale", job, stale_at)):
        market.settleStaleDispute(job, {"from": licensed})


def test_attack_license_terms_changed_under_buyer(
    market, registry, token, asset, algorithm, registered, publisher, stranger
):
    """The dataset owner turns the perpetual COMPUTE offer into a one-day one at the same price
    while the buyer's createJobWithLicense is pending: the buyer must get what it committed to."""
    registry.setOffer(asset, 2, offer_input(token, 25 * TOKEN, DAY, COMPUTE), {"from": publisher})
    committed = (2, token, 25 * TOKEN, 0)  # offer 2 as the buyer saw it: perpetual
    with brownie.reverts(err("OfferTermsChanged", asset, 2)):
        market.createJobWithLicense(
            asset, committed, algorithm, registered, chain[-1].timestamp + DAY, token,
            PROVIDER_FEE, {"from": stranger},
        )
    assert registry.licenseExpiry(asset, stranger, COMPUTE) == 0
