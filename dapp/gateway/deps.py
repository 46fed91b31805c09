"""FastAPI dependencies: the process's services, built once in the app's lifespan."""

from __future__ import annotations

from fastapi import Request

from dapp.gateway.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
