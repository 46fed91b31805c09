"""`datadao`: the publisher's command line (Typer + rich)."""

from __future__ import annotations

import sys
import warnings

import typer

from dapp.cli import (
    accounts,
    assets,
    channels,
    compute,
    download,
    jobs,
    licences,
    money,
    offers,
    publish,
    recovery,
    route,
)
from dapp.cli.hints import cli_message
from dapp.cli.output import error_line, errors
from dapp.config import load_settings
from dapp.errors import DappError

app = typer.Typer(
    name="datadao",
    help="Publish datasets and models, sell licenses, run the local stack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(accounts.app, name="account")
app.command("publish")(publish.publish)
app.add_typer(publish.version_app, name="version")
app.add_typer(assets.app, name="assets")
app.add_typer(offers.app, name="offer")
offers.app.command("tokens")(licences.offer_tokens)
app.add_typer(money.payouts_app, name="payouts")
app.add_typer(money.license_app, name="license")
money.license_app.command("ls")(licences.ls)
money.license_app.command("transfer")(licences.transfer)
app.command("stake")(money.stake)
app.command("unstake")(money.unstake)
app.command("claim")(money.claim)
app.command("download")(download.download)
app.add_typer(recovery.keys_app, name="keys")
app.command("decrypt")(recovery.decrypt)
app.command("reseal")(recovery.reseal_command)
app.add_typer(channels.app, name="channel")
app.command("invoke")(channels.invoke)
app.command("route")(route.route)
app.add_typer(jobs.app, name="job")
app.add_typer(compute.app, name="compute")


@app.callback()
def main(ctx: typer.Context) -> None:
    """datadao: publish datasets and models, sell licenses, run the local stack."""
    ctx.obj = load_settings()


@app.command()
def up() -> None:
    """Start the local stack (dev chain, IPFS, contracts, gateway) until Ctrl-C."""
    from dapp.devstack.up import Stack, banner, local_stack_settings, stop_on_signals

    stop_on_signals()
    settings = local_stack_settings(load_settings())
    stack = Stack(settings, say=lambda line: errors.print(f"[dim]{line}[/dim]"))
    try:
        try:
            stack.start()
            errors.print(banner(settings))
            stack.wait()
        finally:
            stack.stop()  # also when Ctrl-C arrives in the middle of starting
    except KeyboardInterrupt:
        errors.print("stopped")


def cli() -> None:
    """Entry point: every DappError becomes one line and its exit code, never a traceback."""
    # ipfshttpclient passes urllib3 a parameter it deprecates; users cannot act on that.
    warnings.filterwarnings("ignore", category=FutureWarning, module="urllib3")
    try:
        app()
    except DappError as error:
        error_line(cli_message(error))
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        error_line("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    cli()
