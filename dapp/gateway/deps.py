"""Typed FastAPI dependencies, in the manner of the FastAPI full-stack template's
`api/deps.py`: the parts of the gateway process (`GatewayParts`, made once by `create_app`)
and the signed-in account. Routes declare what they use (`services: ServicesDep`); nothing
else reads `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from eth_utils import keccak
from fastapi import Depends, Path, Request

from dapp.chain.constants import MAX_UINT256
from dapp.compute.service import ComputeService
from dapp.errors import InvalidInput, NotAuthenticated
from dapp.gateway.auth import request_signing as signing
from dapp.gateway.caches import StaleCaches
from dapp.gateway.content.service import ContentGateway
from dapp.gateway.metered.service import MeteredCalls
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.peer_keys import PeerKeys
from dapp.gateway.peers import Peer, PeerPolicy
from dapp.gateway.services import Services
from dapp.gateway.uploads import UploadStore

ADDRESS_PATTERN = "^0x[0-9a-fA-F]{40}$"


@dataclass(frozen=True)
class GatewayParts:
    """Everything one gateway process holds, made once at startup (`create_app`)."""

    services: Services
    metrics: GatewayMetrics
    caches: StaleCaches
    content: ContentGateway
    compute: ComputeService
    metered: MeteredCalls
    peers: PeerPolicy
    uploads: UploadStore
    peer_keys: PeerKeys  # other providers' gateway keys, for GET /v1/models?task=


# The dependencies below are `async def` though they never wait: FastAPI runs a plain `def`
# dependency on a worker thread, a hop (and two thread switches) per dependency per request.
async def get_parts(request: Request) -> GatewayParts:
    parts = request.app.state.parts
    assert isinstance(parts, GatewayParts)
    return parts


PartsDep = Annotated[GatewayParts, Depends(get_parts)]


async def get_services(parts: PartsDep) -> Services:
    return parts.services


async def get_content(parts: PartsDep) -> ContentGateway:
    return parts.content


async def get_compute(parts: PartsDep) -> ComputeService:
    return parts.compute


async def get_metered(parts: PartsDep) -> MeteredCalls:
    return parts.metered


async def get_peer_keys(parts: PartsDep) -> PeerKeys:
    return parts.peer_keys


async def get_peer(request: Request, parts: PartsDep) -> Peer:
    """The client's address (trusted proxies honoured) and whether it is an operator."""
    return parts.peers.peer(request)


ServicesDep = Annotated[Services, Depends(get_services)]
PeerDep = Annotated[Peer, Depends(get_peer)]
ContentDep = Annotated[ContentGateway, Depends(get_content)]
ComputeDep = Annotated[ComputeService, Depends(get_compute)]
MeteredDep = Annotated[MeteredCalls, Depends(get_metered)]
PeerKeysDep = Annotated[PeerKeys, Depends(get_peer_keys)]
#: a 0x address in a path, checked before the route runs
AddressPath = Annotated[str, Path(pattern=ADDRESS_PATTERN)]


def _int_header(request: Request, name: str) -> int:
    value = request.headers[name]
    if not value.isdigit() or len(value) > 20:
        raise NotAuthenticated(f"{name} must be a non-negative integer (unix seconds)")
    return int(value)


def _signed_asset_id(request: Request) -> int:
    """The `{asset_id}` path parameter a signature covers (0 without one), checked here:
    this runs before the route's own validation of the parameter."""
    raw = str(request.path_params.get("asset_id", "0") or "0")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 78 or int(raw) > MAX_UINT256:
        raise InvalidInput("asset_id must be a decimal uint256")
    return int(raw)


async def current_account(request: Request, services: ServicesDep) -> str:
    """The account behind a request: a SIWE session (Bearer) or an EIP-712 signed request
    (which covers method, path, query string and body; verified in a worker thread: a contract
    wallet's check is a chain call)."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        # verified moments ago by the access middleware (for the rate limit), or now
        verified = getattr(request.state, "verified_session", None)
        session = (verified[1] if verified is not None and verified[0] == token
                   else services.sessions.verify(token))
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
        signed = signing.SignedRequest(
            account=request.headers[signing.HEADER_ACCOUNT],
            signature=request.headers[signing.HEADER_SIGNATURE],
            method=request.method,
            path=request.url.path,
            asset_id=_signed_asset_id(request),
            expiry=_int_header(request, signing.HEADER_EXPIRY),
            nonce=request.headers[signing.HEADER_NONCE],
            query=request.scope.get("query_string", b"").decode("latin-1"),
            body_hash=keccak(await request.body()),  # bounded by BodySizeLimit
        )
        return await anyio.to_thread.run_sync(
            signing.verify_signed_request,
            signed, services.gateway_origin, services.chain_id, services.nonces, services.web3,
        )
    raise NotAuthenticated(
        "sign in first",
        hint="POST /v1/auth/siwe for a session token, or sign the request with EIP-712",
    )


AccountDep = Annotated[str, Depends(current_account)]
