"""Metered model calls: `POST /v1/models/{asset_id}/invoke`, paid per call with a payment-
channel voucher, and the provider's side: `GET /v1/provider`, `POST /v1/provider/redeem`.

A call is first *admitted*, before it takes anything: the asset must be a MODEL or ALGORITHM
(404 otherwise) → the voucher is checked (402 otherwise), or, when the price is 0, the caller
must be signed in (401). Admission runs on the event loop when every answer it needs is
cached (the model's kind, the channel, the ledger's amount: no thread, no wait), else on a
thread of admission's own (`dapp.chain.cache_only`, `ModelPool.check`: as many as model
workers, never the default threads the rest of the gateway uses, so calls hanging on a
stalled chain cannot hold those; 503 `models-busy` when none came free within
`model_queue_seconds`); either way *before* a model slot, so a call that pays nothing (an
unknown channel, a forged or stale voucher) is answered 402 even when every slot is busy, and
never holds one while the chain is asked about its channel. Then the call
takes a model worker's slot (503 `models-busy` + Retry-After after `model_queue_seconds`) and,
in one hop to that worker's thread (`PaidCall`): the channel's buyer must hold a COMPUTE
license on the model (403 otherwise: the model's owner is paid through the registry's offers,
the provider per call) → the model's files are ready and the sandbox can run → the voucher is
*reserved*: the ledger's compare-and-set stores it durably before the model starts, and a call
that loses that race (another call carrying a voucher less than one price apart took the value
first) is refused 402 stale without running → the model runs with the body on stdin (a model
that defines `handle(body)`: sent to a warm worker of this model and this buyer,
`metered/warm_pool`) → its output goes out. One hop, not one per check: each costs the
gateway's event loop and a worker thread a switch (issue 17, docs/BENCHMARKS.md).

A reserved call is charged whatever the model does: a model that fails (error exit, a limit)
answers 502 with the accepted amount, as the buyer's input ran on the provider's machine.
Everything refused before the reservation takes nothing. So N concurrent calls carrying one
voucher run the model once, and no failing call runs for free. A provider whose price is 0
asks no voucher; the caller then signs in (401 otherwise) and the license is checked on that
account.

A streamed call (`?stream=true` or `Accept: application/x-ndjson`) is checked and reserved the
same way, then answers JSON lines as the model yields chunks; the buyer pays each further
chunk after receiving it with `POST /v1/streams/{id}/pay` (`metered/streams` has the pricing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FilePath
from typing import TypeVar

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dapp.chain.cache_only import WouldBlock, cache_only
from dapp.errors import DappError, NotLicensed, PaymentRequired
from dapp.gateway.deps import AccountDep, MeteredDep, current_account
from dapp.gateway.licenses import Scope
from dapp.gateway.metered.chunks import ChunkSource
from dapp.gateway.metered.models import ModelFailed
from dapp.gateway.metered.pool import ModelsBusy
from dapp.gateway.metered.service import MeteredCalls
from dapp.gateway.metered.streams import (
    STREAM_HEADER,
    STREAM_MEDIA_TYPE,
    StreamResponse,
    stream_lines,
)
from dapp.gateway.metered.verifier import CheckedVoucher, VoucherVerifier
from dapp.gateway.metrics import GatewayMetrics
from dapp.market.vouchers import ACCEPTED_HEADER, PRICE_HEADER, VOUCHER_HEADER

router = APIRouter(prefix="/v1", tags=["metered calls"])
T = TypeVar("T")


class NotTheProvider(DappError):
    code = "not-the-provider"
    http_status = 403


_INVOKE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "the model's stdout (application/json when it is JSON); streamed "
                         "(?stream=true or Accept: application/x-ndjson): JSON lines, a head "
                         "{stream, price, credit, max_chunks, accepted_cumulative}, one "
                         "{seq, text|json|base64} per chunk, an end line {end, chunks, "
                         "paid_chunks, accepted_cumulative}",
          "content": {"application/json": {}, "application/octet-stream": {},
                      "application/x-ndjson": {}}},
    401: {"description": "the provider's price is 0 and the caller is not signed in"},
    402: {"description": "no voucher, or one that does not pay for this call: problem+json "
                         "with reason, price, token, provider, market, chain_id, channel, "
                         "accepted_cumulative"},
    403: {"description": "the paying account holds no COMPUTE license on the model "
                         "(not-licensed: asset_id, account, scope, reason, expired_at)"},
    404: {"description": "no such asset, or not a MODEL/ALGORITHM (not-a-model)"},
    409: {"description": "the model's content key is not sealed to this gateway"},
    422: {"description": "the model's content has no model.py (invalid-model)"},
    502: {"description": "the model failed (error exit, time/memory/output limit); charged: "
                         "the voucher was reserved before the run (accepted_cumulative)"},
    503: {"description": "this gateway is not a provider, or not ready yet; every model "
                         "worker busy (models-busy, with Retry-After); no sandbox here"},
}


@router.post("/models/{asset_id}/invoke", response_class=Response,
             responses=_INVOKE_RESPONSES)
async def invoke_model(*,
    request: Request,
    asset_id: int = Path(ge=1, le=2**256 - 1),
    stream: bool = Query(False, description="answer as JSON lines, chunk by chunk (as "
                         "`Accept: application/x-ndjson` does); each chunk after the first "
                         "is paid through /v1/streams/{id}/pay"),
    max_chunks: int | None = Query(None, ge=1, description="a stream ends after this many "
                                   "chunks (at most the gateway's own limit)"),
    metered: MeteredDep,
) -> Response:
    """Run the model once on the request body (stdin) and answer with its stdout. Pay with
    `X-DataDAO-Voucher: <channelId>:<cumulativeAmount>:<0x signature>` from a channel whose
    buyer holds a COMPUTE license on the model."""
    metrics: GatewayMetrics = metered.metrics
    provider = metered.provider()
    streaming = stream or STREAM_MEDIA_TYPE in request.headers.get("accept", "")
    price = provider.verifier.price
    caller: str | None = None
    unauthenticated: DappError | None = None
    if not price:  # a signed request from a contract wallet asks the chain (EIP-1271)
        try:
            caller = await current_account(request, metered.services)
        except DappError as error:  # told after "not a model", as before
            unauthenticated = error
    paid = PaidCall(metered, provider.verifier, asset_id, request.headers.get(VOUCHER_HEADER),
                    caller, unauthenticated)
    try:
        body = await request.body()
        await paid.admit()
        if streaming:
            release = await metered.pool.hold()
            try:
                source = await _on_model_thread(metered, paid, metered.models.open_chunks,
                                                body)
            except BaseException:
                release()
                raise
            metrics.metered_calls.labels("streamed").inc()
            return _streamed(metered, source, release, price, paid.accepted,
                             paid.checked.voucher.channel_id if paid.checked else None,
                             max_chunks)
        async with metered.pool.slot():
            output = await _on_model_thread(metered, paid, metered.models.run, body)
    except PaymentRequired:
        metrics.metered_calls.labels("payment-required").inc()
        raise
    except NotLicensed:
        metrics.metered_calls.labels("not-licensed").inc()
        raise
    except ModelsBusy:
        metrics.metered_calls.labels("busy").inc()
        raise
    except ModelFailed as error:
        metrics.metered_calls.labels("model-failed").inc()
        if paid.accepted:  # charged: tell the client what the channel stands at
            error.details["accepted_cumulative"] = str(paid.accepted)
            error.headers[ACCEPTED_HEADER] = str(paid.accepted)
        raise
    metrics.metered_calls.labels("paid").inc()
    headers = {PRICE_HEADER: str(price), ACCEPTED_HEADER: str(paid.accepted),
               "Cache-Control": "no-store"}
    return Response(output.body, media_type=output.media_type, headers=headers)


async def _on_model_thread(metered: MeteredCalls, paid: PaidCall,
                           run: Callable[[FilePath, bytes, str], T], body: bytes) -> T:
    """The admitted call's license checked, its voucher reserved and the model run in one hop
    to a model thread (the slot is held); the first call of a model version unpacks its files
    in between (async, from IPFS)."""
    answer = await metered.pool.run(paid.license_and_run, run, body)
    if answer is None:
        folder = await metered.models.files(paid.asset_id)
        answer = await metered.pool.run(paid.reserve_and_run, run, folder, body)
    return answer


class PaidCall:
    """One call's checks, reservation and run. The checks, in the order their errors are
    told: a model (404) → the voucher (402), or the signed-in caller (401) when the price is 0
    (`admit`: before a model slot) → the caller's COMPUTE license (403) → the sandbox can run
    (503) (on the model thread, blocking: a cache miss reads the chain). Then the
    reservation: the ledger's compare-and-set stores the voucher durably before the model
    starts; a call that loses that race (402 stale) does not run. `accepted` is the reserved
    amount (0: unpaid, or not reserved yet), read after the run whether it succeeded or
    failed."""

    def __init__(self, metered: MeteredCalls, verifier: VoucherVerifier, asset_id: int,
                 voucher: str | None, caller: str | None,
                 unauthenticated: DappError | None) -> None:
        self.metered = metered
        self.verifier = verifier
        self.asset_id = asset_id
        self.voucher = voucher
        self.caller = caller
        self.unauthenticated = unauthenticated
        self.checked: CheckedVoucher | None = None
        self.accepted = 0

    async def admit(self) -> None:
        """The model and the voucher (or the signed-in caller) checked, taking no model slot:
        on the event loop from the caches, on a worker thread when a read would wait."""
        try:
            with cache_only():
                self._admit()
        except WouldBlock:  # on admission's own threads (503 models-busy when all wait)
            await self.metered.pool.check(self._admit)

    def _admit(self) -> None:
        self.metered.models.check_is_model(self.asset_id)
        if self.verifier.price:
            self.checked = self.verifier.check(self.voucher)
            self.caller = str(self.checked.channel.buyer)
        elif self.unauthenticated is not None:
            raise self.unauthenticated

    def license_and_run(self, run: Callable[[FilePath, bytes, str], T], body: bytes
                        ) -> T | None:
        """The admitted call's license checked, then reserved and run; None (nothing
        reserved) when the model's files are not unpacked yet."""
        models = self.metered.models
        assert self.caller is not None
        self.metered.content.require_license_blocking(self.asset_id, self.caller,
                                                      Scope.COMPUTE)
        folder = models.ready_files(self.asset_id)
        models.check_runnable()
        return None if folder is None else self.reserve_and_run(run, folder, body)

    def reserve_and_run(self, run: Callable[[FilePath, bytes, str], T], folder: FilePath,
                        body: bytes) -> T:
        assert self.caller is not None
        if self.checked is not None:  # reserve: from here on the call is paid
            self.accepted = self.verifier.accept(self.checked)
        return run(folder, body, self.caller)


def _streamed(metered: MeteredCalls, source: ChunkSource, release: Callable[[], None],
              price: int, accepted: int, channel_id: int | None,
              max_chunks: int | None) -> StreamResponse:
    streams = metered.streams
    opened = streams.open(channel_id, price, accepted, max_chunks)

    async def cleanup() -> None:
        try:
            await anyio.to_thread.run_sync(source.close)
        finally:
            streams.close(opened)
            release()

    headers = {PRICE_HEADER: str(price), ACCEPTED_HEADER: str(accepted),
               STREAM_HEADER: opened.id, "Cache-Control": "no-store"}
    return StreamResponse(stream_lines(opened, source, metered.pool, streams.pay_seconds),
                          cleanup, headers)


class StreamPaidOut(BaseModel):
    stream: str
    paid_chunks: int = Field(description="chunks of the stream paid so far")
    delivered_chunks: int
    accepted_cumulative: str = Field(description="what the channel has paid after this")


@router.post("/streams/{stream_id}/pay", response_model=StreamPaidOut,
             responses={402: {"description": "the voucher does not pay one more price"},
                        403: {"description": "a voucher from another channel than the "
                                             "stream's (not-this-streams-channel)"},
                        404: {"description": "no such stream going on"},
                        409: {"description": "every delivered chunk is paid already "
                                             "(nothing-to-pay)"},
                        503: {"description": "this gateway is not a provider, or not ready "
                                             "yet"}})
async def pay_stream(*, request: Request, stream_id: str = Path(max_length=64),
                     metered: MeteredDep) -> StreamPaidOut:
    """Pay for the next chunk a stream delivered: `X-DataDAO-Voucher` one price above the
    channel's accepted amount, from the channel that opened the stream."""
    provider = metered.provider()
    paid = await metered.streams.pay(stream_id, request.headers.get(VOUCHER_HEADER),
                                     provider.verifier)
    return StreamPaidOut(stream=paid.id, paid_chunks=paid.paid,
                         delivered_chunks=paid.delivered,
                         accepted_cumulative=str(paid.accepted))


class ProviderOut(BaseModel):
    address: str = Field(description="the provider account: open channels to it")
    market: str = Field(description="the ComputeMarket")
    chain_id: int
    token: str = Field(description="channels with this provider are in this token")
    price: str = Field(description="base units of `token` per call (decimal string)")
    registered: bool
    endpoint: str
    vouchers_pending: int = Field(description="channels with value not yet redeemed")


@router.get("/provider", response_model=ProviderOut)
async def provider_info(metered: MeteredDep) -> ProviderOut:
    """Whom to open a channel to, and what a call costs."""
    provider = metered.provider()
    state = await anyio.to_thread.run_sync(provider.market.provider, provider.address)
    pending = await anyio.to_thread.run_sync(metered.ledger.pending)
    return ProviderOut(address=provider.address, market=provider.market.address,
                       chain_id=provider.verifier.chain_id, token=state.price_token,
                       price=str(provider.verifier.price), registered=state.registered,
                       endpoint=state.endpoint, vouchers_pending=len(pending))


class RedeemedOut(BaseModel):
    channel: str
    cumulative_amount: str
    amount: str = Field(description="newly paid by this round")


class RedeemRoundOut(BaseModel):
    redeemed: list[RedeemedOut]
    amount: str = Field(description="total newly paid")
    already_settled: list[str] = Field(description="channels found paid on chain already")
    written_off: list[str] = Field(description="channels that can never pay (reclaimed...)")
    tx_hashes: list[str]


@router.post("/provider/redeem", response_model=RedeemRoundOut)
async def redeem_now(account: AccountDep,
                     metered: MeteredDep) -> RedeemRoundOut:
    """Redeem every pending voucher now (one redeemMany). Only the provider account itself
    may ask (sign in as it): a round costs it gas."""
    provider = metered.provider()
    if account.lower() != provider.address.lower():
        raise NotTheProvider("only the provider account may force a redemption round",
                             hint=f"sign in as {provider.address}")
    result = await anyio.to_thread.run_sync(provider.redeemer.redeem)
    return RedeemRoundOut(
        redeemed=[RedeemedOut(channel=v.channel_id, cumulative_amount=str(v.cumulative_amount),
                              amount=str(v.unredeemed)) for v in result.redeemed],
        amount=str(result.amount),
        already_settled=[v.channel_id for v in result.already_settled],
        written_off=[v.channel_id for v in result.written_off],
        tx_hashes=result.tx_hashes,
    )
