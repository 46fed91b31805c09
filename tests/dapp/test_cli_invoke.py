"""The buyer's side of metered calls through the `datadao` CLI (a subprocess, as a user runs
it): `channel open`, `invoke`, `channel show|top-up|extend|reclaim`, against a provider gateway
on the session ganache — every amount checked against the ComputeMarket after the provider
redeems. Buyer and provider are fresh keys, so no other suite's channels or terms are shared."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from tests.dapp.conftest import Chain, Kubo, run_cli
from tests.dapp.helpers.gateway import session
from tests.dapp.helpers.invoke import Stack, paid_call_setup, publish_scaler

PRICE = 10**15  # 0.001 DDT per call
DDT = 10**18
PASSWORD = "cli-invoke-buyer"
EXIT_PAYMENT_REQUIRED = 7


@dataclass
class Buyer:
    account: LocalAccount
    data_dir: Path
    stack: Stack
    provider: LocalAccount
    chain_url: str
    deployments_file: Path

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"DAPP_DATA_DIR": str(self.data_dir), "DAPP_CHAIN_RPC_URL": self.chain_url,
               "DAPP_DEPLOYMENTS_FILE": str(self.deployments_file),
               "DAPP_KEYSTORE_PASSWORD": PASSWORD, "DAPP_ACCOUNT": "buyer",
               "DAPP_GATEWAY_PUBLIC_URL": self.stack.gateway.url}
        return run_cli(*args, env=env, stdin=stdin)

    def cli_json(self, *args: str, stdin: str | None = None) -> Any:
        result = self.cli(*args, "--json", stdin=stdin)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def open(self, deposit: str, duration: str = "7d") -> int:
        opened = self.cli_json("channel", "open", deposit, "--duration", duration)
        assert opened["provider"] == self.provider.address
        return int(opened["channel_id"])

    def invoke(self, model: int, channel: int, x: int, *extra: str
               ) -> subprocess.CompletedProcess[str]:
        return self.cli("invoke", str(model), "--channel", str(channel), "--json", *extra,
                        stdin=json.dumps({"x": x}))

    def paid_call(self, model: int, channel: int, x: int) -> int:
        """One call that must succeed: the channel's total paid after it."""
        result = self.invoke(model, channel, x)
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["output"] == {"echo": {"x": x}, "scaled": 3 * x}
        assert answer["price"] == str(PRICE)
        return int(answer["paid_total"])

    def channel(self, channel_id: int) -> tuple[Any, ...]:
        """(buyer, expiry, token, deposit, provider, redeemed) on chain."""
        return tuple(self.stack.market.functions.getChannel(channel_id).call())

    def balance(self) -> int:
        return self.stack.balance(self.account.address)

    def redeem(self) -> dict[str, Any]:
        """The provider redeems every voucher its gateway holds, now."""
        response = httpx.post(f"{self.stack.gateway.url}/v1/provider/redeem",
                              headers=session(self.stack.gateway, self.provider), timeout=120)
        assert response.status_code == 200, response.text
        return dict(response.json())

    @property
    def vouchers_file(self) -> Path:
        return self.data_dir / "signed-vouchers.json"


@pytest.fixture(scope="module")
def buyer(chain: Chain, kubo: Kubo, deployments_file: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buyer]:
    setup = paid_call_setup(chain, kubo, deployments_file, tmp_path_factory, "cli-invoke", PRICE,
                            PASSWORD)
    yield Buyer(setup.buyer, setup.data_dir, setup.stack, setup.provider, chain.rpc_url,
                deployments_file)
    setup.stack.gateway.process.stop()


@pytest.fixture(scope="module")
def model(buyer: Buyer, tmp_path_factory: pytest.TempPathFactory) -> int:
    return publish_scaler(buyer.stack, tmp_path_factory.mktemp("cli-model") / "scaler",
                          licensees=(buyer.account.address,))


def test_open_call_and_redeem_move_exactly_the_prices_called(buyer: Buyer, model: int) -> None:
    before = buyer.balance()
    channel = buyer.open("0.01")  # ten calls
    assert buyer.balance() == before - 10 * PRICE
    assert [buyer.paid_call(model, channel, x) for x in (1, 2, 3)] == \
        [PRICE, 2 * PRICE, 3 * PRICE]
    shown = buyer.cli_json("channel", "show", str(channel))
    assert (shown["deposit"], shown["redeemed"], shown["signed_here"]) == \
        ("0.01", "0", "0.003")

    round_ = buyer.redeem()
    assert round_["amount"] == str(3 * PRICE)
    assert buyer.channel(channel)[3:] == (10 * PRICE, buyer.provider.address, 3 * PRICE)
    assert buyer.cli_json("channel", "show", str(channel))["redeemed"] == "0.003"
    assert buyer.balance() == before - 10 * PRICE  # the deposit is all that left the buyer


def test_plain_invoke_writes_the_model_output_to_stdout(buyer: Buyer, model: int) -> None:
    channel = buyer.open("0.002")
    result = buyer.cli("invoke", str(model), "--channel", str(channel), stdin='{"x": 7}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"echo": {"x": 7}, "scaled": 21}
    assert f"channel {channel} has paid {PRICE}" in result.stderr


def test_invoke_stream_prints_each_chunk_and_pays_one_price_a_chunk(buyer: Buyer,
                                                                    model: int) -> None:
    """`--stream` on a model without `handle` (run cold): its answer is one chunk, paid by the
    call's own voucher; --json prints a line per chunk and a summary line."""
    channel = buyer.open("0.002")
    listed = buyer.cli("invoke", str(model), "--channel", str(channel), "--stream", "--json",
                       stdin='{"x": 7}')
    assert listed.returncode == 0, listed.stderr
    chunk, summary = (json.loads(line) for line in listed.stdout.splitlines())
    assert chunk == {"seq": 1, "json": {"echo": {"x": 7}, "scaled": 21}}
    assert (summary["end"], summary["paid_chunks"], summary["paid_total"]) == \
        ("done", 1, str(PRICE))
    printed = buyer.cli("invoke", str(model), "--channel", str(channel), "--stream",
                        stdin='{"x": 8}')
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == {"echo": {"x": 8}, "scaled": 24}
    assert f"paid 1 chunks of {PRICE} base units; channel {channel} has paid {2 * PRICE}" \
        in " ".join(printed.stderr.split())


def test_a_lost_answer_is_taken_from_the_gateway_but_never_beyond_what_was_signed(
        buyer: Buyer, model: int) -> None:
    channel = buyer.open("0.01")
    assert buyer.paid_call(model, channel, 1) == PRICE
    saved = json.loads(buyer.vouchers_file.read_text())
    key = next(k for k in saved if k.endswith(f":{channel}"))
    assert saved[key] == {"accepted": str(PRICE), "signed": str(PRICE)}

    # the answer of call 2 never arrived: the record has it signed but not accepted
    assert buyer.paid_call(model, channel, 2) == 2 * PRICE
    saved[key] = {"accepted": str(PRICE), "signed": str(2 * PRICE)}
    buyer.vouchers_file.write_text(json.dumps(saved))
    assert buyer.paid_call(model, channel, 3) == 3 * PRICE  # 402 stale, then one more price

    # a record that never signed what the gateway claims: refused, nothing signed beyond it
    saved[key] = {"accepted": "0", "signed": "0"}
    buyer.vouchers_file.write_text(json.dumps(saved))
    refused = buyer.invoke(model, channel, 4)
    assert refused.returncode == EXIT_PAYMENT_REQUIRED
    assert f"has paid {3 * PRICE}, but this machine signed at most {PRICE}" in refused.stderr
    assert "--resync" in refused.stderr and "Traceback" not in refused.stderr
    resynced = buyer.invoke(model, channel, 4, "--resync")
    assert resynced.returncode == 0, resynced.stderr
    assert json.loads(resynced.stdout)["paid_total"] == str(4 * PRICE)

    buyer.redeem()
    assert buyer.channel(channel)[5] == 4 * PRICE  # four calls, four prices


def test_a_dry_channel_asks_for_a_top_up_and_works_after_it(buyer: Buyer, model: int) -> None:
    channel = buyer.open("0.002")  # two calls
    buyer.paid_call(model, channel, 1)
    buyer.paid_call(model, channel, 2)
    dry = buyer.invoke(model, channel, 3)
    assert dry.returncode == EXIT_PAYMENT_REQUIRED
    assert "more than channel" in dry.stderr and "deposit" in dry.stderr
    topped = buyer.cli_json("channel", "top-up", str(channel), "0.001")
    assert topped["deposit"] == "0.003" and buyer.channel(channel)[3] == 3 * PRICE
    assert buyer.paid_call(model, channel, 3) == 3 * PRICE


def test_extend_then_reclaim_after_expiry_returns_what_was_not_redeemed(
        buyer: Buyer, model: int) -> None:
    web3 = buyer.stack.web3
    channel = buyer.open("0.005", duration="5m")
    expiry = buyer.channel(channel)[1]
    extended = buyer.cli_json("channel", "extend", str(channel), "--duration", "5m")
    assert extended["expiry"] == buyer.channel(channel)[1] == expiry + 300
    buyer.paid_call(model, channel, 1)
    buyer.paid_call(model, channel, 2)
    buyer.redeem()

    early = buyer.cli("channel", "reclaim", str(channel), "--json")
    assert early.returncode != 0 and "ChannelNotExpired" in early.stderr
    web3.provider.make_request("evm_increaseTime", [601])  # type: ignore[arg-type]
    web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    before = buyer.balance()
    reclaimed = buyer.cli_json("channel", "reclaim", str(channel))
    assert reclaimed["reclaimed"] == "0.003 DDT"
    assert buyer.balance() == before + 3 * PRICE
    again = buyer.cli("channel", "reclaim", str(channel), "--json")
    assert again.returncode != 0 and "NothingToReclaim" in again.stderr


def test_wrong_inputs_are_one_line_errors(buyer: Buyer, model: int, tmp_path: Path) -> None:
    no_channel = buyer.cli("invoke", str(model), stdin="{}")
    assert no_channel.returncode != 0 and "--channel" in no_channel.stderr
    missing = buyer.cli("invoke", str(model), "--channel", "1", "--input",
                        str(tmp_path / "absent.json"))
    assert missing.returncode != 0 and "cannot read --input" in missing.stderr
    unknown = buyer.cli("channel", "show", "999999")
    assert unknown.returncode != 0 and "does not exist" in unknown.stderr
    for result in (no_channel, missing, unknown):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2


def test_a_call_on_a_channel_not_yet_opened_signs_nothing_for_it(buyer: Buyer,
                                                                 model: int) -> None:
    """The id the next channel will get: a voucher signed for it now would be payable the
    moment it is opened (and would raise this machine's record of what it signed)."""
    upcoming = buyer.stack.market.functions.channelCount().call() + 1
    early = buyer.invoke(model, upcoming, 1)
    assert early.returncode != 0 and f"channel {upcoming} does not exist" in early.stderr
    assert "Traceback" not in early.stderr
    records = json.loads(buyer.vouchers_file.read_text()) if buyer.vouchers_file.exists() \
        else {}
    assert not [key for key in records if key.endswith(f":{upcoming}")]

    assert buyer.open("0.01") == upcoming
    shown = buyer.cli_json("channel", "show", str(upcoming), "--account", "buyer")
    assert (shown["signed_here"], shown["buyer"], shown["yours"]) == (
        "0", buyer.account.address, True)
    assert buyer.paid_call(model, upcoming, 2) == PRICE  # the first voucher is the first price


def test_channel_show_takes_account_like_the_other_channel_commands(buyer: Buyer) -> None:
    channel = buyer.open("0.001")
    text = buyer.cli("channel", "show", str(channel), "--account", "buyer")
    assert text.returncode == 0, text.stderr
    assert "yours: True" in text.stdout
    unknown = buyer.cli("channel", "show", str(channel), "--account", "nobody")
    assert unknown.returncode == 4 and "no account 'nobody'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) <= 2
