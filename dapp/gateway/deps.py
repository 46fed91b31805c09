"""FastAPI dependencies: the process's services and the signed-in account."""

from __future__ import annotations

from fastapi import Request

from dapp.errors import NotAuthenticated
from dapp.gateway.auth import request_signing as signing
from dapp.gateway.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _int_header(request: Request, name: str) -> int:
    try:
        return int(request.headers[name])
    except ValueError:
        raise NotAuthenticated(f"{name} must be an integer") from None


def current_account(request: Request) -> str:
    """The account behind a request: a SIWE session (Bearer) or an EIP-712 signed request."""
    services = get_services(request)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        session = services.sessions.verify(authorization[7:].strip())
        if session.chain_id != services.chain_id:
            raise NotAuthenticated("session was issued for another chain")
        return session.account
    if signing.HEADER_SIGNATURE in request.headers:
        missing = [
            name for name in (signing.HEADER_ACCOUNT, signing.HEADER_EXPIRY, signing.HEADER_NONCE)
            if name not in request.headers
        ]
        if missing:
            raise NotAuthenticated(f"signed request lacks {', '.join(missing)}")
        asset_id = int(request.path_params.get("asset_id", 0) or 0)
        signed = signing.SignedRequest(
            account=request.headers[signing.HEADER_ACCOUNT],
            signature=request.headers[signing.HEADER_SIGNATURE],
            method=request.method,
            path=request.url.path,
            asset_id=asset_id,
            expiry=_int_header(request, signing.HEADER_EXPIRY),
            nonce=request.headers[signing.HEADER_NONCE],
        )
        return signing.verify_signed_request(
            signed, services.gateway_origin, services.chain_id, services.nonces, services.web3
        )
    raise NotAuthenticated(
        "sign in first",
        hint="POST /v1/auth/siwe for a session token, or sign the request with EIP-712",
    )
