"""Gateways picked from the directory (issue 16, "the publisher picks them from the gateway
directory"): `datadao publish --seal-to-directory N` and `datadao reseal --seal-to-directory N /
--remove GATEWAY`.

Three real provider gateways A, B and C (C's store is indexed: its `GET /v1/providers` is the
directory), with stakes that rank them A > B > C; and two registrations that rank above all of
them but must not be picked: DEAD, whose endpoint nothing listens on, and BORROWED, whose
endpoint is A's gateway (which acts as A, not as BORROWED). A hostile directory (a small HTTP
server) lists A at an impostor's endpoint that announces its own key as A's. Real ganache and
Kubo; the CLI as a subprocess."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import delete

from dapp.chain.deployments import Deployment, load_deployment
from dapp.crypto.recovery import recovery_public_key, unlock_recovery_key
from dapp.crypto.sealing import GatewayKeyPair
from dapp.market.reader import MarketReader
from dapp.metadata import AssetMetadata
from dapp.ports import free_port
from dapp.publishing.directory import pick_from_directory
from dapp.publishing.recovery import (
    KeepsRecoveryKey,
    NotSealedTo,
    recovered_content_key,
    resealed_metadata,
)
from dapp.store.models import Pin
from tests.dapp.conftest import CHAIN_ID, Chain, Kubo, fund_account
from tests.dapp.helpers.gateway import assert_problem, session
from tests.dapp.helpers.invoke import Stack, start_provider_stack
from tests.dapp.helpers.publishing import (
    BUYER,
    PASSWORD,
    Market,
    new_market,
    register_provider,
    stake,
    write_file,
)
from tests.dapp.helpers.registry_index import make_indexer

RECOVERY_FILE = Path("keystore") / "recovery" / "recovery-key.json"


@dataclass
class Directory:
    market: Market
    stacks: dict[str, Stack]
    providers: dict[str, str]  # name: address, for A B C DEAD BORROWED

    @property
    def url(self) -> str:
        return self.stacks["C"].gateway.url

    def key(self, name: str) -> str:
        return str(httpx.get(f"{self.stacks[name].gateway.url}/v1/gateway",
                             timeout=10).json()["public_key"])


@pytest.fixture(scope="module")
def directory(chain: Chain, kubo: Kubo, deployments_file: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    market = new_market(chain, kubo, deployments_file, tmp_path_factory.mktemp("directory"))
    market.cli_json("keys", "recovery", "create")
    accounts: dict[str, LocalAccount] = {name: Account.create() for name in "ABC"}
    for account in accounts.values():
        fund_account(chain, deployments_file, account.address, 1000 * 10**18)
    stacks: dict[str, Stack] = {}

    def start(name: str) -> None:
        stacks[name] = start_provider_stack(chain, kubo, deployments_file,
                                            tmp_path_factory.mktemp(f"directory-{name}"),
                                            provider=accounts[name])

    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(start, "ABC"))
        minimum = MarketReader.from_deployment(
            market.web3, load_deployment(deployments_file, CHAIN_ID)).min_provider_stake()
        for name, times in (("A", 30), ("B", 20), ("C", 10)):
            stake(market, accounts[name], times * minimum)
        providers = {name: str(account.address) for name, account in accounts.items()}
        providers["DEAD"] = register_provider(market, f"http://127.0.0.1:{free_port()}", 100)
        providers["BORROWED"] = register_provider(market, stacks["A"].gateway.url, 90)
        indexer = make_indexer(chain, deployments_file, stacks["C"].log_dir, "dapp.db")
        indexer.run_once()  # into C's own store: its /v1/providers is the directory
        with indexer.db.begin() as connection:  # other modules' assets: not C's to pin
            connection.execute(delete(Pin))
        listed = httpx.get(f"{stacks['C'].gateway.url}/v1/providers", timeout=10).json()
        assert set(providers.values()) <= {item["address"] for item in listed["items"]}
        yield Directory(market, stacks, providers)
    finally:
        for stack in stacks.values():
            stack.gateway.process.stop()


@contextmanager
def serving(answers: dict[str, Any]) -> Iterator[str]:
    """A small HTTP server answering each path in `answers` with its JSON (404 otherwise)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            answer = answers.get(self.path.split("?")[0])
            data = json.dumps(answer).encode()
            self.send_response(404 if answer is None else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def deployment(directory: Directory) -> Deployment:
    return load_deployment(directory.market.deployments_file, CHAIN_ID)


def download_sha256(directory: Directory, name: str, asset_id: int) -> str:
    gateway = directory.stacks[name].gateway
    response = httpx.get(f"{gateway.url}/v1/assets/{asset_id}/content",
                         headers=session(gateway, BUYER), timeout=60)
    assert response.status_code == 200, response.text
    return hashlib.sha256(response.content).hexdigest()


@pytest.fixture(scope="module")
def published(directory: Directory, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[dict[str, Any], str]:
    source = tmp_path_factory.mktemp("picked") / "readings.bin"
    digest = write_file(source, 250_000)
    done = directory.market.publish(source, "--seal-to-directory", "2",
                                    "--directory", directory.url)
    directory.market.cli_json("license", "buy", str(done["asset_id"]), "1",
                              DAPP_ACCOUNT="buyer")
    return done, digest


def test_publish_seals_to_the_directorys_best_gateways_and_each_serves_the_download(
    directory: Directory, published: tuple[dict[str, Any], str]
) -> None:
    done, digest = published
    recovery = recovery_public_key(directory.market.data_dir / RECOVERY_FILE)
    # DEAD and BORROWED have the most stake, but are skipped: A and B are the best usable
    assert done["sealed_to"] == [directory.key("A"), directory.key("B"), recovery]
    for name in ("A", "B"):
        assert download_sha256(directory, name, int(done["asset_id"])) == digest
    refused = httpx.get(f"{directory.url}/v1/assets/{done['asset_id']}/content",
                        headers=session(directory.stacks["C"].gateway, BUYER), timeout=30)
    assert_problem(refused, 409, "not-sealed-to-gateway")  # C was not picked


def test_fewer_usable_gateways_than_asked_is_refused_in_one_line_naming_the_skipped(
    directory: Directory, tmp_path: Path
) -> None:
    source = tmp_path / "few.bin"
    write_file(source, 1_000)
    before = directory.market.registry().functions.assetCount().call()
    refused = directory.market.cli("publish", str(source), "--title", "few", "--price", "1",
                                   "--license-text", "x", "--seal-to-directory", "40",
                                   "--directory", directory.url)
    assert refused.returncode == 3, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "40 asked" in refused.stderr
    assert f"{directory.providers['DEAD']}: its gateway" in refused.stderr
    assert "unreachable" in refused.stderr
    assert f"{directory.providers['BORROWED']}: its gateway" in refused.stderr
    assert f"acts as {directory.providers['A']}" in refused.stderr
    assert directory.market.registry().functions.assetCount().call() == before


def test_hostile_directory_lists_a_provider_at_an_impostor_gateway_and_is_not_believed(
    directory: Directory
) -> None:
    impostor = GatewayKeyPair.generate()
    a, b = directory.providers["A"], directory.providers["B"]
    entry = {"token": "0x" + "00" * 20, "price": "0", "stake": str(10**30), "active": True,
             "jobs": 0}
    items = [{**entry, "address": a}, {**entry, "address": b}]
    answers = {"/v1/providers": {"items": items}}
    with serving(answers) as hostile:  # the directory, and the impostor gateway it names
        for item in items:
            item["endpoint"] = hostile
        answers["/v1/gateway"] = {"public_key": impostor.public_key_b64, "provider": a,
                                  "url": hostile}
        picked = pick_from_directory(directory.market.web3, deployment(directory), hostile, 2)
    assert impostor.public_key_b64 not in picked.keys
    assert picked.keys == [directory.key("A"), directory.key("B")]
    assert [g.endpoint for g in picked.chosen] == [directory.stacks[n].gateway.url
                                                   for n in "AB"]  # the chain's, not the lie


def test_reseal_adds_the_next_directory_gateway_and_removes_one_which_stops_serving_it(
    directory: Directory, published: tuple[dict[str, Any], str]
) -> None:
    done, digest = published
    asset_id = str(done["asset_id"])
    resealed = directory.market.cli_json("reseal", asset_id, "--seal-to-directory", "3",
                                         "--directory", directory.url,
                                         "--remove", directory.providers["A"])
    assert resealed["version"] == 2 and resealed["content_cid"] == done["content_cid"]
    assert resealed["added"] == [directory.key("C")]  # A and B were there already
    assert resealed["removed"] == [directory.key("A")]
    recovery_key = recovery_public_key(directory.market.data_dir / RECOVERY_FILE)
    assert resealed["sealed_to"] == [directory.key("B"), recovery_key, directory.key("C")]
    for name in ("B", "C"):
        assert download_sha256(directory, name, int(asset_id)) == digest
    gateway_a = directory.stacks["A"].gateway
    assert_problem(httpx.get(f"{gateway_a.url}/v1/assets/{asset_id}/content",
                             headers=session(gateway_a, BUYER), timeout=30),
                   409, "not-sealed-to-gateway")

    with directory.market.ipfs() as ipfs:
        latest = AssetMetadata.from_json(ipfs.cat_bytes(resealed["metadata_cid"]))
    recovery = unlock_recovery_key(directory.market.data_dir / RECOVERY_FILE, PASSWORD)
    key = recovered_content_key(latest, recovery)
    with pytest.raises(KeepsRecoveryKey):
        resealed_metadata(latest, key, [], [recovery.public_key_b64], recovery.public_key_b64)
    with pytest.raises(NotSealedTo):
        resealed_metadata(latest, key, [], [directory.key("A")], recovery.public_key_b64)


def test_directory_says_each_providers_checked_key_for_the_browser(
    directory: Directory
) -> None:
    """`GET /v1/providers?keys=true` (what the browser's publish page ticks from): a key only
    where the gateway at the registered endpoint names that provider."""
    response = httpx.get(f"{directory.url}/v1/providers", params={"keys": "true"}, timeout=30)
    assert response.status_code == 200, response.text
    keys = {item["address"]: item["public_key"] for item in response.json()["items"]}
    names = {address: name for name, address in directory.providers.items()}
    ours = {names[address]: key for address, key in keys.items() if address in names}
    assert ours == {"A": directory.key("A"), "B": directory.key("B"), "C": directory.key("C"),
                    "DEAD": None, "BORROWED": None}
    plain = httpx.get(f"{directory.url}/v1/providers", timeout=30).json()["items"]
    assert all(item["public_key"] is None for item in plain)  # no endpoint asked unless asked
