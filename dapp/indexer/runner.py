"""The indexer as a long-running service: a sync round as soon as the node announces a new
head (WebSocket subscription, see `heads`) and at least every poll interval, a pinner thread
beside them, a clean stop on SIGTERM/SIGINT (the batch in flight commits or rolls back)."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

from dapp.chain.heads import MAX_RETRY_SECONDS, HeadWatcher, ws_url_for
from dapp.config import Settings
from dapp.errors import DappError, ServiceUnavailable
from dapp.indexer.pins import Pinner, PinPolicy
from dapp.indexer.sync import Indexer
from dapp.ipfs.backends import pin_backend
from dapp.ipfs.client import IpfsClient

log = logging.getLogger(__name__)
MAX_ERROR_PAUSE = 60.0


def pin_policy(settings: Settings) -> PinPolicy:
    return PinPolicy(base_delay=settings.pin_retry_base_seconds,
                     max_delay=settings.pin_retry_max_seconds,
                     metadata_max_bytes=settings.metadata_max_bytes,
                     max_content_bytes=settings.max_content_bytes,
                     check_seconds=settings.pin_check_seconds)


@dataclass
class Runner:
    settings: Settings
    once: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    #: set by a new head (or a stop): the next round starts without waiting out the pause
    wake: threading.Event = field(default_factory=threading.Event)
    indexer: Indexer | None = None
    heads: HeadWatcher | None = None
    head_retry_seconds: float = 1.0  # first pause before subscribing again after a drop
    head_max_retry_seconds: float = MAX_RETRY_SECONDS  # it doubles up to this while refused

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("signal %d: stopping after the current batch", signum)
        self.stop.set()
        self.wake.set()
        if self.indexer is not None:
            self.indexer.stop_requested = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self, reset: bool = False, rebuild: bool = False) -> None:
        indexer = self.indexer = Indexer(self.settings)
        if reset:
            indexer.reset()
        if rebuild:
            log.info("rebuilt the derived tables from %d stored events", indexer.rebuild())
        pinner_thread = threading.Thread(target=self._pin_forever, args=(indexer,),
                                         name="pinner", daemon=True)
        started = False
        pause = self.settings.indexer_poll_seconds
        ws_url = None if self.once else ws_url_for(self.settings.chain_rpc_url,
                                                   self.settings.chain_ws_url)
        if ws_url is not None:
            self.heads = HeadWatcher(ws_url, on_head=self.wake.set,
                                     retry_seconds=self.head_retry_seconds,
                                     max_retry_seconds=self.head_max_retry_seconds).start()
        while not self.stop.is_set():
            self.wake.clear()  # a head announced during the round wakes the next one
            failed = True
            try:
                report = indexer.run_once()
                pause = self.settings.indexer_poll_seconds
                failed = False
                if report.batches or report.rollbacks:
                    log.info("indexed to block %d: %d events in %d batches, %d rollbacks",
                             report.last_block, report.events, report.batches, report.rollbacks)
                if not started:
                    pinner_thread.start()
                    started = True
                if self.once:
                    break
            except ServiceUnavailable as error:
                log.warning("%s; retrying in %.0fs", error, pause)
            except DappError as error:
                log.error("%s", error)
                if self.once:
                    raise
            except Exception:
                log.exception("sync round failed; retrying in %.0fs", pause)
                if self.once:
                    raise
                pause = min(MAX_ERROR_PAUSE, pause * 2)
            # after a failure the pause holds whatever the heads say (no retry per block)
            (self.stop if failed else self.wake).wait(pause)
        self.stop.set()
        indexer.close()  # (its reader process, if a catch-up started one)
        if self.heads is not None:
            self.heads.stop()
        if started:
            pinner_thread.join(timeout=10)

    def _pin_forever(self, indexer: Indexer) -> None:
        with IpfsClient(self.settings.ipfs_api_url,
                        timeout_seconds=self.settings.ipfs_timeout_seconds) as ipfs:
            backend = pin_backend(self.settings, ipfs)
            pinner = Pinner(indexer.db, ipfs, pin_policy(self.settings), backend=backend)
            try:
                while not self.stop.is_set():
                    try:
                        pinner.run_once()
                        pinner.check()
                    except Exception:
                        log.exception("pin round failed")
                    self.stop.wait(self.settings.indexer_poll_seconds)
            finally:
                backend.close()
