"""`datadao assets ls|show`: from the chain, or from a gateway's catalog with --gateway. From
the chain, each asset's title is read from its metadata document on our own IPFS node (by the
CID the chain names); an asset whose metadata cannot be read there shows no title."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import typer

from dapp.cli.output import JsonOption, console, emit_json, table
from dapp.cli.session import read_only, settings_of
from dapp.client.gateway import checked_metadata
from dapp.errors import DappError, NotFound, ServiceUnavailable
from dapp.ipfs.client import IpfsClient
from dapp.metadata import MAX_METADATA_BYTES
from dapp.publishing.exchange import AssetView, Exchange, OfferView
from dapp.publishing.units import format_amount, format_duration

app = typer.Typer(help="List and inspect published assets.", no_args_is_help=True)

GATEWAY_HELP = "read the gateway's catalog (indexed) instead of the chain"
TITLE_TIMEOUT_SECONDS = 3.0  # per metadata document not held nearby
TITLES_BUDGET_SECONDS = 15.0  # for all: a listing does not wait on many lost documents


class Titles:
    """Asset titles from their metadata documents on our own IPFS node (checked against the
    CID the chain names); None for one that cannot be read in time or is no metadata
    document, and for all once the time budget is spent."""

    def __init__(self, ctx: typer.Context) -> None:
        self.settings = settings_of(ctx)
        self.deadline = time.monotonic() + TITLES_BUDGET_SECONDS

    def of(self, asset: AssetView) -> str | None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        ipfs = IpfsClient(self.settings.ipfs_api_url, min(TITLE_TIMEOUT_SECONDS, left))
        try:
            data = b"".join(ipfs.cat(asset.metadata_cid, length=MAX_METADATA_BYTES + 1))
            return checked_metadata(asset.asset_id, asset.version_count, asset.metadata_cid,
                                    data, verified_by_ipfs=True).metadata.title
        except DappError:  # no node, not in time, or no metadata document
            return None


def offer_json(exchange: Exchange, offer: OfferView) -> dict[str, Any]:
    token = exchange.token(offer.token)
    return {"offer_id": offer.offer_id, "token": offer.token, "symbol": token.symbol,
            "price": format_amount(offer.price, token.decimals), "price_base_units": offer.price,
            "duration": offer.duration, "duration_text": format_duration(offer.duration),
            "scope": offer.scope, "active": offer.active}


def asset_json(exchange: Exchange, asset: AssetView, titles: Titles) -> dict[str, Any]:
    staking = exchange.token(exchange.staking_token())
    return {
        "asset_id": asset.asset_id, "title": titles.of(asset), "owner": asset.owner,
        "kind": asset.kind,
        "retired": asset.retired, "curator_share_bps": asset.curator_share_bps,
        "version_count": asset.version_count, "content_cid": asset.content_cid,
        "metadata_cid": asset.metadata_cid,
        "published_at": datetime.fromtimestamp(asset.published_at, UTC).isoformat(),
        "total_staked": format_amount(asset.total_staked, staking.decimals),
        "offers": [offer_json(exchange, offer) for offer in asset.offers],
    }


def _gateway_get(gateway: str, path: str, params: dict[str, Any] | None = None) -> Any:
    url = gateway.rstrip("/") + path
    try:
        response = httpx.get(url, params=params, timeout=15)
    except httpx.HTTPError as error:
        raise ServiceUnavailable(f"gateway at {gateway} is unreachable ({error})",
                                 hint="start it with `make up`, or drop --gateway to read "
                                      "the chain") from None
    if response.status_code == 404:
        raise NotFound(response.json().get("detail", f"{url}: not found"))
    if response.status_code != 200:
        raise ServiceUnavailable(f"{url} answered {response.status_code}")
    return response.json()


def _offer_text(offer: dict[str, Any]) -> str:
    state = "" if offer["active"] else " (paused)"
    return (f"#{offer['offer_id']} {offer.get('price')} {offer.get('symbol', '')} "
            f"{offer.get('duration_text', offer['duration'])} {offer['scope']}{state}")


@app.command("ls")
def list_assets(
    ctx: typer.Context,
    gateway: str | None = typer.Option(None, "--gateway", help=GATEWAY_HELP),
    as_json: JsonOption = False,
) -> None:
    """List every asset: id, kind, title, owner, versions, offers."""
    if gateway is not None:
        page = _gateway_get(gateway, "/v1/assets", {"page_size": 100})
        if as_json:
            emit_json(page["items"])
        else:
            table("assets", ["id", "kind", "title", "owner", "versions"],
                  [[a["asset_id"], a["kind"], a["title"], a["owner"], a["version_count"]]
                   for a in page["items"]])
        return
    exchange = read_only(ctx)
    titles = Titles(ctx)
    assets = [asset_json(exchange, exchange.asset(asset_id), titles)
              for asset_id in range(1, exchange.asset_count() + 1)]
    if as_json:
        emit_json(assets)
    elif not assets:
        console.print("no assets yet: `datadao publish PATH` publishes one")
    else:
        table("assets", ["id", "kind", "title", "owner", "versions", "offers", "retired"],
              [[a["asset_id"], a["kind"], a["title"] or "-", a["owner"], a["version_count"],
                "; ".join(_offer_text(o) for o in a["offers"]), a["retired"]] for a in assets])


@app.command("show")
def show_asset(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    gateway: str | None = typer.Option(None, "--gateway", help=GATEWAY_HELP),
    as_json: JsonOption = False,
) -> None:
    """One asset: owner, latest version's CIDs, offers, stake."""
    if gateway is not None:
        detail = _gateway_get(gateway, f"/v1/assets/{asset_id}")
    else:
        exchange = read_only(ctx)
        detail = asset_json(exchange, exchange.asset(asset_id), Titles(ctx))
    if as_json:
        emit_json(detail)
        return
    for key, value in detail.items():
        if key == "offers":
            for offer in value:
                console.print(f"  offer     {_offer_text(offer)}", highlight=False)
        elif not isinstance(value, list | dict):
            console.print(f"{key:18} {value}", highlight=False)
