"""Fixtures and helpers shared by the licence-token tests (LicenseTokens deployed beside the
registry, an asset whose offers issue tokens, a token buy).

Kept out of conftest.py so the other suites get no LicenseTokens fixture (compute_helpers.py
does the same for the ComputeMarket tests).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import COMPUTE, PRICE, offer_input, publish_asset


@pytest.fixture(scope="module")
def tokens(LicenseTokens: Any, registry: Any, admin: Any, accounts: Any) -> Any:
    deployed = LicenseTokens.deploy(registry, {"from": admin})
    registry.setLicenseTokens(deployed, {"from": admin})
    return deployed


@pytest.fixture(scope="module")
def token_asset(registry: Any, token: Any, publisher: Any, tokens: Any) -> int:
    """A dataset with offer 1 (30-day DOWNLOAD, 10 DDT, transferable tokens), offer 2
    (perpetual COMPUTE, non-transferable tokens) and offer 3 (address-bound only)."""
    asset_id = publish_asset(registry, token, publisher, "tokens", offers=[
        offer_input(token), offer_input(token, PRICE, 0, COMPUTE), offer_input(token),
    ])
    tokens.setTokenOffer(asset_id, 1, True, True, {"from": publisher})
    tokens.setTokenOffer(asset_id, 2, True, False, {"from": publisher})
    return asset_id


def buy_token(tokens: Any, registry: Any, asset_id: int, offer_id: int, licensee: Any,
              sender: Any) -> Any:
    offer = registry.offer(asset_id, offer_id)
    return tokens.buy(asset_id, offer_id, licensee, offer[0], offer[1], offer[2], offer[3],
                      {"from": sender})
