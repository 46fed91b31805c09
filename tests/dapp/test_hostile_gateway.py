"""Issue 15, the client side: the `datadao` CLI (a subprocess, as a user runs it) against a
hostile gateway (tests/dapp/helpers/hostile_gateway.py) in front of an honest provider gateway
on the session ganache. Each attack ends in a one-line error, a non-zero exit and no
traceback, and nothing is signed or paid beyond what the user allowed — shown by what the
hostile gateway was handed and by the channel on chain."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from dapp.client.gateway import checked_metadata, content_problem
from dapp.errors import ContentMismatch
from dapp.ipfs.cid import CODEC_RAW, cid_from_chain
from dapp.metadata import AssetMetadata
from dapp.packing import PackStream, plan_pack
from tests.dapp.conftest import Chain, Kubo, run_cli
from tests.dapp.helpers.gateway import fresh_challenge, sign_in, sign_text, siwe_text
from tests.dapp.helpers.hostile_gateway import HostileGateway, running
from tests.dapp.helpers.invoke import Stack, paid_call_setup, publish_scaler

PRICE = 10**15  # 0.001 DDT per call
DDT = 10**18
PASSWORD = "hostile-gateway-buyer"
EXIT_NOT_AUTHENTICATED = 5
EXIT_PAYMENT_REQUIRED = 7
EXIT_CONTENT_MISMATCH = 15
HUGE = 5 * 10**22  # the voucher one call produced before the fix


@dataclass
class Buyer:
    account: LocalAccount
    data_dir: Path
    stack: Stack
    provider: LocalAccount
    chain_url: str
    deployments_file: Path
    hostile: HostileGateway
    ipfs_api_url: str

    def cli(self, *args: str, stdin: str | None = None,
            gateway: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"DAPP_DATA_DIR": str(self.data_dir), "DAPP_CHAIN_RPC_URL": self.chain_url,
               "DAPP_DEPLOYMENTS_FILE": str(self.deployments_file),
               "DAPP_KEYSTORE_PASSWORD": PASSWORD, "DAPP_ACCOUNT": "buyer",
               "DAPP_IPFS_API_URL": self.ipfs_api_url,
               "DAPP_GATEWAY_PUBLIC_URL": gateway or self.hostile.url}
        return run_cli(*args, env=env, stdin=stdin)

    def open(self, deposit: str) -> int:
        opened = self.cli("channel", "open", deposit, "--json", gateway=self.stack.gateway.url)
        assert opened.returncode == 0, opened.stderr
        return int(json.loads(opened.stdout)["channel_id"])

    def invoke(self, model: int, channel: int, *extra: str,
               gateway: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cli("invoke", str(model), "--channel", str(channel), "--json", *extra,
                        stdin=json.dumps({"x": 2}), gateway=gateway)

    def redeemed(self, channel_id: int) -> int:
        return int(self.stack.market.functions.getChannel(channel_id).call()[5])


@pytest.fixture(scope="module")
def buyer(chain: Chain, kubo: Kubo, deployments_file: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buyer]:
    setup = paid_call_setup(chain, kubo, deployments_file, tmp_path_factory, "hostile", PRICE,
                            PASSWORD)
    try:
        with running(HostileGateway(setup.stack.gateway.url)) as hostile:
            yield Buyer(setup.buyer, setup.data_dir, setup.stack, setup.provider, chain.rpc_url,
                        deployments_file, hostile, kubo.api_url)
    finally:
        setup.stack.gateway.process.stop()


@pytest.fixture(scope="module")
def model(buyer: Buyer, tmp_path_factory: pytest.TempPathFactory) -> int:
    return publish_scaler(buyer.stack, tmp_path_factory.mktemp("hostile-model") / "scaler",
                          licensees=(buyer.account.address,))


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], exit_code: int,
                            *words: str) -> None:
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr  # error + hint
    for word in words:
        assert word in result.stderr, result.stderr


# -- 1. sign-in relay -----------------------------------------------------------------------------

def test_relayed_sign_in_challenge_is_refused_before_signing(buyer: Buyer, model: int,
                                                            tmp_path: Path) -> None:
    hostile = buyer.hostile.reset(relay_sign_in=True)
    result = buyer.cli("download", str(model), "-o", str(tmp_path / "out"))
    assert_one_line_refusal(result, EXIT_NOT_AUTHENTICATED, "refused to sign in",
                            buyer.stack.gateway.url)
    assert hostile.sign_ins == [] and hostile.stolen == []  # nothing signed, no session
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("host", ["evil.example", "hostile"])
def test_a_lookalike_uri_does_not_open_a_session(buyer: Buyer, host: str) -> None:
    """The gateway compared the message's URI as a string prefix of its origin:
    `http://127.0.0.1:PORT@evil.example` (a URL of evil.example) passed."""
    gateway = buyer.stack.gateway
    challenge = fresh_challenge(gateway)
    host = f"127.0.0.1:{buyer.hostile.port}" if host == "hostile" else host
    uri = f"{challenge['uri']}@{host}/"
    text = siwe_text(buyer.account.address, challenge["domain"], uri, 1337, challenge["nonce"])
    refused = sign_in(gateway, text, sign_text(buyer.account, text))
    assert refused.status_code == 401, refused.text
    assert "is not this gateway's" in refused.json()["detail"]
    under = fresh_challenge(gateway)  # a URL under the origin is the origin's
    text = siwe_text(buyer.account.address, under["domain"], under["uri"] + "/app", 1337,
                     under["nonce"])
    assert sign_in(gateway, text, sign_text(buyer.account, text)).status_code == 200


# -- 2. vouchers priced by the gateway ------------------------------------------------------------

@pytest.mark.parametrize(("lie", "words"), [
    ({"price": HUGE}, ("charges 1000000000000000", "on chain", "nothing signed")),
    ({"market": "0x" + "11" * 20}, ("not on your deployment's ComputeMarket",)),
    ({"chain_id": 1}, ("(chain 1)", "nothing signed")),
    ({"address": "0x" + "22" * 20}, ("not registered", "nothing signed")),
    ({"token": "0x" + "33" * 20}, ("on chain", "nothing signed")),
], ids=["price", "market", "chain", "provider", "token"])
def test_gateway_misstating_its_terms_gets_no_voucher(buyer: Buyer, model: int,
                                                      lie: dict[str, object],
                                                      words: tuple[str, ...]) -> None:
    channel = buyer.open("0.01")
    hostile = buyer.hostile.reset(terms_lies=lie, invoke_answer="forward")
    result = buyer.invoke(model, channel)
    assert_one_line_refusal(result, EXIT_PAYMENT_REQUIRED, *words)
    assert hostile.vouchers == []
    assert buyer.redeemed(channel) == 0


def test_a_price_above_max_price_is_refused_and_one_within_it_paid(
        buyer: Buyer, model: int) -> None:
    channel = buyer.open("0.01")
    hostile = buyer.hostile.reset(invoke_answer="forward")
    refused = buyer.invoke(model, channel, "--max-price", "0.0009")
    assert_one_line_refusal(refused, EXIT_PAYMENT_REQUIRED, "above your maximum",
                            "nothing signed")
    assert hostile.vouchers == []
    paid = buyer.invoke(model, channel, "--max-price", "0.001")
    assert paid.returncode == 0, paid.stderr
    assert json.loads(paid.stdout)["paid_total"] == str(PRICE)
    assert [v.cumulative_amount for v in hostile.vouchers] == [PRICE]


def test_a_gateway_inflating_its_count_gets_one_price_per_call_at_most(
        buyer: Buyer, model: int) -> None:
    channel = buyer.open("0.01")
    hostile = buyer.hostile.reset(invoke_answer="forward", accepted_lie=HUGE)
    for calls in (1, 2):
        result = buyer.invoke(model, channel)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["paid_total"] == str(calls * PRICE)
    hostile.invoke_answer = "stale"  # 402 stale, "the channel has paid 10**24 already"
    refused = buyer.invoke(model, channel)
    assert_one_line_refusal(refused, EXIT_PAYMENT_REQUIRED, "signed at most")
    assert [v.cumulative_amount for v in hostile.vouchers] == [PRICE, 2 * PRICE, 3 * PRICE]


def test_no_voucher_is_signed_beyond_the_channel_deposit(buyer: Buyer, model: int) -> None:
    """A voucher above the deposit is worthless today and payable after the next top-up."""
    channel = buyer.open("0.001")  # one call
    hostile = buyer.hostile.reset(invoke_answer="forward")
    assert buyer.invoke(model, channel).returncode == 0
    refused = buyer.invoke(model, channel)
    assert_one_line_refusal(refused, EXIT_PAYMENT_REQUIRED, "more than channel", "deposit")
    assert [v.cumulative_amount for v in hostile.vouchers] == [PRICE]


# -- wrong bytes ----------------------------------------------------------------------------------

def test_forged_download_is_caught_against_the_chain_and_removed(buyer: Buyer, model: int,
                                                                 tmp_path: Path) -> None:
    """The hostile gateway signs the buyer in with its own challenge and serves forged bytes:
    they are not what the version's metadata (CID on chain) declares, so nothing is kept."""
    hostile = buyer.hostile.reset(relay_sign_in=False)
    target = tmp_path / "out"
    result = buyer.cli("download", str(model), "-o", str(target))
    assert_one_line_refusal(result, EXIT_CONTENT_MISMATCH, "is not what its metadata",
                            "on chain", "another gateway")
    assert len(hostile.sign_ins) == 1  # it was reached: the bytes, not the sign-in, failed
    leftovers = [target, target.with_name("out.part"), target.with_name("out.etag")]
    assert [path for path in leftovers if path.exists()] == []


def test_a_resumed_forged_download_is_caught_too(buyer: Buyer, model: int,
                                                 tmp_path: Path) -> None:
    """A .part left by an earlier run is completed by the hostile gateway: the whole file
    is checked, not only what this run fetched."""
    buyer.hostile.reset(relay_sign_in=False)
    target = tmp_path / "out"
    target.with_name("out.part").write_bytes(b"x" * 10)
    target.with_name("out.etag").write_text('"forged"')
    result = buyer.cli("download", str(model), "-o", str(target))
    assert_one_line_refusal(result, EXIT_CONTENT_MISMATCH, "is not what its metadata")
    assert not target.exists() and not target.with_name("out.part").exists()


def _packed(source: Path, into: Path) -> AssetMetadata:
    stream = PackStream(source, plan_pack(source))
    into.write_bytes(b"".join(stream))
    return AssetMetadata.model_validate({
        "schema": "datadao/asset-metadata@1", "title": "t", "kind": "dataset", "license": "l",
        "size": into.stat().st_size, "content": {"encrypted": False,
                                                "plaintext_size": into.stat().st_size},
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in stream.files]})


def test_content_is_checked_file_by_file_and_the_metadata_by_its_cid(tmp_path: Path) -> None:
    """No services: a folder's tar passes only with every member as listed, a file only with
    its own digest, the metadata only with the bytes its raw CID names."""
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha\n")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 9)
    metadata = _packed(folder, tmp_path / "folder.tar")
    assert content_problem(tmp_path / "folder.tar", metadata) is None
    (folder / "a.txt").write_bytes(b"alphA\n")  # same size, other bytes
    _packed(folder, tmp_path / "other.tar")
    assert "a.txt hashes to" in str(content_problem(tmp_path / "other.tar", metadata))

    single = tmp_path / "one.bin"
    single.write_bytes(b"x" * 1000)
    metadata = _packed(single, tmp_path / "one.packed")
    assert content_problem(tmp_path / "one.packed", metadata) is None
    (tmp_path / "one.packed").write_bytes(b"y" * 1000)
    assert "hashes to" in str(content_problem(tmp_path / "one.packed", metadata))

    document = metadata.to_canonical_json()
    cid = cid_from_chain(hashlib.sha256(document).digest(), CODEC_RAW)
    assert checked_metadata(1, 1, cid, document).metadata == metadata
    with pytest.raises(ContentMismatch, match="not the"):
        checked_metadata(1, 1, cid, document.replace(b'"t"', b'"T"'))


def test_the_hostile_gateway_is_reachable(buyer: Buyer) -> None:
    """The harness itself: it serves the honest terms when told no lie."""
    buyer.hostile.reset()
    assert httpx.get(f"{buyer.hostile.url}/v1/provider").json()["price"] == str(PRICE)
