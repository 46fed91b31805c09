"""The exchange as its users meet it: a publisher on the CLI, a buyer on chain, a download
over HTTP from the gateway subprocess — and the same download surviving a cut connection and
a dead IPFS node. Real ganache, Kubo, gateway; the CLI as a subprocess."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dapp.ports import free_port
from tests.dapp.conftest import (
    Chain,
    Gateway,
    Kubo,
    make_settings,
    start_gateway,
    start_test_kubo,
)
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.publishing import BUYER, new_market, publish_and_buy, write_file

SIZE = 48 * 1024 * 1024 + 4321  # larger than every socket buffer between Kubo and the client


def read_until_cut(response: httpx.Response, limit: int) -> bytes:
    """Read up to `limit` bytes of a streamed body, then stop (the client hangs up)."""
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= limit:
            break
    return bytes(received)


@pytest.fixture(scope="module")
def gateway(chain: Chain, kubo: Kubo, deployments_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("e2e-gateway")
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_cli_publish_chain_purchase_http_download_resumed_after_a_cut(
    chain: Chain, kubo: Kubo, deployments_file: Path, gateway: Gateway, tmp_path: Path
) -> None:
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "sensor-log.bin"
    expected = write_file(source, 5 * 1024 * 1024 + 77)
    asset_id = publish_and_buy(market, gateway, source)
    url = f"{gateway.url}/v1/assets/{asset_id}/content"
    headers = session(gateway, BUYER)

    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        total = int(response.headers["content-length"])
        etag = response.headers["etag"]
        first = read_until_cut(response, 1_500_000)
    assert 0 < len(first) < total

    resumed = httpx.get(url, headers={**headers, "Range": f"bytes={len(first)}-",
                                      "If-Range": etag}, timeout=60)
    assert resumed.status_code == 206, resumed.text
    assert resumed.headers["content-range"] == f"bytes {len(first)}-{total - 1}/{total}"
    assert hashlib.sha256(first + resumed.content).hexdigest() == expected


def test_download_cut_by_a_dead_ipfs_node_resumes_identical_once_it_is_back(
    chain: Chain, deployments_file: Path, tmp_path: Path
) -> None:
    own_kubo = start_test_kubo(tmp_path / "kubo")
    settings = make_settings(tmp_path / "gw", chain, own_kubo, deployments_file=deployments_file)
    own_gateway = start_gateway(settings, tmp_path / "gateway.log")
    try:
        market = new_market(chain, own_kubo, deployments_file, tmp_path / "cli")
        source = tmp_path / "big.bin"
        expected = write_file(source, SIZE)
        asset_id = publish_and_buy(market, own_gateway, source)
        url = f"{own_gateway.url}/v1/assets/{asset_id}/content"
        headers = session(own_gateway, BUYER)

        received = bytearray()
        with pytest.raises(httpx.HTTPError), httpx.stream(
            "GET", url, headers=headers, timeout=60
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= 4 * 1024 * 1024 and own_kubo.process.is_running():
                    own_kubo.process.kill()
        assert 0 < len(received) < SIZE  # the body was cut, not completed with wrong bytes

        while_down = httpx.get(url, headers={**headers, "Range": f"bytes={len(received)}-"},
                               timeout=60)
        assert while_down.status_code == 503, while_down.text
        assert while_down.headers["content-type"].startswith("application/problem+json")

        own_kubo.restart()
        rest = httpx.get(url, headers={**headers, "Range": f"bytes={len(received)}-"},
                         timeout=120)
        assert rest.status_code == 206, rest.text
        assert hashlib.sha256(bytes(received) + rest.content).hexdigest() == expected
        assert httpx.get(f"{own_gateway.url}/healthz", timeout=10).status_code == 200
    finally:
        own_gateway.process.stop()
        own_kubo.process.stop()


def test_cli_download_saves_licensed_content_resumes_a_part_file_and_refuses_without_license(
    chain: Chain, kubo: Kubo, deployments_file: Path, gateway: Gateway, tmp_path: Path
) -> None:
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "readings.bin"
    expected = write_file(source, 3 * 1024 * 1024 + 11)
    asset_id = publish_and_buy(market, gateway, source)
    target = tmp_path / "downloaded.bin"

    first = market.cli_json("download", str(asset_id), "-o", str(target),
                            "--gateway", gateway.url, DAPP_ACCOUNT="buyer")
    assert first["resumed_from"] == 0
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected

    # An interrupted earlier run left the first 1 MB and the ETag it was downloading.
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(target.read_bytes()[:1_000_000])
    target.with_name(target.name + ".etag").write_text(first["etag"])
    target.unlink()
    resumed = market.cli_json("download", str(asset_id), "-o", str(target),
                              "--gateway", gateway.url, DAPP_ACCOUNT="buyer")
    assert resumed["resumed_from"] == 1_000_000
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected

    refused = market.cli("download", str(asset_id), "-o", str(tmp_path / "no.bin"),
                         "--gateway", gateway.url, DAPP_ACCOUNT="curator")
    assert refused.returncode == 6, refused.stderr
    assert "403" in refused.stderr and not (tmp_path / "no.bin").exists()


def test_cli_download_moves_to_the_next_gateway_and_resumes_there_with_range(
    chain: Chain, kubo: Kubo, deployments_file: Path, gateway: Gateway, tmp_path: Path
) -> None:
    """Several --gateway: a dead first one is passed over; the next is asked for the rest of
    what an earlier run left (issue 16; gateways killed mid-stream: test_scale_failover)."""
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "readings.bin"
    expected = write_file(source, 2 * 1024 * 1024 + 5)
    asset_id = publish_and_buy(market, gateway, source)
    target = tmp_path / "downloaded.bin"
    dead = f"http://127.0.0.1:{free_port()}"
    target.with_name(target.name + ".part").write_bytes(source.read_bytes()[:700_000])
    etag = httpx.head(f"{gateway.url}/v1/assets/{asset_id}/content",
                      headers=session(gateway, BUYER), timeout=30).headers["etag"]
    target.with_name(target.name + ".etag").write_text(etag)
    saved = market.cli_json("download", str(asset_id), "-o", str(target), "--gateway", dead,
                            "--gateway", gateway.url, DAPP_ACCOUNT="buyer")
    assert saved["gateway"] == gateway.url  # the dead one was passed over
    assert saved["resumed_from"] == 700_000 and saved["verified"] is True
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected


def test_cli_download_checks_the_output_path_before_the_first_byte(
    chain: Chain, kubo: Kubo, deployments_file: Path, gateway: Gateway, tmp_path: Path
) -> None:
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "readings.csv"
    expected = write_file(source, 200_000)
    asset_id = publish_and_buy(market, gateway, source)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    nowhere = "http://127.0.0.1:9"  # nothing listens: a bad path must fail before asking it
    for output, message in [(Path("/nonexistent-dir/sub/x.tar"),
                             "the folder /nonexistent-dir does not exist"),
                            (Path("/proc/x.tar"), "nothing can be created in /proc"),
                            (a_file / "x.tar", f"{a_file} is a file, not a folder")]:
        result = market.cli("download", str(asset_id), "-o", str(output), "--gateway", nowhere,
                            DAPP_ACCOUNT="buyer")
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2

    into = tmp_path / "downloads"
    into.mkdir()
    saved = market.cli_json("download", str(asset_id), "-o", str(into), "--gateway",
                            gateway.url, DAPP_ACCOUNT="buyer")
    assert saved["path"] == str(into / "readings.csv")
    assert hashlib.sha256((into / "readings.csv").read_bytes()).hexdigest() == expected
    assert sorted(p.name for p in into.iterdir()) == ["readings.csv"]  # no .part, no .etag
