"""`datadao download ASSET`: sign in to a gateway with your account and download the content
you hold a license for; run it again after a cut and it resumes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
from rich.progress import Progress as RichProgress

from dapp.cli.output import JsonOption, emit_json, errors
from dapp.cli.session import own_chain_id, settings_of, unlock
from dapp.client.gateway import GatewayClient


def download(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    output: Path = typer.Option(None, "--output", "-o", help="file to write (default asset-ID)"),
    version: int = typer.Option(None, "--version", help="a version other than the latest"),
    gateway: str = typer.Option(None, "--gateway", help="gateway URL (default: settings)"),
    account: str = typer.Option(None, "--account", help="keystore account that holds the license"),
    as_json: JsonOption = False,
) -> None:
    """Download licensed content through a gateway (resumes an interrupted download)."""
    settings = settings_of(ctx)
    destination = output or Path(f"asset-{asset_id}" + (f"-v{version}" if version else ""))
    chain_id = own_chain_id(ctx)
    signer = unlock(ctx, account)
    bar = RichProgress(TextColumn("download"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), console=errors, disable=as_json)
    with bar, GatewayClient(gateway or settings.resolved_gateway_public_url, signer,
                            chain_id=chain_id) as client:
        task = bar.add_task("download", total=None)
        result = client.download(
            asset_id, destination, version=version,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total))
    summary = {"asset_id": asset_id, "path": str(result.path), "bytes": result.size,
               "resumed_from": result.resumed_from, "etag": result.etag}
    if as_json:
        emit_json(summary)
    else:
        resumed = f" (resumed at {result.resumed_from:,})" if result.resumed_from else ""
        errors.print(f"saved {result.size:,} bytes to {result.path}{resumed}")
