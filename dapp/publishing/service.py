"""A model's service from what its publisher gave: the tasks it serves and the JSON Schema
files of one call's input and answer, each checked here with a one-line reason (an unknown
task, a schema outside the supported subset, a file that is not JSON) before anything is
uploaded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dapp.errors import InvalidInput
from dapp.metadata import ModelService
from dapp.tasks import check_schema, check_task

MAX_SCHEMA_BYTES = 64 * 1024


def model_service(kind: str, tasks: Sequence[str], input_schema: Path | None,
                  output_schema: Path | None) -> ModelService | None:
    """The service to declare (None when no task and no schema was given)."""
    if not tasks and input_schema is None and output_schema is None:
        return None
    if kind != "model":
        raise InvalidInput(f"only a model declares tasks and schemas, not a {kind}",
                           hint="publish with --kind model")
    if not tasks:
        raise InvalidInput("a model with schemas needs at least one task",
                           hint="add --task, e.g. --task text-classification")
    if input_schema is None or output_schema is None:
        raise InvalidInput("a model that declares tasks needs both schemas",
                           hint="give --input-schema FILE and --output-schema FILE")
    if len(set(tasks)) != len(tasks):
        raise InvalidInput("a task is given twice")
    return ModelService(tasks=[check_task(task) for task in tasks],
                        input_schema=_schema_file(input_schema, "--input-schema"),
                        output_schema=_schema_file(output_schema, "--output-schema"))


def _schema_file(path: Path, option: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read {option} {path}: {error.strerror}") from None
    if len(data) > MAX_SCHEMA_BYTES:
        raise InvalidInput(f"{option} {path} is larger than {MAX_SCHEMA_BYTES} bytes")
    try:
        schema = json.loads(data)
    except ValueError as error:
        raise InvalidInput(f"{option} {path} is not JSON: {error}") from None
    return check_schema(schema, option)
