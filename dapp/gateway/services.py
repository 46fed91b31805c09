"""The long-lived clients one gateway process holds: chain, IPFS, database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from web3 import Web3

from dapp.chain.client import connect
from dapp.config import Settings
from dapp.ipfs.client import IpfsClient
from dapp.store.db import make_engine


@dataclass
class Services:
    settings: Settings
    web3: Web3
    ipfs: IpfsClient
    engine: Engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            web3=connect(settings.chain_rpc_url),
            ipfs=IpfsClient(settings.ipfs_api_url, timeout_seconds=5.0),
            engine=make_engine(settings.resolved_database_url),
        )

    def close(self) -> None:
        self.ipfs.close()
        self.engine.dispose()
