"""What every chain command needs: the settings, the account (unlocked only when a command
signs), the registry, and progress for the blocks it waits for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer
from eth_account.signers.local import LocalAccount

from dapp.chain.accounts import Keystore, KeystoreEntry
from dapp.chain.client import chain_status, connect
from dapp.chain.transactions import ErrorDecoder, TransactionSender
from dapp.cli.accounts import password_for
from dapp.cli.progress import Progress
from dapp.config import Settings
from dapp.errors import InvalidInput
from dapp.ipfs.client import IpfsClient
from dapp.publishing.exchange import Exchange

ACCOUNT_HELP = "keystore account (name or address); default DAPP_ACCOUNT or the only one"
CONFIRMATIONS_HELP = "blocks to wait for after the transaction is mined (default "\
                     "DAPP_CONFIRMATIONS)"
# The options every signing command takes, declared once.
AccountOption = Annotated[str | None, typer.Option("--account", help=ACCOUNT_HELP)]
ConfirmationsOption = Annotated[int | None,
                                typer.Option("--confirmations", min=0, help=CONFIRMATIONS_HELP)]


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def account_entry(ctx: typer.Context, account: str | None) -> KeystoreEntry:
    """The account a command acts as: --account, DAPP_ACCOUNT, or the keystore's only one."""
    settings = settings_of(ctx)
    keystore = Keystore(settings.resolved_keystore_dir)
    wanted = account or settings.account
    if wanted:
        return keystore.find(wanted)
    entries = keystore.list()
    if len(entries) == 1:
        return entries[0]
    if not entries:
        raise InvalidInput(f"no account in {keystore.directory}",
                           hint="`datadao account new NAME` or `datadao account import NAME`")
    raise InvalidInput(f"{len(entries)} accounts in the keystore; which one?",
                       hint="pass --account NAME or set DAPP_ACCOUNT")


def unlock(ctx: typer.Context, account: str | None) -> LocalAccount:
    entry = account_entry(ctx, account)
    settings = settings_of(ctx)
    # by name: the entry found, not another file of the same address
    return Keystore(settings.resolved_keystore_dir).unlock(entry.name,
                                                           password_for(ctx, confirm=False))


@dataclass
class ChainSession:
    settings: Settings
    exchange: Exchange
    progress: Progress

    @property
    def address(self) -> str:
        assert self.exchange.sender is not None
        return self.exchange.sender.address

    def ipfs(self) -> IpfsClient:
        return IpfsClient(self.settings.ipfs_api_url, self.settings.ipfs_timeout_seconds)


def own_chain_id(ctx: typer.Context) -> int:
    """The id of the chain our own RPC is on: what a gateway's sign-in must name."""
    return chain_status(connect(settings_of(ctx).chain_rpc_url)).chain_id


def read_only(ctx: typer.Context) -> Exchange:
    settings = settings_of(ctx)
    return Exchange.connect(settings, connect(settings.chain_rpc_url))


@contextmanager
def signing(ctx: typer.Context, account: str | None, confirmations: int | None,
            as_json: bool, decoder: ErrorDecoder | None = None) -> Iterator[ChainSession]:
    """The registry with a sender for the unlocked account, progress bars on stderr; the
    sender names the custom errors of `decoder`'s contracts (default: registry and token)."""
    settings = settings_of(ctx)
    exchange = read_only(ctx)  # fail on a missing chain before asking for a password
    signer = unlock(ctx, account)
    with Progress(enabled=not as_json) as progress:
        sender = TransactionSender(
            exchange.web3, signer, decoder or Exchange.error_decoder(),
            confirmations=settings.confirmations if confirmations is None else confirmations,
            on_confirmation=progress.confirmations)
        yield ChainSession(settings, exchange.with_sender(sender), progress)
