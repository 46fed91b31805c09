"""Licensed downloads against the real stack: ganache with the deployed registry, Kubo, and the
gateway as a subprocess. Each asset is prepared with the library itself (helpers/content.py:
pack, encrypt with a content key, add to IPFS, metadata with the key sealed to the gateway's
public key from `/v1/gateway`, publish on chain), and bought with approve + buy from another
account."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web3.contract import Contract

from dapp.chain.contracts import load_abi
from dapp.crypto.segments import HEADER_SIZE, TAG_SIZE
from dapp.packing import iter_packed, plan_pack
from tests.dapp.conftest import (
    Gateway,
    Kubo,
    make_settings,
    start_gateway,
    start_test_kubo,
)
from tests.dapp.helpers.content import (
    BUYER,
    PRICE,
    PUBLISHER,
    SEGMENT,
    Market,
    buy,
    market_for,
    publish,
    transact,
    write_random,
)
from tests.dapp.helpers.gateway import assert_problem, dev_account, session

STRANGER = dev_account(6)
SHORT_BUYER = dev_account(7)
NEW_HOLDER = dev_account(8)
ODD_SIZE = 1024 * 1024 + 12_345


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gateway(chain, kubo, deployments_file, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-content")
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file,
                             rate_limit_per_minute=10_000)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def market(gateway: Gateway, kubo: Kubo, deployments_file: Path) -> Market:
    return market_for(gateway, kubo, deployments_file)


@dataclass
class Asset:
    asset_id: int
    data: bytes
    filename: str


@pytest.fixture(scope="module")
def asset(market: Market, tmp_path_factory: pytest.TempPathFactory) -> Asset:
    """An encrypted 1 MiB + 12345 byte file, bought (perpetual) by BUYER."""
    path = tmp_path_factory.mktemp("asset") / "stations.csv"
    data = write_random(path, ODD_SIZE, seed=1)
    asset_id = publish(market, path)
    buy(market, asset_id, BUYER.address)
    return Asset(asset_id, data, "stations.csv")


@pytest.fixture(scope="module")
def buyer(gateway: Gateway) -> dict[str, str]:
    return session(gateway, BUYER)


def content_url(gateway: Gateway, asset_id: int) -> str:
    return f"{gateway.url}/v1/assets/{asset_id}/content"


# --- tests ------------------------------------------------------------------------------------
def test_gateway_shows_its_sealing_key_chain_and_registry(gateway: Gateway,
                                                          deployments_file: Path) -> None:
    info = httpx.get(f"{gateway.url}/v1/gateway").json()
    registry = json.loads(deployments_file.read_text())["1337"]["AssetRegistry"]["address"]
    assert info["chain_id"] == 1337
    assert info["registry"] == registry
    assert info["url"] == gateway.url
    key_file = Path(gateway.settings.data_dir) / "keys" / "gateway-x25519.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(key_file.read_text())["public_key"] == info["public_key"]


def test_unsigned_request_is_401(gateway: Gateway, asset: Asset) -> None:
    assert_problem(httpx.get(content_url(gateway, asset.asset_id)), 401, "not-authenticated")


def test_account_without_license_gets_403_naming_asset_and_reason(gateway: Gateway,
                                                                  asset: Asset) -> None:
    response = httpx.get(content_url(gateway, asset.asset_id), headers=session(gateway, STRANGER))
    body = assert_problem(response, 403, "not-licensed")
    assert body["asset_id"] == asset.asset_id and body["reason"] == "no-license"
    assert body["account"] == STRANGER.address and body["scope"] == "download"
    assert f"asset {asset.asset_id}" in body["detail"]


def test_full_download_is_the_plaintext_with_entity_headers(gateway: Gateway, asset: Asset,
                                                            buyer: dict[str, str]) -> None:
    response = httpx.get(content_url(gateway, asset.asset_id), headers=buyer, timeout=60)
    assert response.status_code == 200, response.text
    assert response.content == asset.data
    assert response.headers["content-length"] == str(ODD_SIZE)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="stations.csv"' in response.headers["content-disposition"]
    assert response.headers["etag"].startswith('"b') and response.headers["etag"].endswith('.v1"')
    assert response.headers["x-datadao-version"] == "1"
    assert "last-modified" in response.headers


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),                                          # first bytes
    (f"bytes={SEGMENT - 10}-{2 * SEGMENT + 9}", SEGMENT - 10, 2 * SEGMENT + 9),  # across segments
    (f"bytes={ODD_SIZE - 7}-", ODD_SIZE - 7, ODD_SIZE - 1),         # last bytes
    ("bytes=-1000", ODD_SIZE - 1000, ODD_SIZE - 1),                 # suffix
    (f"bytes=500000-{ODD_SIZE + 999}", 500000, ODD_SIZE - 1),       # end past the size
])
def test_range_is_206_with_exactly_those_bytes(gateway: Gateway, asset: Asset,
                                               buyer: dict[str, str], header: str, start: int,
                                               end: int) -> None:
    response = httpx.get(content_url(gateway, asset.asset_id),
                         headers={**buyer, "Range": header}, timeout=30)
    assert response.status_code == 206, response.text
    assert response.headers["content-range"] == f"bytes {start}-{end}/{ODD_SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == asset.data[start:end + 1]


def test_resumed_ranges_reassemble_the_file(gateway: Gateway, asset: Asset,
                                            buyer: dict[str, str]) -> None:
    etag = httpx.head(content_url(gateway, asset.asset_id), headers=buyer).headers["etag"]
    cuts = sorted(random.Random(7).sample(range(1, ODD_SIZE), 6))
    parts = []
    with httpx.Client(headers=buyer, timeout=30) as client:
        for start, stop in zip([0, *cuts], [*cuts, ODD_SIZE], strict=True):
            response = client.get(content_url(gateway, asset.asset_id),
                                  headers={"Range": f"bytes={start}-{stop - 1}", "If-Range": etag})
            assert response.status_code == 206
            parts.append(response.content)
    assert b"".join(parts) == asset.data


def test_if_range_with_another_etag_sends_the_whole_file(gateway: Gateway, asset: Asset,
                                                         buyer: dict[str, str]) -> None:
    response = httpx.get(content_url(gateway, asset.asset_id), timeout=30, headers={
        **buyer, "Range": "bytes=0-9", "If-Range": '"bafystale.v1"'})
    assert response.status_code == 200 and response.content == asset.data


def test_if_none_match_is_304(gateway: Gateway, asset: Asset, buyer: dict[str, str]) -> None:
    etag = httpx.head(content_url(gateway, asset.asset_id), headers=buyer).headers["etag"]
    response = httpx.get(content_url(gateway, asset.asset_id),
                         headers={**buyer, "If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag


def test_unsatisfiable_range_is_416(gateway: Gateway, asset: Asset, buyer: dict[str, str]) -> None:
    response = httpx.get(content_url(gateway, asset.asset_id),
                         headers={**buyer, "Range": f"bytes={ODD_SIZE}-"})
    assert_problem(response, 416, "range-not-satisfiable")
    assert response.headers["content-range"] == f"bytes */{ODD_SIZE}"


def test_unknown_asset_or_version_is_404(gateway: Gateway, asset: Asset,
                                         buyer: dict[str, str]) -> None:
    assert_problem(httpx.get(content_url(gateway, 999_999), headers=buyer), 404, "not-found")
    response = httpx.get(content_url(gateway, asset.asset_id), params={"version": 2},
                         headers=buyer)
    body = assert_problem(response, 404, "not-found")
    assert "no version 2" in body["detail"]
    ok = httpx.get(content_url(gateway, asset.asset_id), params={"version": 1},
                   headers={**buyer, "Range": "bytes=0-0"})
    assert ok.status_code == 206


def test_head_gives_the_headers_without_a_body(gateway: Gateway, asset: Asset,
                                               buyer: dict[str, str]) -> None:
    response = httpx.head(content_url(gateway, asset.asset_id), headers=buyer)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(ODD_SIZE)
    assert response.content == b""
    ranged = httpx.head(content_url(gateway, asset.asset_id),
                        headers={**buyer, "Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 10-19/{ODD_SIZE}"
    assert httpx.head(content_url(gateway, asset.asset_id)).status_code == 401


def test_open_folder_asset_streams_the_tar_as_is(market: Market, gateway: Gateway,
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    (folder / "docs").mkdir(parents=True)
    write_random(folder / "docs" / "a.txt", 70_000, seed=2)
    write_random(folder / "b.bin", 3, seed=3)
    asset_id = publish(market, folder, title="Open corpus", encrypted=False)
    buy(market, asset_id, BUYER.address)
    expected = b"".join(iter_packed(folder, plan_pack(folder)))
    headers = session(gateway, BUYER)
    response = httpx.get(content_url(gateway, asset_id), headers=headers, timeout=30)
    assert response.status_code == 200 and response.content == expected
    assert response.headers["content-type"] == "application/x-tar"
    assert 'filename="Open-corpus.tar"' in response.headers["content-disposition"]
    ranged = httpx.get(content_url(gateway, asset_id), headers={**headers, "Range": "bytes=-5"})
    assert ranged.status_code == 206 and ranged.content == expected[-5:]


def test_asset_sealed_to_another_gateway_is_409(market: Market, gateway: Gateway,
                                                tmp_path: Path) -> None:
    from dapp.crypto.sealing import GatewayKeyPair

    path = tmp_path / "elsewhere.bin"
    write_random(path, 1000, seed=4)
    asset_id = publish(market, path, seal_to=GatewayKeyPair.generate().public_key_b64)
    buy(market, asset_id, BUYER.address)
    response = httpx.get(content_url(gateway, asset_id), headers=session(gateway, BUYER))
    body = assert_problem(response, 409, "not-sealed-to-gateway")
    assert body["gateway_public_key"] == market.gateway_key()


def test_tampered_segment_fails_before_headers_or_cuts_the_connection(
        market: Market, gateway: Gateway, tmp_path: Path) -> None:
    path = tmp_path / "tampered.bin"
    data = write_random(path, 5 * SEGMENT, seed=5)
    third_segment = HEADER_SIZE + 3 * (SEGMENT + TAG_SIZE) + 100
    asset_id = publish(market, path, tamper_at=third_segment)
    buy(market, asset_id, BUYER.address)
    headers = session(gateway, BUYER)
    url = content_url(gateway, asset_id)
    intact = httpx.get(url, headers={**headers, "Range": f"bytes=0-{SEGMENT - 1}"})
    assert intact.status_code == 206 and intact.content == data[:SEGMENT]
    assert_problem(httpx.get(url, headers={**headers, "Range": f"bytes={3 * SEGMENT}-"}),
                   502, "content-integrity")
    received = bytearray()
    # the headers were out when segment 3 failed: the body is cut short
    with (pytest.raises(httpx.RemoteProtocolError),
          httpx.stream("GET", url, headers=headers, timeout=30) as response):
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) <= 3 * SEGMENT and bytes(received) == data[:len(received)]


def test_downloads_are_recorded_and_counted_for_the_owner_only(
        gateway: Gateway, asset: Asset, buyer: dict[str, str]) -> None:
    url = f"{gateway.url}/v1/assets/{asset.asset_id}/downloads"
    before = httpx.get(url, headers=session(gateway, PUBLISHER)).json()
    whole = httpx.get(content_url(gateway, asset.asset_id), headers=buyer, timeout=30)
    part = httpx.get(content_url(gateway, asset.asset_id), headers={**buyer, "Range": "bytes=0-9"})
    assert (whole.status_code, part.status_code) == (200, 206)
    after = httpx.get(url, headers=session(gateway, PUBLISHER))
    assert after.status_code == 200, after.text
    stats = after.json()
    assert stats["downloads"] == before["downloads"] + 2
    assert stats["full_downloads"] == before["full_downloads"] + 1
    assert stats["bytes_served"] == before["bytes_served"] + ODD_SIZE + 10
    assert stats["accounts"] == 1 and stats["versions"][0]["version"] == 1
    assert_problem(httpx.get(url, headers=buyer), 403, "not-asset-owner")
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'gateway_downloads_total{outcome="complete"}' in metrics
    assert "gateway_bytes_served_total" in metrics


def test_a_download_counts_once_per_licensee_when_its_last_byte_is_served(
        market: Market, gateway: Gateway, tmp_path: Path) -> None:
    """A part that stops short of the end does not complete a download; the resumed last part
    does; the same licensee downloading again adds requests, not a completed download."""
    path = tmp_path / "counted.bin"
    size = 20_000
    write_random(path, size, seed=11)
    asset_id = publish(market, path)
    buy(market, asset_id, BUYER.address)
    headers, owner = session(gateway, BUYER), session(gateway, PUBLISHER)
    url = content_url(gateway, asset_id)
    stats_url = f"{gateway.url}/v1/assets/{asset_id}/downloads"

    assert httpx.get(url, headers={**headers, "Range": "bytes=0-9"}).status_code == 206
    stats = httpx.get(stats_url, headers=owner).json()
    assert (stats["downloads"], stats["completed"]) == (1, 0)
    last = httpx.get(url, headers={**headers, "Range": f"bytes=10-{size - 1}"})
    assert last.status_code == 206 and len(last.content) == size - 10
    assert httpx.get(url, headers=headers, timeout=30).status_code == 200
    stats = httpx.get(stats_url, headers=owner).json()
    assert (stats["downloads"], stats["completed"], stats["accounts"]) == (3, 1, 1)
    assert stats["versions"][0]["completed"] == 1


def test_expired_license_is_403_within_the_cache_ttl(market: Market, gateway: Gateway,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "hourly.bin"
    write_random(path, 2000, seed=6)
    asset_id = publish(market, path, duration=3600)
    buy(market, asset_id, SHORT_BUYER.address)
    headers = session(gateway, SHORT_BUYER)
    url = content_url(gateway, asset_id)
    assert httpx.get(url, headers=headers).status_code == 200  # answer now cached as licensed
    market.web3.provider.make_request("evm_increaseTime", [7200])  # type: ignore[arg-type]
    market.web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    deadline = time.monotonic() + 5.0 + 1.5  # the license cache keeps a yes ≤ 5 s
    while True:
        response = httpx.get(url, headers=headers)
        if response.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    body = assert_problem(response, 403, "not-licensed")
    assert body["reason"] == "expired" and body["expired_at"] > 0
    assert "expired" in body["detail"]


def test_kubo_down_is_503(chain, deployments_file: Path, tmp_path: Path) -> None:
    own_kubo = start_test_kubo(tmp_path)
    settings = make_settings(tmp_path, chain, own_kubo, deployments_file=deployments_file)
    own_gateway = start_gateway(settings, tmp_path / "gateway.log")
    try:
        market = market_for(own_gateway, own_kubo, deployments_file)
        path = tmp_path / "small.bin"
        data = write_random(path, 3 * SEGMENT + 1, seed=8)
        asset_id = publish(market, path)
        buy(market, asset_id, BUYER.address)
        headers = session(own_gateway, BUYER)
        url = content_url(own_gateway, asset_id)
        assert httpx.get(url, headers=headers, timeout=30).content == data  # caches meta + key
        own_kubo.process.stop()
        body = assert_problem(httpx.get(url, headers=headers, timeout=30), 503,
                              "ipfs-unavailable")
        assert "unreachable" in body["detail"]
    finally:
        own_gateway.process.stop()
        own_kubo.process.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_100_mb_download_streams_in_bounded_memory(market: Market, gateway: Gateway,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    size = 100 * 1024 * 1024 + 777
    path = tmp_path / "big.bin"
    expected = hashlib.sha256()
    with path.open("wb") as file:
        for _ in range(100):
            block = os.urandom(1024 * 1024)
            expected.update(block)
            file.write(block)
        file.write(b"\x07" * 777)
        expected.update(b"\x07" * 777)
    asset_id = publish(market, path, title="Big")
    buy(market, asset_id, BUYER.address)
    headers = session(gateway, BUYER)
    url = content_url(gateway, asset_id)
    httpx.get(url, headers={**headers, "Range": "bytes=0-0"})  # warm caches and code paths
    before = rss_kib(gateway.process.pid)
    received = hashlib.sha256()
    count = 0
    started = time.perf_counter()
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes(256 * 1024):
            received.update(chunk)
            count += len(chunk)
    elapsed = time.perf_counter() - started
    after = rss_kib(gateway.process.pid)
    assert count == size and received.hexdigest() == expected.hexdigest()
    growth_mb = (after - before) / 1024
    with capsys.disabled():
        print(f"\n100 MB download: {size / 1e6 / elapsed:.1f} MB/s, "
              f"gateway RSS {before // 1024} → {after // 1024} MiB")
    assert growth_mb < 64, f"gateway RSS grew by {growth_mb:.1f} MiB"

    # a client that leaves early is logged with the bytes it got, not the whole file
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        next(response.iter_bytes(1024 * 1024))
    owner = session(gateway, PUBLISHER)
    deadline = time.monotonic() + 10
    while True:
        stats = httpx.get(f"{gateway.url}/v1/assets/{asset_id}/downloads", headers=owner).json()
        if stats["downloads"] == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stats["downloads"] == 3 and stats["full_downloads"] == 2
    assert size + 1 < stats["bytes_served"] < 2 * size + 1
    assert 'gateway_downloads_total{outcome="disconnected"} 1.0' in httpx.get(
        f"{gateway.url}/metrics").text


# --- licence tokens (issue 19) ------------------------------------------------------------------
@pytest.fixture(scope="module")
def tokens(market: Market, deployments_file: Path) -> Contract:
    entry = json.loads(deployments_file.read_text())[str(market.web3.eth.chain_id)]
    return market.web3.eth.contract(address=entry["LicenseTokens"]["address"],
                                    abi=load_abi("LicenseTokens"))


def download(gateway: Gateway, asset_id: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(content_url(gateway, asset_id), headers=headers, timeout=30)


def buyer_holds_a_licence_token(market: Market, tokens: Contract, folder: Path,
                                seed: int) -> tuple[int, bytes]:
    """A fresh asset whose offer 1 issues transferable licence tokens, one bought by BUYER:
    (asset id, its bytes)."""
    path = folder / "readings.csv"
    data = write_random(path, 20_000, seed=seed)
    asset_id = publish(market, path)
    transact(market, tokens.functions.setTokenOffer(asset_id, 1, True, True), PUBLISHER.address)
    transact(market, market.token.functions.approve(market.registry.address, PRICE),
             BUYER.address)
    transact(market, tokens.functions.buy(asset_id, 1, BUYER.address, market.token.address,
                                          PRICE, 0, 0), BUYER.address)
    return asset_id, data


def served_within(gateway: Gateway, asset_id: int, headers: dict[str, str],
                  seconds: float) -> httpx.Response:
    """The download once a cached "no" has run out: 403 until then, 200 within `seconds`."""
    deadline = time.monotonic() + seconds
    while (response := download(gateway, asset_id, headers)).status_code == 403:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    return response


def test_attack_old_holder_downloads_after_selling_the_licence_token(
        gateway: Gateway, market: Market, tokens: Contract,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    asset_id, data = buyer_holds_a_licence_token(market, tokens,
                                                 tmp_path_factory.mktemp("token-asset"), seed=19)
    old, new = session(gateway, BUYER), session(gateway, NEW_HOLDER)
    for _ in range(2):  # a second download would be served from a cached "yes"
        response = download(gateway, asset_id, old)
        assert response.status_code == 200, response.text
        assert response.content == data
    assert_problem(download(gateway, asset_id, new), 403, "not-licensed")

    token_id = tokens.functions.licenseId(asset_id, 0, True).call()
    transact(market, tokens.functions.safeTransferFrom(
        BUYER.address, NEW_HOLDER.address, token_id, 1, b""), BUYER.address)

    body = assert_problem(download(gateway, asset_id, old), 403, "not-licensed")
    assert body["account"] == BUYER.address
    # the new holder's cached "no" lives ≤ 1 s
    assert served_within(gateway, asset_id, new, seconds=3).content == data


def test_attack_lender_downloads_a_lent_licence_token(
        gateway: Gateway, market: Market, tokens: Contract,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """ERC-4907 lending: while lent, the holder is refused at once (a token's "yes" is never
    cached) and the user is served."""
    asset_id, data = buyer_holds_a_licence_token(market, tokens,
                                                 tmp_path_factory.mktemp("lent-asset"), seed=23)
    lender, user = session(gateway, BUYER), session(gateway, NEW_HOLDER)
    for _ in range(2):  # a second download would be served from a cached "yes"
        assert download(gateway, asset_id, lender).status_code == 200
    assert_problem(download(gateway, asset_id, user), 403, "not-licensed")

    token_id = tokens.functions.licenseId(asset_id, 0, True).call()
    now = market.web3.eth.get_block("latest")["timestamp"]
    transact(market, tokens.functions.setUser(token_id, NEW_HOLDER.address, now + 86400),
             BUYER.address)

    body = assert_problem(download(gateway, asset_id, lender), 403, "not-licensed")
    assert body["account"] == BUYER.address
    # the user's cached "no" lives ≤ 1 s
    assert served_within(gateway, asset_id, user, seconds=3).content == data
