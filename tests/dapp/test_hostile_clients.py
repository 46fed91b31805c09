"""A hostile client against the gateway as a real HTTP server (issue 15, the gateway's side).

Each test is named after an attack and shows that it no longer works: rotating or spraying the
account header to dodge or aim the rate limit, flooding sign-in nonces, asking for internal
addresses while the chain is down, a contract "wallet" that burns gas on every sign-in,
overlong fields on PostgreSQL, a non-numeric asset id, a signed request replayed with another
query or body, and one licensee holding every IPFS stream.
Two source addresses come from binding the client socket to 127.0.0.1 and 127.0.0.2; a
non-operator caller from a trusted proxy's `X-Forwarded-For`."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak
from web3 import Web3

from dapp.client.gateway import siwe_message
from dapp.devstack.process import REPO_ROOT
from dapp.errors import NotAuthenticated
from dapp.gateway.auth.nonces import NonceStore
from dapp.gateway.auth.request_signing import SignedRequest, typed_request, verify_signed_request
from dapp.gateway.auth.signatures import signed_by
from dapp.gateway.vouchers import VoucherLedger
from dapp.ports import free_port
from dapp.store.db import make_engine
from tests.dapp.conftest import Chain, Gateway, Kubo, Postgres, make_settings, start_gateway
from tests.dapp.helpers.gateway import dev_account, session, sign_text
from tests.dapp.helpers.publishing import BUYER, new_market, publish_and_buy, write_file

ALICE = dev_account(1)
MALLORY = dev_account(2)
ATTACKER_IP = "127.0.0.2"  # a second source address on the loopback network


def client(local_address: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=local_address),
                        timeout=30, **kwargs)


@pytest.fixture
def fresh_gateway(chain: Chain, kubo: Kubo, tmp_path: Path) -> Iterator[Any]:
    """Start gateways with their own data folder; stopped after the test."""
    started: list[Gateway] = []

    def start(**overrides: Any) -> Gateway:
        base = tmp_path / f"gw{len(started)}"
        settings = make_settings(base, chain, kubo).with_overrides(**overrides)
        gateway = start_gateway(settings, base / "gateway.log")
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.process.stop()


def signed_headers(gateway_url: str, signer: Any, path: str, *, query: str = "",
                   body: bytes = b"", method: str = "GET", nonce: str | None = None,
                   account: str | None = None) -> dict[str, str]:
    request = SignedRequest(
        account=account or signer.address, signature="", method=method, path=path, asset_id=0,
        expiry=int(time.time()) + 120, nonce=nonce or secrets.token_hex(12), query=query,
        body_hash=keccak(body),
    )
    document = typed_request(request, gateway_url, 1337)
    signature = signer.sign_message(encode_typed_data(full_message=document)).signature
    return {
        "X-DataDAO-Account": request.account,
        "X-DataDAO-Signature": "0x" + signature.hex().removeprefix("0x"),
        "X-DataDAO-Expiry": str(request.expiry),
        "X-DataDAO-Nonce": request.nonce,
    }


def statuses(responses: list[httpx.Response]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for response in responses:
        counted[response.status_code] = counted.get(response.status_code, 0) + 1
    return counted


# --- the rate limit is keyed on who was verified, else on the client address ------------------
def test_rotating_the_account_header_does_not_escape_the_rate_limit(fresh_gateway: Any) -> None:
    gateway = fresh_gateway(rate_limit_per_minute=30)
    with client() as http:
        answers = [http.get(f"{gateway.url}/v1/assets", headers={
            "X-DataDAO-Account": "0x" + secrets.token_hex(20)}) for _ in range(90)]
    counted = statuses(answers)
    assert counted.get(429, 0) >= 50, counted  # 30 tokens (+ a few refilled) and no more
    assert answers[-1].headers["Retry-After"].isdigit()


def test_spraying_a_victims_address_does_not_rate_limit_the_victim(fresh_gateway: Any) -> None:
    gateway = fresh_gateway(rate_limit_per_minute=30)
    with client(ATTACKER_IP) as attacker:
        sprayed = [attacker.get(f"{gateway.url}/v1/auth/me",
                                headers={"X-DataDAO-Account": ALICE.address}) for _ in range(60)]
    assert statuses(sprayed).get(429, 0) >= 20  # the attacker limited itself
    with client() as victim:
        signed = victim.get(f"{gateway.url}/v1/auth/me",
                            headers=signed_headers(gateway.url, ALICE, "/v1/auth/me"))
        assert signed.status_code == 200, signed.text
        token = session(gateway, ALICE)
        assert victim.get(f"{gateway.url}/v1/auth/me", headers=token).status_code == 200


# --- sign-in nonces are bounded per client and in total, and expire ---------------------------
def _nonce_rows(gateway: Gateway) -> int:
    with sqlite3.connect(Path(gateway.settings.data_dir) / "dapp.db") as db:
        return int(db.execute("SELECT count(*) FROM auth_nonces").fetchone()[0])


def test_anonymous_nonce_flood_stores_a_bounded_number_of_rows(fresh_gateway: Any) -> None:
    gateway = fresh_gateway(rate_limit_per_minute=100_000)
    with client() as http:
        answers = [http.get(f"{gateway.url}/v1/auth/nonce") for _ in range(300)]
    counted = statuses(answers)
    assert counted.get(200, 0) <= 32, counted
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    assert _nonce_rows(gateway) <= 32


def test_nonce_flood_is_per_client_bounded_in_total_and_expires(fresh_gateway: Any) -> None:
    gateway = fresh_gateway(nonce_max_per_client=3, nonce_max_outstanding=5,
                            nonce_lifetime_seconds=3)
    url = f"{gateway.url}/v1/auth/nonce"
    with client() as first, client(ATTACKER_IP) as second:
        assert [first.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]
        assert [second.get(url).status_code for _ in range(2)] == [200, 200]  # others still can
        full = second.get(url)  # five outstanding in all
        assert full.status_code == 503, full.text
        assert full.headers["Retry-After"].isdigit()
        time.sleep(3.5)  # every nonce expired: the slots are free again
        assert first.get(url).status_code == 200
        assert second.get(url).status_code == 200


# --- no internal address in any answer to a caller who is not an operator ---------------------
def test_chain_outage_reveals_no_rpc_url_or_ipfs_address_to_anonymous_callers(
    fresh_gateway: Any
) -> None:
    dead_rpc = f"http://127.0.0.1:{free_port()}/v3/sekret-api-key-0123456789"
    dead_ipfs = f"http://127.0.0.1:{free_port()}"
    gateway = fresh_gateway(chain_rpc_url=dead_rpc, ipfs_api_url=dead_ipfs,
                            trusted_proxies=["127.0.0.1"], operator_token="op-token-123")
    outsider = {"X-Forwarded-For": "203.0.113.9"}  # a client behind the trusted proxy
    with client() as http:
        for path in ("/v1/auth/nonce", "/healthz", "/v1/deployment", "/v1/gateway"):
            answer = http.get(f"{gateway.url}{path}", headers=outsider)
            assert answer.status_code >= 500 or path == "/v1/gateway", (path, answer.text)
            for secret in ("sekret-api-key", dead_rpc.split("/v3")[0], dead_ipfs):
                assert secret not in answer.text, (path, answer.text)
        health = http.get(f"{gateway.url}/healthz", headers=outsider).json()
        assert health["status"] == "degraded" and health["chain"]["error"] is None
        assert http.get(f"{gateway.url}/metrics", headers=outsider).status_code == 403
        # the operator still sees the cause (with the token, or from loopback directly)
        operator = {**outsider, "X-DataDAO-Operator-Token": "op-token-123"}
        detailed = http.get(f"{gateway.url}/healthz", headers=operator).json()
        assert detailed["chain"]["error"], detailed
        assert http.get(f"{gateway.url}/metrics", headers=operator).status_code == 200
    with client(ATTACKER_IP) as direct:  # a loopback peer that is not the trusted proxy
        assert direct.get(f"{gateway.url}/healthz").json()["chain"]["error"]
    log = gateway.process.log_file.read_text()
    assert "sekret-api-key" not in log


def test_deployment_tells_outsiders_only_the_public_rpc_url(
    fresh_gateway: Any, deployments_file: Path
) -> None:
    gateway = fresh_gateway(deployments_file=deployments_file, trusted_proxies=["127.0.0.1"])
    outsider = {"X-Forwarded-For": "203.0.113.9"}
    with client() as http, client(ATTACKER_IP) as direct:
        told = http.get(f"{gateway.url}/v1/deployment", headers=outsider).json()
        assert told["rpc_url"] == "" and told["contracts"], told
        own = direct.get(f"{gateway.url}/v1/deployment").json()  # a loopback operator
        assert own["rpc_url"] == gateway.settings.chain_rpc_url
    public = fresh_gateway(deployments_file=deployments_file, trusted_proxies=["127.0.0.1"],
                           public_rpc_url="https://rpc.example/public")
    with client() as http:
        told = http.get(f"{public.url}/v1/deployment", headers=outsider).json()
        assert told["rpc_url"] == "https://rpc.example/public"


# --- a gas-burning EIP-1271 "wallet" ---------------------------------------------------------
@pytest.fixture(scope="module")
def gas_burner(chain: Chain) -> str:
    artifact = json.loads((REPO_ROOT / "build/contracts/GasBurningWallet.json").read_text())
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor().transact({"from": web3.eth.accounts[0]})
    return str(web3.eth.wait_for_transaction_receipt(tx).contractAddress)


class RecordingProvider(Web3.HTTPProvider):
    """The real chain, with the JSON-RPC calls it was asked written down."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[tuple[str, Any]] = []

    def make_request(self, method: Any, params: Any) -> Any:
        self.calls.append((str(method), params))
        return super().make_request(method, params)


def test_gas_burning_1271_wallet_is_asked_with_a_gas_cap(chain: Chain, gas_burner: str) -> None:
    provider = RecordingProvider(chain.rpc_url)
    web3 = Web3(provider)
    message = encode_defunct(text="sign in")
    started = time.monotonic()
    assert not signed_by(web3, message, "0x" + "11" * 65, Web3.to_checksum_address(gas_burner))
    calls = [params[0] for method, params in provider.calls if method == "eth_call"]
    assert calls and all(0 < int(str(call.get("gas", "0x0")), 16) <= 200_000 for call in calls), \
        calls
    assert time.monotonic() - started < 5


def test_sign_in_with_an_unknown_nonce_never_asks_the_gas_burning_wallet(
    fresh_gateway: Any, gas_burner: str
) -> None:
    gateway = fresh_gateway()
    with client() as http:
        challenge = http.get(f"{gateway.url}/v1/auth/nonce").json()
        text = siwe_message(gas_burner, challenge["domain"], challenge["uri"], 1337,
                            secrets.token_hex(16))
        refused = http.post(f"{gateway.url}/v1/auth/siwe",
                            json={"message": text, "signature": sign_text(MALLORY, text)})
        assert refused.status_code == 401
        assert "nonce is unknown" in refused.json()["detail"]  # refused before any chain call
        # with a real nonce the wallet is asked, capped: a quick 401, the nonce still unspent
        text = siwe_message(gas_burner, challenge["domain"], challenge["uri"], 1337,
                            challenge["nonce"])
        started = time.monotonic()
        burnt = http.post(f"{gateway.url}/v1/auth/siwe",
                          json={"message": text, "signature": sign_text(MALLORY, text)})
        assert burnt.status_code == 401 and "does not match" in burnt.json()["detail"]
        assert time.monotonic() - started < 5


def test_long_garbage_sign_in_messages_cost_no_parser_seconds(fresh_gateway: Any) -> None:
    """Found by the long schemathesis run: siwe's ABNF parser took seconds (superlinear) on a
    4 KB message of garbage, per anonymous request, in a worker thread."""
    gateway = fresh_gateway()
    head = (f"{gateway.url.split('//')[1]} wants you to sign in with your Ethereum account:\n"
            f"{ALICE.address}\n\n")
    with client() as http:
        for text in ("0" * 4000, head + "a " * 1900, head + "Hi.\n\nURI: http://x/" + "a" * 3700):
            started = time.monotonic()
            answer = http.post(f"{gateway.url}/v1/auth/siwe",
                               json={"message": text, "signature": "0x"})
            assert answer.status_code == 401, answer.text
            assert time.monotonic() - started < 0.5, (text[:40], time.monotonic() - started)


# --- overlong fields on PostgreSQL ------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres_gateway(chain: Chain, kubo: Kubo, postgres: Postgres,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("hostile-pg")
    settings = make_settings(base, chain, kubo,
                             database_url=postgres.create_database("hostile_clients"))
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_longest_request_nonce_is_stored_on_postgresql(postgres_gateway: Gateway) -> None:
    headers = signed_headers(postgres_gateway.url, ALICE, "/v1/auth/me", nonce="n" * 64)
    with client() as http:
        answer = http.get(f"{postgres_gateway.url}/v1/auth/me", headers=headers)
        assert answer.status_code == 200, answer.text
        assert http.get(f"{postgres_gateway.url}/v1/auth/me", headers=headers).status_code == 401


def test_overlong_signed_request_fields_are_refused_before_any_work(
    postgres_gateway: Gateway
) -> None:
    base = signed_headers(postgres_gateway.url, ALICE, "/v1/auth/me")
    tricks = {
        "X-DataDAO-Signature": "0x" + "ab" * 5000,
        "X-DataDAO-Account": "0x" + "1" * 400,
        "X-DataDAO-Nonce": "n" * 500,
        "X-DataDAO-Expiry": "9" * 400,
    }
    with client() as http:
        for name, value in tricks.items():
            answer = http.get(f"{postgres_gateway.url}/v1/auth/me", headers={**base, name: value})
            assert answer.status_code in (400, 401), (name, answer.text)


def test_contract_wallet_voucher_signature_of_512_bytes_is_kept_on_postgresql(
    postgres: Postgres
) -> None:
    ledger = VoucherLedger(make_engine(postgres.create_database("hostile_vouchers")))
    signature = "0x" + "ab" * 512  # the longest the voucher header admits
    assert ledger.accept("7", 10, signature)
    stored = ledger.latest("7")
    assert stored is not None and stored.signature == signature
    with pytest.raises(ValueError):  # longer than any header can carry: refused, not a 500
        ledger.accept("8", 10, "0x" + "ab" * 600)


# --- requests the signature must cover, and the process's own key -----------------------------
def test_non_numeric_asset_id_with_signed_headers_is_a_4xx(fresh_gateway: Any) -> None:
    gateway = fresh_gateway()
    headers = signed_headers(gateway.url, ALICE, "/v1/assets/abc/content")
    with client() as http:
        for asset_id in ("abc", "1e3", "-1", "9" * 100):
            answer = http.get(f"{gateway.url}/v1/assets/{asset_id}/content", headers=headers)
            assert 400 <= answer.status_code < 500, (asset_id, answer.text)


def test_signed_request_replayed_with_another_query_is_refused(fresh_gateway: Any) -> None:
    gateway = fresh_gateway()
    url = f"{gateway.url}/v1/auth/me"
    with client() as http:
        headers = signed_headers(gateway.url, ALICE, "/v1/auth/me", query="page=1")
        assert http.get(url, params={"page": "2"}, headers=headers).status_code == 401
        assert http.get(url, params={"page": "1"}, headers=headers).status_code == 200


def test_signed_request_replayed_with_another_body_is_refused(tmp_path: Path) -> None:
    nonces = NonceStore(make_engine(f"sqlite:///{tmp_path / 'nonces.db'}"))
    origin = "http://gateway.example"
    request = SignedRequest(account=ALICE.address, signature="", method="POST",
                            path="/v1/models/1/invoke", asset_id=1, expiry=int(time.time()) + 60,
                            nonce="abcdef0123", query="", body_hash=keccak(b'{"x": 1}'))
    document = typed_request(request, origin, 1337)
    signature = ALICE.sign_message(encode_typed_data(full_message=document)).signature.hex()
    tampered = SignedRequest(**{**request.__dict__, "signature": "0x" + signature,
                                "body_hash": keccak(b'{"x": 2}')})
    with pytest.raises(NotAuthenticated):
        verify_signed_request(tampered, origin, 1337, nonces, None)
    genuine = SignedRequest(**{**request.__dict__, "signature": "0x" + signature})
    assert verify_signed_request(genuine, origin, 1337, nonces, None) == ALICE.address


# --- one licensee holding every IPFS stream --------------------------------------------------
def test_slow_reader_cannot_hold_more_than_its_share_of_streams(
    chain: Chain, kubo: Kubo, deployments_file: Path, fresh_gateway: Any, tmp_path: Path
) -> None:
    gateway = fresh_gateway(deployments_file=deployments_file, max_streams_per_account=2)
    market = new_market(chain, kubo, deployments_file, tmp_path / "cli")
    source = tmp_path / "big.bin"
    write_file(source, 48 * 1024 * 1024)  # more than loopback's socket buffers hold
    asset_id = publish_and_buy(market, gateway, source)
    headers = session(gateway, BUYER)
    url = f"{gateway.url}/v1/assets/{asset_id}/content"
    with client() as http:
        held = [http.send(http.build_request("GET", url, headers=headers), stream=True)
                for _ in range(2)]  # opened, never read
        try:
            assert [r.status_code for r in held] == [200, 200]
            third = http.get(url, headers=headers)
            assert third.status_code == 429, third.status_code
            assert third.headers["Retry-After"].isdigit()
            assert "streaming" in third.json()["detail"]
            # HEAD opens no stream: still answered
            assert http.head(url, headers=headers).status_code == 200
        finally:
            for response in held:
                response.close()
        time.sleep(1.0)  # the server notices the closed connections
        ranged = http.get(url, headers={**headers, "Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100
