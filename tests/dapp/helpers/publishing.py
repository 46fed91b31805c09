"""`datadao` as a publisher and buyer run it (a subprocess): a data dir with dev accounts in its
keystore, a throwaway gateway key to seal to, and the chain and Kubo to check against."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from dapp.chain.accounts import Keystore
from dapp.chain.contracts import load_abi
from dapp.chain.deployments import load_deployment
from dapp.config import DEV_MNEMONIC
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key
from dapp.crypto.segments import decrypt_stream
from dapp.ipfs.client import IpfsClient
from dapp.market.reader import MarketReader
from dapp.metadata import AssetMetadata
from dapp.ports import free_port
from tests.dapp.conftest import CHAIN_ID, Chain, Gateway, Kubo, fund_account, run_cli

PASSWORD = "publisher password"
Account.enable_unaudited_hdwallet_features()
# Dev accounts 5..7: funded with ETH by ganache and with DDT by the deploy script.
PUBLISHER = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/5")
BUYER = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/6")
CURATOR = Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/7")
LICENSE = "CC-BY-4.0: attribute the DataDAO test suite."


@dataclass
class Market:
    """A data dir with the three accounts in its keystore, and the services to check with."""

    data_dir: Path
    chain: Chain
    kubo: Kubo
    deployments_file: Path
    gateway: GatewayKeyPair

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            "DAPP_DATA_DIR": str(self.data_dir),
            "DAPP_CHAIN_RPC_URL": self.chain.rpc_url,
            "DAPP_IPFS_API_URL": self.kubo.api_url,
            "DAPP_DEPLOYMENTS_FILE": str(self.deployments_file),
            "DAPP_KEYSTORE_PASSWORD": PASSWORD,
            "DAPP_ACCOUNT": "publisher",
            "DAPP_GATEWAY_PORT": str(free_port()),  # nothing listens: no implicit gateway
        }
        return {**env, **overrides}

    def cli(self, *args: str, timeout: float = 120, **env: str
            ) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env(**env), timeout=timeout)

    def cli_json(self, *args: str, timeout: float = 120, **env: str) -> Any:
        result = self.cli(*args, "--json", timeout=timeout, **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def publish(self, path: Path, *extra: str, **env: str) -> dict[str, Any]:
        return self.cli_json("publish", str(path), "--title", f"test {path.name}",
                             "--license-text", LICENSE, "--price", "10", "--duration", "30d",
                             *extra, **env)

    @property
    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.chain.rpc_url))

    def registry(self) -> Any:
        deployment = load_deployment(self.deployments_file, CHAIN_ID)
        return self.web3.eth.contract(address=deployment.contract("AssetRegistry").address,
                                      abi=load_abi("AssetRegistry"))

    def token(self) -> Any:
        deployment = load_deployment(self.deployments_file, CHAIN_ID)
        return self.web3.eth.contract(address=deployment.contract("TestToken").address,
                                      abi=load_abi("TestToken"))

    def ipfs(self) -> IpfsClient:
        return IpfsClient(self.kubo.api_url, 60)


def send(market: Market, account: LocalAccount, call: Any) -> None:
    web3 = market.web3
    transaction = call.build_transaction({
        "from": account.address, "nonce": web3.eth.get_transaction_count(account.address),
        "chainId": CHAIN_ID})
    signed = account.sign_transaction(transaction)
    receipt = web3.eth.wait_for_transaction_receipt(
        web3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1


def stake(market: Market, account: LocalAccount, amount: int, register_at: str | None = None
          ) -> None:
    """`account` (funded here) stakes `amount` more; or registers with it at `register_at`."""
    reader = MarketReader.from_deployment(market.web3,
                                          load_deployment(market.deployments_file, CHAIN_ID))
    token = reader.stake_token()
    fund_account(market.chain, market.deployments_file, account.address, amount)
    erc20 = market.web3.eth.contract(address=token, abi=load_abi("TestToken"))
    send(market, account, erc20.functions.approve(reader.address, amount))
    functions = reader.contract.functions
    send(market, account, functions.addStake(amount) if register_at is None
         else functions.registerProvider(register_at, token, 1, amount))


def register_provider(market: Market, endpoint: str, stake_times: int = 1) -> str:
    """A fresh account registered on the ComputeMarket with `endpoint` as its gateway and
    `stake_times` the minimum stake: an entry of the directory (`/v1/providers` indexes these
    registrations)."""
    reader = MarketReader.from_deployment(market.web3,
                                          load_deployment(market.deployments_file, CHAIN_ID))
    account = Account.create()
    stake(market, account, stake_times * reader.min_provider_stake(), register_at=endpoint)
    return str(account.address)


def new_market(chain: Chain, kubo: Kubo, deployments_file: Path, data_dir: Path) -> Market:
    keystore = Keystore(data_dir / "keystore")
    for name, account in (("publisher", PUBLISHER), ("buyer", BUYER), ("curator", CURATOR)):
        keystore.import_key(name, account.key.hex(), PASSWORD)
    return Market(data_dir, chain, kubo, deployments_file, GatewayKeyPair.generate())


def decrypted_sha256(market: Market, metadata: AssetMetadata, content_cid: str) -> str:
    (sealed,) = [k for k in metadata.sealed_keys
                 if k.gateway_public_key == market.gateway.public_key_b64]
    key = open_sealed_key(sealed.sealed_key, market.gateway)
    digest = hashlib.sha256()
    with market.ipfs() as ipfs:
        for chunk in decrypt_stream(key, ipfs.cat(content_cid)):
            digest.update(chunk)
    return digest.hexdigest()


def write_file(path: Path, size: int) -> str:
    """A file of pseudo-random bytes; returns its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        block = hashlib.sha256(path.name.encode()).digest() * 32768  # 1 MiB pattern
        for offset in range(0, size, len(block)):
            chunk = block[: min(len(block), size - offset)]
            chunk = bytes([offset // len(block) % 251]) + chunk[1:]
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def publish_and_buy(market: Market, gateway: Gateway, path: Path) -> int:
    published = market.publish(path, "--gateway", gateway.url)
    asset_id = int(published["asset_id"])
    bought = market.cli_json("license", "buy", str(asset_id), "1", DAPP_ACCOUNT="buyer")
    assert int(bought["asset_id"]) == asset_id, bought
    return asset_id
