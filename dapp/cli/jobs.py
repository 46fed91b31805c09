"""Compute jobs from the buyer's side: `job start DATASET ALGORITHM` escrows a job with a
gateway's provider, `job show` follows it, `job result` downloads the result and checks it
against the chain, `job cancel` (before the provider accepted) and `job finalize|dispute|
expire` settle it; refunds are credited in the market: `job claimable` shows them and `job
withdraw` pulls them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from dapp.cli.destination import into_folder, planned_output
from dapp.cli.market import GatewayOption, check_same_market, market_account
from dapp.cli.output import JsonOption, console, emit_json, errors
from dapp.cli.session import (
    AccountOption,
    ConfirmationsOption,
    account_entry,
    read_only,
    settings_of,
    unlock,
)
from dapp.client.gateway import GatewayClient
from dapp.client.jobs import BuyerJobs, JobState
from dapp.client.metered import fetch_terms
from dapp.errors import DappError, NotFound, NotLicensed, ServiceUnavailable
from dapp.publishing.exchange import Exchange
from dapp.publishing.units import format_amount

app = typer.Typer(help="Compute jobs: a provider runs an algorithm on a dataset you hold a "
                       "COMPUTE license for.", no_args_is_help=True)


class ResultMismatch(DappError):
    """The bytes the gateway served are not the result the provider committed to on chain."""

    code = "result-mismatch"
    exit_code = 14


def _when(moment: int) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment else None


def job_json(exchange: Exchange, state: JobState) -> dict[str, Any]:
    token = exchange.token(state.token)
    return {"job_id": state.job_id, "status": state.status, "buyer": state.buyer,
            "provider": state.provider, "dataset_id": state.dataset_id, "token": token.symbol,
            "provider_fee": format_amount(state.provider_fee, token.decimals),
            "data_fee": format_amount(state.data_fee, token.decimals),
            "deadline": _when(state.deadline), "challenge_end": _when(state.challenge_end),
            "result_hash": state.result_hash}


def print_job(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if value is not None:
            console.print(f"{key.replace('_', ' '):<14} {value}", highlight=False)


@app.command("start")
def start(
    ctx: typer.Context,
    dataset_id: int = typer.Argument(..., min=1, help="a dataset you hold a COMPUTE license for"),
    algorithm_id: int = typer.Argument(..., min=1, help="the algorithm (or model) asset"),
    hours: int = typer.Option(24, "--hours", min=1, help="deadline for the result"),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Escrow a job with the gateway's provider: its fee plus the dataset's data fee."""
    terms = fetch_terms(gateway or settings_of(ctx).resolved_gateway_public_url)
    with market_account(ctx, BuyerJobs, account, confirmations, as_json) as (exchange, jobs):
        check_same_market(terms, jobs, exchange.web3.eth.chain_id)
        job_id, _, _ = jobs.create(dataset_id, algorithm_id, terms.address,
                                   jobs.chain_time() + hours * 3600)
        data = job_json(exchange, jobs.job(job_id))
    print_job(data, as_json)


@app.command("show")
def show(
    ctx: typer.Context,
    job_id: int = typer.Argument(..., min=1),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """The job on chain, and its progress at the provider's gateway (signed in as its buyer)."""
    exchange = read_only(ctx)
    data = job_json(exchange, BuyerJobs(exchange.web3, exchange.deployment).job(job_id))
    url = gateway or settings_of(ctx).resolved_gateway_public_url
    try:
        with GatewayClient(url, unlock(ctx, account),
                           chain_id=int(exchange.web3.eth.chain_id)) as client:
            progress = client.job(job_id)
    except (ServiceUnavailable, NotFound, NotLicensed) as error:  # the chain part still holds
        data.update(gateway_status=None, gateway_error=str(error))
    else:
        data.update(gateway_status=progress.get("status"), reason=progress.get("reason"),
                    result_size=progress.get("result_size"))
    print_job(data, as_json)


@app.command("result")
def result(
    ctx: typer.Context,
    job_id: int = typer.Argument(..., min=1),
    output: Path = typer.Option(None, "--output", "-o", help="file to write, or a folder to "
                                                             "write job-ID-result into "
                                                             "(default job-ID-result)"),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    as_json: JsonOption = False,
) -> None:
    """Download the job's result and check it against the hash the provider posted on chain;
    a result that does not match is removed (exit 14)."""
    default = f"job-{job_id}-result"
    destination = into_folder(planned_output(output, default), default)
    exchange = read_only(ctx)
    state = BuyerJobs(exchange.web3, exchange.deployment).job(job_id)
    if state.result_hash is None:
        raise DappError(f"job {job_id} has no result on chain yet (status {state.status})",
                        hint=f"`datadao job show {job_id}` follows it")
    url = gateway or settings_of(ctx).resolved_gateway_public_url
    with GatewayClient(url, unlock(ctx, account),
                       chain_id=int(exchange.web3.eth.chain_id)) as client:
        got = client.job_result(job_id, destination)
    if got.sha256 != state.result_hash:
        got.path.unlink()
        raise ResultMismatch(f"the result served for job {job_id} hashes to {got.sha256}, not "
                             f"the {state.result_hash} its provider posted on chain",
                             hint=f"dispute it before {_when(state.challenge_end)}: "
                                  f"`datadao job dispute {job_id}`")
    if as_json:
        emit_json({"job_id": job_id, "path": str(got.path), "bytes": got.size,
                   "sha256": got.sha256, "verified": True})
    else:
        errors.print(f"saved {got.size:,} bytes to {got.path}; sha256 matches the chain",
                     highlight=False)


def _settle(ctx: typer.Context, job_id: int, account: str | None, confirmations: int | None,
            as_json: bool, action: Callable[[BuyerJobs, int], object]) -> None:
    with market_account(ctx, BuyerJobs, account, confirmations, as_json) as (exchange, jobs):
        action(jobs, job_id)
        data = job_json(exchange, jobs.job(job_id))
    print_job(data, as_json)


@app.command("finalize")
def finalize(ctx: typer.Context, job_id: int = typer.Argument(..., min=1),
             account: AccountOption = None, confirmations: ConfirmationsOption = None,
             as_json: JsonOption = False) -> None:
    """After the challenge window: pay the provider and the dataset (anyone may)."""
    _settle(ctx, job_id, account, confirmations, as_json, BuyerJobs.finalize)


@app.command("dispute")
def dispute(ctx: typer.Context, job_id: int = typer.Argument(..., min=1),
            account: AccountOption = None, confirmations: ConfirmationsOption = None,
            as_json: JsonOption = False) -> None:
    """Inside the challenge window: ask the arbiter to refund you and slash the provider. It
    costs a bond (the market's disputeBondBps of the job's price), returned if you win."""
    _settle(ctx, job_id, account, confirmations, as_json, BuyerJobs.dispute)


@app.command("expire")
def expire(ctx: typer.Context, job_id: int = typer.Argument(..., min=1),
           account: AccountOption = None, confirmations: ConfirmationsOption = None,
           as_json: JsonOption = False) -> None:
    """After a missed deadline: your escrow credited back, and the provider's collateral if it
    had accepted the job (`datadao job withdraw` pays them out)."""
    _settle(ctx, job_id, account, confirmations, as_json, BuyerJobs.expire)


@app.command("cancel")
def cancel(ctx: typer.Context, job_id: int = typer.Argument(..., min=1),
           account: AccountOption = None, confirmations: ConfirmationsOption = None,
           as_json: JsonOption = False) -> None:
    """Before the provider accepted the job: call it off; the escrow is credited back to you
    (`datadao job withdraw` pays it out)."""
    _settle(ctx, job_id, account, confirmations, as_json, BuyerJobs.cancel)


def _amounts(exchange: Exchange, amounts: dict[str, int]) -> list[dict[str, str]]:
    out = []
    for address, amount in amounts.items():
        token = exchange.token(address)
        out.append({"token": token.symbol, "address": address,
                    "amount": format_amount(amount, token.decimals), "base_units": str(amount)})
    return out


@app.command("claimable")
def claimable(ctx: typer.Context, account: AccountOption = None,
              as_json: JsonOption = False) -> None:
    """What the market credited you and you may withdraw: refunds of cancelled, declined or
    expired jobs, slashed collateral, dispute bonds (and, for a provider, its fees)."""
    exchange = read_only(ctx)
    me = account_entry(ctx, account).address
    jobs = BuyerJobs(exchange.web3, exchange.deployment)
    rows = _amounts(exchange, jobs.claimable(me, jobs.credit_tokens(me)))
    if as_json:
        emit_json({"account": me, "claimable": rows})
    elif not rows:
        console.print(f"nothing to withdraw for {me}", highlight=False)
    for row in [] if as_json else rows:
        console.print(f"{row['amount']} {row['token']}  ({row['address']})", highlight=False)


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    token: str = typer.Option(None, "--token", help="only this token (default: every token "
                                                     "with a credited balance)"),
    to: str = typer.Option(None, "--to", help="pay to this address instead of your own"),
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw what the market credited you (see `datadao job claimable`)."""
    with market_account(ctx, BuyerJobs, account, confirmations, as_json) as (exchange, jobs):
        me = jobs.account_address
        tokens = [token] if token else jobs.credit_tokens(me)
        paid = {}
        for address, amount in jobs.claimable(me, tokens).items():
            paid[address] = jobs.withdraw(address, to)[0] or amount
    if not paid:
        raise DappError(f"the market has credited nothing to {me}",
                        hint="`datadao job claimable` shows what is credited")
    rows = _amounts(exchange, paid)
    if as_json:
        emit_json({"account": me, "to": to or me, "withdrawn": rows})
        return
    for row in rows:
        console.print(f"withdrew {row['amount']} {row['token']} to {to or me}", highlight=False)
