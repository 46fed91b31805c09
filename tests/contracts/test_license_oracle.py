"""Another protocol gates its own function on ILicenseOracle.hasLicense of the registry."""

from __future__ import annotations

import pytest
from brownie import chain
from conftest import COMPUTE, DAY, DOWNLOAD, PRICE, buy, offer_input, reverts

COMPUTE_PRICE = 25 * 10**18  # offer 2 of the `asset` fixture, perpetual COMPUTE


@pytest.fixture(scope="module")
def vault(LicenseGatedVault, registry, admin):
    return LicenseGatedVault.deploy(registry, {"from": admin})


def test_vault_requires_a_license_oracle(LicenseGatedVault, token, admin, stranger):
    with reverts("NotLicenseOracle", token):
        LicenseGatedVault.deploy(token, {"from": admin})
    with reverts("NotLicenseOracle", stranger):
        LicenseGatedVault.deploy(stranger, {"from": admin})


def test_vault_accepts_the_registry(vault, registry):
    assert vault.oracle() == registry


def test_no_license_is_denied(vault, buyer, asset):
    with reverts("NotLicensed", asset, buyer):
        vault.runAnalysis(asset, {"from": buyer})


def test_bought_compute_license_allows(vault, registry, buyer, asset):
    buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    tx = vault.runAnalysis(asset, {"from": buyer})
    assert tx.return_value == 1
    event = tx.events["AnalysisRun"]
    assert (event["assetId"], event["account"], event["run"]) == (asset, buyer, 1)
    assert vault.runAnalysis(asset, {"from": buyer}).return_value == 2
    assert vault.runs(asset) == 2


def test_download_license_is_not_compute(vault, registry, buyer, asset):
    buy(registry, asset, 1, buyer, buyer, max_price=PRICE)
    assert registry.hasLicense(asset, buyer, DOWNLOAD)
    with reverts("NotLicensed", asset, buyer):
        vault.runAnalysis(asset, {"from": buyer})


def test_timed_license_allows_until_expiry(vault, registry, token, publisher, buyer, asset):
    registry.setOffer(asset, 3, offer_input(token, PRICE, 7 * DAY, COMPUTE), {"from": publisher})
    bought = buy(registry, asset, 3, buyer, buyer, max_price=PRICE)
    vault.runAnalysis(asset, {"from": buyer})
    chain.sleep(bought.timestamp + 7 * DAY - 60 - chain[-1].timestamp)
    chain.mine()
    vault.runAnalysis(asset, {"from": buyer})
    chain.sleep(120)
    chain.mine()
    with reverts("NotLicensed", asset, buyer):
        vault.runAnalysis(asset, {"from": buyer})
    # Buying again after expiry opens it again.
    buy(registry, asset, 3, buyer, buyer, max_price=PRICE)
    assert vault.runAnalysis(asset, {"from": buyer}).return_value == 3


def test_grant_allows_until_expiry_or_revocation(vault, registry, publisher, stranger, asset):
    registry.grant(asset, stranger, COMPUTE, chain[-1].timestamp + DAY, {"from": publisher})
    vault.runAnalysis(asset, {"from": stranger})
    registry.revokeGrant(asset, stranger, COMPUTE, {"from": publisher})
    with reverts("NotLicensed", asset, stranger):
        vault.runAnalysis(asset, {"from": stranger})
    registry.grant(asset, stranger, COMPUTE, chain[-1].timestamp + DAY, {"from": publisher})
    chain.sleep(DAY + 10)
    chain.mine()
    with reverts("NotLicensed", asset, stranger):
        vault.runAnalysis(asset, {"from": stranger})


def test_license_outlives_retirement(vault, registry, publisher, buyer, asset):
    buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    registry.retire(asset, {"from": publisher})
    assert vault.runAnalysis(asset, {"from": buyer}).return_value == 1


def test_license_is_per_asset(vault, registry, buyer, asset):
    buy(registry, asset, 2, buyer, buyer, max_price=COMPUTE_PRICE)
    with reverts("NotLicensed", 2, buyer):
        vault.runAnalysis(2, {"from": buyer})


def test_vault_imports_only_the_oracle_interface():
    from pathlib import Path

    source = Path(__file__).parents[2].joinpath("contracts/test/LicenseGatedVault.sol").read_text()
    imports = sorted(line for line in source.splitlines() if line.startswith("import"))
    assert imports == [
        'import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";',
        'import {ILicenseOracle} from "../interfaces/ILicenseOracle.sol";',
    ]
