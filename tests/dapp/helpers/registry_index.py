"""The exchange's AssetRegistry driven over web3 and indexed by the real handlers into a fresh
SQLite store; the `exchange` fixture built from these is in conftest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import bind
from dapp.chain.deployments import load_deployment
from dapp.config import Settings
from dapp.indexer import Indexer
from dapp.ipfs.cid import cid_from_chain, cid_to_chain
from dapp.store.db import make_engine
from tests.dapp.conftest import CHAIN_ID, Chain, dev_web3, table_dump
from tests.dapp.helpers.buying import buy_call

DATASET, MODEL, ALGORITHM = 0, 1, 2
DOWNLOAD, COMPUTE = 0, 1
DDT = 10**18
DAY = 24 * 3600
BOOKKEEPING = ("state_journal", "block_hashes")
NOT_EVENT_DERIVED = ("pins", "cid_metadata", "metadata_tags", "metadata_tasks", "downloads")


@dataclass
class Exchange:
    web3: Web3
    registry: Contract
    token: Contract

    @property
    def accounts(self) -> list[str]:
        return list(self.web3.eth.accounts)

    def send(self, call: Any, sender: str) -> Any:
        receipt = self.web3.eth.wait_for_transaction_receipt(
            call.transact({"from": sender, "gas": 2_000_000}))
        assert receipt["status"] == 1, receipt
        return receipt

    def approve(self, owner: str) -> None:
        self.send(self.token.functions.approve(self.registry.address, 2**256 - 1), owner)

    def publish(self, publisher: str, kind: int, content: str, metadata: str, share_bps: int,
                offers: list[tuple[int, int, int]]) -> int:
        receipt = self.send(self.registry.functions.publish(
            kind, cid_to_chain(content), cid_to_chain(metadata), share_bps,
            [(self.token.address, price, duration, scope) for price, duration, scope in offers],
        ), publisher)
        published = self.registry.events.AssetPublished().process_receipt(receipt, DISCARD)
        return int(published[0]["args"]["assetId"])

    def buy(self, asset_id: int, offer_id: int, buyer: str, licensee: str | None = None) -> None:
        self.send(buy_call(self.registry, asset_id, offer_id, licensee or buyer), buyer)

    def now(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

    def rpc(self, method: str, *params: Any) -> Any:
        return self.web3.provider.make_request(method, list(params))["result"]  # type: ignore


def make_exchange(chain: Chain, deployments_file: Path) -> Exchange:
    """The deployed AssetRegistry and TestToken, the first eight dev accounts approved to spend
    (without limit) by the registry."""
    web3 = dev_web3(chain.rpc_url)
    deployment = load_deployment(deployments_file, CHAIN_ID)
    found = Exchange(web3=web3, registry=bind(web3, deployment, "AssetRegistry"),
                     token=bind(web3, deployment, "TestToken"))
    for account in found.accounts[:8]:
        found.approve(account)
    return found


def fake_cid(label: str) -> str:
    """A well-formed CID of bytes nobody stored (never pinned in these tests)."""
    return cid_from_chain(Web3.keccak(text=label), 0x55)


def make_indexer(chain: Chain, deployments_file: Path, tmp_path: Path, name: str = "index.db",
                 **settings: Any) -> Indexer:
    url = f"sqlite:///{tmp_path / name}"
    config = Settings(data_dir=tmp_path, chain_rpc_url=chain.rpc_url, database_url=url,
                      deployments_file=deployments_file, **settings)
    return Indexer(config, engine=make_engine(url))


def rows(engine: Engine, model: Any, **where: Any) -> list[Any]:
    statement = select(model).filter_by(**where)
    with engine.connect() as connection:
        return list(connection.execute(statement))


def event_state(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    return table_dump(engine, BOOKKEEPING + NOT_EVENT_DERIVED)


def assert_rebuild_and_other_ranges_agree(indexer: Indexer, chain: Chain,
                                          deployments_file: Path, tmp_path: Path,
                                          max_range: int) -> None:
    """Rebuilding from the stored events, and indexing from scratch in ranges of `max_range`
    blocks, give the event-derived state `indexer` has now."""
    before = event_state(indexer.db)
    assert indexer.rebuild() > 0
    assert event_state(indexer.db) == before
    other = make_indexer(chain, deployments_file, tmp_path, f"range-{max_range}.db",
                         indexer_max_range=max_range)
    other.run_once()
    assert event_state(other.db) == before
