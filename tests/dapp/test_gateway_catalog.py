"""Catalog routes over real HTTP on an empty, freshly migrated store: shapes, validation and
errors. (The populated catalog is exercised by the publish → index → browse flow tests.)"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.dapp.conftest import Gateway, make_settings, start_gateway
from tests.dapp.helpers.gateway import ALICE, fresh_challenge, sign_in, sign_text, siwe_text


@pytest.fixture(scope="module")
def gateway(chain, kubo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-catalog")
    started = start_gateway(make_settings(base, chain, kubo), base / "gateway.log")
    yield started
    started.process.stop()


def test_empty_catalog_pages(gateway: Gateway) -> None:
    page = httpx.get(f"{gateway.url}/v1/assets", params={"kind": "dataset", "page_size": 5})
    assert page.status_code == 200, page.text
    assert page.json() == {"items": [], "total": 0, "page": 1, "page_size": 5}


def test_unknown_asset_is_404_problem(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/v1/assets/424242")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "424242" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/assets/424242/versions/1/metadata",
                                  "/v1/assets/0/versions/1/metadata",
                                  "/v1/assets/1/versions/0/metadata"])
def test_metadata_of_a_version_the_catalog_lacks_is_404_not_an_ipfs_read(gateway: Gateway,
                                                                          path: str) -> None:
    """The raw-metadata route reads only CIDs the catalog holds: nothing else reaches IPFS."""
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "has no version" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"owner": "not-an-address"}, 400, "is not an address"),
        ({"kind": "spaceship"}, 422, "does not match"),
        ({"page_size": 1000}, 422, "does not match"),
        ({"page": 0}, 422, "does not match"),
    ],
)
def test_bad_filters_are_clear_errors(gateway: Gateway, params: dict[str, object], status: int,
                                      detail: str) -> None:
    response = httpx.get(f"{gateway.url}/v1/assets", params=params)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_my_licenses_needs_sign_in_and_is_empty_for_a_new_account(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/v1/me/licenses").status_code == 401
    challenge = fresh_challenge(gateway)
    text = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    token = sign_in(gateway, text, sign_text(ALICE, text)).json()["token"]
    mine = httpx.get(f"{gateway.url}/v1/me/licenses", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    assert mine.json() == []


def test_licence_tokens_of_an_account_are_public_and_check_the_address(gateway: Gateway) -> None:
    url = f"{gateway.url}/v1/accounts/{ALICE.address}/licence-tokens"
    assert httpx.get(url).json() == []  # no sign-in: holdings are public on chain
    bad = httpx.get(f"{gateway.url}/v1/accounts/0x1234/licence-tokens")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_dao_directory_over_http(gateway: Gateway) -> None:
    """Shapes and errors of /v1/daos on an empty store (the populated read side is tested
    with the indexer in test_indexer_dao.py)."""
    page = httpx.get(f"{gateway.url}/v1/daos", params={"page_size": 5})
    assert page.status_code == 200, page.text
    assert page.json() == {"items": [], "total": 0, "page": 1, "page_size": 5}
    unknown = httpx.get(f"{gateway.url}/v1/daos/0x{'12' * 20}")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    bad = httpx.get(f"{gateway.url}/v1/daos/not-an-address")
    assert bad.status_code == 422 and "does not match" in bad.json()["detail"]
    assert httpx.get(f"{gateway.url}/v1/daos", params={"page_size": 1000}).status_code == 422


def test_provider_directory_over_http(gateway: Gateway) -> None:
    """Shapes and errors of /v1/providers on an empty store (the populated read side is
    checked against the market in test_indexer_compute.py)."""
    listed = httpx.get(f"{gateway.url}/v1/providers", params={"include_exiting": "true"})
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": []}
    unknown = httpx.get(f"{gateway.url}/v1/providers/0x{'12' * 20}")
    assert unknown.status_code == 404 and "no compute provider" in unknown.json()["detail"]
    assert unknown.headers["content-type"].startswith("application/problem+json")
    bad = httpx.get(f"{gateway.url}/v1/providers/0x123")
    assert bad.status_code == 422 and "does not match" in bad.json()["detail"]
