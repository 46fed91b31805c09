"""The evaluator of private (CKKS) models, run *inside* the sandbox as a warm worker's model
(`dapp.compute.warm`: `handle(body)` per call); never imported by the gateway. The gateway's
code, the model owner's weights (`$MODEL_DIR/ckks-model.json`, checked by the gateway before
the worker starts) and TenSEAL (bound read-only at /opt/ckks): nothing here sees a plaintext
input or holds a key that decrypts one.

`handle` answers b"\\x00" + the serialized result vector, or b"\\x01" + a JSON
{"code", "message"} when the request cannot be evaluated: a context that carries a secret key,
one that is not CKKS, a ciphertext that does not parse or belongs to another context.
"""

import json
import os
import struct
import sys

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # numpy's import under the sandbox's memory cap
os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, "/opt/ckks")

import tenseal

with open(os.path.join(os.environ["MODEL_DIR"], "ckks-model.json")) as model_file:
    MODEL = json.load(model_file)
SIGMOID = [0.5, 0.197, 0.0, -0.004]
MAGIC = b"DDCKKS1\n"


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parts(body):
    if not body.startswith(MAGIC):
        raise Refused("invalid-private-request", "no DDCKKS1 header")
    offset = len(MAGIC)

    def chunk():
        nonlocal offset
        (size,) = struct.unpack(">I", body[offset:offset + 4])
        offset += 4 + size
        return body[offset - size:offset]

    context = chunk()
    (count,) = struct.unpack(">I", body[offset:offset + 4])
    offset += 4
    return context, [chunk() for _ in range(count)]


def coefficients():
    if MODEL["kind"] == "linear":
        return [0.0, 1.0]
    if MODEL["kind"] == "logistic":
        return SIGMOID
    return [float(c) for c in MODEL["coefficients"]]


def evaluate(xs):
    """c0 + c1 z + c2 z² + c3 z³ with z = w·x + b, in multiplicative depth 3: the plain
    weights (1), z² (2), (c3 z)·z² and c2·z² (3)."""
    z = None
    for x, weight in zip(xs, MODEL["weights"], strict=True):
        term = x * float(weight)
        z = term if z is None else z + term
    z = z + float(MODEL.get("bias", 0.0))
    c = coefficients() + [0.0] * (4 - len(coefficients()))
    result = z * c[1] if c[1] else None
    if c[2] or c[3]:
        square = z * z
        for term in ([square * c[2]] if c[2] else []) + ([(z * c[3]) * square] if c[3] else []):
            result = term if result is None else result + term
    if result is None:
        result = z * 0.0
    return result + c[0] if c[0] else result


def handle(body):
    try:
        context_bytes, ciphertexts = parts(body)
        try:
            context = tenseal.context_from(context_bytes, n_threads=1)
        except Exception:
            raise Refused("malformed-context", "the context does not parse") from None
        if context.has_secret_key() or context.is_private():
            raise Refused("secret-key-in-context", "the context carries its secret key")
        if len(coefficients()) > 2 and any(coefficients()[2:]) and not context.has_relin_keys():
            raise Refused("missing-keys", "the context has no relinearization keys; this "
                                          "model multiplies ciphertexts and needs them")
        xs = []
        for number, data in enumerate(ciphertexts, 1):
            try:
                xs.append(tenseal.ckks_vector_from(context, data))
            except Exception:
                raise Refused("malformed-ciphertext",
                              f"ciphertext {number} does not parse in this context") from None
        try:
            answer = evaluate(xs).serialize()
        except Exception as error:
            raise Refused("cannot-evaluate",
                          f"the encrypted input cannot be evaluated: {type(error).__name__}"
                          ) from None
    except Refused as refused:
        return b"\x01" + json.dumps({"code": refused.code, "message": str(refused)}).encode()
    return b"\x00" + answer
