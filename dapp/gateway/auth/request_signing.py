"""Per-request EIP-712 signatures for scripts and other protocols (no session needed).

The signed struct binds the HTTP method, the path, the asset, this gateway's origin, an
expiry and a single-use nonce; the domain binds the chain id. Headers:
`X-DataDAO-Account`, `X-DataDAO-Signature`, `X-DataDAO-Expiry`, `X-DataDAO-Nonce`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from web3 import Web3

from dapp.errors import NotAuthenticated
from dapp.gateway.auth.nonces import NonceStore
from dapp.gateway.auth.signatures import signed_by

MAX_REQUEST_LIFETIME_SECONDS = 600
HEADER_ACCOUNT = "X-DataDAO-Account"
HEADER_SIGNATURE = "X-DataDAO-Signature"
HEADER_EXPIRY = "X-DataDAO-Expiry"
HEADER_NONCE = "X-DataDAO-Nonce"

REQUEST_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "GatewayRequest": [
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
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


def typed_request(request: SignedRequest, gateway_origin: str, chain_id: int) -> dict[str, Any]:
    """The full EIP-712 document a client signs (`eth_signTypedData_v4`)."""
    return {
        "types": REQUEST_TYPES,
        "primaryType": "GatewayRequest",
        "domain": {"name": "DataDAO Gateway", "version": "1", "chainId": chain_id},
        "message": {
            "method": request.method.upper(),
            "path": request.path,
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
    try:
        account = to_checksum_address(request.account)
    except ValueError:
        raise NotAuthenticated(f"{HEADER_ACCOUNT} is not an address") from None
    message = encode_typed_data(full_message=typed_request(request, gateway_origin, chain_id))
    if not signed_by(web3, message, request.signature, account):
        raise NotAuthenticated("request signature does not match the account "
                               "(wrong signer, chain, gateway, path or expiry)")
    nonces.consume_client_nonce(f"req:{account}:{request.nonce}", request.expiry)
    return account
