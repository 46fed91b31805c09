"""Who may run what on a dataset (issue 14): the dataset owner's on-chain compute policy in the
registry (`trustAlgorithm`, `untrustAlgorithm`, `setComputePolicy`, `checkJob`) and its use by
`ComputeMarket.createJob`.

The `test_attack_*` tests failed on the code before the policy (docs/SECURITY.md, "Contracts:
compute policy"): there a COMPUTE license on the dataset let its holder run any algorithm.
"""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from brownie import chain
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import DAY, PROVIDER_FEE, TOKEN, err, license_algorithm, offer_terms
from conftest import ALGORITHM, COMPUTE, DATASET, MODEL, cid, offer_input, split
from dao_helpers import SHARE, create_dao, pass_proposal

MODEL_PRICE = 40 * TOKEN
LATEST = 0  # trustAlgorithm's version argument: whichever version is the latest at run time


def publish(registry: Any, token: Any, owner: Any, kind: int, label: str, price: int = 0) -> int:
    """An asset of `kind` by `owner` whose offer 1 is a perpetual COMPUTE license at `price`."""
    tx = registry.publish(
        kind, cid(f"{label}-v1"), cid(f"{label}-meta"), 0,
        [offer_input(token, price, 0, COMPUTE)], {"from": owner},
    )
    return tx.return_value


def create_job(market: Any, token: Any, dataset: int, algorithm: int, provider: Any, buyer: Any):
    return market.createJob(
        dataset, algorithm, provider, chain[-1].timestamp + DAY, token, PROVIDER_FEE,
        {"from": buyer},
    )


@pytest.fixture
def model(registry: Any, token: Any, curator: Any) -> int:
    """A MODEL by `curator` (another owner than the dataset's), COMPUTE license 40 DDT."""
    return publish(registry, token, curator, MODEL, "model", MODEL_PRICE)


# ---------------------------------------------------------------- attacks


def test_attack_copy_input_algorithm_runs_on_dataset(
    market, registry, token, asset, registered, licensed, publisher
):
    """A buyer with the dataset's COMPUTE license publishes its own algorithm that copies $INPUT
    to $OUTPUT and runs it: the job's result would be the dataset. Refused until the dataset's
    owner lists that algorithm."""
    copier = publish(registry, token, licensed, ALGORITHM, "copy-input-to-output")
    with brownie.reverts(err("AlgorithmNotTrusted", asset, copier)):
        create_job(market, token, asset, copier, registered, licensed)
    with brownie.reverts(err("AlgorithmNotTrusted", asset, copier)):
        registry.checkJob(asset, copier, licensed)

    registry.trustAlgorithm(asset, copier, LATEST, {"from": publisher})
    tx = create_job(market, token, asset, copier, registered, licensed)  # owner: no license needed
    assert tx.events["JobCreated"]["algorithmId"] == copier


def test_attack_unpaid_model_run(
    market, registry, token, asset, model, registered, licensed, publisher, curator
):
    """The buyer runs another owner's paid MODEL in a job without buying its COMPUTE license:
    the model's owner is never paid. Refused; after the purchase the job runs and the model's
    owner was credited its share of the sale."""
    registry.trustAlgorithm(asset, model, LATEST, {"from": publisher})
    with brownie.reverts(err("NotLicensed", model, licensed)):
        create_job(market, token, asset, model, registered, licensed)

    owner_before = registry.payoutBalance(curator, token)
    registry.buy(model, 1, licensed, *offer_terms(registry, model, 1), {"from": licensed})
    owner_share, _, _ = split(MODEL_PRICE, 0)
    assert registry.payoutBalance(curator, token) == owner_before + owner_share
    tx = create_job(market, token, asset, model, registered, licensed)
    assert tx.events["JobCreated"]["algorithmId"] == model


def test_attack_algorithm_owner_swaps_code_under_pin(
    registry, token, asset, model, licensed, publisher, curator
):
    """The dataset owner reviewed version 1 of the model and pinned it; the model's owner then
    adds a version 2 (say, one that copies its input out). Jobs still run version 1. Unpinned
    (version 0), the latest version runs, whoever wrote it."""
    registry.grant(model, licensed, COMPUTE, chain[-1].timestamp + DAY, {"from": curator})
    registry.trustAlgorithm(asset, model, 1, {"from": publisher})
    registry.addVersion(model, cid("model-v2"), cid("model-v2-meta"), {"from": curator})
    assert registry.assetInfo(model).dict()["versionCount"] == 2
    assert registry.trustedAlgorithm(asset, model) == (True, 1)
    assert registry.checkJob(asset, model, licensed) == 1

    registry.trustAlgorithm(asset, model, LATEST, {"from": publisher})  # replaces the pin
    assert registry.trustedAlgorithm(asset, model) == (True, 0)
    assert registry.checkJob(asset, model, licensed) == 2


def test_attack_unknown_dataset_reads_as_unlicensed(
    market, registry, token, registered, licensed
):
    """A job on a dataset id nobody minted must say so (UnknownAsset), not blame the buyer's
    license (before: NotLicensed)."""
    algorithm = publish(registry, token, licensed, ALGORITHM, "own")
    with brownie.reverts(err("UnknownAsset", 999)):
        create_job(market, token, 999, algorithm, registered, licensed)
    with brownie.reverts(err("UnknownAsset", 999)):
        registry.checkJob(999, algorithm, licensed)


# ---------------------------------------------------------------- the list


def test_version_beyond_version_count_refused(registry, token, asset, model, publisher):
    with brownie.reverts(err("UnknownVersion", model, 2)):
        registry.trustAlgorithm(asset, model, 2, {"from": publisher})
    assert registry.trustedAlgorithm(asset, model) == (False, 0)
    registry.trustAlgorithm(asset, model, 1, {"from": publisher})
    assert registry.trustedAlgorithm(asset, model) == (True, 1)


def test_any_algorithm_on_and_off(
    market, registry, token, asset, registered, licensed, publisher
):
    """An empty list runs nothing; `anyAlgorithm` runs every algorithm only while it is on."""
    own = publish(registry, token, licensed, ALGORITHM, "own")
    assert registry.computePolicy(asset) == (False, 0, 0)
    tx = registry.setComputePolicy(asset, True, 5_000_000, 512, {"from": publisher})
    assert dict(tx.events["ComputePolicySet"][0]) == {
        "datasetId": asset, "anyAlgorithm": True, "maxResultBytes": 5_000_000, "logTailBytes": 512
    }
    assert registry.computePolicy(asset) == (True, 5_000_000, 512)
    assert registry.trustedAlgorithm(asset, own) == (False, 0)  # allowed, not listed
    assert registry.checkJob(asset, own, licensed) == 1
    create_job(market, token, asset, own, registered, licensed)

    registry.setComputePolicy(asset, False, 5_000_000, 0, {"from": publisher})
    with brownie.reverts(err("AlgorithmNotTrusted", asset, own)):
        create_job(market, token, asset, own, registered, licensed)


def test_untrust_stops_new_jobs(
    market, registry, token, asset, algorithm, registered, licensed, publisher
):
    create_job(market, token, asset, algorithm, registered, licensed)
    tx = registry.untrustAlgorithm(asset, algorithm, {"from": publisher})
    assert dict(tx.events["AlgorithmUntrusted"][0]) == {
        "datasetId": asset, "algorithmId": algorithm
    }
    assert registry.trustedAlgorithm(asset, algorithm) == (False, 0)
    with brownie.reverts(err("AlgorithmNotTrusted", asset, algorithm)):
        create_job(market, token, asset, algorithm, registered, licensed)
    with brownie.reverts(err("AlgorithmNotTrusted", asset, algorithm)):  # not listed any more
        registry.untrustAlgorithm(asset, algorithm, {"from": publisher})


def test_trust_event_carries_the_pin(registry, token, asset, model, publisher):
    tx = registry.trustAlgorithm(asset, model, 1, {"from": publisher})
    assert dict(tx.events["AlgorithmTrusted"][0]) == {
        "datasetId": asset, "algorithmId": model, "version": 1
    }


def test_only_dataset_owner_sets_policy(registry, token, asset, model, stranger, curator):
    """Neither a stranger nor the algorithm's own owner may list it on someone's dataset."""
    for intruder in (stranger, curator):
        with brownie.reverts(err("NotAssetOwner", asset, intruder)):
            registry.trustAlgorithm(asset, model, LATEST, {"from": intruder})
        with brownie.reverts(err("NotAssetOwner", asset, intruder)):
            registry.untrustAlgorithm(asset, model, {"from": intruder})
        with brownie.reverts(err("NotAssetOwner", asset, intruder)):
            registry.setComputePolicy(asset, True, 0, 0, {"from": intruder})
    assert registry.computePolicy(asset) == (False, 0, 0)


def test_asset_kinds_checked_both_ways(
    registry, token, asset, model, algorithm, licensed, publisher
):
    """The dataset must be a DATASET, the algorithm an ALGORITHM or MODEL."""
    other_dataset = publish(registry, token, publisher, DATASET, "other-dataset")
    with brownie.reverts(err("WrongAssetKind", other_dataset, DATASET)):
        registry.trustAlgorithm(asset, other_dataset, LATEST, {"from": publisher})
    with brownie.reverts(err("WrongAssetKind", algorithm, ALGORITHM)):
        registry.trustAlgorithm(algorithm, model, LATEST, {"from": publisher})
    with brownie.reverts(err("WrongAssetKind", algorithm, ALGORITHM)):
        registry.setComputePolicy(algorithm, True, 0, 0, {"from": publisher})
    with brownie.reverts(err("WrongAssetKind", other_dataset, DATASET)):
        registry.checkJob(asset, other_dataset, licensed)
    registry.trustAlgorithm(asset, model, LATEST, {"from": publisher})  # a MODEL may be listed


def test_retired_algorithm_refused(
    market, registry, token, asset, algorithm, registered, licensed, publisher
):
    registry.retire(algorithm, {"from": publisher})
    with brownie.reverts(err("AssetIsRetired", algorithm)):
        create_job(market, token, asset, algorithm, registered, licensed)


def test_unknown_algorithm_refused(registry, asset, licensed, publisher):
    with brownie.reverts(err("UnknownAsset", 999)):
        registry.trustAlgorithm(asset, 999, LATEST, {"from": publisher})
    with brownie.reverts(err("UnknownAsset", 999)):
        registry.checkJob(asset, 999, licensed)


def test_dataset_license_checked_before_algorithm(
    registry, token, asset, algorithm, stranger
):
    """Without the dataset's COMPUTE license nothing else matters, a licensed algorithm neither."""
    license_algorithm(registry, algorithm, stranger)
    with brownie.reverts(err("NotLicensed", asset, stranger)):
        registry.checkJob(asset, algorithm, stranger)


def test_algorithm_license_by_grant_or_expired(registry, token, asset, model, licensed, publisher,
                                                curator):
    """A grant by the model's owner is a license too, for as long as it runs."""
    registry.trustAlgorithm(asset, model, LATEST, {"from": publisher})
    registry.grant(model, licensed, COMPUTE, chain[-1].timestamp + 100, {"from": curator})
    assert registry.checkJob(asset, model, licensed) == 1
    chain.sleep(200)
    chain.mine()
    with brownie.reverts(err("NotLicensed", model, licensed)):
        registry.checkJob(asset, model, licensed)


# ---------------------------------------------------------------- a DataDAO's dataset


@pytest.fixture(scope="module")
def factory(registry: Any, token: Any, admin: Any) -> Any:
    from scripts.deploy_modules import deploy_dao_modules

    return deploy_dao_modules({"AssetRegistry": registry, "TestToken": token}, admin)[
        "DataDAOFactory"
    ]


def test_data_dao_lists_algorithm_by_vote(
    market, registry, token, factory, asset, model, registered, licensed, publisher, curator,
    accounts,
):
    """A DataDAO that owns the dataset lists an algorithm only through an executed proposal; its
    members alone cannot."""
    members = [accounts[7], accounts[8]]
    dao, _, _ = create_dao(factory, members[0], members, [60 * SHARE, 40 * SHARE], [token])
    registry.safeTransferFrom(publisher, dao, asset, {"from": publisher})
    registry.buy(model, 1, licensed, *offer_terms(registry, model, 1), {"from": licensed})
    with brownie.reverts(err("NotAssetOwner", asset, members[0])):
        registry.trustAlgorithm(asset, model, 1, {"from": members[0]})

    call = registry.trustAlgorithm.encode_input(asset, model, 1)
    _, tx = pass_proposal(dao, [(registry, call)], "List the model, version 1", members)
    assert dict(tx.events["AlgorithmTrusted"][0]) == {
        "datasetId": asset, "algorithmId": model, "version": 1
    }
    assert registry.trustedAlgorithm(asset, model) == (True, 1)
    create_job(market, token, asset, model, registered, licensed)
