"""Money commands: `payouts show|withdraw`, `stake`, `unstake`, `claim`, `license buy`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from dapp.cli.output import JsonOption, console, emit_json, table
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    account_entry,
    read_only,
    signing,
)
from dapp.errors import InvalidInput
from dapp.publishing.exchange import Exchange
from dapp.publishing.units import format_amount, parse_amount

payouts_app = typer.Typer(help="What sales have credited to you, and withdrawing it.",
                          no_args_is_help=True)
license_app = typer.Typer(help="Buy licenses.", no_args_is_help=True)

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
    amount: str = typer.Argument(..., help="in staking-token units: 100, 0.5"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stake on an asset to earn its curators' share of sales (approves the token first)."""
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        token = exchange.token(exchange.staking_token())
        base = parse_amount(amount, token.decimals)
        if base == 0:
            raise InvalidInput("stake amount must be more than 0")
        txs = exchange.stake(asset_id, base)
        active, _, _ = exchange.stake_of(asset_id, session.address)
    output = {"asset_id": asset_id, "staked": _money(exchange, token.address, base),
              "active_stake": format_amount(active, token.decimals),
              "tx_hashes": [tx.tx_hash for tx in txs]}
    if as_json:
        emit_json(output)
    else:
        console.print(f"staked {amount} {token.symbol} on asset {asset_id} "
                      f"(now {output['active_stake']} {token.symbol})")


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
    """Stop earning on AMOUNT (available after the unbonding delay), or --withdraw it."""
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
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Claim your curation rewards on an asset, in every payment token."""
    with signing(ctx, account, confirmations, as_json) as session:
        claimed, sent = session.exchange.claim(asset_id)
        rewards = [_money(session.exchange, token, amount) for token, amount in claimed.items()]
    if as_json:
        emit_json({"asset_id": asset_id, "tx_hash": sent.tx_hash, "claimed": rewards})
    elif not rewards:
        console.print("nothing to claim yet")
    else:
        for reward in rewards:
            console.print(f"claimed {reward['amount']} {reward['symbol']}")


@license_app.command("buy")
def buy(
    ctx: typer.Context,
    asset_id: int = typer.Argument(..., help="the asset id"),
    offer_id: int = typer.Argument(..., help="the offer (see `datadao assets show`)"),
    licensee: str | None = typer.Option(None, "--licensee", help="default: yourself"),
    approve: bool = typer.Option(False, "--approve",
                                 help="approve then buy (two transactions) instead of a "
                                      "permit signature (one)"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Buy a license at the offer's current price (never more)."""
    with signing(ctx, account, confirmations, as_json) as session:
        exchange = session.exchange
        offer, expires_at, txs = exchange.buy(asset_id, offer_id, licensee, use_permit=not approve)
        output = {"asset_id": asset_id, "offer_id": offer_id, "scope": offer.scope,
                  "licensee": licensee or session.address,
                  "paid": _money(exchange, offer.token, offer.price),
                  "expires_at": _expiry_text(expires_at),
                  "tx_hashes": [tx.tx_hash for tx in txs]}
    if as_json:
        emit_json(output)
    else:
        until = output["expires_at"] or "forever"
        console.print(f"licensed asset {asset_id} ({offer.scope}) until {until}; paid "
                      f"{output['paid']['amount']} {output['paid']['symbol']}")
