"""The job state machine, persisted in the gateway's database (`provider_jobs`).

    queued ──▶ running ──▶ computed ──▶ submitted          (result on chain)
      │           │  ▲         ▲
      │           │  └── a restart finds it running: run again (at most MAX_ATTEMPTS starts)
      │           ├────────────┘ the run failed after acceptance: a failure report is the
      │           │              result (`reason` set), posted as any result
      ▼           ▼
               failed ──▶ declined       (before acceptance: inputs refused, deadline too
                                          close; declineJob refunds the buyer, no slash)
    queued / running / computed ──▶ expired                 (deadline passed, buyer calls expire)
    any open state ──▶ closed                               (the chain settled it without us:
                                                             cancelled by the buyer, ...)

`running` covers fetching the inputs, `acceptJob` (on chain: the job's status is Accepted from
then on, which is where a restart learns that it was accepted) and the run.

Every transition is one committed UPDATE guarded by the state it leaves, so a crash between
two steps resumes at the last committed one: a computed result is posted, never recomputed; a
failure is declined, never retried. Only `running` repeats work, and only because the run it
names never finished. New jobs and the scan cursor are written in one transaction, so a job
is neither lost nor added twice; with them the hashes of the blocks the scan read, so that a
reorg (or a dev chain's `evm_revert`) moves the cursor back (`roll_back`, see
`dapp.compute.scan`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, delete, select, update
from sqlalchemy.orm import Session

from dapp.market.reader import NewJob
from dapp.store.models.provider_jobs import ProviderCursor, ProviderJob, ProviderScanHash

QUEUED = "queued"
RUNNING = "running"
COMPUTED = "computed"
SUBMITTED = "submitted"
FAILED = "failed"
DECLINED = "declined"
EXPIRED = "expired"
CLOSED = "closed"

#: states the worker still has to act on, in the order it takes them
UNFINISHED = (COMPUTED, FAILED, RUNNING, QUEUED)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ScanCursor:
    next_block: int
    block_hash: str | None  # of block next_block - 1, as the scan read it


@dataclass(frozen=True)
class JobRecord:
    market: str
    job_id: int
    provider: str
    buyer: str
    dataset_id: int
    algorithm_id: int
    deadline: int
    state: str
    attempts: int
    reason: str | None
    result_cid: str | None
    result_hash: str | None
    result_size: int | None
    result_name: str | None
    result_sealed_key: str | None
    tx_hash: str | None
    seconds: float | None
    updated_at: float


def _record(row: ProviderJob) -> JobRecord:
    return JobRecord(row.market, row.job_id, row.provider, row.buyer, row.dataset_id,
                     row.algorithm_id, row.deadline, row.state, row.attempts, row.reason,
                     row.result_cid, row.result_hash, row.result_size, row.result_name,
                     row.result_sealed_key, row.tx_hash, row.seconds, row.updated_at)


class JobStore:
    def __init__(self, engine: Engine, market: str, provider: str) -> None:
        self.engine = engine
        self.market = market
        self.provider = provider

    # -- scanning ------------------------------------------------------------------------------
    def cursor(self, default: int) -> ScanCursor:
        """The next block to scan (`default` before the first scan) and the hash the scan
        read of the block before it (None: not known, e.g. a cursor of an older version)."""
        with Session(self.engine) as session:
            cursor = session.get(ProviderCursor, (self.market, self.provider))
            if cursor is None:
                return ScanCursor(default, None)
            return ScanCursor(cursor.next_block, cursor.block_hash)

    def next_block(self, default: int) -> int:
        return self.cursor(default).next_block

    def add(self, jobs: Sequence[NewJob], next_block: int,
            hashes: Mapping[int, str] | None = None, keep_blocks: int = 128) -> int:
        """Queue the jobs not seen before and move the cursor, in one transaction; with it the
        `hashes` the scan read (block → hash; the one of `next_block - 1` is the cursor's),
        of which those of the last `keep_blocks` blocks are kept."""
        added = 0
        now = time.time()
        hashes = dict(hashes or {})
        with Session(self.engine) as session, session.begin():
            for job in jobs:
                if session.get(ProviderJob, (self.market, job.job_id)) is not None:
                    continue
                session.add(ProviderJob(
                    market=self.market, job_id=job.job_id, provider=self.provider,
                    buyer=job.buyer, dataset_id=job.dataset_id, algorithm_id=job.algorithm_id,
                    deadline=job.deadline, created_block=job.block_number, state=QUEUED,
                    attempts=0, updated_at=now))
                added += 1
            cursor = session.get(ProviderCursor, (self.market, self.provider))
            if cursor is None:
                session.add(ProviderCursor(market=self.market, provider=self.provider,
                                           next_block=next_block,
                                           block_hash=hashes.get(next_block - 1)))
            else:
                cursor.next_block = next_block
                cursor.block_hash = hashes.get(next_block - 1)
            for number, block_hash in hashes.items():
                session.merge(ProviderScanHash(market=self.market, provider=self.provider,
                                               block_number=number, block_hash=block_hash))
            session.execute(delete(ProviderScanHash).where(*self._scan_hashes_of(),
                            ProviderScanHash.block_number < next_block - keep_blocks))
        return added

    def _scan_hashes_of(self) -> tuple[ColumnElement[bool], ...]:
        return (ProviderScanHash.market == self.market,
                ProviderScanHash.provider == self.provider)

    def scan_hashes(self) -> list[tuple[int, str]]:
        """The block hashes the scan kept, newest first."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(ProviderScanHash.block_number, ProviderScanHash.block_hash)
                .where(*self._scan_hashes_of()).order_by(ProviderScanHash.block_number.desc()))
            return [(int(number), str(block_hash)) for number, block_hash in rows]

    def roll_back(self, ancestor: int, ancestor_hash: str | None) -> int:
        """After a reorg: scan again from block `ancestor + 1` (its hash as the cursor's) and
        forget every job created above `ancestor` — those blocks are gone; a job that the new
        branch holds is queued afresh by the rescan (its id may now name another job).
        Returns the number of jobs forgotten."""
        with Session(self.engine) as session, session.begin():
            forgotten = session.execute(delete(ProviderJob).where(
                ProviderJob.market == self.market, ProviderJob.provider == self.provider,
                ProviderJob.created_block > ancestor))
            session.execute(delete(ProviderScanHash).where(
                *self._scan_hashes_of(), ProviderScanHash.block_number > ancestor))
            cursor = session.get(ProviderCursor, (self.market, self.provider))
            if cursor is not None:
                cursor.next_block = ancestor + 1
                cursor.block_hash = ancestor_hash
            return int(forgotten.rowcount or 0)

    # -- reading -------------------------------------------------------------------------------
    def get(self, job_id: int) -> JobRecord | None:
        with Session(self.engine) as session:
            row = session.get(ProviderJob, (self.market, job_id))
            return None if row is None else _record(row)

    def unfinished(self) -> list[JobRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ProviderJob).where(ProviderJob.market == self.market,
                                          ProviderJob.state.in_(UNFINISHED))
                .order_by(ProviderJob.job_id))
            return [_record(row) for row in rows]

    def of_buyer(self, buyer: str, limit: int = 100) -> list[JobRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ProviderJob).where(ProviderJob.market == self.market,
                                          ProviderJob.buyer == buyer)
                .order_by(ProviderJob.job_id.desc()).limit(limit))
            return [_record(row) for row in rows]

    # -- transitions ---------------------------------------------------------------------------
    def _move(self, job_id: int, from_states: Sequence[str], to_state: str,
              **values: object) -> bool:
        """One guarded transition; False if the job was not in one of `from_states`."""
        with self.engine.begin() as connection:
            result = connection.execute(
                update(ProviderJob)
                .where(ProviderJob.market == self.market, ProviderJob.job_id == job_id,
                       ProviderJob.state.in_(from_states))
                .values(state=to_state, updated_at=time.time(), **values))
            return result.rowcount == 1

    def start(self, job: JobRecord) -> bool:
        return self._move(job.job_id, (QUEUED, RUNNING), RUNNING, attempts=job.attempts + 1)

    def requeue(self, job: JobRecord) -> bool:
        """Back to the queue after a service outage (not an attempt of the job's own)."""
        return self._move(job.job_id, (RUNNING,), QUEUED, attempts=job.attempts)

    def computed(self, job_id: int, *, cid: str, sha256: bytes, size: int, name: str,
                 sealed_key: str, seconds: float, reason: str | None = None) -> bool:
        """A result to post; with `reason`, the failure report of a run that failed after
        the job was accepted."""
        return self._move(job_id, (RUNNING,), COMPUTED, result_cid=cid,
                          result_hash="0x" + sha256.hex(), result_size=size, result_name=name,
                          result_sealed_key=sealed_key, seconds=seconds, reason=reason)

    def submitted(self, job_id: int, tx_hash: str | None) -> bool:
        return self._move(job_id, (COMPUTED,), SUBMITTED, tx_hash=tx_hash)

    def failed(self, job_id: int, reason: str, seconds: float | None = None) -> bool:
        return self._move(job_id, (QUEUED, RUNNING), FAILED, reason=reason, seconds=seconds)

    def declined(self, job_id: int, tx_hash: str | None) -> bool:
        return self._move(job_id, (FAILED,), DECLINED, tx_hash=tx_hash)

    def expired(self, job_id: int, reason: str) -> bool:
        return self._move(job_id, (QUEUED, RUNNING, COMPUTED), EXPIRED, reason=reason)

    def closed(self, job_id: int, reason: str) -> bool:
        return self._move(job_id, UNFINISHED, CLOSED, reason=reason)
