"""`datadao publish PATH` and `datadao version add ASSET PATH`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from web3 import Web3

from dapp.chain.constants import MAX_UINT96
from dapp.cli.output import JsonOption, console, emit_json
from dapp.cli.recipients import (
    DIRECTORY_COUNT_HELP,
    DIRECTORY_HELP,
    NO_RECOVERY_HELP,
    PROVIDER_HELP,
    directory_gateway_keys,
    picked_gateways,
    recovery_recipient,
)
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    settings_of,
    signing,
)
from dapp.errors import InvalidInput
from dapp.publishing.exchange import Exchange, OfferTerms
from dapp.publishing.gateways import gateway_keys, sealing_recipients
from dapp.publishing.marketplace import read_image
from dapp.publishing.pipeline import ContentRequest, PublishPipeline, PublishResult
from dapp.publishing.service import model_service
from dapp.publishing.units import (
    format_amount,
    format_duration,
    parse_amount,
    parse_duration,
    parse_share_bps,
    scope_index,
)

MAX_SCHEMA_BYTES = 64 * 1024
version_app = typer.Typer(help="Versions of an asset.", no_args_is_help=True)


def offer_terms(exchange: Exchange, price: str, token: str | None, duration: str,
                scope: str) -> OfferTerms:
    """An offer from what a person typed: price in token units, '30d', 'download'."""
    info = exchange.resolve_token(token)
    base_units = parse_amount(price, info.decimals, what="price")
    if base_units > MAX_UINT96:
        raise InvalidInput(f"price {price} {info.symbol} is more than an offer can hold")
    return OfferTerms(token=info.address, price=base_units, duration=parse_duration(duration),
                      scope=scope_index(scope))


def describe_offer(exchange: Exchange, terms: OfferTerms) -> dict[str, Any]:
    info = exchange.token(terms.token)
    return {"token": info.address, "symbol": info.symbol,
            "price": format_amount(terms.price, info.decimals), "price_base_units": terms.price,
            "duration": terms.duration, "duration_text": format_duration(terms.duration),
            "scope": ("download", "compute")[terms.scope]}


def result_json(result: PublishResult, seconds: float) -> dict[str, Any]:
    content = result.content
    return {
        "asset_id": result.asset_id, "version": result.version, "owner": result.owner,
        "tx_hash": result.tx_hash, "block": result.block, "gas_used": result.gas_used,
        "content_cid": content.content_cid, "metadata_cid": content.metadata_cid,
        "packed_sha256": content.packed_sha256, "packed_size": content.packed_size,
        "stored_size": content.stored_size, "encrypted": content.metadata.content.encrypted,
        "sealed_to": [k.gateway_public_key for k in content.metadata.sealed_keys],
        "tasks": content.metadata.service.tasks if content.metadata.service else [],
        "files": len(content.metadata.files), "seconds": round(seconds, 3),
    }


def _license_text(license_text: str | None, license_file: Path | None) -> str:
    if license_file is not None:
        try:
            return license_file.read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"cannot read {license_file}: {error.strerror}") from None
    if not license_text:
        raise InvalidInput("an asset needs license terms",
                           hint="pass --license-text TEXT or --license-file PATH")
    return license_text


def _schema_file(path: Path | None, option: str) -> Any | None:
    """The JSON document in a schema file (checked against the subset by `model_service`)."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read {option} {path}: {error.strerror}") from None
    if len(data) > MAX_SCHEMA_BYTES:
        raise InvalidInput(f"{option} {path} is larger than {MAX_SCHEMA_BYTES} bytes")
    try:
        return json.loads(data)
    except ValueError as error:
        raise InvalidInput(f"{option} {path} is not JSON: {error}") from None


def _keys(ctx: typer.Context, seal_to: list[str], gateway: list[str], provider: list[str],
          open_asset: bool, no_recovery: bool, directory: tuple[int | None, str | None]
          ) -> tuple[str, ...]:
    if open_asset:
        if directory[0] is not None:
            raise InvalidInput("--open publishes unencrypted: there is nothing to seal to the "
                               "directory's gateways", hint="drop --seal-to-directory or --open")
        return ()
    gateway = picked_gateways(ctx, gateway, provider)
    picked = directory_gateway_keys(ctx, *directory)
    if not seal_to and not gateway and not picked:  # the configured gateway (`make up`'s)
        gateway = [settings_of(ctx).resolved_gateway_public_url]
    keys = gateway_keys(seal_to, gateway)
    return sealing_recipients([*keys, *picked], recovery_recipient(ctx, no_recovery))


def publish(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="a file or a folder (packed as a tar)"),
    title: str = typer.Option(..., "--title", help="shown in the catalog"),
    description: str = typer.Option("", "--description"),
    kind: str = typer.Option("dataset", "--kind", help="dataset | model | algorithm"),
    tag: list[str] = typer.Option([], "--tag", help="repeat for several: --tag nlp --tag en"),
    license_text: str | None = typer.Option(None, "--license-text", help="license terms"),
    license_file: Path | None = typer.Option(None, "--license-file",
                                             help="read the license terms from a file"),
    price: str = typer.Option(..., "--price", help="in token units: 10, 0.5"),
    token: str | None = typer.Option(None, "--token",
                                     help="payment token address or symbol (default DDT)"),
    duration: str = typer.Option("0", "--duration", help="30d, 12h, ...; 0 = perpetual"),
    scope: str = typer.Option("download", "--scope", help="download | compute"),
    curator_share: str = typer.Option("0", "--curator-share",
                                      help="percent of each sale for curation stakers (≤ 50)"),
    seal_to: list[str] = typer.Option([], "--seal-to",
                                      help="a gateway's X25519 public key (base64); repeatable"),
    gateway: list[str] = typer.Option([], "--gateway",
                                      help="a gateway URL to fetch its key from; repeatable"),
    provider: list[str] = typer.Option([], "--provider", help=PROVIDER_HELP),
    seal_to_directory: int | None = typer.Option(None, "--seal-to-directory", metavar="N",
                                                 help=DIRECTORY_COUNT_HELP),
    directory: str | None = typer.Option(None, "--directory", metavar="URL",
                                         help=DIRECTORY_HELP),
    open_asset: bool = typer.Option(False, "--open", help="publish unencrypted (public data)"),
    no_recovery: bool = typer.Option(False, "--no-recovery", help=NO_RECOVERY_HELP),
    task: list[str] = typer.Option([], "--task", help="a model: a task it serves (a pipeline "
                                   "tag, e.g. summarization); repeatable"),
    input_schema: Path | None = typer.Option(None, "--input-schema",
                                             help="a model: JSON Schema of one call's body"),
    output_schema: Path | None = typer.Option(None, "--output-schema",
                                              help="a model: JSON Schema of its answer"),
    image: Path | None = typer.Option(None, "--image",
                                      help="PNG/JPEG/GIF/WebP/SVG marketplaces show (≤ 10 MiB)"),
    dao: str | None = typer.Option(None, "--dao", help="print a DAO proposal, send nothing"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Encrypt and upload a file or folder to IPFS and publish it as a new asset."""
    started = time.monotonic()
    if dao is not None and not Web3.is_address(dao):
        raise InvalidInput(f"--dao {dao!r} is not an address")
    service = model_service(kind.lower(), task, _schema_file(input_schema, "--input-schema"),
                            _schema_file(output_schema, "--output-schema"))
    image_bytes = None if image is None else read_image(image)
    request = ContentRequest(
        path=path, title=title, description=description, kind=kind.lower(), tags=tuple(tag),
        license_text=_license_text(license_text, license_file),
        gateway_keys=_keys(ctx, seal_to, gateway, provider, open_asset, no_recovery,
                           (seal_to_directory, directory)),
        open=open_asset, service=service)
    share = parse_share_bps(curator_share)
    with signing(ctx, account, confirmations, as_json) as session, session.ipfs() as ipfs:
        terms = offer_terms(session.exchange, price, token, duration, scope)
        pipeline = PublishPipeline(ipfs, session.exchange, session.progress)
        if dao is not None:
            proposal = pipeline.propose_publish(request, share, [terms], dao)
            output = {"dao": proposal.dao, "target": proposal.target, "value": 0,
                      "calldata": proposal.calldata,
                      "propose_calldata": proposal.propose_calldata,
                      "description": proposal.description,
                      "content_cid": proposal.content.content_cid,
                      "metadata_cid": proposal.content.metadata_cid,
                      "packed_sha256": proposal.content.packed_sha256}
            if as_json:
                emit_json(output)
            else:
                console.print(f"uploaded; propose this call in DAO {proposal.dao}:")
                console.print(f"  target   {proposal.target}\n  calldata {proposal.calldata}")
                console.print("  (send `propose_calldata` from --json to the DAO to propose it)")
            return
        result = pipeline.publish(request, share, [terms])
        uris = pipeline.publish_marketplace_documents(result, request, image_bytes)
        output = result_json(result, time.monotonic() - started)
        if uris is not None:
            output.update(token_uri=uris.token_uri, license_token_uri=uris.license_token_uri,
                          image_cid=uris.image_cid)
        output["offers"] = [describe_offer(session.exchange, terms)]
    if as_json:
        emit_json(output)
        return
    console.print(f"published asset [bold]{result.asset_id}[/bold] in block {result.block} "
                  f"({output['seconds']} s)")
    console.print(f"  content  {output['content_cid']}"
                  f"{'' if output['encrypted'] else ' (open)'}")
    console.print(f"  metadata {output['metadata_cid']}")
    if "token_uri" in output:
        console.print(f"  tokenURI {output['token_uri']}")
    offer = output["offers"][0]
    console.print(f"  offer 1  {offer['price']} {offer['symbol']}, {offer['duration_text']}, "
                  f"{offer['scope']}")


@version_app.command("add")
def add_version(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    path: Path = typer.Argument(..., help="the new content: a file or a folder"),
    title: str | None = typer.Option(None, "--title", help="default: the latest version's"),
    description: str | None = typer.Option(None, "--description"),
    tag: list[str] = typer.Option([], "--tag", help="replaces the tags when given"),
    license_text: str | None = typer.Option(None, "--license-text"),
    seal_to: list[str] = typer.Option([], "--seal-to",
                                      help="gateway keys (default: the latest version's)"),
    gateway: list[str] = typer.Option([], "--gateway"),
    provider: list[str] = typer.Option([], "--provider", help=PROVIDER_HELP),
    no_recovery: bool = typer.Option(False, "--no-recovery", help=NO_RECOVERY_HELP),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload new content for an asset under a new key; earlier versions stay readable."""
    started = time.monotonic()
    with signing(ctx, account, confirmations, as_json) as session, session.ipfs() as ipfs:
        pipeline = PublishPipeline(ipfs, session.exchange, session.progress)
        base = pipeline.previous_request(asset_id, path)
        gateway = picked_gateways(ctx, gateway, provider)
        keys = tuple(gateway_keys(seal_to, gateway)) if seal_to or gateway \
            else base.gateway_keys
        if not base.open:
            keys = tuple(dict.fromkeys([*keys, *recovery_recipient(ctx, no_recovery)]))
        request = ContentRequest(
            path=path, title=title or base.title,
            description=base.description if description is None else description,
            kind=base.kind, tags=tuple(tag) or base.tags,
            license_text=license_text or base.license_text, gateway_keys=keys,
            open=base.open, segment_size=base.segment_size, service=base.service)
        result = pipeline.add_version(asset_id, request)
    output = result_json(result, time.monotonic() - started)
    if as_json:
        emit_json(output)
    else:
        console.print(f"asset {asset_id} version [bold]{result.version}[/bold] in block "
                      f"{result.block}: content {output['content_cid']}")
