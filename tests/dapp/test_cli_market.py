"""After publishing: offers, versions, licenses, payouts, curation stakes — each through the
`datadao` CLI as a subprocess with --json, checked against the chain and Kubo."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dapp.devstack.process import REPO_ROOT
from dapp.metadata import AssetMetadata
from tests.dapp.conftest import Chain, Kubo
from tests.dapp.helpers.publishing import (
    BUYER,
    CURATOR,
    PUBLISHER,
    Market,
    decrypted_sha256,
    new_market,
)

DDT = 10**18


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _now(market: Market) -> int:
    return int(market.web3.eth.get_block("latest")["timestamp"])


@pytest.fixture(scope="module")
def market(chain: Chain, kubo: Kubo, deployments_file: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Market:
    return new_market(chain, kubo, deployments_file, tmp_path_factory.mktemp("market"))


@pytest.fixture(scope="module")
def asset(market: Market, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An encrypted dataset: offer 1 = 10 DDT, 30 days, download; curators get 10 %."""
    data = tmp_path_factory.mktemp("asset") / "prices.csv"
    data.write_text("day,price\n1,10\n2,11\n")
    return market.publish(data, "--seal-to", market.gateway.public_key_b64,
                          "--curator-share", "10")


def test_assets_ls_and_show_read_the_chain(market: Market, asset: dict[str, Any]) -> None:
    shown = market.cli_json("assets", "show", str(asset["asset_id"]))
    assert shown["owner"] == PUBLISHER.address
    assert shown["content_cid"] == asset["content_cid"]
    assert shown["metadata_cid"] == asset["metadata_cid"]
    assert shown["curator_share_bps"] == 1000
    assert [(o["offer_id"], o["price"], o["symbol"], o["duration_text"], o["scope"])
            for o in shown["offers"]][:1] == [(1, "10", "DDT", "30d", "download")]
    assert shown["title"] == "test prices.csv"  # from its metadata on our own IPFS node
    listed = market.cli_json("assets", "ls")
    assert {a["asset_id"]: a["title"] for a in listed}[asset["asset_id"]] == "test prices.csv"
    table = market.cli("assets", "ls")
    assert table.returncode == 0 and "title" in table.stdout

    missing = market.cli("assets", "show", "999999")
    assert missing.returncode == 4 and "does not exist" in missing.stderr


def test_offer_set_adds_replaces_pauses_and_resumes(market: Market,
                                                    asset: dict[str, Any]) -> None:
    asset_id = str(asset["asset_id"])
    registry = market.registry()
    added = market.cli_json("offer", "set", asset_id, "--price", "25", "--duration", "0",
                            "--scope", "compute")
    offer_id = added["offer_id"]
    assert offer_id >= 2 and added["duration_text"] == "perpetual"
    assert tuple(registry.functions.offer(asset["asset_id"], offer_id).call())[1:4] == (
        25 * DDT, 0, 1)

    replaced = market.cli_json("offer", "set", asset_id, str(offer_id), "--price", "0.5",
                               "--duration", "12h", "--scope", "compute")
    assert replaced["offer_id"] == offer_id
    _, price, duration, scope, active = registry.functions.offer(
        asset["asset_id"], offer_id).call()
    assert (price, duration, scope, active) == (DDT // 2, 12 * 3600, 1, True)

    paused = market.cli_json("offer", "pause", asset_id, str(offer_id))
    assert paused["active"] is False
    assert registry.functions.offer(asset["asset_id"], offer_id).call()[4] is False
    refused = market.cli("license", "buy", asset_id, str(offer_id), "--account", "buyer",
                         "--json")
    assert refused.returncode == 12
    assert "OfferInactive" in refused.stderr and "Traceback" not in refused.stderr
    market.cli_json("offer", "resume", asset_id, str(offer_id))
    assert registry.functions.offer(asset["asset_id"], offer_id).call()[4] is True


def test_only_the_owner_sets_offers_and_the_error_is_named(market: Market,
                                                           asset: dict[str, Any]) -> None:
    result = market.cli("offer", "set", str(asset["asset_id"]), "--price", "1", "--json",
                        DAPP_ACCOUNT="buyer")
    assert result.returncode == 12
    assert f"NotAssetOwner(assetId={asset['asset_id']}, caller={BUYER.address})" in \
        result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_version_add_uploads_new_content_under_a_new_key(market: Market,
                                                         asset: dict[str, Any],
                                                         tmp_path: Path) -> None:
    data = tmp_path / "prices-v2.csv"
    data.write_text("day,price\n1,10\n2,11\n3,12\n")
    added = market.cli_json("version", "add", str(asset["asset_id"]), str(data))
    assert added["version"] == 2 and added["asset_id"] == asset["asset_id"]
    assert added["content_cid"] != asset["content_cid"]
    registry = market.registry()
    assert registry.functions.assetInfo(asset["asset_id"]).call()[3] == 2
    with market.ipfs() as ipfs:
        metadata = AssetMetadata.from_json(ipfs.cat_bytes(added["metadata_cid"]))
    assert metadata.title == "test prices.csv"  # described like the version before
    assert [k.gateway_public_key for k in metadata.sealed_keys] == \
        [market.gateway.public_key_b64]
    assert decrypted_sha256(market, metadata, added["content_cid"]) == \
        hashlib.sha256(data.read_bytes()).hexdigest()
    shown = market.cli_json("assets", "show", str(asset["asset_id"]))
    assert shown["version_count"] == 2 and shown["content_cid"] == added["content_cid"]


def test_stake_buy_claim_and_withdraw_payouts(market: Market, asset: dict[str, Any]) -> None:
    asset_id = asset["asset_id"]
    registry, token = market.registry(), market.token()

    staked = market.cli_json("stake", str(asset_id), "100", DAPP_ACCOUNT="curator")
    assert staked["staked"]["amount"] == "100" and staked["warming_stake"] == "100"
    assert staked["active_stake"] == "0"  # a new stake warms up before it earns
    (warming, active_at) = registry.functions.warmingStake(asset_id, CURATOR.address).call()
    assert warming == 100 * DDT and staked["active_at"] == _iso(active_at)
    early = market.cli("stake", str(asset_id), "--activate", "--json", DAPP_ACCOUNT="curator")
    assert early.returncode == 0  # nothing warmed up yet: nothing changes
    assert registry.functions.stakeOf(asset_id, CURATOR.address).call()[0] == 0
    market.web3.provider.make_request("evm_increaseTime", [active_at - _now(market) + 1])
    market.web3.provider.make_request("evm_mine", [])
    activated = market.cli_json("stake", str(asset_id), "--activate", DAPP_ACCOUNT="curator")
    assert (activated["active_stake"], activated["warming_stake"]) == ("100", "0")
    assert registry.functions.stakeOf(asset_id, CURATOR.address).call()[0] == 100 * DDT

    buyer_before = token.functions.balanceOf(BUYER.address).call()
    bought = market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    assert len(bought["tx_hashes"]) == 1  # permit + buy in one transaction
    assert bought["paid"]["amount"] == "10" and bought["expires_at"] is not None
    assert registry.functions.hasLicense(asset_id, BUYER.address, 0).call()
    again = market.cli_json("license", "buy", str(asset_id), "1", "--approve",
                            DAPP_ACCOUNT="buyer")
    assert again["expires_at"] > bought["expires_at"]  # extends the running license
    assert token.functions.balanceOf(BUYER.address).call() == buyer_before - 20 * DDT
    assert bought["duration"] == 30 * 24 * 3600

    owed = registry.functions.payoutBalance(PUBLISHER.address, token.address).call()
    assert owed > 0
    shown = market.cli_json("payouts", "show")
    assert shown["balances"][0]["amount_base_units"] == owed
    publisher_before = token.functions.balanceOf(PUBLISHER.address).call()
    withdrawn = market.cli_json("payouts", "withdraw")
    assert withdrawn["withdrawn"][0]["amount_base_units"] == owed
    assert token.functions.balanceOf(PUBLISHER.address).call() == publisher_before + owed
    assert market.cli_json("payouts", "show")["balances"][0]["amount_base_units"] == 0
    nothing = market.cli("payouts", "withdraw", "--token", "DDT", "--json")
    assert nothing.returncode == 12 and "NothingToWithdraw" in nothing.stderr

    earned = registry.functions.earned(asset_id, CURATOR.address, token.address).call()
    assert earned > 0
    claimed = market.cli_json("claim", str(asset_id), DAPP_ACCOUNT="curator")
    assert claimed["claimed"] == [{"token": token.address, "symbol": "DDT",
                                   "amount_base_units": earned,
                                   "amount": claimed["claimed"][0]["amount"]}]

    market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    earned = registry.functions.earned(asset_id, CURATOR.address, token.address).call()
    elsewhere = BUYER.address  # one token's rewards, paid to another address
    before = token.functions.balanceOf(elsewhere).call()
    one = market.cli_json("claim", str(asset_id), "--token", "DDT", "--to", elsewhere,
                          DAPP_ACCOUNT="curator")
    assert one["to"] == elsewhere and one["claimed"][0]["amount_base_units"] == earned
    assert token.functions.balanceOf(elsewhere).call() == before + earned
    assert market.cli_json("claim", str(asset_id), "--to", elsewhere,
                           DAPP_ACCOUNT="curator")["claimed"] == []  # nothing left
    nothing_left = market.cli("claim", str(asset_id), DAPP_ACCOUNT="curator")
    assert nothing_left.returncode == 12
    assert "nothing to withdraw or claim for this account yet" in nothing_left.stderr

    unstaking = market.cli_json("unstake", str(asset_id), "40", DAPP_ACCOUNT="curator")
    assert unstaking["unstaking"]["amount"] == "40"
    assert tuple(registry.functions.stakeOf(asset_id, CURATOR.address).call())[:2] == (
        60 * DDT, 40 * DDT)
    early = market.cli("unstake", str(asset_id), "--withdraw", "--json",
                       DAPP_ACCOUNT="curator")
    assert early.returncode == 12 and "StillUnbonding" in early.stderr
    available = datetime.fromisoformat(unstaking["available_at"])
    assert ("the stake is still unbonding: it can be withdrawn from "
            f"{available:%Y-%m-%d %H:%M:%S} UTC") in early.stderr


def _read_until(stream: int, marker: str, timeout: float = 60) -> str:
    """What the process wrote to `stream` up to and including `marker`."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker.encode() not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        ready, _, _ = select.select([stream], [], [], 1)
        if ready:
            chunk = os.read(stream, 4096)
            assert chunk, seen.decode(errors="replace")  # the process ended before asking
            seen += chunk
    return seen.decode()


def at_a_terminal(market: Market, args: list[str], answer: bytes,
                  meanwhile: Callable[[str], None] = lambda asked: None) -> tuple[int, str]:
    """Run `datadao ARGS` as the buyer with a terminal for stdin, so it asks before buying;
    `meanwhile(what it showed)` runs before the buyer types `answer`. (exit code, stderr)."""
    terminal, buyer_side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "dapp.cli.main", *args], stdin=buyer_side,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO_ROOT,
        env={**os.environ, **market.env(DAPP_ACCOUNT="buyer")})
    os.close(buyer_side)
    try:
        assert process.stderr is not None
        asked = _read_until(process.stderr.fileno(), "buy on these terms?")
        meanwhile(asked)
        os.write(terminal, answer)
        _, rest = process.communicate(timeout=120)
    finally:
        os.close(terminal)
        if process.poll() is None:
            process.kill()
    return process.returncode, asked + rest.decode()


def test_buy_refuses_an_offer_the_owner_changed_after_it_was_shown(
        market: Market, asset: dict[str, Any]) -> None:
    """The owner front-runs a buyer who is looking at the terms: same price, duration cut from
    30 days to one second. The buyer said yes to 30 days, so nothing is bought or paid."""
    asset_id = str(asset["asset_id"])
    registry, token = market.registry(), market.token()
    offer_id = market.cli_json("offer", "set", asset_id, "--price", "3", "--duration", "30d",
                               "--scope", "compute")["offer_id"]
    balance = token.functions.balanceOf(BUYER.address).call()
    expiry = registry.functions.licenseExpiry(asset["asset_id"], BUYER.address, 1).call()

    def front_run(shown: str) -> None:
        assert f"offer {offer_id} of asset {asset_id}: compute license for 30d, 3 DDT" in shown
        market.cli_json("offer", "set", asset_id, str(offer_id), "--price", "3",
                        "--duration", "1s", "--scope", "compute")

    code, stderr = at_a_terminal(market, ["license", "buy", asset_id, str(offer_id)], b"y\n",
                                 front_run)
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert code == 12, stderr
    assert len(errors) == 1 and "Traceback" not in stderr
    assert f"OfferTermsChanged(assetId={asset_id}, offerId={offer_id})" in errors[0]
    assert "nothing was paid" in errors[0]
    assert token.functions.balanceOf(BUYER.address).call() == balance
    assert registry.functions.licenseExpiry(asset["asset_id"], BUYER.address, 1).call() == \
        expiry


def test_buy_at_a_terminal_asks_first_and_buys_nothing_on_no(market: Market,
                                                            asset: dict[str, Any]) -> None:
    balance = market.token().functions.balanceOf(BUYER.address).call()
    code, stderr = at_a_terminal(market, ["license", "buy", str(asset["asset_id"]), "1"], b"n\n")
    assert code == 1 and "nothing bought" in stderr
    assert market.token().functions.balanceOf(BUYER.address).call() == balance
