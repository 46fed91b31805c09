"""`python -m dapp.gateway`: serve the gateway with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from dapp.config import load_settings
from dapp.gateway.app import create_app
from dapp.ports import ensure_port_free


def main() -> None:
    settings = load_settings()
    ensure_port_free(settings.gateway_port, "the gateway", "DAPP_GATEWAY_PORT")
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        # Longer than clients' idle pools: with uvicorn's 5 s default, a connection reused
        # just as the server closes it is reset before any answer (seen under load).
        timeout_keep_alive=30,
    )


if __name__ == "__main__":
    main()
