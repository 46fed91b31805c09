"""Whom a content key is sealed to, from the command line: gateways by URL or picked from the
directory by provider address, and the publisher's recovery key when there is one."""

from __future__ import annotations

from pathlib import Path

import typer

from dapp.cli.session import read_only, settings_of
from dapp.crypto.recovery import recovery_public_key
from dapp.publishing.directory import pick_from_directory
from dapp.publishing.gateways import provider_gateway_urls

PROVIDER_HELP = "a provider's address from the gateway directory (GET /v1/providers): seal "\
                "to the gateway it registered on chain; repeatable"
DIRECTORY_COUNT_HELP = "seal to the N best gateways of the directory (registered on chain, " \
                       "not leaving, reachable, naming their provider; most stake first)"
DIRECTORY_HELP = "the gateway whose directory (GET /v1/providers) --seal-to-directory " \
                 "reads (default: the configured gateway)"
NO_RECOVERY_HELP = "do not also seal the content key to your recovery key"


def recovery_path(ctx: typer.Context) -> Path:
    return settings_of(ctx).resolved_keystore_dir / "recovery" / "recovery-key.json"


def recovery_recipient(ctx: typer.Context, no_recovery: bool) -> tuple[str, ...]:
    """The recovery key's public key for a publish to seal to: none with --no-recovery or
    before one is created."""
    path = recovery_path(ctx)
    if no_recovery or not path.exists():
        return ()
    return (recovery_public_key(path),)


def picked_gateways(ctx: typer.Context, gateway: list[str], provider: list[str]) -> list[str]:
    """The gateway URLs given, then those the `provider` addresses registered on chain."""
    if not provider:
        return gateway
    exchange = read_only(ctx)
    return [*gateway, *provider_gateway_urls(exchange.web3, exchange.deployment, provider)]


def directory_gateway_keys(ctx: typer.Context, count: int | None, directory: str | None
                           ) -> list[str]:
    """The keys of the `count` best gateways of the directory (none when not asked)."""
    if count is None:
        return []
    exchange = read_only(ctx)
    url = directory or settings_of(ctx).resolved_gateway_public_url
    return pick_from_directory(exchange.web3, exchange.deployment, url, count).keys
