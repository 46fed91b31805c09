"""Contracts built on the AssetRegistry, deployed by `scripts/deploy.py` after the core.

Each module has its own function (`deploy_dao_modules`, ...) so modules are added independently;
`deploy_modules` calls them in order and returns every contract to record, by name.
"""

from __future__ import annotations

from typing import Any


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


def deploy_modules(core: dict[str, Any], deployer: Any) -> dict[str, Any]:
    """Every module, in order; later modules may use what earlier ones returned."""
    deployed: dict[str, Any] = {}
    deployed.update(deploy_dao_modules(core, deployer))
    return deployed
