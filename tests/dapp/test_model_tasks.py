"""The task vocabulary, the JSON Schema subset a model's input and output are written in, the
`service` member of model metadata, and the plans of routed steps: in-process, no services."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dapp.client.plans import fill, parse_plan
from dapp.errors import InvalidInput
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.tasks import TASKS, InvalidSchema, check_schema, validate

LABELS = {"type": "object", "additionalProperties": False, "required": ["label", "scores"],
          "properties": {"label": {"enum": ["pos", "neg"]},
                         "scores": {"type": "array", "minItems": 1,
                                    "items": {"type": "number", "minimum": 0, "maximum": 1}},
                         "count": {"type": "integer"}}}


@pytest.mark.parametrize(("value", "problem"), [
    ({"label": "pos", "scores": [0.5]}, None),
    ({"label": "pos", "scores": [0.5], "count": 2.0}, None),
    ({"label": "meh", "scores": [0.5]}, "$.label: not one of ['pos', 'neg']"),
    ({"label": "pos"}, "$: missing 'scores'"),
    ({"label": "pos", "scores": []}, "$.scores: fewer than 1 items"),
    ({"label": "pos", "scores": [1.5]}, "$.scores[0]: above the maximum 1"),
    ({"label": "pos", "scores": [True]}, "$.scores[0]: expected number, got boolean"),
    ({"label": "pos", "scores": [0.1], "count": True}, "$.count: expected integer, got boolean"),
    ({"label": "pos", "scores": [0.1], "extra": 1}, "$: unexpected 'extra'"),
    (["pos"], "$: expected object, got array"),
])
def test_an_answer_is_checked_against_the_schema_it_declared(value: Any,
                                                              problem: str | None) -> None:
    assert validate(value, check_schema(LABELS)) == problem


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "object", "$ref": "#/x"}, "schema: unsupported keyword '$ref'"),
    ({"type": "thing"}, "schema.type: 'thing' is not one of"),
    ({"properties": {"a": {"pattern": "x"}}}, "schema.properties.a: unsupported keyword"),
    ({"required": "a"}, "schema.required: a list of property names"),
    ({"minLength": -1}, "schema.minLength: a count"),
    ([], "schema: a schema is a JSON object"),
])
def test_a_schema_outside_the_subset_is_refused_by_name(schema: Any, message: str) -> None:
    with pytest.raises(InvalidSchema, match=message.replace("$", r"\$")):
        check_schema(schema)


def test_a_schema_nested_without_end_is_refused() -> None:
    schema: dict[str, Any] = {"type": "array"}
    for _ in range(40):
        schema = {"type": "array", "items": schema}
    with pytest.raises(InvalidSchema, match="nested deeper than"):
        check_schema(schema)


def _document(kind: str, **extra: Any) -> dict[str, Any]:
    return {"schema": "datadao/asset-metadata@1", "title": "t", "kind": kind, "license": "MIT",
            "size": 1, "files": [{"path": "model.py", "size": 1, "sha256": "0" * 64}],
            "content": {"encrypted": False, "plaintext_size": 1}, **extra}


def _parsed(document: dict[str, Any]) -> AssetMetadata:
    return AssetMetadata.from_json(json.dumps(document).encode())


SERVICE = {"tasks": ["summarization"], "input_schema": {"type": "object"},
           "output_schema": {"type": "object"}}


def test_a_model_declares_its_service_and_documents_without_one_keep_their_bytes() -> None:
    model = _parsed(_document("model", service=SERVICE))
    assert model.service is not None and model.service.tasks == ["summarization"]
    assert b'"service":{' in model.to_canonical_json()
    assert b"service" not in _parsed(_document("model")).to_canonical_json()
    assert "summarization" in TASKS and "translation" in TASKS


@pytest.mark.parametrize(("kind", "service", "message"), [
    ("dataset", SERVICE, "only a model declares a service"),
    ("model", {**SERVICE, "tasks": ["mind-reading"]}, "unknown task 'mind-reading'"),
    ("model", {**SERVICE, "tasks": []}, "service.tasks"),
    ("model", {**SERVICE, "tasks": ["summarization", "summarization"]}, "must not repeat"),
    ("model", {**SERVICE, "output_schema": {"oneOf": []}}, "unsupported keyword 'oneOf'"),
])
def test_a_service_the_vocabulary_or_the_subset_does_not_allow_is_invalid_metadata(
        kind: str, service: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidMetadata, match=message):
        _parsed(_document(kind, service=service))


def test_a_plan_step_reads_the_previous_output_through_its_template() -> None:
    previous = {"scaled": 12, "items": [{"label": "big"}]}
    assert fill({"x": "$.scaled", "first": "$.items.0.label", "all": "$", "k": 1},
                previous) == {"x": 12, "first": "big", "all": previous, "k": 1}
    with pytest.raises(InvalidInput, match=r"\$.nope: the previous output has no 'nope'"):
        fill({"x": "$.nope"}, previous)


@pytest.mark.parametrize(("plan", "message"), [
    ({"steps": []}, "1 to 16 steps"),
    ({"steps": [{"model": 1}]}, "plan step 1 needs a \"task\""),
    ({"steps": [{"task": "summarization", "when": "now"}]}, "unknown member 'when'"),
    ({"steps": [{"task": "dreaming"}]}, "unknown task 'dreaming'"),
    ({"steps": [{"task": "summarization", "max_price": "lots"}]}, "max_price is base units"),
])
def test_a_malformed_plan_is_refused_before_any_step_runs(plan: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_plan(plan)
