"""The job worker's "may I run this job" decision (`dapp.compute.admission.may_run`) and the
job store's rollback after a reorg (`JobStore.roll_back`, on a real SQLite database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dapp.chain.constants import JobStatus
from dapp.compute import jobs as states
from dapp.compute.admission import Load, Policy, Verdict, may_run
from dapp.compute.jobs import JobRecord, JobStore
from dapp.market.reader import ChainJob, NewJob
from dapp.store.db import make_engine
from dapp.store.migrate import migrate

A, B = "0x" + "aa" * 20, "0x" + "bb" * 20
MARKET, PROVIDER = "0x" + "11" * 20, "0x" + "22" * 20
NOW = 1_000_000
POLICY = Policy(wall_seconds=20, accept_margin_seconds=60, jobs_per_buyer=1)


def job(buyer: str = A) -> JobRecord:
    return JobRecord(MARKET, 7, PROVIDER, buyer, 1, 2, NOW + 3600, states.QUEUED, 0, None,
                     None, None, None, None, None, None, None, 0.0)


def chain(status: JobStatus = JobStatus.OPEN, due_in: int = 3600) -> ChainJob:
    return ChainJob(7, A, NOW + due_in, status, 1, PROVIDER, 1, A, 1, 1, 0, 1, b"\0" * 32)


def load(busy: int = 0, of_buyer: int = 0, accepted_waiting: int = 0) -> Load:
    return Load(workers=2, busy=busy, of_buyer=of_buyer, accepted_waiting=accepted_waiting)


def test_a_free_worker_takes_a_job_with_time_enough() -> None:
    assert may_run(job(), chain(), NOW, load(), POLICY).verdict == Verdict.RUN
    assert may_run(job(), chain(due_in=80), NOW, load(busy=1), POLICY).verdict == Verdict.RUN


def test_a_job_due_sooner_than_wall_limit_plus_margin_is_declined_even_with_workers_free() -> None:
    admission = may_run(job(), chain(due_in=79), NOW, load(), POLICY)
    assert admission.verdict == Verdict.DECLINE
    assert admission.reason == ("deadline too close: 79 s left, this provider needs 80 s "
                                "(wall-clock limit 20 s + margin)")


def test_no_job_is_accepted_to_wait_for_a_worker() -> None:
    admission = may_run(job(), chain(), NOW, load(busy=2), POLICY)
    assert (admission.verdict, admission.reason) == (Verdict.WAIT,
                                                     "all 2 job workers are busy")
    assert may_run(job(), chain(JobStatus.ACCEPTED), NOW, load(busy=2),
                   POLICY).verdict == Verdict.WAIT


def test_one_buyer_holds_at_most_its_share_of_the_workers() -> None:
    admission = may_run(job(A), chain(), NOW, load(busy=1, of_buyer=1), POLICY)
    assert (admission.verdict, admission.reason) == (Verdict.WAIT,
                                                     "its buyer has 1 job(s) running")
    assert may_run(job(B), chain(), NOW, load(busy=1, of_buyer=0), POLICY).verdict == \
        Verdict.RUN
    two_each = Policy(20, 60, jobs_per_buyer=2)
    assert may_run(job(A), chain(), NOW, load(busy=1, of_buyer=1), two_each).verdict == \
        Verdict.RUN


def test_jobs_accepted_before_a_restart_go_before_new_ones() -> None:
    """Their collateral is locked: they run first (whoever bought them), and no new job is
    accepted while one of them waits for a worker."""
    accepted = may_run(job(A), chain(JobStatus.ACCEPTED, due_in=10), NOW,
                       load(busy=1, of_buyer=1), POLICY)
    assert accepted.verdict == Verdict.RUN
    waiting = may_run(job(B), chain(), NOW, load(busy=1, accepted_waiting=1), POLICY)
    assert waiting.verdict == Verdict.WAIT


def new_job(job_id: int, block: int) -> NewJob:
    return NewJob(job_id, A, 1, 2, NOW + 3600, block, "0x" + f"{block:064x}")


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate(engine)
    return JobStore(engine, MARKET, PROVIDER)


def test_roll_back_forgets_the_jobs_of_dropped_blocks_and_moves_the_cursor(
        store: JobStore) -> None:
    store.add([new_job(1, 10)], 16, {10: "0x" + "0a" * 32, 15: "0x" + "0f" * 32}, 128)
    store.add([new_job(2, 18)], 21, {18: "0x" + "12" * 32, 20: "0x" + "14" * 32}, 128)
    assert store.cursor(0).next_block == 21
    assert store.cursor(0).block_hash == "0x" + "14" * 32
    assert [number for number, _ in store.scan_hashes()] == [20, 18, 15, 10]

    assert store.roll_back(15, "0x" + "0f" * 32) == 1
    assert store.cursor(0).next_block == 16 and store.cursor(0).block_hash == "0x" + "0f" * 32
    assert [number for number, _ in store.scan_hashes()] == [15, 10]
    assert store.get(2) is None and store.get(1) is not None
    store.add([new_job(2, 17)], 19, {17: "0x" + "11" * 32, 18: "0x" + "13" * 32}, 128)
    again = store.get(2)
    assert again is not None and again.state == states.QUEUED and again.attempts == 0


def test_scan_hashes_are_kept_for_the_window_only(store: JobStore) -> None:
    for end in range(10, 200, 10):
        store.add([], end + 1, {end: "0x" + f"{end:064x}"}, keep_blocks=50)
    assert [number for number, _ in store.scan_hashes()] == [190, 180, 170, 160, 150]
