"""ComputeMarket jobs: escrow, result, challenge window, finalize through the registry's split,
disputes both ways, stale disputes, missed deadlines (refund + slash), licenses."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    ACCEPTED,
    ARBITRATION_PERIOD,
    CHALLENGE_WINDOW,
    DATA_FEE,
    DAY,
    DISPUTE_BOND_BPS,
    DISPUTED,
    ENDPOINT,
    FINALIZED,
    JOB_COLLATERAL,
    LICENSE_PRICE,
    MAX_JOB_DURATION,
    OPEN,
    PROVIDER_FEE,
    REFUNDED,
    STAKE,
    SUBMITTED,
    TOKEN,
    err,
    license_algorithm,
    offer_terms,
)
from conftest import PROTOCOL_FEE_BPS, cid

PRICE = PROVIDER_FEE + DATA_FEE
BOND = PRICE * DISPUTE_BOND_BPS // 10_000
RESULT_CID = cid("result-1")
RESULT_HASH = b"\x42" * 32


@pytest.fixture
def data_fee(market, token, asset, publisher):
    market.setComputeFee(asset, token, DATA_FEE, {"from": publisher})
    return DATA_FEE


@pytest.fixture
def job(market, token, asset, algorithm, registered, licensed, data_fee):
    """Job 1: `buyer` on `asset` with `algorithm` at `provider`, deadline in one day (open)."""
    tx = market.createJob(
        asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE, {"from": licensed}
    )
    return tx.return_value


@pytest.fixture
def accepted(market, job, registered):
    market.acceptJob(job, {"from": registered})
    return job


@pytest.fixture
def submitted(market, accepted, registered):
    market.submitResult(accepted, RESULT_CID, RESULT_HASH, {"from": registered})
    return accepted


@pytest.fixture
def disputed(market, submitted, buyer):
    market.dispute(submitted, {"from": buyer})
    return submitted


def past_window():
    chain.sleep(CHALLENGE_WINDOW + 1)
    chain.mine()


def test_create_job_escrows_price_and_accept_locks_collateral(
    market, token, asset, algorithm, registered, licensed, data_fee
):
    before = token.balanceOf(licensed)
    deadline = chain[-1].timestamp + DAY
    tx = market.createJob(asset, algorithm, registered, deadline, token, PRICE, {"from": licensed})
    job_id = tx.return_value
    assert job_id == 1 and market.jobCount() == 1
    assert token.balanceOf(licensed) == before - PRICE
    assert token.balanceOf(market) == STAKE + PRICE
    job = market.getJob(job_id).dict()
    assert job["buyer"] == licensed and job["provider"] == registered
    assert job["status"] == OPEN and job["deadline"] == deadline
    assert (job["providerFee"], job["dataFee"], job["collateral"]) == (
        PROVIDER_FEE,
        DATA_FEE,
        JOB_COLLATERAL,
    )
    assert job["datasetId"] == asset and job["token"] == token and job["paramsId"] == 1
    assert market.getProvider(registered).dict()["locked"] == 0  # nothing at risk before accepting
    event = tx.events["JobCreated"]
    assert (
        event["jobId"] == job_id
        and event["algorithmId"] == algorithm
        and event["datasetId"] == asset
        and event["paramsId"] == 1
    )
    tx = market.acceptJob(job_id, {"from": registered})
    assert tx.events["JobAccepted"]["collateral"] == JOB_COLLATERAL
    assert market.getJob(job_id).dict()["status"] == ACCEPTED
    assert market.getProvider(registered).dict()["locked"] == JOB_COLLATERAL


def test_finalize_pays_provider_and_dataset_through_registry_split(
    market, registry, token, submitted, registered, publisher, treasury, stranger
):
    with brownie.reverts(
        err("ChallengeWindowOpen", submitted, market.getJob(submitted).dict()["challengeEnd"])
    ):
        market.finalize(submitted, {"from": stranger})
    owner_before = registry.payoutBalance(publisher, token)
    treasury_before = registry.payoutBalance(treasury, token)
    past_window()
    tx = market.finalize(submitted, {"from": stranger})
    fee = DATA_FEE * PROTOCOL_FEE_BPS // 10_000
    assert market.claimable(registered, token) == PROVIDER_FEE
    assert tx.events["Credited"]["account"] == registered
    # No curator stakes on the asset: the curators' share stays with the owner.
    assert registry.payoutBalance(publisher, token) == owner_before + DATA_FEE - fee
    assert registry.payoutBalance(treasury, token) == treasury_before + fee
    assert token.balanceOf(market) == STAKE + PROVIDER_FEE
    assert market.getJob(submitted).dict()["status"] == FINALIZED
    assert market.getProvider(registered).dict()["locked"] == 0
    assert tx.events["JobFinalized"]["providerFee"] == PROVIDER_FEE
    assert tx.events["RevenueSplit"]["assetId"] == market.getJob(submitted).dict()["datasetId"]
    with brownie.reverts(err("WrongJobStatus", submitted, FINALIZED)):
        market.finalize(submitted, {"from": stranger})
    provider_before = token.balanceOf(registered)
    tx = market.withdraw(token, {"from": registered})
    assert tx.return_value == PROVIDER_FEE
    assert token.balanceOf(registered) == provider_before + PROVIDER_FEE
    assert token.balanceOf(market) == STAKE
    with brownie.reverts("NothingToWithdraw: "):
        market.withdraw(token, {"from": registered})


def test_finalize_gives_curators_their_share(
    market, registry, token, asset, submitted, curator, publisher
):
    registry.stake(asset, 100 * TOKEN, {"from": curator})
    chain.sleep(registry.unbondingDelay() + 1)  # a stake earns after its warm-up
    registry.activateStake(asset, curator, {"from": curator})
    owner_before = registry.payoutBalance(publisher, token)
    past_window()
    market.finalize(submitted, {"from": curator})
    curators = DATA_FEE * 1000 // 10_000
    fee = DATA_FEE * PROTOCOL_FEE_BPS // 10_000
    assert abs(registry.earned(asset, curator, token) - curators) <= 10**6
    assert registry.payoutBalance(publisher, token) == owner_before + DATA_FEE - fee - curators


def test_submit_result_checks(market, accepted, registered, stranger):
    job = accepted
    with brownie.reverts(err("NotJobProvider", job, stranger)):
        market.submitResult(job, RESULT_CID, RESULT_HASH, {"from": stranger})
    with brownie.reverts(err("EmptyResult", job)):
        market.submitResult(job, RESULT_CID, b"\x00" * 32, {"from": registered})
    tx = market.submitResult(job, RESULT_CID, RESULT_HASH, {"from": registered})
    record = market.getJob(job).dict()
    assert record["status"] == SUBMITTED
    assert record["resultHash"] == "0x" + RESULT_HASH.hex()
    assert record["challengeEnd"] == tx.timestamp + CHALLENGE_WINDOW
    assert tx.events["ResultSubmitted"]["resultHash"] == "0x" + RESULT_HASH.hex()
    with brownie.reverts(err("WrongJobStatus", job, SUBMITTED)):
        market.submitResult(job, RESULT_CID, RESULT_HASH, {"from": registered})


def test_submit_result_on_open_job_accepts_it(market, job, registered):
    tx = market.submitResult(job, RESULT_CID, RESULT_HASH, {"from": registered})
    assert tx.events["JobAccepted"]["collateral"] == JOB_COLLATERAL
    assert market.getJob(job).dict()["status"] == SUBMITTED
    assert market.getProvider(registered).dict()["locked"] == JOB_COLLATERAL


def test_accept_checks(market, job, registered, stranger):
    with brownie.reverts(err("NotJobProvider", job, stranger)):
        market.acceptJob(job, {"from": stranger})
    deadline = market.getJob(job).dict()["deadline"]
    chain.sleep(DAY + 10)
    chain.mine()
    with brownie.reverts(err("DeadlinePassed", job, deadline)):
        market.acceptJob(job, {"from": registered})


def test_buyer_cancels_unaccepted_job(market, token, job, registered, buyer, stranger):
    with brownie.reverts(err("NotJobBuyer", job, stranger)):
        market.cancelJob(job, {"from": stranger})
    tx = market.cancelJob(job, {"from": buyer})
    assert "JobCancelled" in tx.events
    assert market.claimable(buyer, token) == PRICE
    assert market.getJob(job).dict()["status"] == REFUNDED
    with brownie.reverts(err("WrongJobStatus", job, REFUNDED)):
        market.acceptJob(job, {"from": registered})


def test_accepted_job_cannot_be_cancelled(market, accepted, buyer):
    with brownie.reverts(err("WrongJobStatus", accepted, ACCEPTED)):
        market.cancelJob(accepted, {"from": buyer})


def test_dispute_only_by_buyer_inside_window(market, submitted, buyer, stranger):
    with brownie.reverts(err("NotJobBuyer", submitted, stranger)):
        market.dispute(submitted, {"from": stranger})
    end = market.getJob(submitted).dict()["challengeEnd"]
    past_window()
    with brownie.reverts(err("ChallengeWindowClosed", submitted, end)):
        market.dispute(submitted, {"from": buyer})


def test_dispute_resolved_for_provider_pays_like_finalize(
    market, registry, token, disputed, registered, publisher, admin, stranger
):
    past_window()
    with brownie.reverts(err("WrongJobStatus", disputed, DISPUTED)):
        market.finalize(disputed, {"from": stranger})
    with brownie.reverts():
        market.resolveDispute(disputed, True, {"from": stranger})  # not ARBITER_ROLE
    owner_before = registry.payoutBalance(publisher, token)
    tx = market.resolveDispute(disputed, True, {"from": admin})
    assert tx.events["DisputeResolved"]["providerPaid"] is True
    # the bond goes to the provider
    assert market.claimable(registered, token) == PROVIDER_FEE + BOND
    assert registry.payoutBalance(publisher, token) > owner_before
    assert market.getJob(disputed).dict()["status"] == FINALIZED
    assert market.getProvider(registered).dict()["stake"] == STAKE
    assert token.balanceOf(market) == STAKE + PROVIDER_FEE + BOND


def test_dispute_posts_bond(market, token, submitted, buyer):
    before = token.balanceOf(buyer)
    tx = market.dispute(submitted, {"from": buyer})
    assert tx.events["JobDisputed"]["bond"] == BOND
    assert token.balanceOf(buyer) == before - BOND


def test_dispute_resolved_for_buyer_refunds_and_slashes(
    market, token, disputed, registered, buyer, admin
):
    buyer_before = token.balanceOf(buyer)
    tx = market.resolveDispute(disputed, False, {"from": admin})
    # escrow + bond back, collateral on top (job token = stake token here: one balance)
    assert market.claimable(buyer, token) == PRICE + BOND + JOB_COLLATERAL
    market.withdraw(token, {"from": buyer})
    assert token.balanceOf(buyer) == buyer_before + PRICE + BOND + JOB_COLLATERAL
    provider = market.getProvider(registered).dict()
    assert provider["stake"] == STAKE - JOB_COLLATERAL and provider["locked"] == 0
    assert token.balanceOf(market) == STAKE - JOB_COLLATERAL
    assert market.getJob(disputed).dict()["status"] == REFUNDED
    assert tx.events["ProviderSlashed"]["amount"] == JOB_COLLATERAL
    assert tx.events["ProviderSlashed"]["recipient"] == buyer
    assert tx.events["JobRefunded"]["slashed"] == JOB_COLLATERAL


def test_stale_dispute_refunds_without_slash(market, token, disputed, registered, buyer, stranger):
    stale_at = market.getJob(disputed).dict()["challengeEnd"] + ARBITRATION_PERIOD
    with brownie.reverts(err("DisputeNotStale", disputed, stale_at)):
        market.settleStaleDispute(disputed, {"from": stranger})
    chain.sleep(CHALLENGE_WINDOW + ARBITRATION_PERIOD + 1)
    chain.mine()
    market.settleStaleDispute(disputed, {"from": stranger})
    assert market.claimable(buyer, token) == PRICE + BOND
    assert market.getProvider(registered).dict()["stake"] == STAKE
    assert market.getProvider(registered).dict()["locked"] == 0


def test_missed_deadline_refunds_buyer_and_slashes_provider(
    market, token, accepted, registered, buyer, stranger
):
    job = accepted
    deadline = market.getJob(job).dict()["deadline"]
    with brownie.reverts(err("DeadlineNotPassed", job, deadline)):
        market.expire(job, {"from": stranger})
    chain.sleep(DAY + 1)
    chain.mine()
    with brownie.reverts(err("DeadlinePassed", job, deadline)):
        market.submitResult(job, RESULT_CID, RESULT_HASH, {"from": registered})
    tx = market.expire(job, {"from": stranger})
    assert market.claimable(buyer, token) == PRICE + JOB_COLLATERAL
    assert market.getProvider(registered).dict()["stake"] == STAKE - JOB_COLLATERAL
    assert token.balanceOf(market) == STAKE + PRICE
    assert tx.events["JobRefunded"]["amount"] == PRICE
    with brownie.reverts(err("WrongJobStatus", job, REFUNDED)):
        market.expire(job, {"from": stranger})


def test_unaccepted_job_expires_without_slash(market, token, job, registered, buyer, stranger):
    chain.sleep(DAY + 1)
    chain.mine()
    tx = market.expire(job, {"from": stranger})
    assert "ProviderSlashed" not in tx.events
    assert market.claimable(buyer, token) == PRICE
    assert market.getProvider(registered).dict()["stake"] == STAKE


def test_provider_declines_job_without_slash(market, token, job, registered, buyer, stranger):
    with brownie.reverts(err("NotJobProvider", job, stranger)):
        market.declineJob(job, {"from": stranger})
    tx = market.declineJob(job, {"from": registered})
    assert "JobDeclined" in tx.events
    assert market.claimable(buyer, token) == PRICE
    assert market.getProvider(registered).dict()["stake"] == STAKE


def test_declining_accepted_job_slashes(market, token, accepted, registered, buyer):
    tx = market.declineJob(accepted, {"from": registered})
    assert tx.events["ProviderSlashed"]["amount"] == JOB_COLLATERAL
    assert market.claimable(buyer, token) == PRICE + JOB_COLLATERAL


def test_job_without_license_reverts(market, token, asset, algorithm, registered, stranger):
    with brownie.reverts(err("NotLicensed", asset, stranger)):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE,
            {"from": stranger}
        )


def test_download_license_is_not_enough(
    market, registry, token, asset, algorithm, registered, stranger
):
    registry.buy(asset, 1, stranger, *offer_terms(registry, asset, 1), {"from": stranger})
    with brownie.reverts(err("NotLicensed", asset, stranger)):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE,
            {"from": stranger}
        )


def test_algorithm_must_be_algorithm_or_model(
    market, token, asset, algorithm, registered, licensed
):
    with brownie.reverts(err("WrongAssetKind", asset, 0)):
        deadline = chain[-1].timestamp + DAY
        market.createJob(asset, asset, registered, deadline, token, PRICE, {"from": licensed})


def test_create_job_with_license_buys_compute_license_for_caller(
    market, registry, token, asset, algorithm, registered, stranger, publisher, data_fee
):
    assert not registry.hasLicense(asset, stranger, 1)
    license_algorithm(registry, algorithm, stranger)  # free; the job's algorithm needs its own
    before = token.balanceOf(stranger)
    owner_before = registry.payoutBalance(publisher, token)
    deadline = chain[-1].timestamp + DAY

    def create(offer_id, max_price, duration=0, license_token=token):
        return market.createJobWithLicense(
            asset,
            (offer_id, license_token, max_price, duration),
            algorithm,
            registered,
            deadline,
            token,
            PRICE,
            {"from": stranger},
        )

    with brownie.reverts(err("OfferTermsChanged", asset, 1)):
        create(1, LICENSE_PRICE)
    with brownie.reverts(err("PriceAboveMax", LICENSE_PRICE, LICENSE_PRICE - 1)):
        create(2, LICENSE_PRICE - 1)
    with brownie.reverts(err("OfferTermsChanged", asset, 2)):
        create(2, LICENSE_PRICE, duration=DAY)
    with brownie.reverts(err("OfferTermsChanged", asset, 2)):
        create(2, LICENSE_PRICE, license_token=registry)
    tx = create(2, LICENSE_PRICE)
    assert registry.hasLicense(asset, stranger, 1)
    assert tx.events["LicensePurchased"]["licensee"] == stranger
    assert tx.events["LicensePurchased"]["buyer"] == market
    assert token.balanceOf(stranger) == before - LICENSE_PRICE - PRICE
    assert token.balanceOf(market) == STAKE + PRICE
    assert token.allowance(market, registry) == 0
    assert registry.payoutBalance(publisher, token) > owner_before
    assert market.getJob(tx.return_value).dict()["buyer"] == stranger


def test_create_job_checks_price_deadline_and_provider(
    market, token, asset, algorithm, registered, licensed, data_fee, stranger
):
    with brownie.reverts(err("PriceAboveMax", PRICE, PRICE - 1)):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE - 1,
            {"from": licensed}
        )
    too_late = chain[-1].timestamp + MAX_JOB_DURATION + 100
    with brownie.reverts(err("InvalidDeadline", too_late)):
        market.createJob(asset, algorithm, registered, too_late, token, PRICE, {"from": licensed})
    with brownie.reverts(err("UnknownProvider", stranger)):
        deadline = chain[-1].timestamp + DAY
        market.createJob(asset, algorithm, stranger, deadline, token, PRICE, {"from": licensed})


def test_accepting_needs_free_collateral(
    market, token, asset, algorithm, registered, licensed, data_fee
):
    ids = [
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE,
            {"from": licensed}
        ).return_value
        for _ in range(STAKE // JOB_COLLATERAL + 1)
    ]
    for job_id in ids[:-1]:
        market.acceptJob(job_id, {"from": registered})
    with brownie.reverts(err("InsufficientStake", registered, 0, JOB_COLLATERAL)):
        market.acceptJob(ids[-1], {"from": registered})


def test_data_fee_token_must_match_provider_token(
    market,
    registry,
    token,
    asset,
    algorithm,
    registered,
    licensed,
    publisher,
    admin,
    TestToken,
    stranger,
):
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    with brownie.reverts(err("NotAssetOwner", asset, stranger)):
        market.setComputeFee(asset, token, DATA_FEE, {"from": stranger})
    registry.setPaymentToken(other, True, {"from": admin})
    market.setComputeFee(asset, other, DATA_FEE, {"from": publisher})
    with brownie.reverts(err("FeeTokenMismatch", asset, other, token)):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE,
            {"from": licensed}
        )


def test_no_data_fee_pays_only_provider(
    market, registry, token, asset, algorithm, registered, licensed, publisher
):
    job_id = market.createJob(
        asset, algorithm, registered, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
        {"from": licensed}
    ).return_value
    market.submitResult(job_id, RESULT_CID, RESULT_HASH, {"from": registered})
    owner_before = registry.payoutBalance(publisher, token)
    past_window()
    tx = market.finalize(job_id, {"from": licensed})
    assert "RevenueSplit" not in tx.events
    assert registry.payoutBalance(publisher, token) == owner_before


def test_exit_waits_for_locked_collateral(market, accepted, registered):
    market.requestExit({"from": registered})
    chain.sleep(8 * DAY)
    chain.mine()
    with brownie.reverts(err("CollateralLocked", JOB_COLLATERAL)):
        market.withdrawStake({"from": registered})


def test_pause_stops_new_jobs_not_settlement(
    market, token, asset, algorithm, submitted, registered, licensed, admin
):
    market.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        market.createJob(
            asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE,
            {"from": licensed}
        )
    past_window()
    market.finalize(submitted, {"from": licensed})


def test_job_gas(market, token, asset, algorithm, registered, licensed, data_fee):
    create = market.createJob(
        asset, algorithm, registered, chain[-1].timestamp + DAY, token, PRICE, {"from": licensed}
    )
    accept = market.acceptJob(create.return_value, {"from": registered})
    submit = market.submitResult(create.return_value, RESULT_CID, RESULT_HASH, {"from": registered})
    past_window()
    final = market.finalize(create.return_value, {"from": licensed})
    print(
        f"\nGAS createJob={create.gas_used} acceptJob={accept.gas_used} "
        f"submitResult={submit.gas_used} "
        f"finalize={final.gas_used}"
    )
    assert create.gas_used < 250_000 and submit.gas_used < 80_000 and final.gas_used < 150_000
    assert accept.gas_used < 60_000
