"""What the buyer's market commands (`channel`, `invoke`, `job`) share: the gateway option,
a signing session on the ComputeMarket, and the check that a gateway sells on the market of
our own deployment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from dapp.cli.session import signing
from dapp.client.market import MarketAccount
from dapp.client.metered import ProviderTerms
from dapp.errors import InvalidInput
from dapp.market.reader import market_error_decoder
from dapp.publishing.exchange import Exchange

GatewayOption = typer.Option(None, "--gateway", help="gateway URL (default: settings)")
Account = TypeVar("Account", bound=MarketAccount)


@contextmanager
def market_account(ctx: typer.Context, kind: type[Account], account: str | None,
                   confirmations: int | None, as_json: bool
                   ) -> Iterator[tuple[Exchange, Account]]:
    """The unlocked account on the market, its sender naming the market's custom errors."""
    with signing(ctx, account, confirmations, as_json, market_error_decoder()) as session:
        exchange = session.exchange
        yield exchange, kind(exchange.web3, exchange.deployment, exchange.sender)


def check_same_market(terms: ProviderTerms, market: MarketAccount, chain_id: int) -> None:
    """The gateway must sell on the market of our own deployment: a channel or job made
    anywhere else could never pay it (or would pay someone we did not mean)."""
    if (terms.chain_id, terms.market.lower()) != (chain_id, market.address.lower()):
        raise InvalidInput(
            f"the gateway sells on market {terms.market} (chain {terms.chain_id}); your "
            f"deployment's ComputeMarket is {market.address} (chain {chain_id})",
            hint="point --gateway and DAPP_CHAIN_RPC_URL / DAPP_DEPLOYMENTS_FILE at the same "
                 "deployment")
