"""The FastAPI application factory: the gateway wired in one place.

`create_app` makes every part of the process once (`GatewayParts`: services, metrics, the
cache invalidation, the content gateway, the compute job worker, the metered calls), includes
every router, and runs one lifespan that starts the background workers — the license feed,
the job worker (a thread), the voucher redeemer — and stops them in reverse. Routes reach the
parts through the typed dependencies of `dapp.gateway.deps`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dapp.chain.heads import HeadWatcher, ws_url_for
from dapp.compute.service import ComputeService
from dapp.config import Settings
from dapp.gateway.caches import StaleCaches
from dapp.gateway.content.service import ContentGateway
from dapp.gateway.deps import GatewayParts, PeerDep
from dapp.gateway.license_feed import LicenseFeed
from dapp.gateway.metered.service import MeteredCalls
from dapp.gateway.metrics import GatewayMetrics
from dapp.gateway.middleware import AccessMiddleware, BodySizeLimit, Limiter, RateLimiter
from dapp.gateway.peer_keys import GatewayIdentity, PeerKeys
from dapp.gateway.peers import OperatorsOnly, PeerPolicy
from dapp.gateway.problems import install_problem_handlers, problem_responses
from dapp.gateway.rate_buckets import SharedRateLimiter
from dapp.gateway.routes import (
    auth,
    catalog,
    content,
    daos,
    deployment,
    gateway_info,
    health,
    invoke,
    models,
    private,
    providers,
    uploads,
)
from dapp.gateway.routes import jobs as compute_jobs
from dapp.gateway.services import Services
from dapp.gateway.uploads import UploadLimits, UploadStore

# The browser dApp as `npm run build` leaves it (`make dapp`); served at `/` when present.
DAPP_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


def make_parts(settings: Settings, services: Services) -> GatewayParts:
    """Every long-lived part of one gateway process; nothing starts running here."""
    metrics = GatewayMetrics()
    caches = StaleCaches()
    content = ContentGateway.start(services, metrics, caches)  # loads or creates the key file
    compute = ComputeService(settings, services.engine, content.keypair,
                             services.provider_account, observe=metrics.observe_compute_job)
    metered = MeteredCalls(services, metrics, content)
    upload_store = UploadStore(settings.data_dir / "uploads", UploadLimits(
        settings.upload_max_bytes, settings.upload_max_open, settings.upload_max_open_bytes,
        settings.upload_max_bytes_per_day, settings.upload_idle_seconds))
    own = GatewayIdentity(content.keypair.public_key_b64,
                          gateway_info.provider_address(settings))
    peer_keys = PeerKeys(services.gateway_origin, own, settings.catalog_peer_timeout_seconds,
                         settings.catalog_peer_key_seconds)
    return GatewayParts(services, metrics, caches, content, compute, metered,
                        PeerPolicy(settings), upload_store, peer_keys)


def create_app(settings: Settings, services: Services | None = None,
               static_dir: Path | None = DAPP_DIST) -> FastAPI:
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    parts = make_parts(settings, services or Services.from_settings(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What the indexer learns about licenses drops the cached answers (see license_feed).
        feed = asyncio.create_task(LicenseFeed(parts.services.engine, parts.caches).run())
        # Every new block drops the cached version counts (where the node announces heads).
        ws_url = ws_url_for(settings.chain_rpc_url, settings.chain_ws_url)
        heads = (HeadWatcher(ws_url, on_head=parts.caches.new_head).start()
                 if ws_url is not None else None)
        parts.compute.start()  # a thread; only when provider_account is set
        await parts.metered.start()  # the redeemer; only when provider_account is set
        try:
            yield
        finally:
            await parts.metered.aclose()
            await anyio.to_thread.run_sync(parts.compute.stop)
            if heads is not None:
                await anyio.to_thread.run_sync(heads.stop)
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
            await parts.content.aclose()
            parts.services.close()

    app = FastAPI(
        title="DataDAO Exchange gateway",
        version="0.1.0",
        description="Licensed downloads, catalog and compute-for-token over the on-chain registry."
        " Errors are problem+json (RFC 9457).",
        lifespan=lifespan,
        responses=problem_responses(),
    )
    app.state.parts = parts  # read only by dapp.gateway.deps
    metrics = parts.metrics
    install_problem_handlers(app)
    services = parts.services
    # gateways sharing PostgreSQL count requests together; one process on SQLite in memory
    limiter: Limiter = (
        SharedRateLimiter(services.engine, settings.rate_limit_per_minute)
        if services.shared_database else RateLimiter(settings.rate_limit_per_minute))
    app.add_middleware(AccessMiddleware, limiter=limiter,
                       metrics=metrics, sessions=parts.services.sessions, peers=parts.peers)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Content-Range", "Content-Length", "ETag", "X-Request-Id",
                            "Content-Disposition", "Accept-Ranges", "Last-Modified",
                            "X-DataDAO-Version"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes,
                       larger=((private.PRIVATE_PATH, private.PRIVATE_MAX_BYTES),))
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(deployment.router)
    app.include_router(catalog.router)
    app.include_router(daos.router)
    app.include_router(providers.router)
    app.include_router(models.router)
    app.include_router(gateway_info.router)
    app.include_router(content.router)
    app.include_router(compute_jobs.router)
    app.include_router(invoke.router)
    app.include_router(private.router)
    app.include_router(uploads.router)

    @app.get("/metrics", tags=["operations"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}},
                        403: {"description": "operators only (operator token, or loopback)"}})
    def prometheus_metrics(peer: PeerDep) -> Response:
        """Prometheus text format: requests, bytes served, license checks, vouchers pending.
        For operators only: the `operator_token`, or a loopback peer (see docs/SECURITY.md)."""
        if not peer.operator:
            raise OperatorsOnly("/metrics is for the gateway's operators",
                                hint="send the operator token (X-DataDAO-Operator-Token)")
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Mounted last: /v1, /healthz, /metrics and /docs are matched before the dApp's files.
    if static_dir is not None and (static_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="dapp")
    return app
