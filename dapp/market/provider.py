"""The provider account in the ComputeMarket, as one gateway process holds it: unlocked from the
keystore once (`ProviderAccount.open`, kept by the gateway's services), with the one
serialized sender (`ProviderAccount.sender`) that every provider transaction goes through —
the job worker's acceptances, results and declines, the redeemer's `redeemMany`,
registration, stake and withdrawals. Each send takes its nonce from the node's pending count,
so two sends of one account at once would collide: `SerializedSender` holds a per-account lock
for the whole send. Several gateway processes sharing one PostgreSQL database and one provider
account elect one sender at a time: the lock is then also a PostgreSQL advisory lock on the
account (`send_lock`), held while a transaction is signed, sent and mined.

Registration (approve + `registerProvider` with the gateway's public URL and `invoke_price`)
stakes the market's minimum; every job the worker accepts locks `jobCollateral` of the stake,
so the job worker tops the stake up to the minimum plus `concurrent_jobs` collaterals
(`ensure_job_stake`). Settled jobs credit the provider's fee (and a lost dispute's bond) to
`claimable`; `withdraw_credits` pulls them to the provider account. For the local stack a dev
account is imported into a keystore of the stack's own (`dev_provider_settings`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_account.signers.local import LocalAccount
from pydantic import SecretStr
from sqlalchemy import Engine, text
from web3 import Web3
from web3.contract.contract import ContractFunction

from dapp.chain.accounts import Keystore, dev_account
from dapp.chain.constants import MAX_UINT96
from dapp.chain.contracts import load_abi
from dapp.chain.deployments import load_deployment
from dapp.chain.transactions import ErrorDecoder, SentTransaction, TransactionSender
from dapp.config import Settings
from dapp.errors import DappError, NotFound
from dapp.market.reader import MarketReader, ProviderState, market_error_decoder

log = logging.getLogger("dapp.market.provider")

DEV_PROVIDER_INDEX = 3  # of DEV_MNEMONIC; 0 deploys, 1 publishes the demo asset
DEV_PROVIDER_NAME = "dev-provider"
DEV_PROVIDER_PASSWORD = "dev-provider-password"  # the dev chain's keys are public anyway
#: open jobs the stake backs at once, beyond what the minimum stake backs
DEFAULT_CONCURRENT_JOBS = 8


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


_account_locks: dict[str, threading.RLock] = {}
_account_locks_guard = threading.Lock()


def account_lock(address: str) -> threading.RLock:
    """One lock per sending account in this process."""
    with _account_locks_guard:
        return _account_locks.setdefault(address.lower(), threading.RLock())


_held = threading.local()  # the accounts whose database lock this thread holds


def advisory_key(address: str) -> int:
    """The PostgreSQL advisory lock key of an account's sends (a signed 64-bit integer)."""
    digest = Web3.keccak(text=f"datadao-provider-send:{address.lower()}")
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def send_lock(address: str, engine: Engine | None = None) -> Iterator[None]:
    """One sender of `address` at a time: in this process (a lock), and, with `engine` (the
    PostgreSQL database the gateways share), across every process on it (an advisory lock
    held by a transaction, so a process that dies releases it). Reentrant in a thread."""
    with account_lock(address):
        held: set[str] = _held.__dict__.setdefault("accounts", set())
        if engine is None or address.lower() in held:
            yield
            return
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": advisory_key(address)})
            held.add(address.lower())
            try:
                yield
            finally:
                held.discard(address.lower())


class SerializedSender(TransactionSender):
    """A TransactionSender whose sends go one at a time per account: in this process, and with
    `lock_engine` across the processes sharing that PostgreSQL database. Each send takes its
    nonce from the node's pending count, so two at once would collide."""

    def __init__(self, web3: Web3, account: LocalAccount, decoder: ErrorDecoder,
                 lock_engine: Engine | None = None) -> None:
        super().__init__(web3, account, decoder)
        self.lock_engine = lock_engine

    def send(self, function: ContractFunction, what: str) -> SentTransaction:
        with send_lock(self.address, self.lock_engine):
            return super().send(function, what)


def market_reader(settings: Settings, web3: Web3) -> MarketReader:
    """The deployed ComputeMarket of the chain `web3` is on (DeploymentMissing before)."""
    deployment = load_deployment(settings.resolved_deployments_file, web3.eth.chain_id)
    return MarketReader.from_deployment(web3, deployment)


class ProviderAccount:
    """The provider account on one market: its address, its one sender, its registration."""

    def __init__(self, account: LocalAccount, market: MarketReader,
                 send_lock_engine: Engine | None = None) -> None:
        self.account = account
        self.market = market
        self.send_lock_engine = send_lock_engine
        self.sender: TransactionSender = SerializedSender(
            market.web3, account, market_error_decoder(), lock_engine=send_lock_engine)

    @classmethod
    def open(cls, settings: Settings, web3: Web3,
             send_lock_engine: Engine | None = None) -> ProviderAccount:
        """Unlock the configured provider account (NotAProvider without one) on the market
        deployed on `web3`'s chain. A process opens it once and shares it. With
        `send_lock_engine` (the PostgreSQL database several gateways share) its sends are
        serialized across those processes too."""
        account = unlock_provider(settings)
        return cls(account, market_reader(settings, web3), send_lock_engine)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def ensure_registered(self, settings: Settings) -> ProviderState:
        """Register (stake = the market's minimum, price = `invoke_price`, endpoint = the
        gateway's public URL, price token = the stake token) unless registered already;
        update endpoint and price when they changed. Idempotent."""
        if settings.invoke_price > MAX_UINT96:
            raise DappError(f"invoke_price {settings.invoke_price} does not fit a uint96")
        # the check and the registration at once, in every process sharing the account
        with send_lock(self.address, self.send_lock_engine):
            return self._register(settings)

    def _register(self, settings: Settings) -> ProviderState:
        market, sender = self.market, self.sender
        endpoint = settings.resolved_gateway_public_url
        state = market.provider(self.address, fresh=True)
        if not state.registered:
            stake, token = market.min_provider_stake(), market.stake_token()
            erc20 = market.web3.eth.contract(address=token, abi=load_abi("TestToken"))
            sender.approve_if_short(erc20, market.address, stake, "approve the provider stake")
            sender.send(market.contract.functions.registerProvider(
                endpoint, token, settings.invoke_price, stake), "registerProvider")
            log.info("registered %s as compute provider at %s (stake %d, price %d)",
                     self.address, endpoint, stake, settings.invoke_price)
        elif (state.endpoint, state.price) != (endpoint, settings.invoke_price):
            sender.send(market.contract.functions.updateProvider(
                endpoint, state.price_token, settings.invoke_price), "updateProvider")
            log.info("provider %s updated: endpoint %s, price %d", self.address, endpoint,
                     settings.invoke_price)
        state = market.provider(self.address, fresh=True)
        if state.exit_at:
            log.warning("provider %s is exiting the market: no new channels can be opened",
                        self.address)
        return state

    def ensure_job_stake(self, concurrent_jobs: int = DEFAULT_CONCURRENT_JOBS) -> int:
        """Top the registered provider's stake up to min stake + `concurrent_jobs` x
        collateral (or as far as its stake-token balance goes); returns the stake."""
        market, me = self.market, self.address
        stake = market.provider(me, fresh=True).stake
        wanted = market.min_provider_stake() + concurrent_jobs * market.job_collateral()
        if stake >= wanted:
            return stake
        token = market.web3.eth.contract(address=market.stake_token(),
                                         abi=load_abi("TestToken"))
        amount = min(wanted - stake, int(token.functions.balanceOf(me).call()))
        if amount <= 0:
            log.warning("provider %s cannot add stake: no %s left", me, token.address)
            return stake
        self.sender.send(token.functions.approve(market.address, amount),
                         "approve more provider stake")
        self.sender.send(market.contract.functions.addStake(amount),
                         "add provider stake for jobs")
        log.info("provider %s staked %d more for up to %d concurrent jobs", me, amount,
                 concurrent_jobs)
        return stake + amount


    def withdraw_credits(self) -> dict[str, int]:
        """`withdraw` every credited balance of the provider's price and stake tokens (fees
        of finalized jobs, bonds of disputes it won): {token: amount withdrawn}."""
        market, me = self.market, self.address
        state = market.provider(me, fresh=True)
        tokens = {market.stake_token()}
        if state.registered:
            tokens.add(state.price_token)
        withdrawn = {}
        for token in sorted(tokens):
            amount = market.claimable(me, token)
            if amount:
                self.sender.send(market.contract.functions.withdraw(token),
                                 f"withdraw {amount} credited of {token}")
                withdrawn[token] = amount
                log.info("provider %s withdrew %d of %s credited by the market", me, amount,
                         token)
        return withdrawn


def dev_provider_keystore(settings: Settings) -> Path:
    """Where `make up` keeps its provider's key: a keystore of its own under the data dir, so
    the user's keystore (`datadao account list`) holds only the accounts the user added."""
    return settings.data_dir / "provider" / "keystore"


def dev_provider_settings(settings: Settings) -> Settings:
    """For `make up`: dev account #3 as the gateway's provider account, imported once into the
    stack's own keystore (`dev_provider_keystore`, with a dev password: the dev chain's keys
    are public). A `dev-provider` that an older `make up` put into the user's keystore is moved
    out of it. Settings that already name a provider account are returned as they are."""
    if settings.provider_account is not None:
        return settings
    dev = dev_account(DEV_PROVIDER_INDEX)
    _remove_old_dev_provider(Keystore(settings.resolved_keystore_dir), dev.address)
    keystore = Keystore(dev_provider_keystore(settings))
    try:
        keystore.find(DEV_PROVIDER_NAME)
    except NotFound:
        keystore.import_key(DEV_PROVIDER_NAME, dev.key.hex(), DEV_PROVIDER_PASSWORD)
    return settings.with_overrides(provider_account=DEV_PROVIDER_NAME,
                                   keystore_dir=keystore.directory,
                                   keystore_password=SecretStr(DEV_PROVIDER_PASSWORD))


def _remove_old_dev_provider(keystore: Keystore, address: str) -> None:
    try:
        entry = keystore.find(DEV_PROVIDER_NAME)
    except NotFound:
        return
    if entry.address.lower() == address.lower():  # the file `up` wrote, not a user's own
        entry.path.unlink()
        log.info("moved %s out of the user keystore %s", DEV_PROVIDER_NAME, keystore.directory)
