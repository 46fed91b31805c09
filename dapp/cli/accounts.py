"""`datadao account new|import|list`: encrypted keystore files; keys never printed."""

from __future__ import annotations

import sys

import typer

from dapp.chain.accounts import Keystore
from dapp.cli.output import JsonOption, console, emit_json, table
from dapp.config import Settings

app = typer.Typer(help="Manage publisher accounts (encrypted keystore files).",
                  no_args_is_help=True)


def keystore(ctx: typer.Context) -> Keystore:
    settings: Settings = ctx.obj
    return Keystore(settings.resolved_keystore_dir)


def password_for(ctx: typer.Context, confirm: bool) -> str:
    """The keystore password: DAPP_KEYSTORE_PASSWORD when set, else a hidden prompt."""
    settings: Settings = ctx.obj
    if settings.keystore_password is not None:
        return settings.keystore_password.get_secret_value()
    return str(typer.prompt("Keystore password", hide_input=True,
                            confirmation_prompt=confirm))


@app.command("new")
def new(ctx: typer.Context, name: str = typer.Argument(..., help="a name for the account"),
        as_json: JsonOption = False) -> None:
    """Create a new account and store it encrypted."""
    entry = keystore(ctx).create(name, password_for(ctx, confirm=True))
    if as_json:
        emit_json({"name": entry.name, "address": entry.address, "keystore": str(entry.path)})
    else:
        console.print(f"created [bold]{entry.name}[/bold] {entry.address} ({entry.path})")


@app.command("import")
def import_key(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="a name for the account"),
    key_stdin: bool = typer.Option(False, "--key-stdin", help="read the private key from stdin"),
    as_json: JsonOption = False,
) -> None:
    """Import a private key (from a hidden prompt or stdin) into an encrypted keystore."""
    key = sys.stdin.readline() if key_stdin else typer.prompt("Private key", hide_input=True)
    entry = keystore(ctx).import_key(name, str(key), password_for(ctx, confirm=True))
    if as_json:
        emit_json({"name": entry.name, "address": entry.address, "keystore": str(entry.path)})
    else:
        console.print(f"imported [bold]{entry.name}[/bold] {entry.address}")


@app.command("list")
def list_accounts(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the accounts in the keystore directory."""
    entries = keystore(ctx).list()
    if as_json:
        emit_json([{"name": e.name, "address": e.address, "keystore": str(e.path)}
                   for e in entries])
    elif not entries:
        console.print("no accounts yet: `datadao account new NAME` creates one")
    else:
        table("accounts", ["name", "address"], [[e.name, e.address] for e in entries])
