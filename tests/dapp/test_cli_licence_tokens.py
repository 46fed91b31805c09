"""Licence tokens as their users meet them: the owner opts an offer in with `datadao offer
tokens`, a buyer buys one with `license buy`, lists it with `license ls` (from the chain and
from the gateway's index) and moves it with `license transfer`; the new holder downloads
through the gateway and the old one is refused. A bound token is refused before any
transaction. Real ganache, Kubo, indexer and gateway; the CLI as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.indexer import Indexer
from dapp.publishing.licence_tokens import PERPETUAL, transfer_refusal
from tests.dapp.conftest import CHAIN_ID, Chain, Gateway, Kubo, make_settings, start_gateway
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.publishing import BUYER, CURATOR, Market, new_market, write_file
from tests.dapp.helpers.registry_index import make_indexer


@dataclass
class Stack:
    market: Market
    gateway: Gateway
    indexer: Indexer


@pytest.fixture(scope="module")
def stack(chain: Chain, kubo: Kubo, deployments_file: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("licence-tokens")
    indexer = make_indexer(chain, deployments_file, base)
    settings = make_settings(base / "gateway", chain, kubo, deployments_file=deployments_file,
                             database_url=f"sqlite:///{base / 'index.db'}")
    indexer.run_once()  # migrated before the gateway opens it
    gateway = start_gateway(settings, base / "gateway.log")
    yield Stack(new_market(chain, kubo, deployments_file, base / "cli"), gateway, indexer)
    gateway.process.stop()


def publish(stack: Stack, tmp_path: Path, name: str) -> int:
    source = tmp_path / name
    write_file(source, 4096)
    published = stack.market.publish(source, "--gateway", stack.gateway.url)
    return int(published["asset_id"])


def tokens_contract(market: Market) -> Any:
    return bind(market.web3, load_deployment(market.deployments_file, CHAIN_ID),
                "LicenseTokens")


def content_status(gateway: Gateway, account: Any, asset_id: int) -> int:
    response = httpx.get(f"{gateway.url}/v1/assets/{asset_id}/content",
                         headers=session(gateway, account), timeout=60)
    return response.status_code


def held(listing: dict[str, Any], asset_id: int) -> list[dict[str, Any]]:
    return [t for t in listing["licence_tokens"] if t["asset_id"] == asset_id]


def test_buy_list_transfer_moves_the_download_right(stack: Stack, tmp_path: Path) -> None:
    market, gateway = stack.market, stack.gateway
    asset_id = publish(stack, tmp_path, "tokens.bin")
    opted = market.cli_json("offer", "tokens", str(asset_id), "1", "--transferable")
    assert (opted["tokens"], opted["transferable"]) == (True, True)

    bought = market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    assert bought["licence_token"]["transferable"] is True
    token_id = int(bought["licence_token"]["token_id"])
    tokens = tokens_contract(market)
    assert tokens.functions.balanceOf(BUYER.address, token_id).call() == 1
    # the registry holds no address-bound licence: only the token gives the right
    assert market.registry().functions.licenseExpiry(asset_id, BUYER.address, 0).call() == \
        tokens.functions.expiresAt(token_id, BUYER.address).call()

    (mine,) = held(market.cli_json("license", "ls", DAPP_ACCOUNT="buyer"), asset_id)
    assert (mine["scope"], mine["transferable"], mine["token_id"]) == \
        ("download", True, str(token_id))
    assert mine["expires_at"] == bought["expires_at"]
    assert mine["title"] == "test tokens.bin"  # from the metadata on IPFS
    stack.indexer.run_once()
    (indexed,) = held(market.cli_json("license", "ls", "--gateway", gateway.url,
                                      DAPP_ACCOUNT="buyer"), asset_id)
    assert {k: indexed[k] for k in ("scope", "transferable", "token_id", "expires_at")} == \
        {k: mine[k] for k in ("scope", "transferable", "token_id", "expires_at")}
    assert content_status(gateway, BUYER, asset_id) == 200

    moved = market.cli_json("license", "transfer", str(asset_id), "--to", CURATOR.address,
                            DAPP_ACCOUNT="buyer")
    assert (moved["from"], moved["to"]) == (BUYER.address, CURATOR.address)
    assert tokens.functions.balanceOf(BUYER.address, token_id).call() == 0
    assert tokens.functions.balanceOf(CURATOR.address, token_id).call() == 1

    assert content_status(gateway, CURATOR, asset_id) == 200
    assert content_status(gateway, BUYER, asset_id) == 403

    stack.indexer.run_once()
    assert held(market.cli_json("license", "ls", "--gateway", gateway.url,
                                "--holder", BUYER.address), asset_id) == []
    (moved_in,) = held(market.cli_json("license", "ls", "--gateway", gateway.url,
                                       "--holder", CURATOR.address), asset_id)
    assert moved_in["expires_at"] == mine["expires_at"]
    again = market.cli("license", "transfer", str(asset_id), "--to", CURATOR.address,
                       DAPP_ACCOUNT="buyer")
    assert again.returncode == 2
    assert "holds no download licence token" in again.stderr


def test_transferring_a_bound_token_is_refused_without_a_transaction(
        stack: Stack, tmp_path: Path) -> None:
    market = stack.market
    asset_id = publish(stack, tmp_path, "bound.bin")
    market.cli_json("offer", "tokens", str(asset_id), "1", "--bound")
    bought = market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    assert bought["licence_token"]["transferable"] is False

    nonce = market.web3.eth.get_transaction_count(BUYER.address)
    refused = market.cli("license", "transfer", str(asset_id), "--to", CURATOR.address,
                         DAPP_ACCOUNT="buyer")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "does not allow transfers" in lines[0]
    assert market.web3.eth.get_transaction_count(BUYER.address) == nonce
    assert content_status(stack.gateway, BUYER, asset_id) == 200


@pytest.mark.parametrize(("to", "transferable_end", "bound_end", "refused"), [
    (CURATOR.address, 0, 0, "holds no download licence token"),
    (CURATOR.address, 999, 0, "has expired"),
    (CURATOR.address, 0, 5000, "does not allow transfers"),
    ("0x" + "00" * 20, 5000, 0, "is not an address to transfer to"),
    (BUYER.address.lower(), 5000, 0, "is the holder itself"),
    (CURATOR.address, 5000, 0, None),
    (CURATOR.address, PERPETUAL, 0, None),
])
def test_transfer_checks(to: str, transferable_end: int, bound_end: int,
                         refused: str | None) -> None:
    """The checks `license transfer` makes before sending (the chain's time is 1000)."""
    refusal = transfer_refusal(sender=BUYER.address, to=to, transferable_end=transferable_end,
                               bound_end=bound_end, now=1000, asset_id=7, scope="download")
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None and refused in str(refusal)
