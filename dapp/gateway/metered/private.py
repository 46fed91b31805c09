"""Private models (CKKS): evaluated on the buyer's encrypted input by the gateway's own
evaluator (`dapp.compute.ckks_worker`) in a warm sandboxed worker of (model, buyer), TenSEAL
and numpy bound read-only at /opt/ckks. The gateway reads the envelope's lengths only
(`dapp.market.private_inference`); every ciphertext and the context are parsed in the sandbox.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from functools import cache
from pathlib import Path

from dapp.compute.warm import WarmCallFailed
from dapp.errors import DappError
from dapp.gateway.metered.warm_pool import WarmPool
from dapp.market.private_inference import (
    MEDIA_TYPE,
    MODEL_FILE,
    InvalidPrivateModel,
    PrivateModel,
    parse_model,
)

log = logging.getLogger("dapp.gateway.metered")

EVALUATOR = Path(__file__).resolve().parents[2] / "compute" / "ckks_worker.py"
LIBRARIES_INSIDE = Path("/opt/ckks")
#: what the evaluator imports, by name in site-packages (the wheels' top-level entries)
_LIBRARY_NAMES = ("tenseal", "numpy", "numpy.libs", "libtenseal.so")
_LIBRARY_PREFIXES = ("_tenseal_cpp.", "_sealapi_cpp.")
#: what the evaluator may answer as a refusal (anything else: the model failed)
REFUSALS = {"secret-key-in-context", "missing-keys", "malformed-context",
            "malformed-ciphertext", "invalid-private-request", "cannot-evaluate"}


class PrivateInferenceUnavailable(DappError):
    code = "private-inference-unavailable"
    http_status = 503


class NotAPrivateModel(DappError):
    code = "not-a-private-model"
    http_status = 422


def is_private(folder: Path) -> bool:
    return (folder / MODEL_FILE).is_file()


def private_model(folder: Path) -> PrivateModel:
    """The model in `folder`; NotAPrivateModel when it is an ordinary one."""
    if not is_private(folder):
        raise NotAPrivateModel("this model does not take encrypted input",
                               hint="call it unencrypted (POST .../invoke)")
    try:
        return parse_model((folder / MODEL_FILE).read_bytes())
    except InvalidPrivateModel as error:
        raise InvalidPrivateModel(f"the model's {error.message}") from None


@cache
def libraries() -> tuple[tuple[Path, Path], ...]:
    """(host path, path inside) of TenSEAL and numpy: found, not imported, here."""
    spec = importlib.util.find_spec("tenseal")
    if spec is None or not spec.submodule_search_locations:
        return ()
    site = Path(next(iter(spec.submodule_search_locations))).resolve().parent
    found = [entry for entry in sorted(site.iterdir())
             if entry.name in _LIBRARY_NAMES or entry.name.startswith(_LIBRARY_PREFIXES)]
    return tuple((entry, LIBRARIES_INSIDE / entry.name) for entry in found)


def evaluate(warm: WarmPool | None, folder: Path, buyer: str, body: bytes) -> bytes:
    """The serialized encrypted answer. Blocking. RefusedInput (a 4xx the evaluator chose),
    WarmCallFailed (the worker failed), PrivateInferenceUnavailable."""
    libs = libraries()
    if warm is None or not any(inside.name == "tenseal" for _, inside in libs):
        raise PrivateInferenceUnavailable(
            "this gateway cannot evaluate private models",
            hint="the provider installs TenSEAL (requirements.lock) and keeps warm workers on "
                 "(DATADAO_MODEL_WARM)")
    answer = warm.call(folder, buyer, body, script=EVALUATOR, libraries=libs)
    if answer[:1] == b"\x00":
        return answer[1:]
    try:
        refusal = json.loads(answer[1:])
        code, message = str(refusal["code"]), str(refusal["message"])[:200]
    except (ValueError, KeyError, TypeError):
        raise WarmCallFailed("the model failed: unreadable answer",
                             details={"reason": "unreadable answer"}) from None
    if answer[:1] != b"\x01" or code not in REFUSALS:
        raise WarmCallFailed("the model failed: unreadable answer",
                             details={"reason": "unreadable answer"})
    log.info("private call refused by the evaluator: %s", code)
    raise RefusedInput(code, message)


class RefusedInput(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


__all__ = ["MEDIA_TYPE", "RefusedInput", "evaluate", "is_private", "libraries",
           "private_model"]
