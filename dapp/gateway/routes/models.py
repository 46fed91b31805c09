"""`GET /v1/models?task=`: the models that serve a task, across every provider of the
directory. The indexer knows every model on chain and the tasks its metadata declares
(`store/task_models`); the directory knows every provider (`store/providers`); a provider can
run a model when its gateway's key is one the model's content key is sealed to
(`gateway/peer_keys` asks each provider's gateway for its key, and the gateway must say it is
the provider the directory lists at its endpoint). Prices are the chain's as the
indexer saw them: a client checks them against the chain again before it pays."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dapp.gateway.deps import PeerKeysDep, ServicesDep
from dapp.store.providers import ProviderDirectory, ProviderView
from dapp.store.task_models import models_for_task
from dapp.tasks import check_task

router = APIRouter(prefix="/v1", tags=["models by task"])


class ModelProviderOut(BaseModel):
    address: str = Field(description="the provider account: a channel to it pays the calls")
    endpoint: str = Field(description="its gateway URL")
    token: str
    price: str = Field(description="base units of `token` per call, as the indexer saw it")

    @classmethod
    def of(cls, view: ProviderView) -> ModelProviderOut:
        return cls(address=view.address, endpoint=view.endpoint, token=view.price_token,
                   price=str(view.price))


class TaskModelOut(BaseModel):
    asset_id: int
    title: str
    owner: str
    version_count: int
    tasks: list[str] = Field(description="every task the model declares")
    input_schema: dict[str, Any] = Field(description="JSON Schema (subset) of one call's body")
    output_schema: dict[str, Any] = Field(description="JSON Schema (subset) of its answer")
    providers: list[ModelProviderOut] = Field(
        description="active providers whose gateway holds a key the model is sealed to, "
                    "cheapest first")


class TaskModelsOut(BaseModel):
    task: str
    items: list[TaskModelOut]
    unreachable: list[str] = Field(description="provider endpoints that did not say their "
                                               "key in time: their models may be missing")


@router.get("/models", response_model=TaskModelsOut)
def models_by_task(*, task: str = Query(..., max_length=64, description="a pipeline tag, e.g. "
                                        "text-classification (see docs/API.md)"),
                   services: ServicesDep, peer_keys: PeerKeysDep) -> TaskModelsOut:
    """Models declaring `task`, each with the providers that can run it."""
    check_task(task)
    engine = services.catalog().engine
    models = models_for_task(engine, task)
    providers = ProviderDirectory(engine).list_providers() if models else []
    identities = peer_keys.identities([p.endpoint for p in providers])
    keys = {p.address: identity.key for p in providers
            if (identity := identities.get(p.endpoint)) is not None
            and identity.is_provider(p.address)}
    items = [
        TaskModelOut(
            asset_id=m.asset_id, title=m.title, owner=m.owner, version_count=m.version_count,
            tasks=m.tasks, input_schema=m.input_schema, output_schema=m.output_schema,
            providers=[ModelProviderOut.of(p) for p in providers
                       if keys.get(p.address) in m.gateway_keys])
        for m in models
    ]
    unreachable = sorted({p.endpoint for p in providers if identities.get(p.endpoint) is None})
    return TaskModelsOut(task=task, items=items, unreachable=unreachable)
