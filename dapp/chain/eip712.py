"""EIP-712 typed data in the shape eth-account's `encode_typed_data(full_message=...)` takes,
for the domains every contract here uses (name, version, chainId, verifyingContract)."""

from __future__ import annotations

from typing import Any

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(primary_type: str, fields: list[dict[str, str]], *, name: str, version: str,
               chain_id: int, verifying_contract: str, message: dict[str, Any]
               ) -> dict[str, Any]:
    """One struct `primary_type` with `fields`, under the standard four-field domain."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary_type: fields},
        "primaryType": primary_type,
        "domain": {"name": name, "version": version, "chainId": chain_id,
                   "verifyingContract": verifying_contract},
        "message": message,
    }


PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def permit_typed_data(*, name: str, version: str, chain_id: int, token: str, owner: str,
                      spender: str, value: int, nonce: int, deadline: int) -> dict[str, Any]:
    """An EIP-2612 `Permit` for `token` (whose EIP-712 domain is name/version)."""
    return typed_data("Permit", PERMIT_FIELDS, name=name, version=version, chain_id=chain_id,
                      verifying_contract=token,
                      message={"owner": owner, "spender": spender, "value": value,
                               "nonce": nonce, "deadline": deadline})
