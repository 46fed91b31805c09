"""The gateway's provider account in the ComputeMarket: unlocked from the keystore, registered
(approve + `registerProvider`) with the gateway's public URL and `invoke_price`, and for the
local stack a dev account imported into the keystore."""

from __future__ import annotations

import logging
import threading

from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from web3 import Web3
from web3.contract.contract import ContractFunction

from dapp.chain.accounts import Keystore, dev_account
from dapp.chain.client import connect
from dapp.chain.contracts import load_abi
from dapp.chain.deployments import load_deployment
from dapp.config import Settings
from dapp.errors import DappError, NotFound
from dapp.gateway.metered.market import MarketReader, ProviderState
from dapp.publishing.transactions import ErrorDecoder, SentTransaction, TransactionSender

log = logging.getLogger("dapp.gateway.metered")

MAX_UINT96 = 2**96 - 1
DEV_PROVIDER_INDEX = 3  # of DEV_MNEMONIC; 0 deploys, 1 publishes the demo asset
DEV_PROVIDER_NAME = "dev-provider"
DEV_PROVIDER_PASSWORD = "dev-provider-password"  # the dev chain's keys are public anyway


class NotAProvider(DappError):
    """This gateway offers no metered calls: nothing to find here (404), not an outage."""

    code = "not-a-provider"
    http_status = 404


def unlock_provider(settings: Settings) -> LocalAccount:
    if settings.provider_account is None:
        raise NotAProvider("this gateway has no provider account",
                           hint="set DAPP_PROVIDER_ACCOUNT (and DAPP_KEYSTORE_PASSWORD)")
    if settings.keystore_password is None:
        raise NotAProvider("the provider account needs DAPP_KEYSTORE_PASSWORD to unlock")
    return Keystore(settings.resolved_keystore_dir).unlock(
        settings.provider_account, settings.keystore_password.get_secret_value())


def market_reader(settings: Settings, web3: Web3) -> MarketReader:
    """The deployed ComputeMarket (DeploymentMissing before it is deployed)."""
    deployment = load_deployment(settings.resolved_deployments_file, web3.eth.chain_id)
    return MarketReader(web3, deployment.contract("ComputeMarket").address)


_account_locks: dict[str, threading.RLock] = {}
_account_locks_guard = threading.Lock()


def account_lock(address: str) -> threading.RLock:
    """One lock per sending account in this process (the redeemer, the job worker and the
    registration all send as the provider account)."""
    with _account_locks_guard:
        return _account_locks.setdefault(address.lower(), threading.RLock())


class SerializedSender(TransactionSender):
    """A TransactionSender whose sends, per account and process, go one at a time: each takes
    its nonce from the node's pending count, so two at once would collide."""

    def send(self, function: ContractFunction, what: str) -> SentTransaction:
        with account_lock(self.address):
            return super().send(function, what)


def provider_sender(web3: Web3, account: LocalAccount) -> TransactionSender:
    """The sender for every transaction of the provider account in the gateway process."""
    decoder = ErrorDecoder([load_abi("ComputeMarket"), load_abi("AssetRegistry"),
                            load_abi("TestToken")])
    return SerializedSender(web3, account, decoder)


def ensure_provider_registered(settings: Settings, *, account: LocalAccount | None = None,
                               market: MarketReader | None = None) -> ProviderState:
    """Register the provider account (stake = the market's minimum, price = `invoke_price`,
    endpoint = the gateway's public URL, price token = the stake token) unless it already is;
    update endpoint and price when they changed. Idempotent."""
    if settings.invoke_price > MAX_UINT96:
        raise DappError(f"invoke_price {settings.invoke_price} does not fit a uint96")
    account = account or unlock_provider(settings)
    market = market or market_reader(settings, connect(settings.chain_rpc_url))
    with account_lock(account.address):  # the check and the registration at once
        return _register(settings, account, market)


def _register(settings: Settings, account: LocalAccount, market: MarketReader
              ) -> ProviderState:
    sender = provider_sender(market.web3, account)
    endpoint = settings.resolved_gateway_public_url
    state = market.provider(account.address, fresh=True)
    if not state.registered:
        stake, token = market.min_provider_stake(), market.stake_token()
        erc20 = market.web3.eth.contract(address=token, abi=load_abi("TestToken"))
        sender.approve_if_short(erc20, market.address, stake, "approve the provider stake")
        sender.send(market.contract.functions.registerProvider(
            endpoint, token, settings.invoke_price, stake), "registerProvider")
        log.info("registered %s as compute provider at %s (stake %d, price %d)",
                 account.address, endpoint, stake, settings.invoke_price)
    elif (state.endpoint, state.price) != (endpoint, settings.invoke_price):
        sender.send(market.contract.functions.updateProvider(
            endpoint, state.price_token, settings.invoke_price), "updateProvider")
        log.info("provider %s updated: endpoint %s, price %d", account.address, endpoint,
                 settings.invoke_price)
    state = market.provider(account.address, fresh=True)
    if state.exit_at:
        log.warning("provider %s is exiting the market: no new channels can be opened",
                    account.address)
    return state


def dev_provider_settings(settings: Settings) -> Settings:
    """For `make up`: dev account #3 as the gateway's provider account, imported into the
    keystore once (password: the configured one, else a dev password). Settings that already
    name a provider account are returned as they are."""
    if settings.provider_account is not None:
        return settings
    password = (settings.keystore_password.get_secret_value() if settings.keystore_password
                else DEV_PROVIDER_PASSWORD)
    keystore = Keystore(settings.resolved_keystore_dir)
    try:
        keystore.find(DEV_PROVIDER_NAME)
    except NotFound:
        dev = dev_account(DEV_PROVIDER_INDEX)
        keystore.import_key(DEV_PROVIDER_NAME, dev.key.hex(), password)
    return settings.with_overrides(provider_account=DEV_PROVIDER_NAME,
                                   keystore_password=SecretStr(password))
