"""Compute inside a gateway process: boots the job worker when `provider_account` is set, and
gives the job routes what they read (the market on chain and the local job store).

Booting waits, in the worker's thread, for what the worker needs: the provider account (the
gateway's one `ProviderAccount`: unlocked once, one serialized sender shared with the voucher
redeemer), the chain and its ComputeMarket deployment, the schema. The gateway answers
meanwhile; the job routes say 503 until the worker is up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from dapp.compute.executor import Executor, LocalSandboxExecutor, connect
from dapp.compute.jobs import JobStore
from dapp.compute.runner import JobWorker, Observer, WorkerConfig
from dapp.compute.sandbox import SandboxLimits
from dapp.config import Settings
from dapp.crypto.sealing import GatewayKeyPair
from dapp.errors import DappError, ServiceUnavailable
from dapp.ipfs.client import IpfsClient
from dapp.market.provider import ProviderAccount
from dapp.store.migrate import migrate

log = logging.getLogger("dapp.compute")
BOOT_RETRY_SECONDS = 2.0


class ComputeUnavailable(ServiceUnavailable):
    code = "compute-unavailable"


def worker_config(settings: Settings) -> WorkerConfig:
    limits = SandboxLimits(
        cpu_seconds=settings.compute_cpu_seconds,
        memory_bytes=settings.compute_memory_mb << 20,
        output_bytes=settings.compute_output_mb << 20,
        wall_seconds=settings.compute_wall_seconds,
    )
    return WorkerConfig(
        workspace=settings.data_dir / "compute",
        limits=limits,
        poll_seconds=settings.compute_poll_seconds,
        confirmations=settings.confirmations,
        max_block_range=settings.indexer_max_range,
        metadata_max_bytes=settings.metadata_max_bytes,
        max_content_bytes=settings.max_content_bytes,
        accept_margin_seconds=settings.compute_accept_margin_seconds,
        workers=settings.compute_workers,
        jobs_per_buyer=settings.compute_jobs_per_buyer,
        reorg_window=settings.indexer_reorg_window,
    )


def default_executor(settings: Settings) -> Executor:
    """The Ray cluster at DAPP_COMPUTE_RAY_ADDRESS when set, else this machine's sandbox."""
    if settings.compute_ray_address:
        from dapp.compute.ray_executor import RayExecutor

        return RayExecutor(settings.compute_ray_address, retries=settings.compute_ray_retries)
    return LocalSandboxExecutor()


class ComputeService:
    def __init__(self, settings: Settings, engine: Engine, keypair: GatewayKeyPair,
                 open_provider: Callable[[], ProviderAccount],
                 observe: Observer | None = None, executor: Executor | None = None) -> None:
        self.settings = settings
        self.open_provider = open_provider
        self.engine = engine
        self.keypair = keypair
        self.observe = observe
        self.executor = executor or default_executor(settings)
        self.worker: JobWorker | None = None
        self.boot_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.provider_account is not None

    def start(self) -> ComputeService:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="compute-jobs", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.worker is not None:
            self.worker.ipfs.close()

    def ready(self) -> JobWorker:
        """The running worker, for the routes; ComputeUnavailable before it is up."""
        if not self.enabled:
            raise ComputeUnavailable("this gateway runs no compute jobs",
                                     hint="set DAPP_PROVIDER_ACCOUNT to run it as a provider")
        if self.worker is None:
            raise ComputeUnavailable("the compute worker is starting",
                                     hint=self.boot_error or "try again in a few seconds")
        return self.worker

    def _run(self) -> None:
        while self.worker is None and not self._stop.is_set():
            try:
                self.worker = self._boot()
            except Exception as error:  # retried: the chain, a deployment or the DB may come
                self.boot_error = str(error) if isinstance(error, DappError) else repr(error)
                log.warning("compute worker not started yet: %s", error)
                self._stop.wait(BOOT_RETRY_SECONDS)
        if self.worker is not None:
            self.worker.run_forever()

    def _boot(self) -> JobWorker:
        settings = self.settings
        connect(self.executor)  # a cluster that does not answer: jobs wait on chain
        provider = self.open_provider()
        migrate(self.engine)
        store = JobStore(self.engine, provider.market.address, provider.address)
        ipfs = IpfsClient(settings.ipfs_api_url, timeout_seconds=settings.ipfs_timeout_seconds)
        return JobWorker(worker_config(settings), provider, store, ipfs, self.keypair,
                         self.executor, lambda: provider.ensure_registered(settings),
                         self.observe, stop_event=self._stop)
