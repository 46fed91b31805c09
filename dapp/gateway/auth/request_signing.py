"""Per-request EIP-712 signatures for scripts and other protocols (no session needed).

The signed struct binds the HTTP method, the path, the raw query string, the keccak-256 of the
body, the asset, this gateway's origin, an expiry and a single-use nonce; the domain (version
"2": version "1" bound neither query nor body) binds the chain id. Headers:
`X-DataDAO-Account`, `X-DataDAO-Signature`, `X-DataDAO-Expiry`, `X-DataDAO-Nonce`.

Checks run cheapest first: lengths and expiry, then the nonce's freshness (a database read),
then the signature, which for a contract wallet is a chain call (EIP-1271, gas capped); the
nonce is spent only after all of them passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from dapp.errors import NotAuthenticated
from dapp.gateway.auth.nonces import NonceStore, client_nonce_key
from dapp.gateway.auth.signatures import MAX_SIGNATURE_BYTES, signed_by

MAX_REQUEST_LIFETIME_SECONDS = 600
HEADER_ACCOUNT = "X-DataDAO-Account"
HEADER_SIGNATURE = "X-DataDAO-Signature"
HEADER_EXPIRY = "X-DataDAO-Expiry"
HEADER_NONCE = "X-DataDAO-Nonce"
DOMAIN_VERSION = "2"
#: 0x + 65 bytes for an EOA; a contract wallet's may be longer, never more than this
MAX_SIGNATURE_CHARS = 2 + 2 * MAX_SIGNATURE_BYTES
EMPTY_BODY_HASH = keccak(b"")

REQUEST_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "GatewayRequest": [
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
        {"name": "query", "type": "string"},
        {"name": "bodyHash", "type": "bytes32"},
        {"name": "assetId", "type": "uint256"},
        {"name": "gateway", "type": "string"},
        {"name": "expiry", "type": "uint64"},
        {"name": "nonce", "type": "string"},
    ],
}


@dataclass(frozen=True)
class SignedRequest:
    account: str
    signature: str
    method: str
    path: str
    asset_id: int
    expiry: int
    nonce: str
    query: str = ""  # the raw query string as sent, without "?"
    body_hash: bytes = EMPTY_BODY_HASH  # keccak-256 of the raw body


def typed_request(request: SignedRequest, gateway_origin: str, chain_id: int) -> dict[str, Any]:
    """The full EIP-712 document a client signs (`eth_signTypedData_v4`)."""
    return {
        "types": REQUEST_TYPES,
        "primaryType": "GatewayRequest",
        "domain": {"name": "DataDAO Gateway", "version": DOMAIN_VERSION, "chainId": chain_id},
        "message": {
            "method": request.method.upper(),
            "path": request.path,
            "query": request.query,
            "bodyHash": request.body_hash,
            "assetId": request.asset_id,
            "gateway": gateway_origin,
            "expiry": request.expiry,
            "nonce": request.nonce,
        },
    }


def verify_signed_request(
    request: SignedRequest,
    gateway_origin: str,
    chain_id: int,
    nonces: NonceStore,
    web3: Web3 | None,
    now: float | None = None,
) -> str:
    """Returns the checksummed account after every check passed; spends the nonce."""
    now = time.time() if now is None else now
    if request.expiry <= now:
        raise NotAuthenticated("signed request has expired")
    if request.expiry > now + MAX_REQUEST_LIFETIME_SECONDS:
        raise NotAuthenticated(
            f"signed request expiry is more than {MAX_REQUEST_LIFETIME_SECONDS}s ahead"
        )
    if not 8 <= len(request.nonce) <= 64 or not request.nonce.isalnum():
        raise NotAuthenticated("request nonce must be 8-64 letters or digits")
    if len(request.signature) > MAX_SIGNATURE_CHARS:
        raise NotAuthenticated(f"{HEADER_SIGNATURE} is longer than any signature "
                               f"({MAX_SIGNATURE_CHARS} characters)")
    if len(request.account) != 42:
        raise NotAuthenticated(f"{HEADER_ACCOUNT} is not an address")
    try:
        account = to_checksum_address(request.account)
    except ValueError:
        raise NotAuthenticated(f"{HEADER_ACCOUNT} is not an address") from None
    nonce_key = client_nonce_key(account, request.nonce)
    nonces.check_client_nonce(nonce_key)  # a replay is refused before any chain call
    message = encode_typed_data(full_message=typed_request(request, gateway_origin, chain_id))
    if not signed_by(web3, message, request.signature, account):
        raise NotAuthenticated("request signature does not match the account "
                               "(wrong signer, chain, gateway, path, query, body or expiry)")
    nonces.consume_client_nonce(nonce_key, request.expiry)
    return account
