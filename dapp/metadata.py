"""The public metadata document of an asset version (`datadao/asset-metadata@1`).

Published to IPFS next to the content; its CID goes on chain, so its bytes must not depend on
who wrote them: `to_canonical_json` sorts keys, has no spaces, writes UTF-8 and leaves out
absent optional fields. `from_json` validates everything a gateway or the catalog relies on and
raises `InvalidMetadata` with pydantic's summary.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from dapp.errors import InvalidInput
from dapp.tasks import check_schema, check_task

SCHEMA_ID = "datadao/asset-metadata@1"
CIPHER_DDX1 = "aes-256-gcm-ddx1"
MAX_METADATA_BYTES = 1024 * 1024
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
MAX_ERRORS_SHOWN = 5


class InvalidMetadata(InvalidInput):
    """An asset metadata document that does not follow `datadao/asset-metadata@1`."""

    code = "invalid-metadata"
    http_status = 422


def _base64_of(length: int | None) -> AfterValidator:
    def check(text: str) -> str:
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("not valid base64") from None
        if length is not None and len(raw) != length:
            raise ValueError(f"decodes to {len(raw)} bytes, expected {length}")
        if not raw:
            raise ValueError("is empty")
        return text

    return AfterValidator(check)


def _relative_path(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or "\0" in path or any(p in ("", ".", "..") for p in parts):
        raise ValueError("must be a relative '/'-separated path without '.', '..' or '//'")
    return path


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Size = Annotated[int, Field(strict=True, ge=0, lt=1 << 64)]
Tag = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._+-]{0,31}$")]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
RelativePath = Annotated[str, Field(min_length=1, max_length=4096),
                         AfterValidator(_relative_path)]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FileEntry(_Document):
    path: RelativePath
    size: Size
    sha256: Sha256Hex


class ContentInfo(_Document):
    encrypted: StrictBool
    cipher: Literal["aes-256-gcm-ddx1"] | None = None
    segment_size: Annotated[int, Field(strict=True, gt=0, le=MAX_SEGMENT_SIZE)] | None = None
    plaintext_size: Size

    @model_validator(mode="after")
    def _cipher_matches_encryption(self) -> Self:
        described = (self.cipher is not None, self.segment_size is not None)
        if self.encrypted and described != (True, True):
            raise ValueError("encrypted content needs cipher and segment_size")
        if not self.encrypted and described != (False, False):
            raise ValueError("plain content has no cipher or segment_size")
        return self


class SealedKey(_Document):
    gateway_public_key: Annotated[str, _base64_of(32)]
    sealed_key: Annotated[str, Field(max_length=1024), _base64_of(None)]


def _task(task: str) -> str:
    try:
        return check_task(task)
    except InvalidInput as error:
        raise ValueError(error.message) from None


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    try:
        return check_schema(schema)
    except InvalidInput as error:
        raise ValueError(error.message) from None


Task = Annotated[str, AfterValidator(_task)]
Schema = Annotated[dict[str, Any], AfterValidator(_schema)]


class ModelService(_Document):
    """What a model serves: its tasks (`dapp.tasks.TASKS`) and the JSON Schema (the subset of
    `dapp.tasks`) of one call's input and of its answer."""

    tasks: Annotated[list[Task], Field(min_length=1, max_length=8)]
    input_schema: Schema
    output_schema: Schema

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[str]) -> list[str]:
        if len(set(tasks)) != len(tasks):
            raise ValueError("tasks must not repeat")
        return tasks

#: features of a private model's input (`dapp.market.private_inference`)
PRIVATE_INPUT_MAX = 64


class PrivateInference(_Document):
    """A model evaluated on encrypted input: `POST /v1/models/{id}/private` (docs/API.md)."""

    scheme: Literal["ckks"]
    input_size: Annotated[int, Field(strict=True, ge=1, le=PRIVATE_INPUT_MAX)]


class AssetMetadata(_Document):
    schema_id: Literal["datadao/asset-metadata@1"] = Field(SCHEMA_ID, alias="schema")
    title: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    kind: Literal["dataset", "model", "algorithm"]
    tags: Annotated[list[Tag], Field(max_length=32)] = []
    license: Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_not_blank)]
    size: Size
    files: Annotated[list[FileEntry], Field(min_length=1, max_length=100_000)]
    content: ContentInfo
    sealed_keys: list[SealedKey] = []
    service: ModelService | None = None  # models only
    created_at: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None
    private_inference: PrivateInference | None = None

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise ValueError("tags must not repeat")
        return tags

    @field_validator("files")
    @classmethod
    def _unique_paths(cls, files: list[FileEntry]) -> list[FileEntry]:
        if len({file.path for file in files}) != len(files):
            raise ValueError("file paths must not repeat")
        return files

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.size != self.content.plaintext_size:
            raise ValueError("size must equal content.plaintext_size")
        if sum(file.size for file in self.files) > self.size:
            raise ValueError("files add up to more than size")
        if self.content.encrypted and not self.sealed_keys:
            raise ValueError("encrypted content needs at least one sealed key")
        if not self.content.encrypted and self.sealed_keys:
            raise ValueError("plain content has no sealed keys")
        gateways = [sealed.gateway_public_key for sealed in self.sealed_keys]
        if len(set(gateways)) != len(gateways):
            raise ValueError("one sealed key per gateway")
        if self.service is not None and self.kind != "model":
            raise ValueError("only a model declares a service (tasks and schemas)")
        if self.private_inference is not None and self.kind != "model":
            raise ValueError("only a model declares private_inference")
        return self

    def to_canonical_json(self) -> bytes:
        document = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(document, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> AssetMetadata:
        if len(data) > MAX_METADATA_BYTES:
            raise InvalidMetadata(f"asset metadata is larger than {MAX_METADATA_BYTES} bytes")
        try:
            return cls.model_validate_json(data)
        except ValidationError as error:
            raise InvalidMetadata(f"asset metadata is invalid: {_summary(error)}") from None


def _summary(error: ValidationError) -> str:
    problems = [f"{'.'.join(str(part) for part in problem['loc']) or 'document'}: "
                f"{problem['msg']}" for problem in error.errors()[:MAX_ERRORS_SHOWN]]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
