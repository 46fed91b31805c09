"""The models of a task, for routing (`GET /v1/models?task=`): every model on chain, not
retired, whose latest version's metadata declares the task (`metadata_tasks`), with the
schemas it declared and the gateways its content key is sealed to (the providers that can run
it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from dapp.store.models import Asset, CidMetadata, MetadataTask

MAX_MODELS = 100


@dataclass(frozen=True)
class TaskModel:
    asset_id: int
    owner: str
    title: str
    version_count: int
    tasks: list[str]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    gateway_keys: list[str]  # base64 X25519 keys of the gateways that can unseal it


def models_for_task(engine: Engine, task: str, limit: int = MAX_MODELS) -> list[TaskModel]:
    """Models declaring `task`, oldest first (by asset id)."""
    statement = (
        select(Asset.asset_id, Asset.owner, Asset.version_count, CidMetadata.title,
               CidMetadata.document)
        .join(CidMetadata, CidMetadata.cid == Asset.metadata_cid)
        .join(MetadataTask, MetadataTask.cid == Asset.metadata_cid)
        .where(MetadataTask.task == task, Asset.kind == "model", Asset.retired.is_(False),
               CidMetadata.schema_error.is_(None))
        .order_by(Asset.asset_id).limit(limit)
    )
    with engine.connect() as connection:
        return [_model(row) for row in connection.execute(statement)]


def _model(row: Any) -> TaskModel:
    document: dict[str, Any] = row.document or {}
    service = document.get("service") or {}
    return TaskModel(
        asset_id=int(row.asset_id), owner=row.owner, title=row.title or "",
        version_count=int(row.version_count), tasks=list(service.get("tasks", [])),
        input_schema=dict(service.get("input_schema", {})),
        output_schema=dict(service.get("output_schema", {})),
        gateway_keys=[str(key.get("gateway_public_key"))
                      for key in document.get("sealed_keys", [])])
