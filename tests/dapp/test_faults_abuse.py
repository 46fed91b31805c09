"""1,000 malformed requests against the gateway subprocess: every answer is a 4xx
problem+json (or a documented non-error for harmless input), nothing answers 5xx, the
process stays up, and a licensed download right after still returns the right bytes."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.dapp.conftest import Chain, Gateway, Kubo, make_settings, start_gateway
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.publishing import BUYER, new_market, publish_and_buy, write_file

REQUESTS = 1000
PATH_TRICKS = [
    "../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e", "-1", "0", "1e3", "0x10",
    "99999999999999999999999999999999999999999999", "%00", "1;DROP TABLE assets", "\uff11",
    "1/../../healthz", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
    "Qm" + "z" * 44, "not-a-cid", "%ff%fe",
]
BAD_RANGES = ["bytes=", "bytes=abc-", "bytes=5-1", "bytes=-0", "items=0-1", "bytes=0-1,5-9,x",
              "bytes=999999999999999999999-"]


# A request that is not valid HTTP (RFC 9110 field values exclude DEL) is refused with a plain
# 400 by uvicorn's parser before the application sees it; every other one gets a problem.
NOT_HTTP = "not HTTP"


@dataclass
class Outcomes:
    statuses: dict[int, int] = field(default_factory=dict)
    not_problem: list[str] = field(default_factory=list)

    def record(self, what: str, response: httpx.Response) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if what.startswith(NOT_HTTP) and response.status_code == 400:
            return  # refused by the HTTP parser (httptools) before the app: no problem+json
        if response.status_code >= 400 and not response.headers.get(
            "content-type", ""
        ).startswith("application/problem+json"):
            self.not_problem.append(f"{what} → {response.status_code} {response.text[:80]}")


def malformed_requests(rng: random.Random, asset_id: int) -> Iterator[tuple[str, dict]]:
    """(description, httpx.request kwargs) — each one wrong in exactly one way."""
    kinds = itertools.cycle(range(9))
    for _ in range(REQUESTS):
        kind = next(kinds)
        if kind == 0:
            trick = rng.choice(PATH_TRICKS)
            yield f"path {trick}", {"method": "GET", "url": f"/v1/assets/{trick}/content"}
        elif kind == 1:
            token = rng.choice(["", "x", "Bearer", "Bearer " + "a" * rng.randint(1, 300),
                                "Basic dXNlcjpwYXNz", "Bearer \x7f"])
            what = NOT_HTTP + " (DEL in a header)" if "\x7f" in token else "bad bearer"
            yield what, {"method": "GET", "url": f"/v1/assets/{asset_id}/content",
                         "headers": {"Authorization": token}}
        elif kind == 2:
            headers = {
                "X-DataDAO-Account": rng.choice(["0x" + "1" * 40, "0xnothex", "", "0x12"]),
                "X-DataDAO-Signature": "0x" + rng.randbytes(rng.choice([0, 10, 65])).hex(),
                "X-DataDAO-Expiry": rng.choice(["0", "-5", "soon", "9" * 30]),
                "X-DataDAO-Nonce": rng.choice(["", "n", "x" * 500]),
            }
            yield "bad request signature", {"method": "GET",
                                            "url": f"/v1/assets/{asset_id}/content",
                                            "headers": headers}
        elif kind == 3:
            body = rng.choice([b"{", b"[]", b"null", b'{"message": 5}', rng.randbytes(64),
                               b'{"message": "x", "signature": "0xzz"}'])
            yield "bad SIWE body", {"method": "POST", "url": "/v1/auth/siwe", "content": body,
                                    "headers": {"Content-Type": "application/json"}}
        elif kind == 4:
            yield "wrong content type", {
                "method": "POST", "url": "/v1/auth/siwe", "content": b"message=x&signature=y",
                "headers": {"Content-Type": rng.choice(["application/x-www-form-urlencoded",
                                                        "text/plain", "image/png"])}}
        elif kind == 5:
            yield "oversize body", {"method": "POST", "url": "/v1/auth/siwe",
                                    "content": b"{" + b" " * (2 * 1024 * 1024) + b"}",
                                    "headers": {"Content-Type": "application/json"}}
        elif kind == 6:
            params = rng.choice([{"page": "-1"}, {"kind": "spaceship"}, {"page_size": "100000"},
                                 {"sort": "'; --"}, {"page": "x"}, {"owner": "0xnope"}])
            yield f"bad query {params}", {"method": "GET", "url": "/v1/assets", "params": params}
        elif kind == 7:
            yield "bad range, unsigned", {"method": "GET",
                                          "url": f"/v1/assets/{asset_id}/content",
                                          "headers": {"Range": rng.choice(BAD_RANGES)}}
        else:
            yield "unknown route or method", rng.choice([
                {"method": "DELETE", "url": f"/v1/assets/{asset_id}"},
                {"method": "PUT", "url": "/v1/auth/nonce"},
                {"method": "GET", "url": "/v1/" + "a/" * rng.randint(1, 50)},
                {"method": "TRACE", "url": "/healthz"},
            ])


@pytest.fixture(scope="module")
def gateway(chain: Chain, kubo: Kubo, deployments_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("abuse-gateway")
    # A rate limit high enough that the flood is judged on its content, not its volume.
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file,
                             rate_limit_per_minute=100_000)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_a_thousand_malformed_requests_get_4xx_problems_and_the_gateway_keeps_serving(
    chain: Chain, kubo: Kubo, deployments_file: Path, gateway: Gateway, tmp_path: Path
) -> None:
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "dataset.bin"
    expected = write_file(source, 300_000)
    asset_id = publish_and_buy(market, gateway, source)

    outcomes = Outcomes()
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        for what, request in malformed_requests(random.Random(7), asset_id):
            response = client.request(**request)
            outcomes.record(what, response)
            assert response.status_code < 500, f"{what}: {response.status_code} {response.text}"
        assert gateway.process.is_running()
        assert not outcomes.not_problem, outcomes.not_problem[:10]
        errors = sum(n for status, n in outcomes.statuses.items() if status >= 400)
        assert errors >= REQUESTS * 0.9, outcomes.statuses  # harmless ones may be 200 (a query)

        headers = session(gateway, BUYER)
        download = client.get(f"/v1/assets/{asset_id}/content", headers=headers)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == expected
