"""Operations over real HTTP: Prometheus metrics, per-client rate limits, body size limits,
CORS for the dApp's origin, and access logs that never contain a credential. Each test speaks
from its own loopback address (127.0.0.N), so each has its own rate-limit bucket: an
`X-DataDAO-Account` header no longer gives one (docs/SECURITY.md)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.dapp.conftest import Gateway, make_settings, start_gateway

DAPP_ORIGIN = "http://localhost:5173"


def from_address(last_octet: int) -> httpx.Client:
    """A client whose requests come from 127.0.0.<last_octet>."""
    local = f"127.0.0.{last_octet}"
    return httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=30)


@pytest.fixture(scope="module")
def strict_gateway(chain, kubo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-ops")
    settings = make_settings(base, chain, kubo, rate_limit_per_minute=5, max_request_bytes=2048,
                             cors_origins=[DAPP_ORIGIN])
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_rate_limit_answers_429_with_retry_after_per_client(strict_gateway: Gateway) -> None:
    url = f"{strict_gateway.url}/v1/auth/nonce"
    with from_address(1) as http:
        statuses = [http.get(url).status_code for _ in range(8)]
        assert statuses.count(200) <= 5 and statuses[-1] == 429
        limited = http.get(url)
        assert limited.status_code == 429
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert int(limited.headers["Retry-After"]) >= 1
        # an account header asserts nothing: it does not open another bucket
        other = http.get(url, headers={"X-DataDAO-Account": "0x" + "11" * 20})
        assert other.status_code == 429
        # health stays reachable for the operator's probes (a loopback peer)
        assert http.get(f"{strict_gateway.url}/healthz").status_code == 200
    with from_address(2) as http:  # another client address has its own bucket
        assert http.get(url).status_code == 200


def test_oversize_bodies_are_413_declared_or_streamed(strict_gateway: Gateway) -> None:
    url = f"{strict_gateway.url}/v1/auth/siwe"
    headers = {"content-type": "application/json"}
    with from_address(3) as http:
        declared = http.post(url, content=b"x" * 5000, headers=headers)
        assert declared.status_code == 413
        assert declared.json()["detail"] == "request bodies are limited to 2048 bytes"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 1000

        streamed = http.post(url, content=chunks(), headers=headers)  # chunked, no length
        assert streamed.status_code == 413


def test_cors_allows_the_dapp_origin_only(strict_gateway: Gateway) -> None:
    preflight = {"Origin": DAPP_ORIGIN, "Access-Control-Request-Method": "GET"}
    with from_address(4) as http:
        allowed = http.options(f"{strict_gateway.url}/v1/auth/nonce", headers=preflight)
        assert allowed.headers.get("access-control-allow-origin") == DAPP_ORIGIN
        denied = http.options(f"{strict_gateway.url}/v1/auth/nonce",
                              headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in denied.headers


def test_metrics_count_requests_and_logs_hold_no_credentials(strict_gateway: Gateway) -> None:
    secret_token = "c2VjcmV0LXBheWxvYWQ.c2VjcmV0LW1hYw"
    with from_address(5) as http:
        http.get(f"{strict_gateway.url}/v1/auth/me",
                 headers={"Authorization": f"Bearer {secret_token}",
                          "X-DataDAO-Account": "0x" + "44" * 20})
        text = http.get(f"{strict_gateway.url}/metrics").text  # a loopback peer: an operator
    assert 'gateway_requests_total{method="GET",route="/v1/auth/me",status="401"}' in text
    assert "gateway_rate_limited_total" in text
    assert "gateway_license_check_seconds_bucket" in text
    assert "gateway_vouchers_pending" in text
    log = strict_gateway.process.log_file.read_text()
    assert '"route": "/v1/auth/me"' in log
    assert secret_token not in log and "c2VjcmV0" not in log
