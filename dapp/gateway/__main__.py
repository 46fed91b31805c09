"""`python -m dapp.gateway`: serve the gateway with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from dapp.config import load_settings
from dapp.devstack.process import ensure_port_free
from dapp.gateway.app import create_app


def main() -> None:
    settings = load_settings()
    ensure_port_free(settings.gateway_port, "the gateway", "DAPP_GATEWAY_PORT")
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
