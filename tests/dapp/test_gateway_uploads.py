"""Publishing from the browser, the gateway's half: resumable DDX1 uploads and metadata
(`/v1/uploads`), against a real gateway and Kubo."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest

from dapp.crypto.segments import encrypt_stream, generate_content_key
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import AssetMetadata
from tests.dapp.conftest import Gateway, Kubo, make_settings, start_gateway
from tests.dapp.helpers.gateway import assert_problem, dev_account, session

PUBLISHER = dev_account(4)
OTHER = dev_account(6)
MAX_UPLOAD = 300_000
CHUNK = 64 * 1024
MAX_OPEN = 12
MAX_OPEN_BYTES = 1_000_000
MAX_PER_DAY = 1_500_000


@pytest.fixture(scope="module")
def gateway(chain, kubo, deployments_file, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-uploads")
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file,
                             rate_limit_per_minute=10_000, upload_max_bytes=MAX_UPLOAD,
                             upload_max_open=MAX_OPEN, upload_max_open_bytes=MAX_OPEN_BYTES,
                             upload_max_bytes_per_day=MAX_PER_DAY)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


@pytest.fixture(scope="module")
def auth(gateway: Gateway) -> dict[str, str]:
    return session(gateway, PUBLISHER)


@pytest.fixture(scope="module")
def other_auth(gateway: Gateway) -> dict[str, str]:
    return session(gateway, OTHER)


def ddx1(size: int) -> bytes:
    plaintext = os.urandom(size)
    return b"".join(encrypt_stream(generate_content_key(), [plaintext], size))


def start(gateway: Gateway, auth: dict[str, str], size: int) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/uploads", json={"size": size}, headers=auth)


def put(gateway: Gateway, auth: dict[str, str], upload_id: str, data: bytes, start_at: int,
        total: int, content_range: str | None = None) -> httpx.Response:
    header = content_range or f"bytes {start_at}-{start_at + len(data) - 1}/{total}"
    return httpx.put(f"{gateway.url}/v1/uploads/{upload_id}", content=data,
                     headers={**auth, "Content-Range": header}, timeout=60)


def upload_all(gateway: Gateway, auth: dict[str, str], upload_id: str, data: bytes,
               begin: int = 0) -> httpx.Response:
    response = None
    for at in range(begin, len(data), CHUNK):
        response = put(gateway, auth, upload_id, data[at:at + CHUNK], at, len(data))
        assert response.status_code == 200, response.text
    assert response is not None
    return response


def test_an_upload_in_chunks_ends_as_the_same_bytes_on_ipfs(gateway: Gateway, kubo: Kubo,
                                                            auth: dict[str, str]) -> None:
    data = ddx1(200_000)
    created = start(gateway, auth, len(data))
    assert created.status_code == 201, created.text
    upload = created.json()
    assert upload["received"] == 0 and upload["cid"] is None
    done = upload_all(gateway, auth, upload["id"], data).json()
    assert done["received"] == len(data) and done["cid"]
    digest, codec = cid_to_chain(done["cid"])
    assert done["chain"] == {"digest": "0x" + digest.hex(), "codec": codec}
    with IpfsClient(kubo.api_url) as ipfs:
        assert ipfs.cat_bytes(done["cid"]) == data
        assert ipfs.is_pinned(done["cid"])
    status = httpx.get(f"{gateway.url}/v1/uploads/{upload['id']}", headers=auth).json()
    assert status["cid"] == done["cid"]


def _cut_put(gateway: Gateway, auth: dict[str, str], upload_id: str, data: bytes,
             start_at: int, total: int) -> None:
    """Send a chunk's headers and half its body, then drop the connection."""
    url = urlparse(gateway.url)
    request = (f"PUT /v1/uploads/{upload_id} HTTP/1.1\r\nHost: {url.netloc}\r\n"
               f"Authorization: {auth['Authorization']}\r\n"
               f"Content-Range: bytes {start_at}-{start_at + len(data) - 1}/{total}\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port)) as connection:
        connection.sendall(request + data[:len(data) // 2])


def test_a_cut_upload_resumes_from_what_arrived(gateway: Gateway, kubo: Kubo,
                                                auth: dict[str, str]) -> None:
    data = ddx1(150_000)
    upload_id = start(gateway, auth, len(data)).json()["id"]
    assert put(gateway, auth, upload_id, data[:CHUNK], 0, len(data)).status_code == 200
    _cut_put(gateway, auth, upload_id, data[CHUNK:2 * CHUNK], CHUNK, len(data))
    status = httpx.get(f"{gateway.url}/v1/uploads/{upload_id}", headers=auth).json()
    assert status["received"] == CHUNK  # the cut chunk left nothing behind
    again = put(gateway, auth, upload_id, data[:CHUNK], 0, len(data))  # a repeat is refused
    body = assert_problem(again, 409, "upload-offset-mismatch")
    assert body["received"] == CHUNK
    done = upload_all(gateway, auth, upload_id, data, begin=status["received"]).json()
    with IpfsClient(kubo.api_url) as ipfs:
        assert ipfs.cat_bytes(done["cid"]) == data


def test_an_upload_over_the_cap_is_refused_before_any_byte(gateway: Gateway,
                                                           auth: dict[str, str]) -> None:
    assert_problem(start(gateway, auth, MAX_UPLOAD + 1), 413, "upload-too-large")


def test_open_uploads_per_account_are_capped_in_number(gateway: Gateway, auth: dict[str, str],
                                                       other_auth: dict[str, str]) -> None:
    for _ in range(MAX_OPEN):
        assert start(gateway, other_auth, 100).status_code == 201
    body = assert_problem(start(gateway, other_auth, 100), 429, "upload-limit")
    assert "unfinished uploads already" in body["detail"]
    assert start(gateway, auth, 1000).status_code == 201  # another account's budget is its own


def test_open_uploads_per_account_are_capped_in_bytes(gateway: Gateway) -> None:
    heavy = session(gateway, dev_account(8))
    for _ in range(MAX_OPEN_BYTES // MAX_UPLOAD):
        assert start(gateway, heavy, MAX_UPLOAD).status_code == 201
    body = assert_problem(start(gateway, heavy, MAX_UPLOAD), 429, "upload-limit")
    assert f"exceed {MAX_OPEN_BYTES} bytes" in body["detail"]


def test_completed_uploads_cannot_fill_the_node_past_the_daily_cap(gateway: Gateway) -> None:
    """Completed uploads stay pinned and no longer count as open: without a daily cap one
    account could fill the node one capped upload after another."""
    filler = session(gateway, dev_account(9))
    data = ddx1(MAX_UPLOAD - 1000)
    for _ in range(MAX_PER_DAY // len(data)):
        upload_id = start(gateway, filler, len(data)).json()["id"]
        assert upload_all(gateway, filler, upload_id, data).json()["cid"]
    body = assert_problem(start(gateway, filler, len(data)), 429, "upload-limit")
    assert "last 24 hours" in body["detail"]


def test_another_account_cannot_write_or_read_my_upload(gateway: Gateway, auth: dict[str, str],
                                                        ) -> None:
    data = ddx1(100_000)
    upload_id = start(gateway, auth, len(data)).json()["id"]
    intruder = session(gateway, dev_account(7))
    assert_problem(put(gateway, intruder, upload_id, data[:CHUNK], 0, len(data)), 404,
                   "not-found")
    assert_problem(httpx.get(f"{gateway.url}/v1/uploads/{upload_id}", headers=intruder), 404,
                   "not-found")
    assert httpx.get(f"{gateway.url}/v1/uploads/{upload_id}", headers=auth).json()[
        "received"] == 0


def test_uploads_need_a_signed_in_account(gateway: Gateway) -> None:
    assert_problem(httpx.post(f"{gateway.url}/v1/uploads", json={"size": 1000}), 401,
                   "not-authenticated")


@pytest.mark.parametrize("content_range, status, code", [
    (None, 416, "bad-content-range"),
    ("bytes 0-99/999999", 416, "bad-content-range"),     # another total
    ("bytes 5000-4000/{size}", 416, "bad-content-range"),  # backwards
    ("bytes 0-{size}/{size}", 416, "bad-content-range"),  # past the end
    ("items 0-99/{size}", 416, "bad-content-range"),
    ("bytes 100-199/{size}", 409, "upload-offset-mismatch"),  # a gap
    ("bytes 0-49/{size}", 416, "bad-content-range"),      # body is 100 bytes, range says 50
])
def test_bad_content_ranges_are_refused(gateway: Gateway, auth: dict[str, str],
                                        content_range: str | None, status: int,
                                        code: str) -> None:
    size = 60_000
    upload_id = start(gateway, auth, size).json()["id"]
    headers = dict(auth)
    if content_range is not None:
        headers["Content-Range"] = content_range.format(size=size)
    response = httpx.put(f"{gateway.url}/v1/uploads/{upload_id}", content=b"x" * 100,
                         headers=headers)
    assert_problem(response, status, code)
    assert httpx.get(f"{gateway.url}/v1/uploads/{upload_id}", headers=auth).json()[
        "received"] == 0


def test_bytes_that_are_not_ddx1_are_not_added(gateway: Gateway, auth: dict[str, str]) -> None:
    data = os.urandom(5000)
    upload_id = start(gateway, auth, len(data)).json()["id"]
    assert_problem(put(gateway, auth, upload_id, data, 0, len(data)), 422, "not-ddx1")
    assert_problem(httpx.get(f"{gateway.url}/v1/uploads/{upload_id}", headers=auth), 404,
                   "not-found")


def _document(gateway_key: str) -> dict[str, object]:
    return {
        "schema": "datadao/asset-metadata@1", "title": "Rain — 2024", "description": "hourly",
        "kind": "dataset", "tags": ["rain", "weather"], "license": "CC-BY-4.0", "size": 5,
        "files": [{"path": "rain.csv", "size": 5, "sha256": "ab" * 32}],
        "content": {"encrypted": True, "cipher": "aes-256-gcm-ddx1", "segment_size": 65536,
                    "plaintext_size": 5},
        "sealed_keys": [{"gateway_public_key": gateway_key, "sealed_key": "AAAA"}],
        "created_at": "2026-01-02T03:04:05+00:00",
    }


def test_metadata_is_stored_in_the_bytes_python_writes(gateway: Gateway, kubo: Kubo,
                                                       auth: dict[str, str]) -> None:
    key = httpx.get(f"{gateway.url}/v1/gateway").json()["public_key"]
    document = _document(key)
    sent = json.dumps(document, indent=2)  # not canonical: spaces, keys unsorted
    response = httpx.post(f"{gateway.url}/v1/uploads/metadata", content=sent.encode(),
                          headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    canonical = AssetMetadata.model_validate(document).to_canonical_json()
    with IpfsClient(kubo.api_url) as ipfs:
        assert ipfs.cat_bytes(response.json()["cid"]) == canonical
    assert response.json()["size"] == len(canonical)


def test_invalid_metadata_is_refused(gateway: Gateway, auth: dict[str, str]) -> None:
    document = _document("not a key")
    response = httpx.post(f"{gateway.url}/v1/uploads/metadata", json=document, headers=auth)
    body = assert_problem(response, 422, "invalid-metadata")
    assert "gateway_public_key" in body["detail"]


