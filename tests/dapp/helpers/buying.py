"""A registry purchase for tests that need a license as a step: the 7-argument `buy`, its
terms taken from the offer as it reads now (a client shows the user the offer first and commits
to those terms; here the test is both)."""

from __future__ import annotations

from typing import Any

from dapp.publishing.exchange import BUY_SIGNATURE


def buy_call(registry: Any, asset_id: int, offer_id: int, licensee: str) -> Any:
    token, price, duration, scope, _ = registry.functions.offer(asset_id, offer_id).call()
    return registry.get_function_by_signature(BUY_SIGNATURE)(
        asset_id, offer_id, licensee, token, price, duration, scope)
