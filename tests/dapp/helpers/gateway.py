"""The gateway as a client meets it: dev accounts, signing in (SIWE) and problem+json answers."""

from __future__ import annotations

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

from dapp.client.gateway import siwe_message
from dapp.config import DEV_MNEMONIC
from tests.dapp.conftest import Gateway

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int):  # type: ignore[no-untyped-def]
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


ALICE = dev_account(1)  # the account test_gateway_auth signs in with


def siwe_text(address: str, domain: str, uri: str, chain_id: int, nonce: str,
              expires_in: float = 600) -> str:
    """The message the Python client signs (dapp.client.gateway), so tests sign what users do."""
    return siwe_message(address, domain, uri, chain_id, nonce, lifetime_seconds=expires_in)


def sign_text(account, text: str) -> str:  # type: ignore[no-untyped-def]
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")


def fresh_challenge(gateway: Gateway) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{gateway.url}/v1/auth/nonce")
    assert response.status_code == 200
    return response.json()


def sign_in(gateway: Gateway, text: str, signature: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}/v1/auth/siwe",
                      json={"message": text, "signature": signature})


def session(gateway: Gateway, account) -> dict[str, str]:  # type: ignore[no-untyped-def]
    challenge = fresh_challenge(gateway)
    text = siwe_text(account.address, challenge["domain"], challenge["uri"], 1337,
                     challenge["nonce"])
    response = sign_in(gateway, text, sign_text(account, text))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/" + code), body
    return body
