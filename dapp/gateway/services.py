"""The long-lived clients one gateway process holds: chain, IPFS, database, auth state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sqlalchemy import Engine
from web3 import Web3

from dapp.chain.client import chain_status, connect
from dapp.config import Settings
from dapp.gateway.auth.nonces import NonceStore
from dapp.gateway.auth.sessions import SessionStore
from dapp.gateway.auth.siwe_login import SiwePolicy
from dapp.ipfs.client import IpfsClient
from dapp.market.provider import ProviderAccount
from dapp.store.catalog import Catalog
from dapp.store.db import make_engine
from dapp.store.migrate import migrate


@dataclass
class Services:
    settings: Settings
    web3: Web3
    ipfs: IpfsClient
    engine: Engine
    nonces: NonceStore
    sessions: SessionStore
    _chain_id: int | None = field(default=None, init=False)
    _catalog: Catalog | None = field(default=None, init=False)
    _provider: ProviderAccount | None = field(default=None, init=False)
    _provider_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(settings.resolved_database_url)
        return cls(
            settings=settings,
            web3=connect(settings.chain_rpc_url),
            ipfs=IpfsClient(settings.ipfs_api_url, timeout_seconds=5.0),
            engine=engine,
            nonces=NonceStore(engine, lifetime_seconds=settings.nonce_lifetime_seconds,
                              max_per_client=settings.nonce_max_per_client,
                              max_outstanding=settings.nonce_max_outstanding),
            sessions=SessionStore(engine),
        )

    @property
    def chain_id(self) -> int:
        """The chain's id, asked once (ChainUnavailable until the chain answers)."""
        if self._chain_id is None:
            self._chain_id = chain_status(self.web3).chain_id
        return self._chain_id

    def catalog(self) -> Catalog:
        """The store's read side; migrates the schema on first use (the gateway starts, and
        answers 503, while the database is down)."""
        if self._catalog is None:
            migrate(self.engine)
            self._catalog = Catalog(self.engine)
        return self._catalog

    def provider_account(self) -> ProviderAccount:
        """The gateway's provider account, unlocked once and shared by the job worker, the
        voucher redeemer and registration (NotAProvider when none is configured; the chain
        or deployment errors until they are there, retried by the callers)."""
        with self._provider_lock:
            if self._provider is None:
                self._provider = ProviderAccount.open(
                    self.settings, self.web3,
                    send_lock_engine=self.engine if self.shared_database else None)
            return self._provider

    @property
    def shared_database(self) -> bool:
        """Whether several gateway processes may share this database (PostgreSQL): then the
        rate limit and the provider account's sends are coordinated through it."""
        return self.engine.dialect.name == "postgresql"

    @property
    def gateway_origin(self) -> str:
        parsed = urlparse(self.settings.resolved_gateway_public_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    def siwe_policy(self) -> SiwePolicy:
        return SiwePolicy(
            domain=urlparse(self.gateway_origin).netloc,
            origin=self.gateway_origin,
            chain_id=self.chain_id,
        )

    def close(self) -> None:
        self.ipfs.close()
        self.engine.dispose()
