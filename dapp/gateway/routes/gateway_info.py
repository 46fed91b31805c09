"""`GET /v1/gateway`: who this gateway is, for publishers sealing content keys to it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dapp.chain.accounts import Keystore
from dapp.config import Settings
from dapp.errors import DeploymentMissing, NotFound
from dapp.gateway.deps import ContentDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["deployment"])


class GatewayOut(BaseModel):
    public_key: str = Field(description="X25519 public key (standard base64, 32 bytes): seal "
                                        "content keys to it for this gateway to serve them")
    key_type: str = "x25519-sealed-box"
    url: str = Field(description="the gateway's public origin")
    chain_id: int
    registry: str | None = Field(description="the AssetRegistry it serves; null before deploy")
    provider: str | None = Field(None, description="the gateway's on-chain account, if it "
                                                   "runs as a compute provider")


@router.get("/gateway", response_model=GatewayOut)
def gateway_info(services: ServicesDep,
                 content: ContentDep) -> GatewayOut:
    """This gateway's content-key public key, chain and registry."""
    try:
        registry: str | None = content.registry_address()
    except DeploymentMissing:
        registry = None
    return GatewayOut(public_key=content.keypair.public_key_b64, url=services.gateway_origin,
                      chain_id=services.chain_id, registry=registry,
                      provider=provider_address(services.settings))


def provider_address(settings: Settings) -> str | None:
    """The provider account's address, read from its keystore entry (no password needed)."""
    if not settings.provider_account:
        return None
    try:
        return Keystore(settings.resolved_keystore_dir).find(settings.provider_account).address
    except NotFound:
        return None
