"""Compute jobs this gateway runs as a provider: `GET /v1/jobs/{id}`, its result, and the
caller's jobs. Only a job's buyer (signed in: SIWE session or EIP-712 signed request) sees it.

Status joins the chain (authoritative for money: open, accepted, submitted, disputed,
finalized, refunded) with the worker's local state (queued, running, failed with its reason).
A run that failed after the job was accepted is `failed` too, with its reason; its result is
the failure report the provider posted (see `dapp.compute.runner`). The result
is stored on IPFS encrypted; this gateway holds its key and streams the plaintext, whose
sha2-256 is the `resultHash` on chain (see `dapp.compute.results`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from dapp.chain.constants import JobStatus as ChainJobStatus
from dapp.compute import jobs as states
from dapp.compute.jobs import JobRecord
from dapp.compute.results import stream_result
from dapp.compute.runner import JobWorker
from dapp.errors import DappError, InvalidInput, NotFound
from dapp.gateway.deps import AccountDep, ComputeDep, ContentDep
from dapp.market.reader import ChainJob

router = APIRouter(prefix="/v1", tags=["compute"])

MAX_JOB_ID = 2**256 - 1
RESULT_HASH_HEADER = "X-DataDAO-Result-Sha256"

JobStatus = Literal["queued", "accepted", "running", "submitted", "disputed", "failed",
                    "expired", "finalized", "refunded"]


class NotJobBuyer(DappError):
    code = "not-job-buyer"
    http_status = 403


class ResultNotReady(DappError):
    code = "result-not-ready"
    http_status = 409


class JobOut(BaseModel):
    job_id: int
    status: JobStatus = Field(description="queued (not accepted yet: the buyer may cancel), "
                              "accepted (the provider locked its collateral), running, "
                              "submitted (challenge window), disputed, failed (see reason), "
                              "expired (deadline missed: the buyer calls expire), finalized "
                              "(paid), refunded (declined, cancelled by the buyer, expired, "
                              "or a dispute the buyer won)")
    reason: str | None = Field(None, description="why the job failed, naming the limit hit")
    chain_status: str = Field(description="the ComputeMarket's status of the job")
    refunded: bool
    buyer: str
    provider: str
    dataset_id: int
    algorithm_id: int | None = Field(None, description="null until the worker saw the job")
    deadline: int
    challenge_end: int | None
    token: str
    provider_fee: str = Field(description="base units of `token`, as a decimal string")
    data_fee: str
    result_cid: str | None = Field(None, description="CID of the encrypted result")
    result_hash: str | None = Field(None, description="sha2-256 of the plaintext result")
    result_size: int | None = None
    result_name: str | None = None
    attempts: int = Field(0, description="times the worker started the algorithm")
    seconds: float | None = Field(None, description="wall time of the run")
    tx_hash: str | None = Field(None, description="the submitResult or declineJob transaction")
    dispute_bond: str = Field(description="what a dispute costs the buyer (base units of "
                              "`token`): the job's params' disputeBondBps of its price")


class JobListOut(BaseModel):
    jobs: list[JobOut]


_SETTLED: dict[ChainJobStatus, JobStatus] = {
    ChainJobStatus.DISPUTED: "disputed", ChainJobStatus.FINALIZED: "finalized",
    ChainJobStatus.REFUNDED: "refunded"}


def job_status(chain: ChainJob, local: JobRecord | None) -> JobStatus:
    if local is not None and local.state in (states.FAILED, states.DECLINED):
        return "failed"
    if chain.status in _SETTLED:
        return _SETTLED[chain.status]
    if chain.status == ChainJobStatus.SUBMITTED:
        failed_run = local is not None and local.reason is not None
        return "failed" if failed_run else "submitted"
    if local is None or local.state == states.QUEUED:
        return "accepted" if chain.status == ChainJobStatus.ACCEPTED else "queued"
    if local.state == states.EXPIRED:
        return "expired"
    if local.state == states.SUBMITTED:
        return "submitted"
    return "running"


def job_out(chain: ChainJob, local: JobRecord | None, dispute_bond: int) -> JobOut:
    return JobOut(
        job_id=chain.job_id, status=job_status(chain, local),
        reason=local.reason if local else None, chain_status=chain.status.name.lower(),
        refunded=chain.status == ChainJobStatus.REFUNDED, buyer=chain.buyer,
        provider=chain.provider, dataset_id=chain.dataset_id,
        algorithm_id=local.algorithm_id if local else None, deadline=chain.deadline,
        challenge_end=chain.challenge_end or None, token=chain.token,
        provider_fee=str(chain.provider_fee), data_fee=str(chain.data_fee),
        result_cid=local.result_cid if local else None,
        result_hash=local.result_hash if local else None,
        result_size=local.result_size if local else None,
        result_name=local.result_name if local else None,
        attempts=local.attempts if local else 0, seconds=local.seconds if local else None,
        tx_hash=local.tx_hash if local else None, dispute_bond=str(dispute_bond),
    )


def _buyers_job(worker: JobWorker, job_id: int, account: str
                ) -> tuple[ChainJob, JobRecord | None]:
    chain = worker.reader.job(job_id)
    if chain is None or chain.provider != worker.provider:
        raise NotFound(f"job {job_id} is not run by this gateway")
    if chain.buyer.lower() != account.lower():
        raise NotJobBuyer(f"only the buyer of job {job_id} sees it",
                          hint=f"sign in as {chain.buyer}")
    return chain, worker.store.get(job_id)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(*, job_id: int = Path(..., ge=1, le=MAX_JOB_ID),
            account: AccountDep,
            compute: ComputeDep) -> JobOut:
    """A job's status for its buyer: chain and worker state, result CID and hash."""
    worker = compute.ready()
    chain, local = _buyers_job(worker, job_id, account)
    return job_out(chain, local, worker.reader.dispute_bond(chain))


@router.get("/jobs", response_model=JobListOut)
def list_jobs(*, mine: bool = Query(True, description="must be 1: a buyer sees only their jobs"),
              limit: int = Query(100, ge=1, le=500),
              account: AccountDep,
              compute: ComputeDep) -> JobListOut:
    """The caller's jobs at this gateway, newest first."""
    if not mine:
        raise InvalidInput("only your own jobs can be listed", hint="use ?mine=1")
    worker = compute.ready()
    out = []
    for local in worker.store.of_buyer(account, limit):
        chain = worker.reader.job(local.job_id)
        if chain is not None:
            out.append(job_out(chain, local, worker.reader.dispute_bond(chain)))
    return JobListOut(jobs=out)


@router.get("/jobs/{job_id}/result", response_class=StreamingResponse,
            responses={200: {"description": "the plaintext result",
                             "content": {"application/octet-stream": {}}},
                       409: {"description": "no result yet (or the job failed)"}})
async def job_result(*, account: AccountDep, compute: ComputeDep, content: ContentDep,
                     job_id: int = Path(..., ge=1, le=MAX_JOB_ID)) -> StreamingResponse:
    """The decrypted result, streamed to the job's buyer; its sha2-256 equals the on-chain
    `resultHash` (also sent as the X-DataDAO-Result-Sha256 header)."""
    worker = compute.ready()
    _chain, local = await anyio.to_thread.run_sync(_buyers_job, worker, job_id, account)
    if local is None or local.result_cid is None or local.result_sealed_key is None:
        raise ResultNotReady(f"job {job_id} has no result yet",
                             hint="GET /v1/jobs/{id} shows its status")
    chunks = stream_result(local.result_cid, local.result_sealed_key, content.reader,
                           worker.keypair)
    first = await anext(chunks, b"")  # failures before the first byte are problem+json
    name = local.result_name or "result"
    headers = {
        "Content-Length": str(local.result_size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        RESULT_HASH_HEADER: local.result_hash or "",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(_prepend(first, chunks), headers=headers,
                             media_type="application/octet-stream")


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk
