"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from dapp.config import Settings
from dapp.gateway.problems import install_problem_handlers
from dapp.gateway.routes import auth, health
from dapp.gateway.services import Services


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or Services.from_settings(settings)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="DataDAO Exchange gateway",
        version="0.1.0",
        description="Licensed downloads, catalog and compute-for-token over the on-chain registry.",
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
        )
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    return app
