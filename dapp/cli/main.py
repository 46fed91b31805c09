"""`datadao`: the publisher's command line (Typer + rich)."""

from __future__ import annotations

import typer
from rich.console import Console

from dapp.config import load_settings
from dapp.errors import DappError

app = typer.Typer(
    name="datadao",
    help="Publish datasets and models, sell licenses, run the local stack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


@app.callback()
def main() -> None:
    """datadao: publish datasets and models, sell licenses, run the local stack."""


def fail(error: DappError) -> typer.Exit:
    """One line that says what went wrong and what to do next, then the error's exit code."""
    console.print(f"[red]error:[/red] {error}", soft_wrap=True, highlight=False)
    return typer.Exit(error.exit_code)


@app.command()
def up() -> None:
    """Start the local stack (dev chain, IPFS, contracts, gateway) until Ctrl-C."""
    from dapp.devstack.up import Stack, banner, local_stack_settings

    settings = local_stack_settings(load_settings())
    stack = Stack(settings, say=lambda line: console.print(f"[dim]{line}[/dim]"))
    try:
        try:
            stack.start()
            console.print(banner(settings))
            stack.wait()
        finally:
            stack.stop()  # also when Ctrl-C arrives in the middle of starting
    except KeyboardInterrupt:
        console.print("stopped")
    except DappError as error:
        raise fail(error) from None


if __name__ == "__main__":
    app()
