"""`datadao download ASSET`: sign in to a gateway with your account and download the content
you hold a license for; run it again after a cut and it resumes (with several `--gateway`s, a
gateway that dies mid-download is followed by the next, from the byte reached). The bytes are
kept only if they are what the version's metadata (its CID read from the registry, its bytes
from your own IPFS node) declares: a gateway serving anything else ends in `content-mismatch`
and no file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
from rich.progress import Progress as RichProgress

from dapp.cli.destination import into_folder, planned_output, published_name
from dapp.cli.output import JsonOption, emit_json, errors
from dapp.cli.session import own_chain_id, read_only, settings_of, unlock
from dapp.client.failover import download_from_gateways
from dapp.client.gateway import ExpectedContent, checked_metadata
from dapp.compute.assets import is_archive
from dapp.errors import InvalidInput
from dapp.ipfs.cid import cid_from_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import MAX_METADATA_BYTES


def expected_content(ctx: typer.Context, asset_id: int, version: int | None) -> ExpectedContent:
    """The version the chain names (the latest unless `version`), with its metadata document
    fetched by CID from our own IPFS node and checked against that CID."""
    settings = settings_of(ctx)
    exchange = read_only(ctx)
    asset = exchange.asset(asset_id)
    number = asset.version_count if version is None else version
    if not 1 <= number <= asset.version_count:
        raise InvalidInput(f"asset {asset_id} has versions 1 to {asset.version_count}, "
                           f"not {number}")
    metadata_cid = asset.metadata_cid
    if number != asset.version_count:
        _content, metadata, _published = \
            exchange.registry.functions.version(asset_id, number).call()
        metadata_cid = cid_from_chain(*metadata)
    ipfs = IpfsClient(settings.ipfs_api_url, settings.ipfs_timeout_seconds)
    data = b"".join(ipfs.cat(metadata_cid, length=MAX_METADATA_BYTES + 1))
    return checked_metadata(asset_id, number, metadata_cid, data, verified_by_ipfs=True)


def download(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    output: Path = typer.Option(None, "--output", "-o",
                                help="file to write, or an existing folder to write into "
                                     "under the published file name (default asset-ID)"),
    version: int = typer.Option(None, "--version", help="a version other than the latest"),
    gateway: list[str] = typer.Option(
        None, "--gateway", help="gateway URL (default: settings); repeat it to name gateways "
        "serving the same asset: when one dies mid-download the next resumes where it stopped"),
    account: str = typer.Option(None, "--account", help="keystore account that holds the license"),
    as_json: JsonOption = False,
) -> None:
    """Download licensed content through a gateway (resumes an interrupted download) and
    check it against the metadata the chain names; content that does not match is removed
    (exit 15)."""
    settings = settings_of(ctx)
    default = f"asset-{asset_id}" + (f"-v{version}" if version else "")
    planned = planned_output(output, default)  # before the chain, IPFS and the gateway
    expected = expected_content(ctx, asset_id, version)
    metadata = expected.metadata
    destination = into_folder(planned, published_name([f.path for f in metadata.files],
                                                      is_archive(metadata), default))
    chain_id = own_chain_id(ctx)
    signer = unlock(ctx, account)
    bar = RichProgress(TextColumn("download"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), console=errors, disable=as_json)
    with bar:
        task = bar.add_task("download", total=None)
        result = download_from_gateways(
            gateway or [settings.resolved_gateway_public_url], signer, asset_id, destination,
            chain_id=chain_id, expected=expected,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total))
    summary = {"asset_id": asset_id, "path": str(result.path), "bytes": result.size,
               "resumed_from": result.resumed_from, "etag": result.etag,
               "version": expected.version, "metadata_cid": expected.metadata_cid,
               "verified": True, "gateway": result.gateway}
    if as_json:
        emit_json(summary)
    else:
        resumed = f" (resumed at {result.resumed_from:,})" if result.resumed_from else ""
        errors.print(f"saved {result.size:,} bytes to {result.path}{resumed}")
