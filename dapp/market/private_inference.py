"""Private inference (CKKS, TenSEAL): the wire format a buyer's client and a provider's gateway
share, and the private model's own file. Pure bytes and JSON: nothing here decrypts or
evaluates (the client encrypts, the sandboxed worker evaluates).

A private model is a folder holding `ckks-model.json`:

    {"kind": "linear" | "logistic" | "polynomial", "weights": [w1, ..., wn], "bias": b,
     "coefficients": [c0, c1, c2, c3]}   # polynomial only: y = c0 + c1 z + c2 z^2 + c3 z^3

with z = w·x + b; `logistic` is the polynomial SIGMOID_COEFFICIENTS (a degree-3 approximation
of the sigmoid, good for |z| ≲ 5). Its metadata declares `"private_inference": {"scheme":
"ckks", "input_size": n}` for buyers.

The request (`POST /v1/models/{id}/private`, application/x-datadao-ckks):

    b"DDCKKS1\\n" | u32 context length | context | u32 n | n times (u32 length | ciphertext)

the context serialized *without* its secret key (and without Galois keys: none are needed),
ciphertext i holding feature i of every row (one row per CKKS slot, so a batch of rows is one
call). The answer is one serialized CKKS vector: y for each row.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from dapp.errors import DappError, InvalidInput
from dapp.metadata import PRIVATE_INPUT_MAX

MAGIC = b"DDCKKS1\n"
MEDIA_TYPE = "application/x-datadao-ckks"
MODEL_FILE = "ckks-model.json"
SCHEME = "ckks"
KINDS = ("linear", "logistic", "polynomial")
SIGMOID_COEFFICIENTS = (0.5, 0.197, 0.0, -0.004)
MAX_DEGREE = 3
MAX_INPUT_SIZE = PRIVATE_INPUT_MAX  # features per row
MAX_CONTEXT_BYTES = 4 << 20  # a public CKKS context with relinearization keys: ~1.8 MB
MAX_CIPHERTEXT_BYTES = 512 << 10  # one fresh ciphertext at N = 8192: ~340 kB
MAX_ROWS = 4096  # CKKS slots at N = 8192
#: CKKS parameters the client uses: N = 8192, depth 3 (z, z², c·z·z²), 2^30 scale
POLY_MODULUS_DEGREE = 8192
COEFF_MOD_BIT_SIZES = (50, 30, 30, 30, 50)
GLOBAL_SCALE_BITS = 30
_U32 = struct.Struct(">I")


def max_request_bytes(input_size: int) -> int:
    return len(MAGIC) + 8 + MAX_CONTEXT_BYTES + input_size * (4 + MAX_CIPHERTEXT_BYTES)


class PrivateRequestInvalid(DappError):
    """A private-inference request that is not the envelope above (checked before payment)."""

    code = "invalid-private-request"
    http_status = 422


class InvalidPrivateModel(InvalidInput):
    code = "invalid-model"
    http_status = 422


@dataclass(frozen=True)
class PrivateRequest:
    context: bytes
    ciphertexts: list[bytes]


def encode_request(context: bytes, ciphertexts: list[bytes]) -> bytes:
    parts = [MAGIC, _U32.pack(len(context)), context, _U32.pack(len(ciphertexts))]
    for ciphertext in ciphertexts:
        parts += [_U32.pack(len(ciphertext)), ciphertext]
    return b"".join(parts)


def decode_request(body: bytes, input_size: int | None = None) -> PrivateRequest:
    """The envelope's parts, every length within its cap and the count `input_size` when
    given; PrivateRequestInvalid (422) otherwise. Reads lengths only: no ciphertext is parsed."""
    if not body.startswith(MAGIC):
        raise PrivateRequestInvalid(
            "the body is not a private-inference request (no DDCKKS1 header)",
            hint="send it as the private-inference client does "
                 "(dapp.client.private.invoke_private)")
    view = memoryview(body)
    offset = len(MAGIC)

    def chunk(what: str, cap: int) -> bytes:
        nonlocal offset
        if offset + 4 > len(view):
            raise PrivateRequestInvalid(f"the request ends before its {what}")
        (size,) = _U32.unpack(view[offset:offset + 4])
        offset += 4
        if size == 0 or size > cap:
            raise PrivateRequestInvalid(f"the {what} is {size} bytes; 1 to {cap} accepted")
        if offset + size > len(view):
            raise PrivateRequestInvalid(f"the request ends inside its {what}")
        offset += size
        return bytes(view[offset - size:offset])

    context = chunk("context", MAX_CONTEXT_BYTES)
    if offset + 4 > len(view):
        raise PrivateRequestInvalid("the request ends before its ciphertext count")
    (count,) = _U32.unpack(view[offset:offset + 4])
    offset += 4
    if not 1 <= count <= MAX_INPUT_SIZE:
        raise PrivateRequestInvalid(f"{count} ciphertexts; 1 to {MAX_INPUT_SIZE} accepted")
    if input_size is not None and count != input_size:
        raise PrivateRequestInvalid(
            f"the model takes {input_size} inputs; the request has {count}",
            details={"input_size": input_size, "ciphertexts": count})
    ciphertexts = [chunk(f"ciphertext {i + 1}", MAX_CIPHERTEXT_BYTES) for i in range(count)]
    if offset != len(view):
        raise PrivateRequestInvalid(f"{len(view) - offset} bytes after the last ciphertext")
    return PrivateRequest(context, ciphertexts)


@dataclass(frozen=True)
class PrivateModel:
    kind: str
    weights: tuple[float, ...]
    bias: float
    coefficients: tuple[float, ...]  # c0..c3 of the polynomial applied to z (identity: linear)

    @property
    def input_size(self) -> int:
        return len(self.weights)

    def evaluate(self, row: list[float]) -> float:
        """The plaintext answer (for the owner's checks and the tests)."""
        z = sum(w * x for w, x in zip(self.weights, row, strict=True)) + self.bias
        return sum(c * z ** k for k, c in enumerate(self.coefficients))

    def to_json(self) -> str:
        document: dict[str, Any] = {"kind": self.kind, "weights": list(self.weights),
                                    "bias": self.bias}
        if self.kind == "polynomial":
            document["coefficients"] = list(self.coefficients)
        return json.dumps(document)


def parse_model(text: str | bytes) -> PrivateModel:
    """The model in a `ckks-model.json`; InvalidPrivateModel (one line) when it is not one."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidPrivateModel(f"{MODEL_FILE} is not JSON") from None
    if not isinstance(document, dict) or document.get("kind") not in KINDS:
        raise InvalidPrivateModel(f"{MODEL_FILE}: kind must be one of {', '.join(KINDS)}")
    kind = document["kind"]
    weights = _numbers(document.get("weights"), "weights")
    if not 1 <= len(weights) <= MAX_INPUT_SIZE:
        raise InvalidPrivateModel(f"{MODEL_FILE}: 1 to {MAX_INPUT_SIZE} weights")
    (bias,) = _numbers([document.get("bias", 0.0)], "bias")
    if kind == "linear":
        coefficients: tuple[float, ...] = (0.0, 1.0)
    elif kind == "logistic":
        coefficients = SIGMOID_COEFFICIENTS
    else:
        coefficients = _numbers(document.get("coefficients"), "coefficients")
        if not 1 <= len(coefficients) <= MAX_DEGREE + 1:
            raise InvalidPrivateModel(f"{MODEL_FILE}: 1 to {MAX_DEGREE + 1} coefficients "
                                      f"(degree at most {MAX_DEGREE})")
    return PrivateModel(kind, weights, bias, coefficients)


def _numbers(value: object, what: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value):
        raise InvalidPrivateModel(f"{MODEL_FILE}: {what} must be a list of finite numbers")
    return tuple(float(v) for v in value)
