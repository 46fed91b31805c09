"""Operations over real HTTP: Prometheus metrics, per-account rate limits, body size limits,
CORS for the dApp's origin, and access logs that never contain a credential."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.dapp.conftest import Gateway, make_settings, start_gateway

DAPP_ORIGIN = "http://localhost:5173"


@pytest.fixture(scope="module")
def strict_gateway(chain, kubo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-ops")
    settings = make_settings(base, chain, kubo, rate_limit_per_minute=5, max_request_bytes=2048,
                             cors_origins=[DAPP_ORIGIN])
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_rate_limit_answers_429_with_retry_after_per_account(strict_gateway: Gateway) -> None:
    url = f"{strict_gateway.url}/v1/auth/nonce"
    statuses = [httpx.get(url).status_code for _ in range(8)]
    assert statuses.count(200) <= 5 and statuses[-1] == 429
    limited = httpx.get(url)
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert int(limited.headers["Retry-After"]) >= 1
    # another account has its own bucket (counted by the signed-request account header)
    other = httpx.get(url, headers={"X-DataDAO-Account": "0x" + "11" * 20})
    assert other.status_code == 200
    # health stays reachable for probes
    assert httpx.get(f"{strict_gateway.url}/healthz").status_code == 200


def test_oversize_bodies_are_413_declared_or_streamed(strict_gateway: Gateway) -> None:
    url = f"{strict_gateway.url}/v1/auth/siwe"
    headers = {"X-DataDAO-Account": "0x" + "22" * 20, "content-type": "application/json"}
    declared = httpx.post(url, content=b"x" * 5000, headers=headers)
    assert declared.status_code == 413
    assert declared.json()["detail"] == "request bodies are limited to 2048 bytes"

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    streamed = httpx.post(url, content=chunks(), headers=headers)  # chunked, no length
    assert streamed.status_code == 413


def test_cors_allows_the_dapp_origin_only(strict_gateway: Gateway) -> None:
    preflight = {"Origin": DAPP_ORIGIN, "Access-Control-Request-Method": "GET",
                 "X-DataDAO-Account": "0x" + "33" * 20}
    allowed = httpx.options(f"{strict_gateway.url}/v1/auth/nonce", headers=preflight)
    assert allowed.headers.get("access-control-allow-origin") == DAPP_ORIGIN
    denied = httpx.options(f"{strict_gateway.url}/v1/auth/nonce",
                           headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in denied.headers


def test_metrics_count_requests_and_logs_hold_no_credentials(strict_gateway: Gateway) -> None:
    secret_token = "c2VjcmV0LXBheWxvYWQ.c2VjcmV0LW1hYw"
    httpx.get(f"{strict_gateway.url}/v1/auth/me",
              headers={"Authorization": f"Bearer {secret_token}",
                       "X-DataDAO-Account": "0x" + "44" * 20})
    text = httpx.get(f"{strict_gateway.url}/metrics").text
    assert 'gateway_requests_total{method="GET",route="/v1/auth/me",status="401"}' in text
    assert "gateway_rate_limited_total" in text
    assert "gateway_license_check_seconds_bucket" in text
    assert "gateway_vouchers_pending" in text
    log = strict_gateway.process.log_file.read_text()
    assert '"route": "/v1/auth/me"' in log
    assert secret_token not in log and "c2VjcmV0" not in log
