"""Metered calls in one gateway process: the provider account, the voucher verifier, the
model store, the bounded pool that model runs take their threads from (`pool`), and the
background redeemer, started with the app and stopped with it.

Startup never blocks on the chain: a background task unlocks the provider account, finds the
ComputeMarket, registers the provider (`ProviderAccount.ensure_registered`) and then redeems in
rounds; until it is ready, calls answer 503 with what it is waiting for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from dapp.errors import DappError, ServiceUnavailable
from dapp.gateway.content.service import ContentGateway
from dapp.gateway.metered.models import ModelStore, sandbox_limits
from dapp.gateway.metered.pool import ModelPool
from dapp.gateway.metered.redeemer import Redeemer
from dapp.gateway.metered.streams import StreamRegistry
from dapp.gateway.metered.verifier import VoucherVerifier
from dapp.gateway.metered.warm_pool import WarmPool
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.services import Services
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.provider import NotAProvider
from dapp.market.reader import MarketReader

log = logging.getLogger("dapp.gateway.metered")

TICK_SECONDS = 1.0
RETRY_SECONDS = 3.0


@dataclass(frozen=True)
class Provider:
    """Everything a paid call needs, once the provider is set up."""

    account: LocalAccount
    market: MarketReader
    verifier: VoucherVerifier
    redeemer: Redeemer

    @property
    def address(self) -> str:
        return str(self.account.address)


class MeteredCalls:
    def __init__(self, services: Services, metrics: GatewayMetrics,
                 content: ContentGateway) -> None:
        settings = services.settings
        self.services = services
        self.metrics = metrics
        self.ledger = VoucherLedger(services.engine)
        self.content = content
        limits = sandbox_limits(settings)
        self.warm = WarmPool(limits, max(settings.model_warm_workers, settings.model_workers),
                             settings.model_idle_seconds, settings.model_call_seconds) \
            if settings.model_warm else None
        self.models = ModelStore(content, settings.data_dir / "models", limits,
                                 data_dir=settings.data_dir, warm=self.warm)
        self.pool = ModelPool(settings.model_workers, settings.model_queue_seconds)
        self.streams = StreamRegistry(settings.model_stream_credit,
                                      settings.model_stream_max_chunks,
                                      settings.model_stream_pay_seconds)
        self._provider: Provider | None = None
        self._waiting_for = "starting"
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.services.settings.provider_account is not None

    def provider(self) -> Provider:
        """The set-up provider; 503 while it is not (or never will be) ready."""
        if self._provider is None:
            if not self.enabled:
                raise NotAProvider("this gateway takes no metered calls",
                                   hint="its operator sets DAPP_PROVIDER_ACCOUNT to offer them")
            raise ServiceUnavailable(f"metered calls are not ready: {self._waiting_for}",
                                     hint="try again in a few seconds")
        return self._provider

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._background(), name="voucher-redeemer")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.warm is not None:
            await asyncio.to_thread(self.warm.close)
        await asyncio.to_thread(self.models.close)
        if self._provider is not None:
            await asyncio.to_thread(self._provider.market.close)
        self.ledger.close()

    # -- background ----------------------------------------------------------------------------
    async def _background(self) -> None:
        while self._provider is None:
            try:
                self._provider = await asyncio.to_thread(self._set_up)
                log.info("metered calls ready: provider %s, market %s",
                         self._provider.address, self._provider.market.address)
            except Exception as error:  # the chain or the deployment may come later
                self._waiting_for = str(error) if isinstance(error, DappError) else repr(error)
                log.warning("metered calls not ready: %s", self._waiting_for)
                await asyncio.sleep(RETRY_SECONDS)
        redeemer = self._provider.redeemer
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if self.warm is not None:
                await asyncio.to_thread(self.warm.evict_idle)
            try:
                if await asyncio.to_thread(redeemer.due):
                    await asyncio.to_thread(redeemer.redeem)
            except DappError as error:
                log.warning("voucher redemption round failed: %s", error)
            except Exception:
                log.exception("voucher redemption round failed")

    def _set_up(self) -> Provider:
        settings = self.services.settings
        provider = self.services.provider_account()
        account, market = provider.account, provider.market
        self.ledger.bind(self.services.chain_id, market.address)
        provider.ensure_registered(settings)
        pending = self.metrics.vouchers_pending
        redeemer = Redeemer(self.ledger, market, provider.sender,
                            settings.voucher_batch_size, settings.voucher_batch_age_seconds,
                            on_pending=pending.set)
        rejected = self.metrics.payment_required
        verifier = VoucherVerifier(market, self.ledger, account.address, settings.invoke_price,
                                   self.services.chain_id,
                                   observe_rejection=lambda reason: rejected.labels(reason).inc())
        return Provider(account, market, verifier, redeemer)
