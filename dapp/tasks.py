"""What a model does, in words every side shares: the tasks a model may declare (Hugging Face's
pipeline tags, the one list here) and the subset of JSON Schema its input and output schemas
are written in.

The subset: `type` (object, array, string, number, integer, boolean, null, or a list of them),
`properties`, `required`, `additionalProperties` (true or false), `items`, `enum`,
`minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`, and `title`/`description`
(ignored). Anything else in a schema is refused when it is checked (`check_schema`), so a
schema never means more to its author than to the validator (`validate`)."""

from __future__ import annotations

from typing import Any

from dapp.errors import InvalidInput

#: Hugging Face pipeline tags (https://huggingface.co/docs/hub/models-tasks), the ones a small
#: JSON-in, JSON-out model on this exchange can serve.
TASKS: tuple[str, ...] = (
    "audio-classification",
    "automatic-speech-recognition",
    "feature-extraction",
    "fill-mask",
    "image-classification",
    "image-segmentation",
    "image-to-text",
    "object-detection",
    "question-answering",
    "sentence-similarity",
    "summarization",
    "table-question-answering",
    "tabular-classification",
    "tabular-regression",
    "text-classification",
    "text-generation",
    "text-to-image",
    "text2text-generation",
    "time-series-forecasting",
    "token-classification",
    "translation",
    "zero-shot-classification",
)

MAX_SCHEMA_DEPTH = 16
_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
             "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "title",
             "description"}
_NUMBERS = ("minimum", "maximum")
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems")


class UnknownTask(InvalidInput):
    code = "unknown-task"


class InvalidSchema(InvalidInput):
    """A model's input or output schema that is not in the supported subset."""

    code = "invalid-schema"


def check_task(task: str) -> str:
    """`task`, if it is one of `TASKS`."""
    if task not in TASKS:
        raise UnknownTask(f"unknown task {task!r}",
                          hint=f"use a Hugging Face pipeline tag: {', '.join(TASKS)}")
    return task


def check_schema(schema: Any, where: str = "schema", depth: int = 0) -> dict[str, Any]:
    """`schema`, if it is written in the supported subset; else `InvalidSchema` naming the
    place (`where`) and what is wrong."""
    if depth > MAX_SCHEMA_DEPTH:
        raise InvalidSchema(f"{where}: nested deeper than {MAX_SCHEMA_DEPTH} levels")
    if not isinstance(schema, dict):
        raise InvalidSchema(f"{where}: a schema is a JSON object")
    unknown = sorted(set(schema) - _KEYWORDS)
    if unknown:
        raise InvalidSchema(f"{where}: unsupported keyword {unknown[0]!r}",
                            hint="the supported subset: " + ", ".join(sorted(_KEYWORDS)))
    kinds = schema.get("type", [])
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind not in _TYPES:
            raise InvalidSchema(f"{where}.type: {kind!r} is not one of {sorted(_TYPES)}")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidSchema(f"{where}.properties: an object of schemas")
    for name, inner in properties.items():
        check_schema(inner, f"{where}.properties.{name}", depth + 1)
    required = schema.get("required", [])
    if not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        raise InvalidSchema(f"{where}.required: a list of property names")
    if not isinstance(schema.get("additionalProperties", True), bool):
        raise InvalidSchema(f"{where}.additionalProperties: true or false")
    if "items" in schema:
        check_schema(schema["items"], f"{where}.items", depth + 1)
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        raise InvalidSchema(f"{where}.enum: a non-empty list of values")
    for key in _NUMBERS:
        if key in schema and not _is_number(schema[key]):
            raise InvalidSchema(f"{where}.{key}: a number")
    for key in _COUNTS:
        if key in schema and not (_is_integer(schema[key]) and schema[key] >= 0):
            raise InvalidSchema(f"{where}.{key}: a count (an integer ≥ 0)")
    return schema


def validate(instance: Any, schema: dict[str, Any]) -> str | None:
    """Why `instance` does not match `schema` (a checked one), or None when it does."""
    return _problem(instance, schema, "$")


def _problem(value: Any, schema: dict[str, Any], at: str) -> str | None:
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_has_type(value, kind) for kind in allowed):
            return f"{at}: expected {' or '.join(allowed)}, got {_type_of(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{at}: not one of {schema['enum']}"
    if _is_number(value):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{at}: below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{at}: above the maximum {schema['maximum']}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{at}: shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{at}: longer than {schema['maxLength']} characters"
    if isinstance(value, list):
        return _array_problem(value, schema, at)
    if isinstance(value, dict):
        return _object_problem(value, schema, at)
    return None


def _array_problem(value: list[Any], schema: dict[str, Any], at: str) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"{at}: fewer than {schema['minItems']} items"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{at}: more than {schema['maxItems']} items"
    if "items" in schema:
        for index, item in enumerate(value):
            problem = _problem(item, schema["items"], f"{at}[{index}]")
            if problem:
                return problem
    return None


def _object_problem(value: dict[str, Any], schema: dict[str, Any], at: str) -> str | None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            return f"{at}: missing {name!r}"
    for name, item in value.items():
        if name in properties:
            problem = _problem(item, properties[name], f"{at}.{name}")
            if problem:
                return problem
        elif schema.get("additionalProperties", True) is False:
            return f"{at}: unexpected {name!r}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _has_type(value: Any, kind: str) -> bool:
    checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
              "string": lambda v: isinstance(v, str), "number": _is_number,
              "integer": lambda v: _is_integer(v) or (isinstance(v, float) and v.is_integer()),
              "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None}
    return bool(checks[kind](value))


def _type_of(value: Any) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _has_type(value, kind):
            return kind
    return type(value).__name__
