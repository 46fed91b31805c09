"""Licence tokens over HTTP: the gateway's license cache follows a token's transfer at once
(the old holder is refused, the new one served), on the deployed registry + LicenseTokens."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web3.contract import Contract

from dapp.chain.contracts import load_abi
from tests.dapp.conftest import Gateway, Kubo, make_settings, start_gateway
from tests.dapp.helpers.content import (
    BUYER,
    PRICE,
    PUBLISHER,
    Market,
    market_for,
    publish,
    transact,
    write_random,
)
from tests.dapp.helpers.gateway import assert_problem, dev_account, session

NEW_HOLDER = dev_account(8)
DOWNLOAD = 0


@pytest.fixture(scope="module")
def gateway(chain, kubo, deployments_file, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-license-tokens")
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file,
                             rate_limit_per_minute=10_000)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def market(gateway: Gateway, kubo: Kubo, deployments_file: Path) -> Market:
    return market_for(gateway, kubo, deployments_file)


@pytest.fixture(scope="module")
def tokens(market: Market, deployments_file: Path) -> Contract:
    entry = json.loads(deployments_file.read_text())[str(market.web3.eth.chain_id)]
    return market.web3.eth.contract(address=entry["LicenseTokens"]["address"],
                                    abi=load_abi("LicenseTokens"))


def download(gateway: Gateway, asset_id: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{gateway.url}/v1/assets/{asset_id}/content", headers=headers, timeout=30)


def test_attack_old_holder_downloads_after_selling_the_licence_token(
        gateway: Gateway, market: Market, tokens: Contract,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("token-asset") / "readings.csv"
    data = write_random(path, 20_000, seed=19)
    asset_id = publish(market, path)
    transact(market, tokens.functions.setTokenOffer(asset_id, 1, True, True), PUBLISHER.address)
    transact(market, market.token.functions.approve(market.registry.address, PRICE),
             BUYER.address)
    transact(market, tokens.functions.buy(asset_id, 1, BUYER.address, market.token.address,
                                          PRICE, 0, DOWNLOAD), BUYER.address)
    old, new = session(gateway, BUYER), session(gateway, NEW_HOLDER)
    for _ in range(2):  # a second download would be served from a cached "yes"
        response = download(gateway, asset_id, old)
        assert response.status_code == 200, response.text
        assert response.content == data
    assert_problem(download(gateway, asset_id, new), 403, "not-licensed")

    token_id = tokens.functions.licenseId(asset_id, DOWNLOAD, True).call()
    transact(market, tokens.functions.safeTransferFrom(
        BUYER.address, NEW_HOLDER.address, token_id, 1, b""), BUYER.address)

    body = assert_problem(download(gateway, asset_id, old), 403, "not-licensed")
    assert body["account"] == BUYER.address
    deadline = time.monotonic() + 3  # the new holder's cached "no" lives ≤ 1 s
    while (response := download(gateway, asset_id, new)).status_code == 403:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.content == data
