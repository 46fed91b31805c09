"""Private inference, the buyer's side: rows of numbers encrypted here with CKKS (TenSEAL),
evaluated by a provider's private model on ciphertext, the answer decrypted here. The secret
key never leaves this process: the gateway gets a copy of the context made public (secret key
dropped, checked before sending) and one ciphertext per feature (feature i of every row in
its slots), and answers one ciphertext.

What the provider still learns: the number of features and of rows (a row per slot, up to
4096), which model is called and when, and the encrypted answer's size; never the values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from dapp.client.metered import MeteredClient
from dapp.errors import InvalidInput, ServiceUnavailable
from dapp.market.private_inference import (
    COEFF_MOD_BIT_SIZES,
    GLOBAL_SCALE_BITS,
    MAX_INPUT_SIZE,
    MAX_ROWS,
    MEDIA_TYPE,
    POLY_MODULUS_DEGREE,
    encode_request,
)


class SecretKeyWouldLeave(InvalidInput):
    code = "secret-key-in-context"


@dataclass(frozen=True)
class PrivateResult:
    outputs: list[float]  # one per row, decrypted here
    price: int
    cumulative: int
    request_bytes: int


@dataclass(frozen=True)
class Encrypted:
    context: Any  # the tenseal.Context with the secret key: stays here
    body: bytes  # what is sent
    public_context: bytes


def parse_rows(text: str | bytes) -> tuple[list[list[float]], bool]:
    """A JSON vector (one row) or list of vectors, and whether it was a single vector;
    InvalidInput (one line) otherwise."""
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidInput("the input is not JSON: give a vector like [1.5, 2, -0.3] or a "
                           "list of them") from None
    single = isinstance(document, list) and all(_is_number(v) for v in document)
    rows = [document] if single else document
    if not isinstance(rows, list) or not rows or not all(
            isinstance(row, list) and row and all(_is_number(v) for v in row) for row in rows):
        raise InvalidInput("the input must be a vector of finite numbers or a list of vectors")
    if len({len(row) for row in rows}) != 1:
        raise InvalidInput("every row of the input needs the same number of values")
    if len(rows[0]) > MAX_INPUT_SIZE or len(rows) > MAX_ROWS:
        raise InvalidInput(f"at most {MAX_INPUT_SIZE} values per row and {MAX_ROWS} rows")
    return [[float(v) for v in row] for row in rows], single


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


def _tenseal() -> Any:
    try:
        import tenseal
    except ImportError:
        raise ServiceUnavailable("private inference needs TenSEAL on this machine",
                                 hint="pip install tenseal==0.3.18 numpy") from None
    return tenseal


def encrypt(rows: list[list[float]]) -> Encrypted:
    """A fresh CKKS context (its secret key kept in the result) and the request body."""
    ts = _tenseal()
    context = ts.context(ts.SCHEME_TYPE.CKKS, POLY_MODULUS_DEGREE,
                         coeff_mod_bit_sizes=list(COEFF_MOD_BIT_SIZES))
    context.global_scale = 2 ** GLOBAL_SCALE_BITS
    public = context.serialize(save_public_key=False, save_secret_key=False,
                               save_galois_keys=False, save_relin_keys=True)
    if ts.context_from(public).has_secret_key():  # never: but checked before it leaves
        raise SecretKeyWouldLeave("the context to send carries its secret key: not sent")
    ciphertexts = [ts.ckks_vector(context, [row[i] for row in rows]).serialize()
                   for i in range(len(rows[0]))]
    return Encrypted(context, encode_request(public, ciphertexts), public)


def decrypt(encrypted: Encrypted, answer: bytes, rows: int) -> list[float]:
    ts = _tenseal()
    try:
        vector = ts.ckks_vector_from(encrypted.context, answer)
        values = vector.decrypt()
    except Exception:
        raise InvalidInput("the gateway's answer is not a ciphertext of this context") \
            from None
    return [float(v) for v in values[:rows]]


def invoke_private(client: MeteredClient, asset_id: int, rows: list[list[float]], *,
                   channel_id: int | None, max_price: int | None = None,
                   resync: bool = False) -> PrivateResult:
    """Evaluate private model `asset_id` on `rows`, encrypted: paid as any call, the answers
    decrypted here (within CKKS error, ~1e-4 of the plaintext result)."""
    encrypted = encrypt(rows)
    result = client.invoke(asset_id, encrypted.body, channel_id=channel_id,
                           content_type=MEDIA_TYPE, resync=resync, max_price=max_price,
                           route="private")
    return PrivateResult(decrypt(encrypted, result.body, len(rows)), result.price,
                         result.cumulative, len(encrypted.body))
