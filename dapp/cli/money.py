"""Money commands: `payouts show|withdraw`, `stake`, `unstake`, `claim`, `license buy`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer
from web3 import Web3

from dapp.cli.licences import token_offer_of
from dapp.cli.output import JsonOption, console, emit_json, errors, table
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    account_entry,
    read_only,
    signing,
)
from dapp.errors import InvalidInput
from dapp.publishing.exchange import Exchange
from dapp.publishing.licence_tokens import LicenceTokens
from dapp.publishing.units import format_amount, format_duration, parse_amount
from dapp.store.catalog import OfferView

payouts_app = typer.Typer(help="What sales have credited to you, and withdrawing it.",
                          no_args_is_help=True)
license_app = typer.Typer(help="Buy licenses; list and transfer licence tokens.",
                          no_args_is_help=True)

PERPETUAL_EXPIRY = (1 << 64) - 1


def _tokens(exchange: Exchange, token: str | None) -> list[str]:
    return [exchange.resolve_token(token).address] if token else exchange.payment_tokens()


def _money(exchange: Exchange, token: str, amount: int) -> dict[str, Any]:
    info = exchange.token(token)
    return {"token": info.address, "symbol": info.symbol,
            "amount": format_amount(amount, info.decimals), "amount_base_units": amount}


def _expiry_text(expires_at: int) -> str | None:
    if expires_at >= PERPETUAL_EXPIRY:
        return None
    return datetime.fromtimestamp(expires_at, UTC).isoformat()


def _time_text(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


@payouts_app.command("show")
def show_payouts(
    ctx: typer.Context,
    token: str | None = typer.Option(None, "--token", help="one token (default: every one)"),
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Balances you can withdraw, per payment token (no password needed)."""
    address = account_entry(ctx, account).address
    exchange = read_only(ctx)
    balances = [_money(exchange, t, exchange.payout_balance(address, t))
                for t in _tokens(exchange, token)]
    if as_json:
        emit_json({"account": address, "balances": balances})
    else:
        console.print(f"account {address}", highlight=False)
        table("payouts", ["token", "withdrawable"],
              [[b["symbol"], b["amount"]] for b in balances])


@payouts_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    token: str | None = typer.Option(None, "--token", help="one token (default: every one "
                                                           "with a balance)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw your payout balance to your account."""
    withdrawn: list[dict[str, Any]] = []
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        tokens = _tokens(exchange, token)
        if token is None:
            tokens = [t for t in tokens if exchange.payout_balance(session.address, t) > 0]
        for address in tokens:
            amount, sent = exchange.withdraw(address)
            withdrawn.append({**_money(exchange, address, amount), "tx_hash": sent.tx_hash,
                              "block": sent.block_number})
    if as_json:
        emit_json({"withdrawn": withdrawn})
    elif not withdrawn:
        console.print("nothing to withdraw")
    else:
        for item in withdrawn:
            console.print(f"withdrew {item['amount']} {item['symbol']}")


def stake(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset to vouch for"),
    amount: str | None = typer.Argument(None, help="in staking-token units: 100, 0.5"),
    activate: bool = typer.Option(False, "--activate",
                                  help="let your warmed-up stake start earning (no AMOUNT)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stake on an asset to earn its curators' share of sales (approves the token first).

    A new stake warms up for one unbonding delay and earns only from then on: it joins the
    earning stake at your next stake, unstake or claim, or with --activate (anyone can do it
    for you). Staking again while some stake is warming up restarts its warm-up."""
    if (amount is None) == (not activate):
        raise InvalidInput("give an AMOUNT to stake, or --activate (not both)")
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        token = exchange.token(exchange.staking_token())
        if activate:
            base = 0
            txs = [exchange.activate_stake(asset_id, session.address)]
        else:
            base = parse_amount(str(amount), token.decimals)
            if base == 0:
                raise InvalidInput("stake amount must be more than 0")
            _, txs = exchange.stake(asset_id, base)
        mine = exchange.stake_view(asset_id, session.address)
    output = {"asset_id": asset_id, "staked": _money(exchange, token.address, base),
              "active_stake": format_amount(mine.active, token.decimals),
              "warming_stake": format_amount(mine.warming, token.decimals),
              "active_at": _time_text(mine.active_at) if mine.warming else None,
              "tx_hashes": [tx.tx_hash for tx in txs]}
    if as_json:
        emit_json(output)
        return
    symbol = token.symbol
    if not activate:
        console.print(f"staked {amount} {symbol} on asset {asset_id}", highlight=False)
    console.print(f"earning: {output['active_stake']} {symbol}", highlight=False)
    if mine.warming:
        console.print(f"warming up: {output['warming_stake']} {symbol}, earns from "
                      f"{output['active_at']} (then `datadao stake {asset_id} --activate`, "
                      "or your next stake, unstake or claim, makes it earn)", highlight=False)


def unstake(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset"),
    amount: str | None = typer.Argument(None, help="in staking-token units"),
    withdraw_stake: bool = typer.Option(False, "--withdraw",
                                        help="take back stake whose unbonding has ended"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop staking AMOUNT (available after the unbonding delay), or --withdraw it. Stake still
    warming up is taken first, then earning stake (which stops earning at once)."""
    if (amount is None) == (not withdraw_stake):
        raise InvalidInput("give an AMOUNT to unstake, or --withdraw (not both)")
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        token = exchange.token(exchange.staking_token())
        if withdraw_stake:
            withdrawn, sent = exchange.withdraw_stake(asset_id)
            output: dict[str, Any] = {"asset_id": asset_id, "tx_hash": sent.tx_hash,
                                      "withdrawn": _money(exchange, token.address, withdrawn)}
        else:
            base = parse_amount(str(amount), token.decimals)
            available_at, sent = exchange.request_unstake(asset_id, base)
            output = {"asset_id": asset_id, "tx_hash": sent.tx_hash,
                      "unstaking": _money(exchange, token.address, base),
                      "available_at": datetime.fromtimestamp(available_at, UTC).isoformat()}
    if as_json:
        emit_json(output)
    elif withdraw_stake:
        console.print(f"withdrew {output['withdrawn']['amount']} {token.symbol} of stake")
    else:
        console.print(f"unstaking {amount} {token.symbol}; withdraw it after "
                      f"{output['available_at']} with `datadao unstake {asset_id} --withdraw`")


def claim(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset you stake on"),
    token: str | None = typer.Option(None, "--token",
                                     help="claim only this payment token (address or symbol)"),
    to: str | None = typer.Option(None, "--to", help="pay the rewards to this address "
                                                     "(default: your account)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim your curation rewards on an asset: every payment token in one transaction, or
    with --token/--to one token at a time (a token that fails then blocks only itself)."""
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        if token is None and to is None:
            claimed, sent = exchange.claim(asset_id)
            tx_hashes = [sent.tx_hash]
        else:
            recipient = _address(to) if to else session.address
            tokens = _tokens(exchange, token)
            if token is None:
                tokens = [t for t in tokens if exchange.earned(asset_id, session.address, t) > 0]
            claimed, tx_hashes = {}, []
            for address in tokens:
                claimed[address], sent = exchange.claim_reward(asset_id, address, recipient)
                tx_hashes.append(sent.tx_hash)
        rewards = [_money(exchange, t, amount) for t, amount in claimed.items()]
    if as_json:
        emit_json({"asset_id": asset_id, "tx_hashes": tx_hashes, "claimed": rewards,
                   "to": _address(to) if to else session.address})
    elif not rewards:
        console.print("nothing to claim yet")
    else:
        for reward in rewards:
            console.print(f"claimed {reward['amount']} {reward['symbol']}")


def _address(text: str) -> str:
    if not Web3.is_address(text):
        raise InvalidInput(f"{text!r} is not an address", hint="give a 0x… address")
    return Web3.to_checksum_address(text)


def _terms_text(exchange: Exchange, asset_id: int, offer: OfferView, licensee: str) -> str:
    token = exchange.token(offer.token)
    term = "perpetual" if offer.duration == 0 else f"for {format_duration(offer.duration)}"
    return (f"offer {offer.offer_id} of asset {asset_id}: {offer.scope} license {term}, "
            f"{format_amount(offer.price, token.decimals)} {token.symbol} "
            f"({token.address}), licensee {licensee}")


@license_app.command("buy")
def buy(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    offer_id: int = typer.Argument(..., help="the offer (see `datadao assets show`)"),
    licensee: str | None = typer.Option(None, "--licensee", help="default: yourself"),
    approve: bool = typer.Option(False, "--approve",
                                 help="approve then buy (two transactions) instead of a "
                                      "permit signature (one)"),
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="do not ask before buying (never asked when stdin is not a "
                                  "terminal)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Buy a license on the terms shown: the offer is read once, shown, and the purchase
    commits to exactly those terms (token, price, duration, scope). If the owner changes the
    offer in between, the registry refuses the sale and nothing is paid."""
    exchange = read_only(ctx)
    shown = exchange.quote(asset_id, offer_id)
    as_token = token_offer_of(exchange, asset_id, offer_id)
    licensee = _address(licensee) if licensee else account_entry(ctx, account).address
    kind = "" if as_token is None else \
        f" as a {'transferable' if as_token.transferable else 'bound'} licence token"
    errors.print(f"buying {_terms_text(exchange, asset_id, shown, licensee)}{kind}",
                 highlight=False, soft_wrap=True)
    if not yes and sys.stdin.isatty() and \
            not typer.confirm("buy on these terms?", default=False, err=True):
        errors.print("nothing bought", highlight=False)
        raise typer.Exit(1)
    with signing(ctx, account, confirmations, as_json, LicenceTokens.error_decoder()) as session:
        licence_token: dict[str, Any] | None = None
        if as_token is None:
            expires_at, txs = session.exchange.buy(asset_id, shown, licensee,
                                                   use_permit=not approve)
        else:  # LicenseTokens takes no permit: approve, then buy
            token_id, expires_at, txs = LicenceTokens(session.exchange).buy(asset_id, shown,
                                                                            licensee)
            licence_token = {"token_id": str(token_id), "transferable": as_token.transferable}
        output = {"asset_id": asset_id, "offer_id": offer_id, "scope": shown.scope,
                  "licence_token": licence_token,
                  "licensee": licensee, "duration": shown.duration,
                  "paid": _money(exchange, shown.token, shown.price),
                  "expires_at": _expiry_text(expires_at),
                  "tx_hashes": [tx.tx_hash for tx in txs]}
    if as_json:
        emit_json(output)
    else:
        until = output["expires_at"] or "forever"
        console.print(f"licensed asset {asset_id} ({shown.scope}) until {until}; paid "
                      f"{output['paid']['amount']} {output['paid']['symbol']}")
