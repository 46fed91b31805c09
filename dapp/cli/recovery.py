"""The publisher's recovery key: `datadao keys recovery create|show`, `datadao decrypt ASSET`
(the publisher's own content from IPFS, no gateway) and `datadao reseal ASSET --gateway URL`
(the content key sealed to another gateway in a new version over the same content CID).

The key lives in `<keystore>/recovery/recovery-key.json`, password-protected like the
accounts; `datadao publish` and `version add` seal every content key to it when it exists."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from dapp.cli.accounts import password_for
from dapp.cli.destination import into_folder, planned_output, published_name
from dapp.cli.output import JsonOption, console, emit_json, errors
from dapp.cli.recipients import (
    DIRECTORY_COUNT_HELP,
    DIRECTORY_HELP,
    PROVIDER_HELP,
    directory_gateway_keys,
    picked_gateways,
    recovery_path,
)
from dapp.cli.session import AccountOption, ConfirmationsOption, read_only, settings_of, signing
from dapp.client.gateway import checked_metadata, content_problem
from dapp.compute.assets import is_archive
from dapp.crypto.recovery import (
    create_recovery_key,
    recovery_public_key,
    unlock_recovery_key,
)
from dapp.crypto.sealing import GatewayKeyPair
from dapp.errors import ContentMismatch, InvalidInput
from dapp.ipfs.cid import cid_from_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import MAX_METADATA_BYTES
from dapp.publishing.exchange import Exchange
from dapp.publishing.gateways import gateway_keys, named_gateway_key
from dapp.publishing.recovery import recovered_plaintext, reseal

keys_app = typer.Typer(help="The publisher's own keys.", no_args_is_help=True)
recovery_app = typer.Typer(help="The recovery key every publish also seals content keys to.",
                           no_args_is_help=True)
keys_app.add_typer(recovery_app, name="recovery")

def unlocked_recovery_key(ctx: typer.Context) -> GatewayKeyPair:
    path = recovery_path(ctx)
    recovery_public_key(path)  # missing or malformed: said before the password is asked
    return unlock_recovery_key(path, password_for(ctx, confirm=False))


@recovery_app.command("create")
def create(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the recovery key (once; the password protects it like an account's)."""
    path = recovery_path(ctx)
    public_key = create_recovery_key(path, password_for(ctx, confirm=True))
    if as_json:
        emit_json({"public_key": public_key, "path": str(path)})
    else:
        console.print(f"created the recovery key {public_key} ({path}); keep a copy of this "
                      "file and its password: every publish from now on is sealed to it")


@recovery_app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the recovery key's public key (no password needed)."""
    path = recovery_path(ctx)
    public_key = recovery_public_key(path)
    if as_json:
        emit_json({"public_key": public_key, "path": str(path)})
    else:
        console.print(shown_recovery_key(public_key, path))


def shown_recovery_key(public_key: str, path: Path) -> str:
    """`keys recovery show`'s line (the browser's publish page reads the key from it)."""
    return f"{public_key} ({path})"


def version_cids(exchange: Exchange, asset_id: int, version: int | None
                 ) -> tuple[int, str, str]:
    """(number, content CID, metadata CID) of the version the chain names (default latest)."""
    asset = exchange.asset(asset_id)
    number = asset.version_count if version is None else version
    if not 1 <= number <= asset.version_count:
        raise InvalidInput(f"asset {asset_id} has versions 1 to {asset.version_count}, "
                           f"not {number}")
    if number == asset.version_count:
        return number, asset.content_cid, asset.metadata_cid
    content, metadata, _published = exchange.registry.functions.version(asset_id, number).call()
    return number, cid_from_chain(*content), cid_from_chain(*metadata)


def decrypt(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    output: Path = typer.Option(None, "--output", "-o",
                                help="file to write, or an existing folder to write into "
                                     "under the published file name (default asset-ID)"),
    version: int = typer.Option(None, "--version", help="a version other than the latest"),
    as_json: JsonOption = False,
) -> None:
    """Decrypt your own content from IPFS with your recovery key (no gateway, no license);
    the bytes are kept only if they are what the version's metadata declares."""
    default = f"asset-{asset_id}" + (f"-v{version}" if version else "")
    planned = planned_output(output, default)
    number, content_cid, metadata_cid = version_cids(read_only(ctx), asset_id, version)
    settings = settings_of(ctx)
    ipfs = IpfsClient(settings.ipfs_api_url, settings.ipfs_timeout_seconds)
    data = b"".join(ipfs.cat(metadata_cid, length=MAX_METADATA_BYTES + 1))
    metadata = checked_metadata(asset_id, number, metadata_cid, data,
                                verified_by_ipfs=True).metadata
    destination = into_folder(planned, published_name([f.path for f in metadata.files],
                                                      is_archive(metadata), default))
    recovery = unlocked_recovery_key(ctx)
    part = destination.with_name(destination.name + ".part")
    try:
        with part.open("wb") as out:
            for chunk in recovered_plaintext(ipfs, content_cid, metadata, recovery):
                out.write(chunk)
        problem = content_problem(part, metadata)
        if problem is not None:
            raise ContentMismatch(f"the decrypted content of asset {asset_id} version "
                                  f"{number} is not what its metadata declares: {problem}")
        os.replace(part, destination)
    finally:
        part.unlink(missing_ok=True)
    summary = {"asset_id": asset_id, "version": number, "path": str(destination),
               "bytes": metadata.content.plaintext_size, "content_cid": content_cid,
               "metadata_cid": metadata_cid, "verified": True}
    if as_json:
        emit_json(summary)
    else:
        errors.print(f"decrypted {summary['bytes']:,} bytes to {destination}")


def reseal_command(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    seal_to: list[str] = typer.Option([], "--seal-to",
                                      help="a gateway's X25519 public key (base64); repeatable"),
    gateway: list[str] = typer.Option([], "--gateway",
                                      help="a gateway URL to fetch its key from; repeatable"),
    provider: list[str] = typer.Option([], "--provider", help=PROVIDER_HELP),
    seal_to_directory: int | None = typer.Option(None, "--seal-to-directory", metavar="N",
                                                 help=DIRECTORY_COUNT_HELP),
    directory: str | None = typer.Option(None, "--directory", metavar="URL",
                                         help=DIRECTORY_HELP),
    remove: list[str] = typer.Option([], "--remove", metavar="GATEWAY",
                                     help="drop a gateway from the key set: its public key, "
                                          "URL or provider address; repeatable"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Seal the latest version's content key to more (or fewer) gateways, with your recovery
    key: a new version over the same content CID (only a new metadata document is uploaded)."""
    if not (seal_to or gateway or provider or remove) and seal_to_directory is None:
        raise InvalidInput("no gateway to re-seal to", hint="pass --gateway URL, --provider "
                                                            "ADDRESS, --seal-to PUBLIC_KEY, "
                                                            "--seal-to-directory N or --remove")
    keys = [*gateway_keys(seal_to, picked_gateways(ctx, gateway, provider)),
            *directory_gateway_keys(ctx, seal_to_directory, directory)]
    if remove:
        exchange = read_only(ctx)
        removed = [named_gateway_key(exchange.web3, exchange.deployment, r) for r in remove]
    else:
        removed = []
    recovery = unlocked_recovery_key(ctx)
    with signing(ctx, account, confirmations, as_json) as session, session.ipfs() as ipfs:
        session.progress.stage(f"re-sealing asset {asset_id}")
        result = reseal(ipfs, session.exchange, asset_id, keys, recovery, removed)
    output = {"asset_id": result.asset_id, "version": result.version,
              "content_cid": result.content_cid, "metadata_cid": result.metadata_cid,
              "added": list(result.added), "removed": list(result.removed),
              "sealed_to": [k.gateway_public_key for k in result.metadata.sealed_keys],
              "tx_hash": result.tx_hash, "block": result.block}
    if as_json:
        emit_json(output)
    else:
        console.print(f"asset {asset_id} version [bold]{result.version}[/bold] in block "
                      f"{result.block}: content {result.content_cid} now sealed to "
                      f"{len(result.added)} more gateway(s)"
                      + (f", {len(result.removed)} fewer" if result.removed else ""))
