"""Licence tokens on the command line: `offer tokens` (the owner opts an offer in),
`license ls` (the tokens an account holds) and `license transfer` (checked before sending).
`license buy` buys a token when the offer issues them (see money.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from dapp.chain.constants import Scope
from dapp.cli.download import expected_content
from dapp.cli.output import JsonOption, console, emit_json, table
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    account_entry,
    read_only,
    signing,
)
from dapp.client.gateway import GatewayClient, raise_for_problem
from dapp.errors import DappError, InvalidInput
from dapp.publishing.exchange import Exchange
from dapp.publishing.licence_tokens import PERPETUAL, Holding, LicenceTokens, TokenOffer


def _scope(text: str) -> int:
    try:
        return int(Scope[text.upper()])
    except KeyError:
        raise InvalidInput(f"scope {text!r} is not download or compute",
                           hint="--scope download or --scope compute") from None


def _ends(expires_at: int | None) -> str | None:
    """ISO 8601 UTC of a licence's end; None = perpetual."""
    if expires_at is None or expires_at >= PERPETUAL:
        return None
    return datetime.fromtimestamp(expires_at, UTC).isoformat()


def token_offer_of(exchange: Exchange, asset_id: int, offer_id: int) -> TokenOffer | None:
    """How the offer issues licence tokens; None when it does not (or there is no contract)."""
    if exchange.license_tokens is None:
        return None
    offer = LicenceTokens(exchange).token_offer(asset_id, offer_id)
    return offer if offer.enabled else None


def offer_tokens(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    offer_id: int = typer.Argument(..., help="the offer (see `datadao assets show`)"),
    transferable: bool | None = typer.Option(
        None, "--transferable/--bound",
        help="licences the buyer may transfer (and resell), or bound to the buyer's address"),
    off: bool = typer.Option(False, "--off", help="stop issuing tokens: address-bound "
                                                  "licences again (tokens sold stay valid)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sell an offer's licences as licence tokens (ERC-1155), transferable or bound."""
    if off == (transferable is not None):
        raise InvalidInput("give --transferable or --bound, or --off (one of them)")
    with signing(ctx, account, confirmations, as_json, LicenceTokens.error_decoder()) as session:
        session.exchange.quote(asset_id, offer_id)  # a clear error for an unknown offer
        sent = LicenceTokens(session.exchange).set_token_offer(asset_id, offer_id, not off,
                                                               bool(transferable))
    output = {"asset_id": asset_id, "offer_id": offer_id, "tokens": not off,
              "transferable": bool(transferable), "tx_hash": sent.tx_hash,
              "block": sent.block_number}
    if as_json:
        emit_json(output)
    elif off:
        console.print(f"asset {asset_id} offer {offer_id} sells address-bound licences")
    else:
        kind = "transferable" if transferable else "bound"
        console.print(f"asset {asset_id} offer {offer_id} sells {kind} licence tokens")


def _from_gateway(url: str, address: str) -> list[dict[str, Any]]:
    with GatewayClient(url, None) as client:
        response = client.request("GET", f"/v1/accounts/{address}/licence-tokens")
        raise_for_problem(response)
        items: list[dict[str, Any]] = response.json()
    return [{"asset_id": i["asset_id"], "title": i["title"], "scope": i["scope"],
             "transferable": i["transferable"], "token_id": i["token_id"],
             "expires_at": i["expires_at"], "expires_at_unix": i["expires_at_unix"]}
            for i in items]


def _title(ctx: typer.Context, asset_id: int, titles: dict[int, str | None]) -> str | None:
    """The asset's title from its latest metadata on our IPFS node (checked against the CID
    the chain names); None when it cannot be read."""
    if asset_id not in titles:
        try:
            titles[asset_id] = expected_content(ctx, asset_id, None).metadata.title
        except DappError:
            titles[asset_id] = None
    return titles[asset_id]


def _from_chain(ctx: typer.Context, exchange: Exchange, address: str) -> list[dict[str, Any]]:
    titles: dict[int, str | None] = {}

    def row(h: Holding) -> dict[str, Any]:
        return {"asset_id": h.asset_id, "title": _title(ctx, h.asset_id, titles),
                "scope": h.scope,
                "transferable": h.transferable, "token_id": str(h.token_id),
                "expires_at": _ends(h.expires_at),
                "expires_at_unix": None if h.expires_at >= PERPETUAL else h.expires_at}
    return [row(h) for h in LicenceTokens(exchange).holdings(address)]


def ls(
    ctx: typer.Context,
    holder: str | None = typer.Option(None, "--holder",
                                      help="any account's address (default: yours)"),
    gateway: str | None = typer.Option(
        None, "--gateway", help="read the gateway's index (GET /v1/accounts/ADDR/"
        "licence-tokens, with titles) instead of the chain"),
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """The licence tokens an account holds (expired ones too, with their end), read from the
    chain (titles from the assets' metadata on your IPFS node), or from a gateway's index with
    --gateway."""
    exchange = read_only(ctx)
    if holder is not None and not exchange.web3.is_address(holder):
        raise InvalidInput(f"{holder!r} is not an address", hint="give a 0x… address")
    address = exchange.web3.to_checksum_address(holder) if holder else \
        account_entry(ctx, account).address
    items = _from_gateway(gateway, address) if gateway else _from_chain(ctx, exchange, address)
    if as_json:
        emit_json({"holder": address, "source": "gateway" if gateway else "chain",
                   "licence_tokens": items})
        return
    console.print(f"licence tokens of {address}", highlight=False)
    table("licence tokens", ["asset", "title", "scope", "transferable", "ends"],
          [[str(i["asset_id"]), i["title"] or "", i["scope"],
            "yes" if i["transferable"] else "no (bound)", i["expires_at"] or "never"]
           for i in items])


def transfer(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset whose licence token you hold"),
    to: str = typer.Option(..., "--to", help="the new holder's address"),
    scope: str = typer.Option("download", "--scope", help="download | compute"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give your transferable licence token of ASSET to another address: the right to download
    (or compute) moves with it at once. Checked first (you hold it, it may move, it has not
    expired, --to is an address); a refusal sends nothing."""
    number = _scope(scope)
    exchange = read_only(ctx)
    sender = account_entry(ctx, account).address
    LicenceTokens(exchange).check_transfer(sender, asset_id, number, to)  # before the password
    with signing(ctx, account, confirmations, as_json, LicenceTokens.error_decoder()) as session:
        value, sent = LicenceTokens(session.exchange).transfer(session.address, asset_id,
                                                               number, to)
    new_holder = exchange.web3.to_checksum_address(to)
    output = {"asset_id": asset_id, "scope": Scope.label_of(number), "token_id": str(value),
              "from": sender, "to": new_holder, "tx_hash": sent.tx_hash,
              "block": sent.block_number}
    if as_json:
        emit_json(output)
    else:
        console.print(f"moved your {output['scope']} licence token of asset {asset_id} to "
                      f"{new_holder}", highlight=False)
