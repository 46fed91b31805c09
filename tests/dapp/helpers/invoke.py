"""Metered model calls: a provider gateway (a dev account from its keystore, registered on the
ComputeMarket), a tiny model published encrypted and sealed to it, vouchers paying each call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.accounts import Keystore
from dapp.chain.contracts import load_abi
from dapp.crypto.sealing import seal_key
from dapp.crypto.segments import DEFAULT_SEGMENT_SIZE, encrypt_stream, generate_content_key
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.market.vouchers import VOUCHER_HEADER, sign_voucher
from dapp.metadata import (
    CIPHER_DDX1,
    AssetMetadata,
    ContentInfo,
    FileEntry,
    ModelService,
    SealedKey,
)
from dapp.packing import iter_packed, plan_pack
from tests.dapp.conftest import Gateway, Kubo, fund_account, make_settings, start_gateway
from tests.dapp.helpers.gateway import dev_account

PROVIDER = dev_account(8)
BUYER = dev_account(9)
PASSWORD = "provider-test-password"
PRICE = 10**15  # 0.001 DDT per call
DEPOSIT = 1000 * PRICE
CHAIN_ID = 1337
DATASET, MODEL = 0, 1
COMPUTE = 1  # license scope
PERPETUAL = 2**64 - 1
MODEL_OWNER = dev_account(4)
MODEL_PY = """\
import json, os, pathlib, sys
weights = json.loads((pathlib.Path(os.environ["MODEL_DIR"]) / "weights.json").read_text())
request = json.loads(sys.stdin.buffer.read() or b"{}")
if request.get("crash"):
    sys.exit(3)
print(json.dumps({"echo": request, "scaled": request.get("x", 0) * weights["scale"]}))
"""


@dataclass
class Stack:
    web3: Web3
    registry: Contract
    token: Contract
    market: Contract
    gateway: Gateway
    kubo: Kubo
    log_dir: Path

    def transact(self, call, sender: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
        receipt = self.web3.eth.wait_for_transaction_receipt(
            call.transact({"from": sender, "gas": 2_000_000}))
        assert receipt["status"] == 1
        return dict(receipt)

    def balance(self, account: str) -> int:
        return int(self.token.functions.balanceOf(account).call())

    def channel(self, channel_id: int) -> tuple:  # type: ignore[type-arg]
        return tuple(self.market.functions.getChannel(channel_id).call())

    def open_channel(self, deposit: int = DEPOSIT, expires_in: int = 7 * 24 * 3600,
                     provider: str = PROVIDER.address, buyer: str = BUYER.address) -> int:
        self.transact(self.token.functions.approve(self.market.address, deposit), buyer)
        expiry = self.web3.eth.get_block("latest")["timestamp"] + expires_in
        receipt = self.transact(self.market.functions.openChannel(provider, self.token.address,
                                                                 deposit, expiry),
                                buyer)
        (event,) = self.market.events.ChannelOpened().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["channelId"])

    def voucher(self, channel_id: int, amount: int, signer=BUYER,  # type: ignore[no-untyped-def]
                chain_id: int = CHAIN_ID, market: str | None = None) -> dict[str, str]:
        """The X-DataDAO-Voucher header for `amount` in total on `channel_id`."""
        signed = sign_voucher(signer.key, chain_id, market or self.market.address, channel_id,
                              amount)
        return {VOUCHER_HEADER: signed.header_value()}

    def grant_compute(self, asset_id: int, licensee: str) -> None:
        """The model's owner grants `licensee` a perpetual COMPUTE license."""
        self.transact(self.registry.functions.grant(asset_id, licensee, COMPUTE, PERPETUAL),
                      MODEL_OWNER.address)


def publish_model(stack: Stack, path: Path, kind: int = MODEL,
                  licensees: tuple[str, ...] = (BUYER.address,),
                  gateways: tuple[str, ...] = (), service: ModelService | None = None) -> int:
    """Pack, encrypt, seal to the gateway (and to the gateways at the URLs `gateways`), add to
    Kubo, publish on chain (declaring `service`, a model's tasks and schemas) and grant each
    of `licensees` a COMPUTE license: the asset id."""
    public_keys = [httpx.get(f"{url}/v1/gateway", timeout=10).json()["public_key"]
                   for url in (stack.gateway.url, *gateways)]
    plan = plan_pack(path)
    content_key = generate_content_key()
    stream = encrypt_stream(content_key, iter_packed(path, plan), plan.size)
    with IpfsClient(stack.kubo.api_url, timeout_seconds=60) as ipfs:
        content_cid = ipfs.add_chunks(stream).cid
        metadata = AssetMetadata(
            title="Scaler model", kind="model" if kind == MODEL else "dataset",
            license="MIT", size=plan.size,
            files=[FileEntry(path=f.path, size=f.size, sha256=f.sha256) for f in plan.files],
            content=ContentInfo(encrypted=True, plaintext_size=plan.size, cipher=CIPHER_DDX1,
                                segment_size=DEFAULT_SEGMENT_SIZE),
            sealed_keys=[SealedKey(gateway_public_key=public_key,
                                   sealed_key=seal_key(content_key, public_key))
                         for public_key in public_keys],
            service=service,
        )
        metadata_cid = ipfs.add_bytes(metadata.to_canonical_json()).cid
    offer = (stack.token.address, 10**18, 0, 1)
    receipt = stack.transact(stack.registry.functions.publish(
        kind, cid_to_chain(content_cid), cid_to_chain(metadata_cid), 0, [offer]),
        MODEL_OWNER.address)
    (event,) = stack.registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
    asset_id = int(event["args"]["assetId"])
    for licensee in licensees:
        stack.grant_compute(asset_id, licensee)
    return asset_id


def start_provider_gateway(settings, log_file: Path,  # type: ignore[no-untyped-def]
                           url: str | None = None) -> Gateway:
    gateway = start_gateway(settings, log_file, url)
    gateway.process.wait_until(
        lambda: httpx.get(f"{gateway.url}/v1/provider", timeout=2).status_code == 200, 90)
    return gateway


def start_provider_stack(chain, kubo: Kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
                         base: Path, provider=PROVIDER, **overrides: object) -> Stack:
    """A gateway over `base` acting as `provider` (imported into its keystore), registered,
    with the deployed contracts bound; `stack.gateway.process.stop()` ends it."""
    Keystore(base / "keystore").import_key("provider", provider.key.hex(), PASSWORD)
    settings = make_settings(base, chain, kubo, deployments_file=deployments_file,
                             provider_account="provider", keystore_password=PASSWORD,
                             **overrides)
    # reached at its own port, also when it shares a public address with other gateways
    gateway = start_provider_gateway(settings, base / "gateway.log",
                                     f"http://{settings.gateway_host}:{settings.gateway_port}")
    web3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))
    entry = json.loads(deployments_file.read_text())[str(CHAIN_ID)]

    def bound(name: str) -> Contract:
        return web3.eth.contract(address=entry[name]["address"], abi=load_abi(name))

    return Stack(web3=web3, registry=bound("AssetRegistry"), token=bound("TestToken"),
                 market=bound("ComputeMarket"), gateway=gateway, kubo=kubo, log_dir=base)


def publish_scaler(stack: Stack, folder: Path,
                   licensees: tuple[str, ...] = (BUYER.address,)) -> int:
    """The scaler model (MODEL_PY + weights.json, scale 3) published from `folder`."""
    folder.mkdir()
    (folder / "model.py").write_text(MODEL_PY)
    (folder / "weights.json").write_text(json.dumps({"scale": 3}))
    return publish_model(stack, folder, licensees=licensees)


def invoke_url(stack: Stack, asset_id: int) -> str:
    return f"{stack.gateway.url}/v1/models/{asset_id}/invoke"


def call(client: httpx.Client, stack: Stack, model: int, channel_id: int, n: int
         ) -> httpx.Response:
    return client.post(invoke_url(stack, model), json={"x": n},
                       headers=stack.voucher(channel_id, n * PRICE), timeout=60)


def assert_paid_call(response: httpx.Response, n: int) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"echo": {"x": n}, "scaled": 3 * n}
    assert response.headers["x-datadao-accepted-cumulative"] == str(n * PRICE)


@dataclass
class PaidCallSetup:
    """A fresh provider gateway charging `price` per call and a fresh funded buyer whose key is
    in its own keystore under `data_dir` (name "buyer")."""

    provider: LocalAccount
    buyer: LocalAccount
    stack: Stack
    data_dir: Path


def paid_call_setup(chain, kubo: Kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
                    tmp_path_factory, name: str, price: int,
                    buyer_password: str) -> PaidCallSetup:
    """Fund a new provider (1,000 DDT) and buyer (100 DDT), start the provider's gateway with
    vouchers kept pending (no redemption rounds) and no practical rate limit; the caller stops
    `stack.gateway.process`."""
    provider, buyer = Account.create(), Account.create()
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    fund_account(chain, deployments_file, buyer.address, 100 * 10**18)
    stack = start_provider_stack(
        chain, kubo, deployments_file, tmp_path_factory.mktemp(f"{name}-provider"),
        provider=provider, invoke_price=price, rate_limit_per_minute=100_000,
        voucher_batch_size=10_000, voucher_batch_age_seconds=3600)
    data_dir = tmp_path_factory.mktemp(f"{name}-buyer")
    Keystore(data_dir / "keystore").import_key("buyer", buyer.key.hex(), buyer_password)
    return PaidCallSetup(provider, buyer, stack, data_dir)
