"""Contracts built on the AssetRegistry, deployed by `scripts/deploy.py` after the core.

Each module has its own `deploy_<module>_modules(core, deployer) -> dict[name, contract]`;
`deploy_modules` calls them in order and merges what they return. `core` is
{"TestToken": ..., "AssetRegistry": ...}.
"""

from __future__ import annotations

from typing import Any

DAY = 24 * 3600
TOKEN = 10**18

# ComputeMarket.Params, in struct order.
COMPUTE_PARAMS = (
    50 * TOKEN,  # jobCollateral: provider stake locked per job, slashed to the buyer on failure
    7 * DAY,  # maxJobDuration
    1 * DAY,  # challengeWindow
    3 * DAY,  # arbitrationPeriod
    7 * DAY,  # exitDelay
    100 * TOKEN,  # minProviderStake
    1000,  # disputeBondBps: a dispute costs the buyer a bond of 10 % of the job's price
)


def deploy_dao_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """DataDAO: the governor and share-token implementations (locked, used through EIP-1167
    clones) and the factory that makes a DAO in one transaction."""
    from brownie import DataDAO, DataDAOFactory, DataDAOShares

    dao_implementation = DataDAO.deploy({"from": deployer})
    shares_implementation = DataDAOShares.deploy({"from": deployer})
    factory = DataDAOFactory.deploy(
        core["AssetRegistry"], dao_implementation, shares_implementation, {"from": deployer}
    )
    return {
        "DataDAOFactory": factory,
        "DataDAOImplementation": dao_implementation,
        "DataDAOSharesImplementation": shares_implementation,
    }


def deploy_compute_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """The ComputeMarket on the registry; its stake token is the registry's staking token (DDT),
    and it settles jobs and channels in the registry's payment tokens."""
    from brownie import ComputeMarket

    market = ComputeMarket.deploy(
        deployer, core["AssetRegistry"], COMPUTE_PARAMS, {"from": deployer}
    )
    return {"ComputeMarket": market}


def deploy_license_token_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """LicenseTokens (licences as ERC-1155 tokens, opt-in per offer), named in the registry
    (once) so `hasLicense` and the sales' split reach it."""
    from brownie import LicenseTokens

    tokens = LicenseTokens.deploy(core["AssetRegistry"], {"from": deployer})
    core["AssetRegistry"].setLicenseTokens(tokens, {"from": deployer})
    return {"LicenseTokens": tokens}


def deploy_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """Every module, in order; later modules may use what earlier ones returned."""
    deployed: dict[str, Any] = {}
    deployed.update(deploy_dao_modules(core, deployer))
    deployed.update(deploy_compute_modules(core, deployer))
    deployed.update(deploy_license_token_modules(core, deployer))
    return deployed
