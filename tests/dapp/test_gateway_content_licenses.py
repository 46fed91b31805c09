"""The gateway's `hasLicense` cache against the deployed registry on ganache: answers are kept
at most 5 s, and the invalidation hooks (per checker, per event, process-wide) drop them at
once."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import load_abi
from dapp.gateway.caches import StaleCaches
from dapp.gateway.licenses import (
    MAX_TTL_SECONDS,
    LicenseChecker,
    Scope,
)
from dapp.ipfs.cid import CODEC_RAW

FOREVER = 2**64 - 1


@dataclass
class Event:
    name: str
    args: dict[str, Any]


@pytest.fixture(scope="module")
def web3(chain) -> Web3:  # type: ignore[no-untyped-def]
    return Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def registry(web3: Web3, deployments_file: Path) -> Contract:
    entry = json.loads(deployments_file.read_text())[str(web3.eth.chain_id)]
    return web3.eth.contract(address=entry["AssetRegistry"]["address"],
                             abi=load_abi("AssetRegistry"))


def send(web3: Web3, call, sender: str) -> Any:  # type: ignore[no-untyped-def]
    receipt = web3.eth.wait_for_transaction_receipt(call.transact({"from": sender,
                                                                   "gas": 1_000_000}))
    assert receipt["status"] == 1
    return receipt


@pytest.fixture
def asset_id(web3: Web3, registry: Contract, deployments_file: Path) -> int:
    owner = web3.eth.accounts[4]
    token = json.loads(deployments_file.read_text())[str(web3.eth.chain_id)]["TestToken"]
    cid = (bytes(range(32)), CODEC_RAW)
    receipt = send(web3, registry.functions.publish(
        0, cid, cid, 0, [(token["address"], 10**18, 0, 0)]), owner)
    (event,) = registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["assetId"])


def checker_for(web3: Web3, registry: Contract, seen: list[bool] | None = None
                ) -> LicenseChecker:
    observe = None if seen is None else (lambda cached, seconds: seen.append(cached))
    return LicenseChecker(web3, registry.address, ttl_seconds=MAX_TTL_SECONDS,
                          negative_ttl_seconds=MAX_TTL_SECONDS, observe=observe)


def test_ttl_above_five_seconds_is_refused(web3: Web3, registry: Contract) -> None:
    with pytest.raises(ValueError, match=r"5\.0 s"):
        LicenseChecker(web3, registry.address, ttl_seconds=30)


def test_answers_are_cached_until_invalidated(web3: Web3, registry: Contract,
                                              asset_id: int) -> None:
    owner, licensee, other = web3.eth.accounts[4], web3.eth.accounts[6], web3.eth.accounts[7]
    seen: list[bool] = []
    checker = checker_for(web3, registry, seen)
    assert not checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    assert not checker.has_license(asset_id, other, Scope.DOWNLOAD)
    assert seen == [False, False]

    send(web3, registry.functions.grant(asset_id, licensee, 0, FOREVER), owner)
    send(web3, registry.functions.grant(asset_id, other, 0, FOREVER), owner)
    assert not checker.has_license(asset_id, licensee, Scope.DOWNLOAD)  # still the cached no
    assert seen[-1] is True

    caches = StaleCaches()
    caches.watch(licenses=checker)
    caches.license_changed(asset_id, licensee)  # what the license feed reports: one account
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    assert not checker.has_license(asset_id, other, Scope.DOWNLOAD)  # other stays cached
    assert checker.status(asset_id, other, Scope.DOWNLOAD).expires_at == FOREVER

    send(web3, registry.functions.revokeGrant(asset_id, licensee, 0), owner)
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)  # cached yes
    checker.on_event(Event("LicenseGrantRevoked",
                           {"assetId": asset_id, "licensee": licensee, "scope": 0}))
    assert not checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    checker.on_event(Event("Transfer", {"tokenId": asset_id}))  # not about licenses: ignored
    checker.on_event(Event("AssetRetired", {"assetId": asset_id}))  # every account
    assert checker.has_license(asset_id, other, Scope.DOWNLOAD)


def test_a_yes_in_use_is_renewed_ahead_and_renewals_stop_with_close(
        web3: Web3, registry: Contract, asset_id: int) -> None:
    """A "yes" asked for past half its TTL is read again on a thread, so a steady stream of
    calls never waits on the chain; after `close` (the gateway's shutdown) no renewal starts,
    none is left running, and the last answer still lasts no longer than its TTL."""
    owner, licensee = web3.eth.accounts[4], web3.eth.accounts[8]
    seen: list[bool] = []
    checker = LicenseChecker(web3, registry.address, ttl_seconds=2.0, negative_ttl_seconds=2.0,
                             observe=lambda cached, seconds: seen.append(cached))
    send(web3, registry.functions.grant(asset_id, licensee, 0, FOREVER), owner)
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    time.sleep(1.1)  # past half the TTL: answered from the cache, renewed behind it
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    deadline = time.monotonic() + 5
    while not renewals_done(checker) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # past the first read's TTL, within the renewal's
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    assert seen == [False, True, True]  # one call read the chain; the renewal read it once more

    checker.close()  # waits for a renewal the last call may have started
    assert renewals_done(checker)
    send(web3, registry.functions.revokeGrant(asset_id, licensee, 0), owner)
    time.sleep(2.1)
    assert not checker.has_license(asset_id, licensee, Scope.DOWNLOAD)  # read: TTL honoured


def renewals_done(checker: LicenseChecker) -> bool:
    return not any(thread.name == "licenses-refresh" and thread.is_alive()
                   for thread in threading.enumerate()) and checker.renewing() == 0


def test_a_cached_yes_lasts_at_most_the_ttl(web3: Web3, registry: Contract,
                                            asset_id: int) -> None:
    owner, licensee = web3.eth.accounts[4], web3.eth.accounts[8]
    checker = LicenseChecker(web3, registry.address, ttl_seconds=0.5,
                             negative_ttl_seconds=0.5)
    send(web3, registry.functions.grant(asset_id, licensee, 0, FOREVER), owner)
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    send(web3, registry.functions.revokeGrant(asset_id, licensee, 0), owner)
    assert checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    time.sleep(0.6)
    assert not checker.has_license(asset_id, licensee, Scope.DOWNLOAD)
    assert checker.status(asset_id, licensee, Scope.DOWNLOAD).expires_at == 0
