"""The job worker: a background thread in the gateway process that acts as its provider, and
`workers` threads (DAPP_COMPUTE_WORKERS) that run jobs.

Each round the main thread (1) registers the provider if it is not yet, (2) scans `JobCreated`
logs for this provider from its stored cursor, reorg-safe (`dapp.compute.scan`), queueing new
jobs, (3) advances every unfinished job that no worker holds one step through the state
machine of `dapp.compute.jobs` — posting results and declines itself, handing a job to run to a
free worker when `dapp.compute.admission.may_run` says so — and (4) now and then withdraws what
the market credited the provider (fees of finalized jobs). Every transaction of the provider,
from any of these threads, goes through the account's one serialized sender.

A job is taken in this order: fetch the dataset and algorithm; `acceptJob` on chain (the
provider's collateral is locked from here on, and the buyer sees the job accepted); run it in
the executor; publish the encrypted result; `submitResult`. Nothing of the provider's is at
risk before it accepts, so everything that can fail without running the buyer's code fails
first and is declined for free (`declineJob` refunds the buyer at once): inputs that cannot be
fetched or are refused, and a deadline too close to finish by — due sooner than the sandbox's
wall-clock limit plus `accept_margin_seconds`. Once accepted, declining would slash the
collateral to the buyer (as a missed deadline does), so a run that fails by the algorithm's own
doing (error exit, a limit hit) is answered with a failure report as the result: the provider
ran the buyer's code and is paid for it; the buyer may dispute. A buyer cannot harvest
collateral with algorithms built to fail. Jobs run `workers` at a time, accepted ones first,
then oldest first, at most `jobs_per_buyer` of one buyer at once (`dapp.compute.admission`).

Service outages (chain, IPFS, database, an unreachable cluster) leave a job where it is for
the next round; anything the algorithm or its assets did wrong fails the job with the reason.
A run a cluster executor lost (`ExecutorLost`: its node died past the retries) is declined
even when accepted: the buyer is refunded, the provider's collateral pays for the loss.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from dapp.chain.constants import JobStatus
from dapp.chain.contracts import load_abi
from dapp.chain.transactions import ConfirmationTimeout, TransactionReverted
from dapp.compute import jobs as states
from dapp.compute.admission import Load, Policy, Verdict, may_run
from dapp.compute.assets import MAX_CONTENT_BYTES, AssetFetcher, entry_point
from dapp.compute.executor import ExecutionRequest, Executor, ExecutorLost
from dapp.compute.jobs import JobRecord, JobStore
from dapp.compute.permission import RunPermission, run_permission
from dapp.compute.results import publish_result
from dapp.compute.sandbox import SandboxLimits
from dapp.compute.scan import JobScanner
from dapp.crypto.sealing import GatewayKeyPair
from dapp.errors import DappError, ServiceUnavailable
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.market.provider import DEFAULT_CONCURRENT_JOBS, ProviderAccount
from dapp.market.reader import ChainJob, market_error_decoder

log = logging.getLogger("dapp.compute.worker")

#: the result of a job whose run failed after it was accepted
FAILURE_REPORT = "job-failed.txt"
#: outcome label, seconds the run took (None: not run) — for the gateway's metrics
Observer = Callable[[str, float | None], None]


@dataclass(frozen=True)
class WorkerConfig:
    workspace: Path  # scratch folders of running jobs
    limits: SandboxLimits
    poll_seconds: float = 1.0
    confirmations: int = 0
    max_block_range: int = 2000
    metadata_max_bytes: int = 1 << 20
    max_content_bytes: int = MAX_CONTENT_BYTES  # a job input's cap (dapp.compute.assets)
    #: time a job needs beyond the wall-clock limit: inputs, publishing, posting the result
    accept_margin_seconds: float = 60.0
    withdraw_every_seconds: float = 15.0  # how often credited fees are looked for
    workers: int = 2  # jobs that run at once
    jobs_per_buyer: int = 1  # of them, of one buyer
    reorg_window: int = 128  # blocks of scan hashes kept (dapp.compute.scan)

    @property
    def policy(self) -> Policy:
        return Policy(self.limits.wall_seconds, self.accept_margin_seconds,
                      self.jobs_per_buyer)

    @property
    def seconds_needed(self) -> float:
        """The least time before its deadline a job must have to be accepted."""
        return self.policy.seconds_needed


@dataclass
class Round:
    """What one round of the main thread has seen so far."""

    accepted_waiting: int = 0


class JobWorker:
    def __init__(self, config: WorkerConfig, provider: ProviderAccount,
                 store: JobStore, ipfs: IpfsClient, keypair: GatewayKeyPair,
                 executor: Executor, register: Callable[[], object],
                 observe: Observer | None = None,
                 stop_event: threading.Event | None = None) -> None:
        self.config = config
        self.account = provider
        self.reader = provider.market
        self.sender = provider.sender  # the account's one serialized sender (dapp.market)
        self.store = store
        self.ipfs = ipfs
        self.keypair = keypair
        self.executor = executor
        self.register = register  # registers the provider on chain (idempotent)
        self.observe = observe or (lambda outcome, seconds: None)
        registry = self.reader.web3.eth.contract(address=self.reader.registry_address(),
                                                 abi=load_abi("AssetRegistry"))
        self.fetcher = AssetFetcher(registry, ipfs, keypair, config.metadata_max_bytes,
                                    config.max_content_bytes)
        self.decoder = market_error_decoder()
        self.scanner = JobScanner(self.reader, store, self.provider,
                                  confirmations=config.confirmations,
                                  max_block_range=config.max_block_range,
                                  keep_blocks=config.reorg_window)
        self.registered = False
        self._withdrawn_at = float("-inf")
        self._stop = stop_event or threading.Event()
        self._thread: threading.Thread | None = None
        self._held: dict[int, str] = {}  # job id → buyer, of the jobs a worker holds
        self._held_lock = threading.Lock()
        self._tasks: queue.Queue[tuple[JobRecord, ChainJob]] = queue.Queue()
        self._runners: list[threading.Thread] = []

    @property
    def provider(self) -> str:
        return self.sender.address

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> JobWorker:
        self._thread = threading.Thread(target=self.run_forever, name="compute-jobs",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current step; a job cut mid-run is resumed by the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.ipfs.close()

    def run_forever(self) -> None:
        log.info("compute worker for provider %s on market %s", self.provider,
                 self.reader.address)
        while not self._stop.is_set():
            try:
                self.run_once()
            except ServiceUnavailable as error:
                log.warning("compute worker waits: %s", error)
            except Exception:  # keep the worker alive; the next round retries
                log.exception("compute worker round failed")
            self._stop.wait(self.config.poll_seconds)

    def run_once(self) -> None:
        if not self.registered:
            self.register()
            stake = self.account.ensure_job_stake(max(DEFAULT_CONCURRENT_JOBS,
                                                      self.config.workers))
            self.registered = True
            log.info("provider %s takes jobs (stake %d)", self.provider, stake)
        self._start_runners()
        self.scan()
        this_round = Round()
        # jobs a restart cut short first (accepted ones hold collateral), then oldest first
        for job in sorted(self.store.unfinished(),
                          key=lambda job: (job.state != states.RUNNING, job.job_id)):
            if self._stop.is_set():
                return
            if not self._holds(job.job_id):
                self.advance(job, this_round)
        self.withdraw_credits()

    # -- the workers ---------------------------------------------------------------------------
    def _start_runners(self) -> None:
        while len(self._runners) < self.config.workers:
            runner = threading.Thread(target=self._runner, daemon=True,
                                      name=f"compute-run-{len(self._runners) + 1}")
            self._runners.append(runner)
            runner.start()

    def _runner(self) -> None:
        while not self._stop.is_set():
            try:
                job, chain = self._tasks.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._run(job, chain)
            except ServiceUnavailable as error:
                log.warning("job %d waits: %s", job.job_id, error)
            except Exception:  # keep the worker alive; the next round looks at the job again
                log.exception("running job %d failed", job.job_id)
            finally:
                with self._held_lock:
                    self._held.pop(job.job_id, None)

    def _holds(self, job_id: int) -> bool:
        with self._held_lock:
            return job_id in self._held

    def load(self, buyer: str, this_round: Round) -> Load:
        with self._held_lock:
            busy = len(self._held)
            of_buyer = sum(1 for held in self._held.values() if held == buyer)
        return Load(self.config.workers, busy, of_buyer, this_round.accepted_waiting)

    def _dispatch(self, job: JobRecord, chain: ChainJob) -> None:
        with self._held_lock:
            self._held[job.job_id] = job.buyer
        self._tasks.put((job, chain))

    def withdraw_credits(self) -> None:
        """Pull what the market credited the provider (finalized jobs' fees, won bonds), at
        most every `withdraw_every_seconds`."""
        now = time.monotonic()
        if now - self._withdrawn_at < self.config.withdraw_every_seconds:
            return
        self._withdrawn_at = now
        try:
            self.account.withdraw_credits()
        except (TransactionReverted, ConfirmationTimeout) as error:
            log.warning("withdrawing the provider's credits: %s", error)

    # -- scanning ------------------------------------------------------------------------------
    def scan(self) -> int:
        """Queue the JobCreated logs of this provider up to the confirmed head."""
        return self.scanner.scan()

    # -- the state machine ---------------------------------------------------------------------
    def advance(self, job: JobRecord, this_round: Round | None = None) -> None:
        chain = self.reader.job(job.job_id)
        if chain is None or chain.provider != self.provider:
            self.store.closed(job.job_id, "no such job for this provider on chain")
            return
        if job.state == states.FAILED:
            self._decline(job, chain.status)
            return
        if chain.status == JobStatus.SUBMITTED and job.state == states.COMPUTED:
            self.store.submitted(job.job_id, None)  # posted before a restart
            return
        if chain.status not in (JobStatus.OPEN, JobStatus.ACCEPTED):
            self.store.closed(job.job_id, f"settled on chain as {chain.status.label}")
            return
        _, now = self.reader.head()
        if now > chain.deadline:
            self.store.expired(job.job_id, "deadline passed before a result was posted")
            return
        if job.state == states.COMPUTED:
            self._submit(job)
            return
        if job.state == states.RUNNING and job.attempts >= states.MAX_ATTEMPTS:
            self._fail(job, f"interrupted {job.attempts} times (the gateway stopped mid-run)",
                       accepted=chain.status == JobStatus.ACCEPTED)
            return
        this_round = this_round or Round()
        admission = may_run(job, chain, now, self.load(job.buyer, this_round),
                            self.config.policy)
        if admission.verdict == Verdict.DECLINE:
            self._fail(job, admission.reason)
        elif admission.verdict == Verdict.RUN:
            self._dispatch(job, chain)
        elif chain.status == JobStatus.ACCEPTED:
            this_round.accepted_waiting += 1

    def _run(self, job: JobRecord, chain: ChainJob) -> None:
        if not self.store.start(job):
            return
        workdir = self.config.workspace / f"job-{job.job_id}"
        remove_tree(workdir)
        workdir.mkdir(parents=True)
        accepted = chain.status == JobStatus.ACCEPTED
        try:
            prepared = self._prepare(job, workdir, accepted)
            if prepared is None:
                return
            request, permission = prepared
            if not accepted:
                if not self._accept(job):
                    return
                accepted = True
            outcome = self.executor.run(request)
            if not outcome.succeeded:
                log.info("job %d failed: %s\n%s", job.job_id, outcome.reason, outcome.log_tail)
                self._fail(job, outcome.reason or "failed", outcome.seconds, accepted=True,
                           log_tail=shared_log_tail(outcome.log_tail, permission.log_tail_bytes))
                return
            result = publish_result(outcome.output_dir, self.ipfs, self.keypair)
            self.store.computed(job.job_id, cid=result.cid, sha256=result.sha256,
                                size=result.size, name=result.name,
                                sealed_key=result.sealed_key, seconds=outcome.seconds)
            log.info("job %d computed in %.2f s: %s (%d bytes)", job.job_id, outcome.seconds,
                     result.cid, result.size)
        except ServiceUnavailable:
            self.store.requeue(job)  # not the job's fault: the next round starts again
            raise
        except ExecutorLost as error:  # the provider's cluster lost the run: refund the buyer
            log.warning("job %d: %s; declining it", job.job_id, error)
            self._fail(job, str(error))  # declined even when accepted (the collateral pays)
            return
        except DappError as error:
            self._fail(job, str(error), accepted=accepted)
            return
        finally:
            remove_tree(workdir)
        refreshed = self.store.get(job.job_id)
        if refreshed is not None and refreshed.state == states.COMPUTED:
            self._submit(refreshed)

    def _prepare(self, job: JobRecord, workdir: Path, accepted: bool
                 ) -> tuple[ExecutionRequest, RunPermission] | None:
        """Ask the dataset's compute policy, then fetch and check the inputs (before the job
        is accepted: failing here is free)."""
        permission = run_permission(self.fetcher.registry, self.decoder, job.dataset_id,
                                    job.algorithm_id, job.buyer)
        dataset = self.fetcher.fetch(job.dataset_id, workdir / "input")
        algorithm = self.fetcher.fetch(job.algorithm_id, workdir / "algorithm",
                                       permission.algorithm_version)
        if algorithm.kind == "dataset":
            self._fail(job, f"asset {job.algorithm_id} is a dataset, not an algorithm",
                       accepted=accepted)
            return None
        script = entry_point(algorithm)
        request = ExecutionRequest(
            job_id=job.job_id, script=script, algorithm_dir=script.parent,
            dataset=dataset.path, workdir=workdir / "run",
            limits=capped_output(self.config.limits, permission.max_result_bytes))
        request.workdir.mkdir()
        return request, permission

    def _accept(self, job: JobRecord) -> bool:
        """`acceptJob`: lock the collateral and take the job. False (and the job settled
        locally, or left for the next round) when the chain refused it."""
        _, now = self.reader.head()
        chain = self.reader.job(job.job_id)
        if chain is not None and chain.deadline - now < self.config.seconds_needed:
            self._fail(job, f"deadline too close: {chain.deadline - now} s left after "
                            "fetching the inputs")
            return False
        try:
            sent = self.sender.send(self.reader.contract.functions.acceptJob(job.job_id),
                                    f"accept job {job.job_id}")
        except ConfirmationTimeout:
            self.store.requeue(job)  # the next round sees whether it was mined
            return False
        except TransactionReverted as error:
            log.warning("accepting job %d: %s", job.job_id, error)
            if error.error_name == "DeadlinePassed":
                self.store.expired(job.job_id, "deadline passed before the job was accepted")
            elif error.error_name == "InsufficientStake":
                self._fail(job, "this provider's free stake cannot back another job now")
            else:  # cancelled by the buyer, or settled otherwise
                self.store.closed(job.job_id, f"could not accept the job: {error.message}")
            return False
        log.info("job %d accepted in %s", job.job_id, sent.tx_hash)
        return True

    def _fail(self, job: JobRecord, reason: str, seconds: float | None = None,
              accepted: bool = False, log_tail: str = "") -> None:
        """Before acceptance: decline (free for both). After: report the failure as the
        result (declining would slash; the provider ran the buyer's code)."""
        if accepted:
            self._report_failure(job, reason, seconds, log_tail)
            return
        if self.store.failed(job.job_id, reason, seconds):
            self.observe("failed", seconds)
            refreshed = self.store.get(job.job_id)
            if refreshed is not None:
                self._decline(refreshed, JobStatus.OPEN)

    def _report_failure(self, job: JobRecord, reason: str, seconds: float | None,
                        log_tail: str = "") -> None:
        folder = self.config.workspace / f"job-{job.job_id}-report"
        remove_tree(folder)
        folder.mkdir(parents=True)
        shared = (f"--- the end of the run's log, as the dataset's owner allows ---\n{log_tail}"
                  if log_tail else "")
        try:
            (folder / FAILURE_REPORT).write_text(
                f"job {job.job_id} failed: {reason}\n"
                f"dataset {job.dataset_id}, algorithm {job.algorithm_id}\n{shared}")
            result = publish_result(folder, self.ipfs, self.keypair)
        finally:
            remove_tree(folder)
        if self.store.computed(job.job_id, cid=result.cid, sha256=result.sha256,
                               size=result.size, name=result.name,
                               sealed_key=result.sealed_key, seconds=seconds or 0.0,
                               reason=reason):
            self.observe("failed", seconds)
            refreshed = self.store.get(job.job_id)
            if refreshed is not None and refreshed.state == states.COMPUTED:
                self._submit(refreshed)

    def _submit(self, job: JobRecord) -> None:
        assert job.result_cid is not None and job.result_hash is not None
        call = self.reader.contract.functions.submitResult(
            job.job_id, cid_to_chain(job.result_cid), bytes.fromhex(job.result_hash[2:]))
        try:
            sent = self.sender.send(call, f"submit the result of job {job.job_id}")
        except ConfirmationTimeout:
            return  # the next round sees it on chain, or sends again
        except TransactionReverted as error:
            self._after_revert(job, error)
            return
        self.store.submitted(job.job_id, sent.tx_hash)
        if job.reason is None:
            self.observe("submitted", job.seconds)
        log.info("job %d: result posted in %s", job.job_id, sent.tx_hash)

    def _decline(self, job: JobRecord, status: JobStatus) -> None:
        if status not in (JobStatus.OPEN, JobStatus.ACCEPTED):  # refunded (or settled) already
            self.store.declined(job.job_id, None)
            return
        try:
            sent = self.sender.send(self.reader.contract.functions.declineJob(job.job_id),
                                    f"decline job {job.job_id}")
        except ConfirmationTimeout:
            return
        except TransactionReverted as error:
            log.warning("declining job %d: %s", job.job_id, error)
            if error.error_name in ("WrongJobStatus", "DeadlinePassed"):
                self.store.declined(job.job_id, None)  # settled, or left to `expire`
            return
        self.store.declined(job.job_id, sent.tx_hash)
        log.info("job %d declined (%s): buyer refunded in %s", job.job_id, job.reason,
                 sent.tx_hash)

    def _after_revert(self, job: JobRecord, error: TransactionReverted) -> None:
        log.warning("job %d: %s", job.job_id, error)
        if error.error_name == "DeadlinePassed":
            self.store.expired(job.job_id, "deadline passed before the result was posted")
        elif error.error_name == "WrongJobStatus":
            chain = self.reader.job(job.job_id)
            if chain is not None and chain.status == JobStatus.SUBMITTED:
                self.store.submitted(job.job_id, None)
            else:
                self.store.closed(job.job_id, f"could not post the result: {error.message}")


def shared_log_tail(log_tail: str, allowed_bytes: int) -> str:
    """The last `allowed_bytes` of a failed run's log, what the dataset's owner lets the buyer
    read ("" when it allows nothing, the default)."""
    if allowed_bytes <= 0:
        return ""
    return log_tail.encode()[-allowed_bytes:].decode(errors="replace")


def capped_output(limits: SandboxLimits, max_result_bytes: int | None) -> SandboxLimits:
    """The run's limits with the dataset owner's result cap, when it is below the provider's."""
    if max_result_bytes is None or max_result_bytes >= limits.output_bytes:
        return limits
    return replace(limits, output_bytes=max_result_bytes)


def remove_tree(path: Path) -> None:
    """Delete a job folder, read-only inputs included."""
    if not path.exists():
        return
    for folder, _dirs, _files in os.walk(path):
        os.chmod(folder, 0o755)
    shutil.rmtree(path, ignore_errors=True)
