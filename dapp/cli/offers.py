"""`datadao offer set|pause|resume`: what an asset sells, for how much, for how long."""

from __future__ import annotations

import typer

from dapp.cli.output import JsonOption, console, emit_json
from dapp.cli.publish import describe_offer, offer_terms
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    signing,
)

app = typer.Typer(help="Set, pause and resume an asset's offers.", no_args_is_help=True)


@app.command("set")
def set_offer(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    offer_id: int | None = typer.Argument(None, help="offer to replace; omit to add one"),
    price: str = typer.Option(..., "--price", help="in token units: 10, 0.5"),
    token: str | None = typer.Option(None, "--token", help="address or symbol (default DDT)"),
    duration: str = typer.Option("0", "--duration", help="30d, 12h, ...; 0 = perpetual"),
    scope: str = typer.Option("download", "--scope", help="download | compute"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an offer to an asset, or replace offer OFFER_ID."""
    with signing(ctx, account, confirmations, as_json) as session:
        terms = offer_terms(session.exchange, price, token, duration, scope)
        offer_id, sent = session.exchange.set_offer(asset_id, offer_id, terms)
        output = {"asset_id": asset_id, "offer_id": offer_id, "tx_hash": sent.tx_hash,
                  "block": sent.block_number, **describe_offer(session.exchange, terms)}
    if as_json:
        emit_json(output)
    else:
        console.print(f"asset {asset_id} offer [bold]{offer_id}[/bold]: {output['price']} "
                      f"{output['symbol']}, {output['duration_text']}, {output['scope']}")


def _set_active(ctx: typer.Context, asset_id: int, offer_id: int, active: bool,
                account: str | None, confirmations: int | None, as_json: bool) -> None:
    with signing(ctx, account, confirmations, as_json) as session:
        sent = session.exchange.set_offer_active(asset_id, offer_id, active)
    output = {"asset_id": asset_id, "offer_id": offer_id, "active": active,
              "tx_hash": sent.tx_hash, "block": sent.block_number}
    if as_json:
        emit_json(output)
    else:
        console.print(f"asset {asset_id} offer {offer_id} "
                      f"{'resumed' if active else 'paused'}")


@app.command("pause")
def pause(
    ctx: typer.Context,
    asset_id: int = typer.Argument(...),
    offer_id: int = typer.Argument(...),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop selling an offer for now (licenses sold stay valid)."""
    _set_active(ctx, asset_id, offer_id, False, account, confirmations, as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    asset_id: int = typer.Argument(...),
    offer_id: int = typer.Argument(...),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sell a paused offer again."""
    _set_active(ctx, asset_id, offer_id, True, account, confirmations, as_json)
