"""Sign-in against the gateway as a real HTTP server: SIWE sessions, EIP-712 signed requests,
EIP-1271 contract wallets, and every way a signature can be wrong → 401 problem+json."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from eth_account.messages import encode_typed_data
from sqlalchemy import text
from web3 import Web3

from dapp.devstack.process import REPO_ROOT
from dapp.gateway.auth.request_signing import SignedRequest, typed_request
from dapp.gateway.auth.sessions import token_hash
from dapp.store.db import make_engine
from tests.dapp.conftest import Gateway, make_settings, start_gateway
from tests.dapp.helpers.gateway import (
    ALICE,
    dev_account,
    fresh_challenge,
    session,
    sign_in,
    sign_text,
    siwe_text,
)

MALLORY = dev_account(2)


@pytest.fixture(scope="module")
def gateway(chain, kubo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-auth")
    started = start_gateway(make_settings(base, chain, kubo), base / "gateway.log")
    yield started
    started.process.stop()


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def assert_problem(response: httpx.Response, status: int, detail_part: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert detail_part in body["detail"], body


def test_sign_in_gives_a_session_that_identifies_the_account(gateway: Gateway) -> None:
    challenge = fresh_challenge(gateway)
    assert challenge["chain_id"] == 1337
    text = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    session = sign_in(gateway, text, sign_text(ALICE, text))
    assert session.status_code == 200, session.text
    token = session.json()["token"]
    me = httpx.get(f"{gateway.url}/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["account"] == ALICE.address


def test_replayed_nonce_is_refused(gateway: Gateway) -> None:
    challenge = fresh_challenge(gateway)
    text = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    signature = sign_text(ALICE, text)
    assert sign_in(gateway, text, signature).status_code == 200
    assert_problem(sign_in(gateway, text, signature), 401, "already used")


def test_a_nonce_the_gateway_never_issued_is_refused(gateway: Gateway) -> None:
    challenge = fresh_challenge(gateway)
    text = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     secrets.token_hex(16))
    assert_problem(sign_in(gateway, text, sign_text(ALICE, text)), 401, "nonce is unknown")


@pytest.mark.parametrize(
    ("field", "detail"),
    [
        ("chain", "this gateway serves chain 1337"),
        ("domain", "this gateway is"),
        ("uri", "is not this gateway's"),
        ("expired", "has expired"),
        ("signer", "signature does not match"),
    ],
)
def test_wrong_chain_domain_uri_expiry_or_signer_is_401(gateway: Gateway, field: str,
                                                        detail: str) -> None:
    challenge = fresh_challenge(gateway)
    domain, uri, chain_id, expires_in = challenge["domain"], challenge["uri"], 1337, 600.0
    signer = ALICE
    if field == "chain":
        chain_id = 1
    elif field == "domain":
        domain = "evil.example"
    elif field == "uri":
        uri = "https://evil.example"
    elif field == "expired":
        expires_in = -5
    elif field == "signer":
        signer = MALLORY
    text = siwe_text(ALICE.address, domain, uri, chain_id, challenge["nonce"], expires_in)
    assert_problem(sign_in(gateway, text, sign_text(signer, text)), 401, detail)
    # the failed attempt did not spend the nonce: the right message still signs in
    good = siwe_text(ALICE.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    assert sign_in(gateway, good, sign_text(ALICE, good)).status_code == 200


def test_no_credentials_and_forged_tokens_are_401(gateway: Gateway) -> None:
    assert_problem(httpx.get(f"{gateway.url}/v1/auth/me"), 401, "sign in first")
    forged = httpx.get(f"{gateway.url}/v1/auth/me", headers={"Authorization": "Bearer abc.def"})
    assert_problem(forged, 401, "session token")
    garbage = sign_in(gateway, "hello", "0x1234")
    assert_problem(garbage, 401, "not a valid EIP-4361 message")


def signed_headers(gateway: Gateway, signer, path: str, chain_id: int = 1337,  # type: ignore[no-untyped-def]
                   expiry: int | None = None, account: str | None = None) -> dict[str, str]:
    request = SignedRequest(
        account=account or signer.address, signature="", method="GET", path=path, asset_id=0,
        expiry=expiry or int(time.time()) + 120, nonce=secrets.token_hex(12),
    )
    document = typed_request(request, gateway.url, chain_id)
    signature = signer.sign_message(encode_typed_data(full_message=document)).signature
    return {
        "X-DataDAO-Account": request.account,
        "X-DataDAO-Signature": "0x" + signature.hex().removeprefix("0x"),
        "X-DataDAO-Expiry": str(request.expiry),
        "X-DataDAO-Nonce": request.nonce,
    }


def test_eip712_signed_request_works_once(gateway: Gateway) -> None:
    headers = signed_headers(gateway, ALICE, "/v1/auth/me")
    first = httpx.get(f"{gateway.url}/v1/auth/me", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["account"] == ALICE.address
    assert_problem(httpx.get(f"{gateway.url}/v1/auth/me", headers=headers), 401, "replay")


@pytest.mark.parametrize("what", ["chain", "expired", "signer", "path"])
def test_eip712_signed_request_bound_to_chain_expiry_signer_and_path(gateway: Gateway,
                                                                     what: str) -> None:
    path = "/v1/auth/me"
    if what == "chain":
        headers = signed_headers(gateway, ALICE, path, chain_id=5)
    elif what == "expired":
        headers = signed_headers(gateway, ALICE, path, expiry=int(time.time()) - 1)
    elif what == "signer":
        headers = signed_headers(gateway, MALLORY, path, account=ALICE.address)
    else:
        headers = signed_headers(gateway, ALICE, "/v1/auth/other")
    response = httpx.get(f"{gateway.url}{path}", headers=headers)
    assert_problem(response, 401, "expired" if what == "expired" else "does not match")


def test_contract_wallet_signs_in_through_eip1271(gateway: Gateway, chain) -> None:
    artifact = json.loads((REPO_ROOT / "build/contracts/OwnedSmartWallet.json").read_text())
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(ALICE.address).transact({"from": web3.eth.accounts[0]})
    wallet = web3.eth.wait_for_transaction_receipt(tx).contractAddress

    challenge = fresh_challenge(gateway)
    text = siwe_text(wallet, challenge["domain"], challenge["uri"], 1337, challenge["nonce"])
    session = sign_in(gateway, text, sign_text(ALICE, text))  # the wallet's owner signs
    assert session.status_code == 200, session.text
    assert session.json()["account"] == wallet

    challenge = fresh_challenge(gateway)
    text = siwe_text(wallet, challenge["domain"], challenge["uri"], 1337, challenge["nonce"])
    assert_problem(sign_in(gateway, text, sign_text(MALLORY, text)), 401, "does not match")


def test_database_reader_finds_no_usable_session_token(gateway: Gateway) -> None:
    """Sessions live in the database (every gateway on it honours them): what is stored is the
    token's SHA-256, so someone who reads the database cannot present a stored value."""
    token = session(gateway, ALICE)["Authorization"].split(" ", 1)[1]
    engine = make_engine(gateway.settings.resolved_database_url)
    with engine.connect() as connection:
        stored = [row[0] for row in connection.execute(
            text("SELECT token_hash FROM auth_sessions"))]
    engine.dispose()
    assert token_hash(token) in stored and token not in stored
    for value in stored:
        assert httpx.get(f"{gateway.url}/v1/auth/me",
                         headers={"Authorization": f"Bearer {value}"}).status_code == 401
