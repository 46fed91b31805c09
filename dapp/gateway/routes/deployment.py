"""`GET /v1/deployment`: which chain and contracts this gateway serves (the dApp reads it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dapp.chain.deployments import load_deployment
from dapp.gateway.deps import PeerDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["deployment"])


class ContractOut(BaseModel):
    address: str
    block: int


class DeploymentOut(BaseModel):
    chain_id: int
    rpc_url: str = Field(description="the RPC URL browsers read the chain through: "
                         "`public_rpc_url`; the gateway's own only for operators; else empty")
    contracts: dict[str, ContractOut]


@router.get("/deployment", response_model=DeploymentOut)
def deployment(services: ServicesDep, peer: PeerDep) -> DeploymentOut:
    """The chain id and the addresses of the contracts on it (503 before they are deployed).
    The gateway's own RPC URL may carry an API key: only operators are told it."""
    chain_id = services.chain_id
    deployed = load_deployment(services.settings.resolved_deployments_file, chain_id)
    return DeploymentOut(
        chain_id=chain_id,
        rpc_url=_rpc_url_for(services, peer.operator),
        contracts={
            name: ContractOut(address=c.address, block=c.block)
            for name, c in deployed.contracts.items()
        },
    )


def _rpc_url_for(services: ServicesDep, operator: bool) -> str:
    settings = services.settings
    if settings.public_rpc_url:
        return settings.public_rpc_url
    return settings.chain_rpc_url if operator else ""
