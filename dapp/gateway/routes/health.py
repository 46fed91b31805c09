"""`GET /healthz`: chain id and head, IPFS version and peer id, database; 503 names what is down.

Operators (`dapp.gateway.peers`) see every part's details and error; anyone else sees the
status, which parts are down, and the chain id (public: `/v1/auth/nonce` says it too), never
an error text (it may name an RPC URL with its API key, or the IPFS API's address)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dapp.chain.client import chain_status
from dapp.errors import DappError
from dapp.gateway.deps import PeerDep, ServicesDep
from dapp.store.db import database_status

router = APIRouter(tags=["operations"])


class PartHealth(BaseModel):
    ok: bool
    error: str | None = None
    details: dict[str, Any] = {}


class Health(BaseModel):
    status: str
    down: list[str]
    chain: PartHealth
    ipfs: PartHealth
    database: PartHealth


def _probe(check: Callable[[], dict[str, Any]]) -> PartHealth:
    try:
        return PartHealth(ok=True, details=check())
    except DappError as error:
        return PartHealth(ok=False, error=str(error))


def _public(name: str, part: PartHealth) -> PartHealth:
    details = {"chain_id": part.details["chain_id"]} if name == "chain" and part.ok else {}
    return PartHealth(ok=part.ok, details=details)


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "a part is down (named in `down`)",
                     "content": {"application/json": {}}}},
)
def healthz(services: ServicesDep, peer: PeerDep) -> JSONResponse:
    def chain() -> dict[str, Any]:
        status = chain_status(services.web3)
        return {"chain_id": status.chain_id, "latest_block": status.latest_block}

    def ipfs() -> dict[str, Any]:
        node = services.ipfs.identity()
        return {"version": node.version, "peer_id": node.peer_id}

    def database() -> dict[str, Any]:
        return {"backend": database_status(services.engine)}

    parts = {"chain": _probe(chain), "ipfs": _probe(ipfs), "database": _probe(database)}
    down = [name for name, part in parts.items() if not part.ok]
    if not peer.operator:
        parts = {name: _public(name, part) for name, part in parts.items()}
    health = Health(status="degraded" if down else "ok", down=down, **parts)
    return JSONResponse(health.model_dump(), status_code=503 if down else 200)
