"""Routing by task across several provider gateways on this machine (issue 17): models declare
tasks and schemas in their metadata, the indexer files them, one gateway's catalog answers
`GET /v1/models?task=` for every provider of the directory, and `datadao route` / the Python
`Router` pick a provider, pay it from a channel and fall back when one is dead or answers
wrongly. Three fresh providers, cheapest first:

- D (price 1) runs the good scaler, and is killed once the catalog has seen it;
- B (price 2) runs a model that answers garbage for `summarization`, and a classifier;
- C (price 3) runs the good scaler and serves the catalog (its store is the indexer's).

Every amount is checked on chain or in the vouchers the provider redeems."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import delete

from dapp.chain.accounts import Keystore
from dapp.chain.deployments import load_deployment
from dapp.chain.transactions import TransactionSender
from dapp.client.routing import RouteFailed, Router
from dapp.errors import InvalidInput
from dapp.indexer.pins import Pinner
from dapp.ipfs.client import IpfsClient
from dapp.market.reader import market_error_decoder
from dapp.metadata import ModelService
from dapp.publishing.service import model_service
from dapp.store.models import Pin
from tests.dapp.conftest import CHAIN_ID, Chain, Kubo, fund_account, run_cli
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.invoke import MODEL_PY, Stack, publish_model, start_provider_stack
from tests.dapp.helpers.registry_index import make_indexer

UNIT = 10**15
PASSWORD = "route-buyer"
DEPOSIT_CALLS = 4
NUMBER_IN = {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}
SCALED_OUT = {"type": "object", "properties": {"scaled": {"type": "number"}},
              "required": ["scaled"]}
LABEL_OUT = {"type": "object", "properties": {"label": {"enum": ["big", "small"]}},
             "required": ["label"], "additionalProperties": False}
GARBAGE_PY = 'print(\'{"oops": "not a summary"}\')\n'
CLASSIFIER_PY = """\
import json, sys
x = json.loads(sys.stdin.buffer.read())["x"]
print(json.dumps({"label": "big" if x > 10 else "small"}))
"""


@dataclass
class Net:
    stacks: dict[str, Stack]
    providers: dict[str, LocalAccount]
    buyer: LocalAccount
    data_dir: Path
    chain: Chain
    deployments_file: Path
    good: int
    garbage: int
    classifier: int

    @property
    def catalog_url(self) -> str:
        return self.stacks["C"].gateway.url

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"DAPP_DATA_DIR": str(self.data_dir), "DAPP_CHAIN_RPC_URL": self.chain.rpc_url,
               "DAPP_DEPLOYMENTS_FILE": str(self.deployments_file),
               "DAPP_KEYSTORE_PASSWORD": PASSWORD, "DAPP_ACCOUNT": "buyer",
               "DAPP_GATEWAY_PUBLIC_URL": self.catalog_url}
        return run_cli(*args, env=env, stdin=stdin)

    def route_json(self, *args: str, stdin: str) -> dict[str, Any]:
        result = self.cli("route", *args, "--deposit-calls", str(DEPOSIT_CALLS), "--json",
                          stdin=stdin)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def balance(self) -> int:
        return self.stacks["C"].balance(self.buyer.address)

    def redeem(self, name: str) -> int:
        """What provider `name` redeems on chain of the vouchers its gateway holds, now."""
        stack = self.stacks[name]
        response = httpx.post(f"{stack.gateway.url}/v1/provider/redeem",
                              headers=session(stack.gateway, self.providers[name]), timeout=120)
        assert response.status_code == 200, response.text
        return int(response.json()["amount"])

    def channels_to(self, name: str) -> list[int]:
        market = self.stacks["C"].market
        logs = market.events.ChannelOpened().get_logs(
            from_block=0, argument_filters={"buyer": self.buyer.address,
                                            "provider": self.providers[name].address})
        return [int(log["args"]["channelId"]) for log in logs]

    def router(self) -> Router:
        """The Python client, sharing the CLI's voucher record."""
        return Router.for_deployment(self.stacks["C"].web3,
                                     load_deployment(self.deployments_file, CHAIN_ID),
                                     self.buyer, self.data_dir / "signed-vouchers.json",
                                     self.catalog_url, deposit_calls=DEPOSIT_CALLS)


def write_model(folder: Path, code: str) -> Path:
    folder.mkdir()
    (folder / "model.py").write_text(code)
    (folder / "weights.json").write_text(json.dumps({"scale": 3}))
    return folder


@pytest.fixture(scope="module")
def net(chain: Chain, kubo: Kubo, deployments_file: Path,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    providers = {name: Account.create() for name in "DBC"}
    buyer = Account.create()
    for account in providers.values():
        fund_account(chain, deployments_file, account.address, 1000 * 10**18)
    fund_account(chain, deployments_file, buyer.address, 100 * 10**18)
    stacks: dict[str, Stack] = {}

    def start(name: str, price: int) -> None:
        stacks[name] = start_provider_stack(
            chain, kubo, deployments_file, tmp_path_factory.mktemp(f"route-{name}"),
            provider=providers[name], invoke_price=price * UNIT, rate_limit_per_minute=100_000,
            voucher_batch_size=10_000, voucher_batch_age_seconds=3600)

    try:
        with ThreadPoolExecutor(3) as pool:  # the three gateways start at once
            list(pool.map(start, "DBC", (1, 2, 3)))
        data_dir = tmp_path_factory.mktemp("route-buyer")
        Keystore(data_dir / "keystore").import_key("buyer", buyer.key.hex(), PASSWORD)
        models = tmp_path_factory.mktemp("route-models")
        licensees = (buyer.address,)
        good = publish_model(stacks["C"], write_model(models / "good", MODEL_PY),
                             licensees=licensees,
                             gateways=(stacks["D"].gateway.url,),
                             service=ModelService(tasks=["feature-extraction", "summarization"],
                                                  input_schema=NUMBER_IN,
                                                  output_schema=SCALED_OUT))
        garbage = publish_model(stacks["B"], write_model(models / "garbage", GARBAGE_PY),
                                licensees=licensees,
                                service=ModelService(tasks=["summarization"],
                                                     input_schema=NUMBER_IN,
                                                     output_schema=SCALED_OUT))
        classifier = publish_model(stacks["B"],
                                   write_model(models / "classifier", CLASSIFIER_PY),
                                   licensees=licensees,
                                   service=ModelService(tasks=["text-classification"],
                                                        input_schema=NUMBER_IN,
                                                        output_schema=LABEL_OUT))
        index_into(stacks["C"], chain, deployments_file, kubo, {good, garbage, classifier})
        listed = models_of(stacks["C"].gateway.url, "feature-extraction")[good]
        assert [p["address"] for p in listed["providers"]] == [providers["D"].address,
                                                              providers["C"].address]
        stacks["D"].gateway.process.stop()  # the catalog has seen it: now it is dead
        yield Net(stacks, providers, buyer, data_dir, chain, deployments_file, good, garbage,
                  classifier)
    finally:
        for stack in stacks.values():
            stack.gateway.process.stop()


def index_into(stack: Stack, chain: Chain, deployments_file: Path, kubo: Kubo,
               assets: set[int]) -> None:
    """The indexer, once, into the catalog gateway's own store; only our models' pins."""
    indexer = make_indexer(chain, deployments_file, stack.log_dir, "dapp.db")
    indexer.run_once()
    with indexer.db.begin() as connection:  # other modules' assets on this chain: not ours
        connection.execute(delete(Pin).where(Pin.asset_id.not_in(assets)))
    with IpfsClient(kubo.api_url, timeout_seconds=30) as ipfs:
        pinner = Pinner(indexer.db, ipfs)
        while pinner.run_once().pinned:
            pass


def models_of(url: str, task: str) -> dict[int, dict[str, Any]]:
    response = httpx.get(f"{url}/v1/models", params={"task": task}, timeout=30)
    assert response.status_code == 200, response.text
    return {int(item["asset_id"]): item for item in response.json()["items"]}


def test_the_catalog_lists_each_tasks_models_with_every_provider_that_can_run_them(
        net: Net) -> None:
    summaries = models_of(net.catalog_url, "summarization")
    assert set(summaries) >= {net.good, net.garbage}
    assert [p["address"] for p in summaries[net.good]["providers"]] == [
        net.providers["D"].address, net.providers["C"].address]  # cheapest first
    assert [(p["address"], p["price"]) for p in summaries[net.garbage]["providers"]] == [
        (net.providers["B"].address, str(2 * UNIT))]
    assert summaries[net.garbage]["output_schema"] == SCALED_OUT
    assert summaries[net.good]["tasks"] == ["feature-extraction", "summarization"]
    classifiers = models_of(net.catalog_url, "text-classification")
    assert net.classifier in classifiers and net.good not in classifiers
    assert net.good not in models_of(net.catalog_url, "translation")

    unknown = httpx.get(f"{net.catalog_url}/v1/models", params={"task": "mind-reading"})
    assert unknown.status_code == 400
    assert "unknown task 'mind-reading'" in unknown.json()["detail"]


def test_a_provider_registered_at_another_gateways_url_is_not_listed_for_its_models(
        net: Net, chain: Chain, deployments_file: Path, kubo: Kubo) -> None:
    """An impostor registers on chain with B's endpoint (cheaper than B): B's gateway does not
    say it is the impostor, so the catalog does not offer the impostor for B's models."""
    impostor = Account.create()
    fund_account(chain, deployments_file, impostor.address, 1000 * 10**18)
    stack = net.stacks["C"]
    sender = TransactionSender(stack.web3, impostor, market_error_decoder())
    stake = int(stack.market.functions.params().call()[5])  # minProviderStake
    sender.approve_if_short(stack.token, stack.market.address, stake, "approve the stake")
    sender.send(stack.market.functions.registerProvider(
        net.stacks["B"].gateway.url, stack.token.address, UNIT // 2, stake), "registerProvider")
    index_into(stack, chain, deployments_file, kubo, {net.classifier})
    listed = httpx.get(f"{net.catalog_url}/v1/providers", timeout=30).json()["items"]
    assert impostor.address in [p["address"] for p in listed]  # in the directory, at B's URL

    offered = models_of(net.catalog_url, "text-classification")[net.classifier]["providers"]
    assert [p["address"] for p in offered] == [net.providers["B"].address]


def test_route_falls_back_past_a_dead_provider_and_pays_only_the_one_that_answered(
        net: Net) -> None:
    before = net.balance()
    first = net.route_json("feature-extraction", stdin='{"x": 5}')
    assert first["output"] == {"echo": {"x": 5}, "scaled": 15}
    assert (first["asset_id"], first["provider"]) == (net.good, net.providers["C"].address)
    dead = [a for a in first["attempts"] if a["provider"] == net.providers["D"].address]
    assert [(a["outcome"], a["paid"]) for a in dead] == [("unreachable", "0")]
    assert first["paid"] == first["price"] == str(3 * UNIT)
    assert net.channels_to("D") == []  # nothing deposited for the dead provider
    assert net.channels_to("C") == [first["channel_id"]]
    assert net.balance() == before - DEPOSIT_CALLS * 3 * UNIT  # one channel, to C

    assert net.redeem("C") == 3 * UNIT


def test_a_wrong_answer_is_left_for_the_next_provider(net: Net) -> None:
    """The Python client: B's model answers garbage for summarization (charged: the gateway
    takes the voucher before its model runs); C's answer matches the schema and is returned."""
    result = net.router().route("summarization", {"x": 2})
    assert result.output == {"echo": {"x": 2}, "scaled": 6}
    assert (result.asset_id, result.provider) == (net.good, net.providers["C"].address)
    outcomes = [(a.asset_id, a.outcome, a.paid) for a in result.attempts]
    assert (net.garbage, "wrong-answer", 2 * UNIT) in outcomes
    assert outcomes[-1] == (net.good, "answered", 3 * UNIT)
    assert "output schema: $: missing 'scaled'" in next(
        a.reason for a in result.attempts if a.outcome == "wrong-answer")

    opened = net.channels_to("C")
    again = net.router().route("feature-extraction", {"x": 1})  # a channel with room: reused
    assert again.channel_id == result.channel_id and net.channels_to("C") == opened
    assert again.paid_total == result.paid_total + 3 * UNIT


def test_an_input_that_fits_no_models_schema_is_refused_before_anything_is_paid(
        net: Net) -> None:
    before, opened = net.balance(), net.channels_to("B")
    with pytest.raises(RouteFailed, match="no provider answered text-classification") as error:
        net.router().route("text-classification", {"y": "no x"})
    (attempt,) = [a for a in error.value.details["attempts"] if a["asset_id"] == net.classifier]
    assert attempt["outcome"] == "input-refused" and attempt["paid"] == "0"
    assert "$: missing 'x'" in attempt["reason"]
    assert net.balance() == before and net.channels_to("B") == opened


def test_a_two_step_plan_runs_each_model_on_the_last_output_and_pays_each_step(
        net: Net, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"steps": [
        {"task": "feature-extraction"},
        {"task": "text-classification", "input": {"x": "$.scaled"}}]}))
    net.redeem("B"), net.redeem("C")  # what they held before: redeemed out of the way
    ran = net.route_json("--plan", str(plan), stdin='{"x": 4}')
    first, second = ran["steps"]
    assert first["output"]["scaled"] == 12 and ran["output"] == {"label": "big"}
    assert (first["provider"], second["provider"]) == (net.providers["C"].address,
                                                       net.providers["B"].address)
    assert (first["price"], second["price"]) == (str(3 * UNIT), str(2 * UNIT))
    assert ran["paid"] == str(5 * UNIT)
    assert (net.redeem("B"), net.redeem("C")) == (2 * UNIT, 3 * UNIT)


def test_publish_refuses_an_unknown_task_or_a_schema_outside_the_subset(
        net: Net, tmp_path: Path) -> None:
    """Before anything is uploaded or signed: one line, exit 2."""
    model = write_model(tmp_path / "m", MODEL_PY)
    schema = tmp_path / "in.json"
    schema.write_text(json.dumps(NUMBER_IN))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "object", "patternProperties": {}}))
    common = ("publish", str(model), "--title", "m", "--license-text", "MIT", "--price", "1",
              "--kind", "model", "--output-schema", str(schema))
    outside = net.cli(*common, "--task", "summarization", "--input-schema", str(bad))
    assert outside.returncode == 2
    assert "input schema: unsupported keyword 'patternProperties'" in outside.stderr
    assert "Traceback" not in outside.stderr and len(outside.stderr.splitlines()) == 1
    one_schema = net.cli(*common, "--task", "summarization")
    assert one_schema.returncode == 2
    assert ("a model that declares tasks needs both schemas (give --task and both "
            "--input-schema FILE and --output-schema FILE)") in one_schema.stderr
    with pytest.raises(InvalidInput, match="unknown task 'mind-reading'"):
        model_service("model", ["mind-reading"], NUMBER_IN, NUMBER_IN)
    with pytest.raises(InvalidInput, match="only a model declares tasks"):
        model_service("dataset", ["summarization"], NUMBER_IN, NUMBER_IN)
