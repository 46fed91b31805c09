"""A model's service from what its publisher gave: the tasks it serves and the JSON Schemas
of one call's input and answer, each checked here with a one-line reason (an unknown task, a
schema outside the supported subset, tasks on something that is not a model) before anything
is uploaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dapp.errors import InvalidInput
from dapp.metadata import ModelService
from dapp.tasks import check_schema, check_task


class ServiceIncomplete(InvalidInput):
    """Tasks without both schemas, or schemas without a task."""

    code = "model-service-incomplete"


class ServiceNotForKind(InvalidInput):
    code = "model-service-not-for-kind"


def model_service(kind: str, tasks: Sequence[str], input_schema: Any | None,
                  output_schema: Any | None) -> ModelService | None:
    """The service to declare (None when no task and no schema was given)."""
    if not tasks and input_schema is None and output_schema is None:
        return None
    if kind != "model":
        raise ServiceNotForKind(f"only a model declares tasks and schemas, not a {kind}",
                                hint="publish it as a model")
    if not tasks:
        raise ServiceIncomplete("a model with schemas needs at least one task",
                                hint="declare a task, e.g. text-classification")
    if input_schema is None or output_schema is None:
        raise ServiceIncomplete("a model that declares tasks needs both schemas",
                                hint="give an input and an output schema")
    if len(set(tasks)) != len(tasks):
        raise InvalidInput("a task is given twice")
    return ModelService(tasks=[check_task(task) for task in tasks],
                        input_schema=check_schema(input_schema, "input schema"),
                        output_schema=check_schema(output_schema, "output schema"))
