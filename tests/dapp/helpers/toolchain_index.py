"""The indexer's machinery followed on the `Toolchain` ERC-20, before the exchange's contracts
exist: test handlers keep a journaled balance per account and an append-only transfer list,
the shape (running state + facts) of the real handlers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
)

from dapp.chain.events import DecodedEvent
from dapp.config import Settings
from dapp.indexer import Indexer
from dapp.indexer.contracts import ContractSpec
from dapp.indexer.handlers import HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.store.db import make_engine
from dapp.store.types import HASH32, Uint256
from tests.dapp.conftest import Chain, DeployedToken

ZERO = "0x" + "00" * 20
BOOKKEEPING = ("state_journal", "block_hashes")  # their exact rows depend on batch boundaries

test_tables = MetaData()
balances = Table(
    "test_balances", test_tables,
    Column("account", String(42), primary_key=True),
    Column("balance", Uint256, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", HASH32, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("tx_hash", HASH32, nullable=False),
)
transfers = Table(
    "test_transfers", test_tables,
    Column("block_number", BigInteger, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("sender", String(42), nullable=False),
    Column("recipient", String(42), nullable=False),
    Column("amount", Uint256, nullable=False),
    Column("block_hash", HASH32, nullable=False),
    Column("tx_hash", HASH32, nullable=False),
    info={"rollback": "delete"},
)


def on_transfer(writer: StateWriter, event: DecodedEvent) -> None:
    sender, recipient, amount = event.args["from"], event.args["to"], event.args["value"]
    writer.append(transfers, sender=sender, recipient=recipient, amount=amount)
    for account, delta in ((sender, -amount), (recipient, amount)):
        if account == ZERO:
            continue
        row = writer.get(balances, account=account)
        writer.upsert(balances, {"account": account},
                      balance=(row["balance"] if row else 0) + delta)


def token_handlers(extra: Callable[[StateWriter, DecodedEvent], None] | None = None
                   ) -> HandlerTable:
    table = HandlerTable(extra_tables={t.name: t for t in test_tables.sorted_tables})

    @table.on("Toolchain", "Transfer")
    def handle(writer: StateWriter, event: DecodedEvent) -> None:
        on_transfer(writer, event)
        if extra is not None:
            extra(writer, event)

    return table


def sqlite_url(tmp_path: Path, name: str = "index.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def make_indexer(chain: Chain, url: str, tokens: Sequence[DeployedToken],
                 handlers: HandlerTable | None = None, **settings: Any) -> Indexer:
    engine = make_engine(url)
    test_tables.create_all(engine)
    config = Settings(data_dir=Path("/nonexistent"), chain_rpc_url=chain.rpc_url,
                      database_url=url, **settings)
    specs = [ContractSpec("Toolchain", t.address, t.block) for t in tokens]
    return Indexer(config, engine=engine, handlers=handlers or token_handlers(), contracts=specs)


def indexed_balances(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {row.account: row.balance for row in connection.execute(select(balances))}
