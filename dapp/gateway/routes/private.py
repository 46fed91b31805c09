"""Private inference: `POST /v1/models/{asset_id}/private`, a paid call (as `invoke`) of a
private (CKKS) model on the buyer's encrypted input.

The body is the envelope of `dapp.market.private_inference` (a public CKKS context and one
ciphertext per feature); up to `PRIVATE_MAX_BYTES` are accepted on this route (everywhere else
`max_request_bytes`). Checked here, before any voucher is reserved (nothing charged): its
framing and sizes (422 invalid-private-request), that the model is a private one (422
not-a-private-model: its decrypted files are read, as a paid call would) and takes that many
inputs (422 invalid-private-request). Then the call is `invoke_model`'s: voucher, license,
reservation, the run. The model's evaluator parses the context and the ciphertexts in the
sandbox and refuses a context that carries a secret key (422 secret-key-in-context) or a
ciphertext that does not parse (422 malformed-ciphertext): charged, as the call reached the
sandbox. The answer is one serialized CKKS vector (application/x-datadao-ckks) only the
buyer's secret key opens.
"""

from __future__ import annotations

import functools
import re

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from dapp.gateway.deps import MeteredDep
from dapp.gateway.metered.private import private_model
from dapp.gateway.routes.invoke import _INVOKE_RESPONSES, invoke_model
from dapp.market.private_inference import MAX_INPUT_SIZE, decode_request, max_request_bytes

router = APIRouter(prefix="/v1", tags=["metered calls"])

PRIVATE_PATH = re.compile(r"/v1/models/[0-9]+/private")
PRIVATE_MAX_BYTES = max_request_bytes(MAX_INPUT_SIZE)

_RESPONSES: dict[int | str, dict[str, object]] = {
    **_INVOKE_RESPONSES,
    200: {"description": "the encrypted answer: one serialized CKKS vector",
          "content": {"application/x-datadao-ckks": {}}},
    413: {"description": f"a body over {PRIVATE_MAX_BYTES} bytes"},
    422: {"description": "before payment: invalid-private-request (not the envelope, a "
                         "context or ciphertext over its cap, not the model's input size), "
                         "not-a-private-model; charged (accepted_cumulative): "
                         "secret-key-in-context, missing-keys, malformed-context, "
                         "malformed-ciphertext, "
                         "cannot-evaluate"},
}


@router.post("/models/{asset_id}/private", response_class=Response, responses=_RESPONSES)
async def invoke_private(*,
    request: Request,
    asset_id: int = Path(ge=1, le=2**256 - 1),
    metered: MeteredDep,
) -> Response:
    """Evaluate a private model on encrypted input. Pay as for `/invoke`; send
    `DDCKKS1\\n | u32 len | public context | u32 n | n times (u32 len | ciphertext)`."""
    body = await request.body()
    await anyio.to_thread.run_sync(decode_request, body)  # framing and caps: free
    metered.provider()
    # on admission's threads: a model never read waits on the chain (`ModelPool.check`)
    await metered.pool.check(functools.partial(metered.models.check_is_model, asset_id))
    folder = await metered.models.files(asset_id)
    model = await anyio.to_thread.run_sync(private_model, folder)
    await anyio.to_thread.run_sync(decode_request, body, model.input_size)
    return await invoke_model(request=request, asset_id=asset_id, stream=False,
                              max_chunks=None, metered=metered)
