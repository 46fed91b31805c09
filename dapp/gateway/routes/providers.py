"""Compute providers from the indexer's store: every provider of the ComputeMarket with its
endpoint, price and stake, so a buyer can pick one for a job or a payment channel (this
gateway's own provider, if any, is `GET /v1/provider`). With `keys=true` each item also has the
content-key public key its gateway announces, when that gateway names the same provider (the
check `GET /v1/models` makes): the browser's publish page seals to the ones a publisher picks."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from dapp.errors import NotFound
from dapp.gateway.deps import ADDRESS_PATTERN, PeerKeysDep, ServicesDep
from dapp.gateway.services import Services
from dapp.store.providers import ProviderDirectory, ProviderView

router = APIRouter(prefix="/v1", tags=["compute providers"])


class ProviderListItemOut(BaseModel):
    address: str = Field(description="the provider account: jobs and channels name it")
    endpoint: str = Field(description="its gateway URL")
    token: str = Field(description="jobs and channels with this provider are in this token")
    price: str = Field(description="base units of `token` per job and per metered call")
    stake: str = Field(description="staked collateral (locked part included)")
    active: bool = Field(description="false once exiting: no new jobs or channels")
    jobs: int = Field(description="jobs escrowed to it so far")
    public_key: str | None = Field(None, description="with keys=true: the X25519 key its "
                                   "gateway announces, null when it did not answer in time or "
                                   "names another provider")

    @classmethod
    def of(cls, view: ProviderView, public_key: str | None = None) -> ProviderListItemOut:
        return cls(address=view.address, endpoint=view.endpoint, token=view.price_token,
                   price=str(view.price), stake=str(view.stake), active=view.active,
                   jobs=view.jobs, public_key=public_key)


class ProviderListOut(BaseModel):
    items: list[ProviderListItemOut] = Field(description="cheapest first")


def _directory(services: Services) -> ProviderDirectory:
    return ProviderDirectory(services.catalog().engine)


@router.get("/providers", response_model=ProviderListOut)
def list_providers(*, include_exiting: bool = Query(False, description="also providers that "
                                                                    "are leaving the market"),
                   keys: bool = Query(False, description="also each gateway's content-key "
                                                         "public key (asks each endpoint)"),
                   services: ServicesDep, peer_keys: PeerKeysDep) -> ProviderListOut:
    """The market's compute providers, cheapest first."""
    views = _directory(services).list_providers(include_exiting)
    found = peer_keys.identities([view.endpoint for view in views]) if keys else {}
    return ProviderListOut(items=[
        ProviderListItemOut.of(view, identity.key
                               if (identity := found.get(view.endpoint)) is not None
                               and identity.is_provider(view.address) else None)
        for view in views])


@router.get("/providers/{address}", response_model=ProviderListItemOut)
def get_provider(*, address: str = Path(pattern=ADDRESS_PATTERN),
                 services: ServicesDep) -> ProviderListItemOut:
    """One compute provider."""
    view = _directory(services).get_provider(address)
    if view is None:
        raise NotFound(f"no compute provider {address} in the catalog",
                       hint="a provider appears once the indexer has seen it register")
    return ProviderListItemOut.of(view)
