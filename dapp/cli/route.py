"""`datadao route TASK` and `datadao route --plan plan.json`: run a task on whichever model and
provider the catalog offers, cheapest (then fastest) first, falling back to the next when one
fails or answers wrongly; each call paid from a channel to its provider (one is opened when
there is none with room)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

import typer

from dapp.cli.channels import channel_duration, signed_vouchers
from dapp.cli.market import GatewayOption, market_account
from dapp.cli.output import JsonOption, emit_json, errors
from dapp.cli.session import AccountOption, ConfirmationsOption, settings_of
from dapp.client.channels import BuyerChannels
from dapp.client.plans import PlanResult, PlanStep, parse_plan, run_plan
from dapp.client.routing import Router, RouteResult
from dapp.errors import InvalidInput
from dapp.publishing.units import parse_amount

MAX_PLAN_BYTES = 256 * 1024


def read_plan(path: Path) -> list[PlanStep]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read --plan {path}: {error.strerror}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise InvalidInput(f"--plan {path} is larger than {MAX_PLAN_BYTES} bytes")
    try:
        document = json.loads(data)
    except ValueError as error:
        raise InvalidInput(f"--plan {path} is not JSON: {error}") from None
    return parse_plan(document)


def _input(input_file: str) -> Any:
    try:
        data = sys.stdin.buffer.read() if input_file == "-" else Path(input_file).read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read --input {input_file}: {error.strerror}") from None
    try:
        return json.loads(data)
    except ValueError as error:
        raise InvalidInput(f"--input {input_file} is not JSON: {error}",
                           hint="a routed call's input is a JSON document") from None


def route(
    ctx: typer.Context,
    task: str = typer.Argument(None, help="a pipeline tag, e.g. text-classification (not "
                                          "with --plan)"),
    input_file: str = typer.Option("-", "--input", "-i", help="JSON input file; - is stdin"),
    plan: Path | None = typer.Option(None, "--plan", help="a plan of steps (JSON), each "
                                     "step's output the next one's input"),
    max_price: str = typer.Option(None, "--max-price", help="the most one call may cost, in "
                                  "DDT (default: each provider's price on chain; a plan "
                                  "step's max_price wins)"),
    deposit_calls: int = typer.Option(10, "--deposit-calls", min=1, help="a new channel "
                                      "holds this many calls"),
    duration: str = typer.Option("7d", "--duration", help="how long a new channel stays open"),
    prefer: str = typer.Option("price", "--prefer", help="price (cheapest, then fastest) or "
                               "latency (fastest, then cheapest)"),
    gateway: str = GatewayOption,
    account: AccountOption = None,
    confirmations: ConfirmationsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run TASK on the best provider the catalog knows, paid per call; its output on stdout.
    Every provider's price, market and endpoint are checked against the chain first."""
    if (task is None) == (plan is None):
        raise InvalidInput("give a TASK or --plan FILE (one of them)")
    if prefer not in ("price", "latency"):
        raise InvalidInput(f"--prefer {prefer!r}: price or latency")
    preference: Literal["price", "latency"] = "latency" if prefer == "latency" else "price"
    steps = read_plan(plan) if plan is not None else None
    body = _input(input_file)
    seconds = channel_duration(duration)
    settings = settings_of(ctx)
    with market_account(ctx, BuyerChannels, account, confirmations, as_json) as (
            exchange, channels):
        assert exchange.sender is not None
        limit = None if max_price is None else parse_amount(
            max_price, exchange.resolve_token(None).decimals, what="--max-price")
        router = Router(gateway or settings.resolved_gateway_public_url,
                        exchange.sender.account, signed_vouchers(settings), channels.reader,
                        int(exchange.web3.eth.chain_id), channels, deposit_calls=deposit_calls,
                        channel_seconds=seconds, prefer=preference)
        result: RouteResult | PlanResult = (
            run_plan(router, steps, body, limit) if steps is not None
            else router.route(task, body, limit))
    _print(result, as_json)


def _print(result: RouteResult | PlanResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.as_json())
        return
    sys.stdout.write(json.dumps(result.output) + "\n")
    sys.stdout.flush()
    for step in result.steps if isinstance(result, PlanResult) else [result]:
        for attempt in step.attempts:
            if attempt.outcome != "answered":
                errors.print(f"{step.task}: model {attempt.asset_id} at {attempt.endpoint}: "
                             f"{attempt.outcome} ({attempt.reason}); paid {attempt.paid}",
                             highlight=False)
        errors.print(f"{step.task}: model {step.asset_id} at {step.endpoint} answered; paid "
                     f"{step.price} base units from channel {step.channel_id}",
                     highlight=False)
