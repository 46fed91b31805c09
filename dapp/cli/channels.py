"""Metered model calls from the buyer's side: `channel open|show|top-up|extend|reclaim` and
`invoke MODEL`, which pays one call with the next voucher on a channel."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from dapp.cli.invoke_stream import print_stream
from dapp.cli.market import GatewayOption, check_same_market, market_account
from dapp.cli.output import JsonOption, console, emit_json, errors, table
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    account_entry,
    read_only,
    settings_of,
    unlock,
)
from dapp.client.channels import BuyerChannels
from dapp.client.gateway import GatewayClient
from dapp.client.metered import MeteredClient, SignedVouchers, fetch_terms
from dapp.client.metered_stream import invoke_stream
from dapp.client.private import invoke_private, parse_rows
from dapp.config import Settings
from dapp.errors import InvalidInput
from dapp.market.reader import MarketReader
from dapp.publishing.exchange import Exchange
from dapp.publishing.units import format_amount, parse_amount, parse_duration

app = typer.Typer(help="Payment channels that pay a gateway's provider per model call.",
                  no_args_is_help=True)

DURATION_HELP = "how long the channel stays open, e.g. 7d or 12h"


def signed_vouchers(settings: Settings) -> SignedVouchers:
    return SignedVouchers(settings.data_dir / "signed-vouchers.json")


@contextmanager
def metered_client(ctx: typer.Context, exchange: Exchange, gateway: str | None,
                   account: str | None) -> Iterator[MeteredClient]:
    """Calls through `gateway`, checked against our own chain and deployment's market."""
    settings = settings_of(ctx)
    chain_id = int(exchange.web3.eth.chain_id)
    with GatewayClient(gateway or settings.resolved_gateway_public_url,
                       unlock(ctx, account), chain_id=chain_id) as client:
        market = MarketReader.from_deployment(exchange.web3, exchange.deployment)
        yield MeteredClient(client, signed_vouchers(settings), market, chain_id)


def max_price_of(exchange: Exchange, channel_id: int | None, text: str | None) -> int | None:
    """`--max-price` in the channel's token, as base units (None: the on-chain price)."""
    if text is None:
        return None
    if channel_id is None:
        raise InvalidInput("--max-price limits what a channel pays per call: give --channel")
    channel = BuyerChannels(exchange.web3, exchange.deployment).channel(channel_id)
    return parse_amount(text, exchange.token(channel.token).decimals, what="--max-price")


def channel_duration(text: str) -> int:
    seconds = parse_duration(text)
    if seconds == 0:
        raise InvalidInput("a channel needs an end", hint="e.g. --duration 7d")
    return seconds


@dataclass
class ChannelView:
    channel_id: int
    buyer: str
    provider: str
    symbol: str
    deposit: str
    redeemed: str
    signed_here: str
    expiry: int

    @property
    def expires(self) -> str:
        return datetime.fromtimestamp(self.expiry, UTC).isoformat()

    def as_json(self) -> dict[str, Any]:
        return {"channel_id": self.channel_id, "buyer": self.buyer, "provider": self.provider,
                "token": self.symbol, "deposit": self.deposit, "redeemed": self.redeemed,
                "signed_here": self.signed_here, "expiry": self.expiry,
                "expires": self.expires}


def channel_view(settings: Settings, exchange: Exchange, channels: BuyerChannels,
                 channel_id: int) -> ChannelView:
    state = channels.channel(channel_id)
    token = exchange.token(state.token)
    record = signed_vouchers(settings).get(SignedVouchers.key(
        exchange.web3.eth.chain_id, channels.address, channel_id))
    return ChannelView(channel_id, state.buyer, state.provider, token.symbol,
                       format_amount(state.deposit, token.decimals),
                       format_amount(state.redeemed, token.decimals),
                       format_amount(record.signed, token.decimals), state.expiry)


def print_channel(view: ChannelView, as_json: bool, **extra: Any) -> None:
    if as_json:
        emit_json({**view.as_json(), **extra})
        return
    for key, value in extra.items():
        console.print(f"{key.replace('_', ' ')}: {value}", highlight=False)
    table(f"channel {view.channel_id}", ["provider", "deposit", "redeemed", "signed here",
                                         "expires"],
          [[view.provider, f"{view.deposit} {view.symbol}", view.redeemed, view.signed_here,
            view.expires]])


def change_channel(ctx: typer.Context, channel_id: int, account: str | None,
                   confirmations: int | None, as_json: bool,
                   action: Callable[[Exchange, BuyerChannels], dict[str, Any]]) -> None:
    """Run `action` on the account's channels, then print the channel (and what `action`
    returned)."""
    with market_account(ctx, BuyerChannels, account, confirmations, as_json) as (
            exchange, channels):
        extra = action(exchange, channels)
        view = channel_view(settings_of(ctx), exchange, channels, channel_id)
    print_channel(view, as_json, **extra)


@app.command("open")
def open_channel(
    ctx: typer.Context,
    deposit: str = typer.Argument(..., help="the deposit in the provider's token, e.g. 5"),
    duration: str = typer.Option("7d", "--duration", help=DURATION_HELP),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a channel to the gateway's provider in its token: it pays for calls until it
    expires. The token is named in the transaction: if the provider's token on chain is
    another, nothing is deposited (PriceTokenMismatch)."""
    seconds = channel_duration(duration)
    settings = settings_of(ctx)
    terms = fetch_terms(gateway or settings.resolved_gateway_public_url)
    with market_account(ctx, BuyerChannels, account, confirmations, as_json) as (
            exchange, channels):
        check_same_market(terms, channels, exchange.web3.eth.chain_id)
        token = exchange.token(terms.token)
        amount = parse_amount(deposit, token.decimals, what="deposit")
        channel_id, _ = channels.open(terms.address, amount, channels.chain_time() + seconds,
                                      token=token.address)
        view = channel_view(settings, exchange, channels, channel_id)
    calls = amount // terms.price if terms.price else None
    print_channel(view, as_json, price_per_call=format_amount(terms.price, token.decimals),
                  calls_paid_for=calls)


@app.command("show")
def show_channel(
    ctx: typer.Context,
    channel_id: int = typer.Argument(..., min=1),
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """A channel's deposit, what its provider redeemed, what this machine signed. With
    --account (or DAPP_ACCOUNT), also whether that account is the channel's buyer; nothing
    is unlocked."""
    exchange = read_only(ctx)
    channels = BuyerChannels(exchange.web3, exchange.deployment)
    view = channel_view(settings_of(ctx), exchange, channels, channel_id)
    extra = {}
    if account or settings_of(ctx).account:
        entry = account_entry(ctx, account)
        extra["yours"] = entry.address.lower() == view.buyer.lower()
    print_channel(view, as_json, **extra)


@app.command("top-up")
def top_up(
    ctx: typer.Context,
    channel_id: int = typer.Argument(..., min=1),
    amount: str = typer.Argument(..., help="how much to add, in the channel's token"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add to a channel's deposit (more calls before it runs dry)."""
    def add(exchange: Exchange, channels: BuyerChannels) -> dict[str, Any]:
        token = exchange.token(channels.channel(channel_id).token)
        channels.top_up(channel_id, parse_amount(amount, token.decimals))
        return {}
    change_channel(ctx, channel_id, account, confirmations, as_json, add)


@app.command("extend")
def extend(
    ctx: typer.Context,
    channel_id: int = typer.Argument(..., min=1),
    duration: str = typer.Option("7d", "--duration", help="added to the later of the current "
                                                          "expiry and now"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a channel open longer."""
    seconds = channel_duration(duration)

    def move_expiry(_: Exchange, channels: BuyerChannels) -> dict[str, Any]:
        expiry = max(channels.channel(channel_id).expiry, channels.chain_time()) + seconds
        channels.extend(channel_id, expiry)
        return {}
    change_channel(ctx, channel_id, account, confirmations, as_json, move_expiry)


@app.command("reclaim")
def reclaim(
    ctx: typer.Context,
    channel_id: int = typer.Argument(..., min=1),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """After expiry: take back what the provider did not redeem."""
    def take_back(exchange: Exchange, channels: BuyerChannels) -> dict[str, Any]:
        token = exchange.token(channels.channel(channel_id).token)
        amount, _ = channels.reclaim(channel_id)
        return {"reclaimed": f"{format_amount(amount, token.decimals)} {token.symbol}"}
    change_channel(ctx, channel_id, account, confirmations, as_json, take_back)


def invoke(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., min=1, help="the model's asset id"),
    channel: int = typer.Option(None, "--channel", min=1,
                                help="the channel that pays (not needed by free providers)"),
    input_file: str = typer.Option("-", "--input", "-i", help="request body file; - is stdin"),
    content_type: str = typer.Option("application/json", "--content-type"),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    resync: bool = typer.Option(False, "--resync", help="continue from the gateway's count "
                                                        "of the channel (used elsewhere too)"),
    max_price: str = typer.Option(None, "--max-price", help="the most one call may cost, in "
                                  "the channel's token (default: the provider's price on "
                                  "chain)"),
    stream: bool = typer.Option(False, "--stream", help="print the model's chunks as they "
                                "come, each paid (one price) after it arrived"),
    max_chunks: int = typer.Option(None, "--max-chunks", min=1, help="with --stream: stop "
                                   "after this many chunks (pay for at most these)"),
    private: bool = typer.Option(False, "--private", help="encrypt --input (a JSON vector or "
                                 "list of vectors) with CKKS, keep the secret key here, and "
                                 "print the decrypted answer (private models only)"),
    as_json: JsonOption = False,
) -> None:
    """Run a model once through a gateway, paid from a channel; its output on stdout. The
    gateway's price, market and provider are checked against the chain before signing. With
    --stream, each chunk is printed as it comes (JSON lines with --json)."""
    try:
        body = sys.stdin.buffer.read() if input_file == "-" else Path(input_file).read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read --input {input_file}: {error.strerror}") from None
    exchange = read_only(ctx)
    limit = max_price_of(exchange, channel, max_price)
    if stream:
        with metered_client(ctx, exchange, gateway, account) as client:
            print_stream(invoke_stream(client, asset_id, body, channel_id=channel,
                                       content_type=content_type, resync=resync,
                                       max_price=limit, max_chunks=max_chunks),
                         channel, as_json)
        return
    if private:
        rows, single = parse_rows(body)
        with metered_client(ctx, exchange, gateway, account) as client:
            answer = invoke_private(client, asset_id, rows, channel_id=channel,
                                    max_price=limit, resync=resync)
        output = answer.outputs[0] if single else answer.outputs
        if as_json:
            emit_json({"asset_id": asset_id, "channel_id": channel, "price": str(answer.price),
                       "paid_total": str(answer.cumulative), "private": True,
                       "request_bytes": answer.request_bytes, "output": output})
        else:
            print(json.dumps(output))
            if answer.price:
                errors.print(f"paid {answer.price} base units; channel {channel} has paid "
                             f"{answer.cumulative} in all", highlight=False)
        return
    with metered_client(ctx, exchange, gateway, account) as client:
        result = client.invoke(asset_id, body, channel_id=channel, content_type=content_type,
                               resync=resync, max_price=limit)
    if as_json:
        output: Any = result.body.decode("utf-8", "replace")
        if result.media_type == "application/json":
            output = json.loads(result.body)
        emit_json({"asset_id": asset_id, "channel_id": channel, "price": str(result.price),
                   "paid_total": str(result.cumulative), "media_type": result.media_type,
                   "output": output})
        return
    sys.stdout.buffer.write(result.body)
    sys.stdout.flush()
    if result.price:
        errors.print(f"paid {result.price} base units; channel {channel} has paid "
                     f"{result.cumulative} in all", highlight=False)
