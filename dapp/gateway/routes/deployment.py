"""`GET /v1/deployment`: which chain and contracts this gateway serves (the dApp reads it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from dapp.chain.deployments import load_deployment
from dapp.gateway.deps import ServicesDep

router = APIRouter(prefix="/v1", tags=["deployment"])


class ContractOut(BaseModel):
    address: str
    block: int


class DeploymentOut(BaseModel):
    chain_id: int
    rpc_url: str
    contracts: dict[str, ContractOut]


@router.get("/deployment", response_model=DeploymentOut)
def deployment(services: ServicesDep) -> DeploymentOut:
    """The chain id and the addresses of the contracts on it (503 before they are deployed)."""
    chain_id = services.chain_id
    deployed = load_deployment(services.settings.resolved_deployments_file, chain_id)
    return DeploymentOut(
        chain_id=chain_id,
        rpc_url=services.settings.chain_rpc_url,
        contracts={
            name: ContractOut(address=c.address, block=c.block)
            for name, c in deployed.contracts.items()
        },
    )
