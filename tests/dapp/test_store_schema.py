"""The store's schema: Alembic migrations equal the models, run idempotently and under
concurrency, on SQLite (WAL) and on a real PostgreSQL; uint256 values stay exact; the
gateway's tables that create_all made before revision 0005 are adopted with their rows."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
)

from dapp.gateway.auth.nonces import NonceStore
from dapp.gateway.vouchers import VoucherLedger
from dapp.store.base import Base
from dapp.store.db import make_engine
from dapp.store.migrate import alembic_config, current_revision, head_revision, migrate
from dapp.store.models import Asset, ComputeJob, ComputeProvider, Offer
from dapp.store.types import encode_uint256
from tests.dapp.conftest import Postgres

BIG = 2**256 - 1


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _offer_roundtrip(engine: Engine) -> list[int]:
    values = [0, 1, 10, 2**64 + 1, BIG]
    with engine.begin() as connection:
        for offer_id, price in enumerate(values):
            connection.execute(insert(Offer).values(
                asset_id=1, offer_id=offer_id, token="0x" + "11" * 20, price=price, duration=0,
                scope="download", active=True, block_number=1, block_hash="0x" + "00" * 32,
                log_index=offer_id, tx_hash="0x" + "00" * 32))
    with engine.connect() as connection:
        return list(connection.execute(select(Offer.price).order_by(Offer.price)).scalars())


def test_migrations_create_exactly_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    migrate(engine)  # current: nothing to do
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert _schema_diff(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_uint256_columns_are_exact_and_ordered_numerically(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    assert _offer_roundtrip(engine) == [0, 1, 10, 2**64 + 1, BIG]
    assert encode_uint256(10) > encode_uint256(9)
    with pytest.raises(Exception, match="not a uint256"), engine.begin() as connection:
        connection.execute(insert(Asset).values(
            asset_id=1, owner="0x" + "11" * 20, kind="dataset", content_cid="c",
            metadata_cid="m", version_count=1, curator_share_bps=0, published_block=1,
            published_tx="0x", total_staked=2**256, block_number=1, block_hash="0x",
            log_index=0, tx_hash="0x"))


def _migrate_in_child(url: str) -> None:
    migrate(make_engine(url))


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_migrate_in_child, args=(url,)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert current_revision(make_engine(url)) == head_revision()


def _index_before_0004(engine: Engine) -> None:
    """A provider that changed its price and a job with a result, indexed at revision 0003:
    the rows without the new columns, and the raw events that hold them."""
    provider, token = "0x" + "aa" * 20, "0x" + "bb" * 20
    origin = {"block_hash": "0x" + "00" * 32, "tx_hash": "0x" + "00" * 32}
    args = [("ProviderRegistered", {"provider": provider, "endpoint": "http://a",
                                    "priceToken": token, "price": 5, "stake": 10**20}),
            ("JobCreated", {"jobId": 1, "buyer": provider, "provider": provider,
                            "datasetId": 1, "algorithmId": 2, "token": token,
                            "providerFee": 5, "dataFee": 1, "collateral": 50 * 10**18,
                            "deadline": 99}),
            ("ProviderUpdated", {"provider": provider, "endpoint": "http://b",
                                 "priceToken": token, "price": BIG >> 160}),
            ("ResultSubmitted", {"jobId": 1, "resultCid": {"digest": "0x", "codec": 85},
                                 "resultHash": "0x" + "cd" * 32, "challengeEnd": 4242})]
    row = {"block_number": 1, "log_index": 0, **origin}
    with engine.begin() as connection:
        for index, (name, values) in enumerate(args):
            connection.execute(text(
                "INSERT INTO events (chain_id, block_number, log_index, block_hash, tx_hash, "
                "address, contract, name, args) VALUES (1337, :block, :index, :block_hash, "
                ":tx_hash, :address, 'ComputeMarket', :name, :args)"),
                {"block": 10 + index, "index": 0, "address": token, "name": name,
                 "args": json.dumps(values), **origin})
        connection.execute(text(
            "INSERT INTO compute_providers (address, endpoint, stake, active, block_number, "
            "block_hash, log_index, tx_hash) VALUES (:address, 'http://b', :stake, true, "
            ":block_number, :block_hash, :log_index, :tx_hash)"),
            {"address": provider, "stake": encode_uint256(10**20), **row})
        connection.execute(text(
            "INSERT INTO compute_jobs (job_id, buyer, provider, dataset_id, algorithm_id, token, "
            "amount, deadline, status, block_number, block_hash, log_index, tx_hash) VALUES "
            "(1, :address, :address, 1, 2, :token, :amount, 99, 'submitted', :block_number, "
            ":block_hash, :log_index, :tx_hash)"),
            {"address": provider, "token": token, "amount": encode_uint256(6), **row})


def _check_0004_filled_the_new_columns(engine: Engine) -> None:
    with engine.connect() as connection:
        assert list(connection.execute(select(
            ComputeProvider.price_token, ComputeProvider.price))) == [("0x" + "bb" * 20,
                                                                     BIG >> 160)]
        assert list(connection.execute(select(ComputeJob.collateral, ComputeJob.challenge_end))
                    ) == [(50 * 10**18, 4242)]


def test_0004_fills_prices_and_collateral_from_the_stored_events(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine, "0003")
    _index_before_0004(engine)
    migrate(engine)
    _check_0004_filled_the_new_columns(engine)


GATEWAY_TABLES = ("channel_vouchers", "voucher_ledger_scope", "auth_nonces")


def _gateway_tables_before_0005() -> MetaData:
    """The tables as the gateway defined them, and made with `create_all()` on first use,
    before revision 0005 gave them to the store (copied from dapp/gateway/vouchers.py and
    dapp/gateway/auth/nonces.py of that time)."""
    metadata = MetaData()
    Table("channel_vouchers", metadata,
          Column("channel_id", String(80), primary_key=True),
          Column("cumulative_amount", String(78), nullable=False),
          Column("signature", String(300), nullable=False),
          Column("redeemed_amount", String(78), nullable=False),
          Column("first_unredeemed_at", BigInteger, nullable=True),
          Column("updated_at", BigInteger, nullable=False),
          Column("redeem_tx", String(80), nullable=True))
    Table("voucher_ledger_scope", metadata,
          Column("id", Integer, primary_key=True),
          Column("chain_id", BigInteger, nullable=False),
          Column("market", String(42), nullable=False))
    Table("auth_nonces", metadata,
          Column("nonce", String(80), primary_key=True),
          Column("issued_at", BigInteger, nullable=False),
          Column("expires_at", BigInteger, nullable=False),
          Column("used_at", BigInteger, nullable=True))
    return metadata


def _columns(engine: Engine, table: str) -> tuple[object, ...]:
    inspector = inspect(engine)
    return (tuple((c["name"], str(c["type"]), c["nullable"], c.get("default"))
                  for c in inspector.get_columns(table)),
            tuple(inspector.get_pk_constraint(table)["constrained_columns"]))


def _check_0005_made_the_tables_create_all_made(migrated: Engine, legacy: Engine) -> None:
    for table in GATEWAY_TABLES:
        assert _columns(migrated, table) == _columns(legacy, table), table


def _gateway_rows_before_0005(engine: Engine) -> tuple[str, str]:
    """A database at 0004 on which the gateway's create_all already made its tables, with an
    unredeemed voucher, the ledger's market and two nonces (one issued, one spent)."""
    _gateway_tables_before_0005().create_all(engine)
    issued, spent = "ab" * 16, "req:0xabc:1"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO channel_vouchers (channel_id, cumulative_amount, signature, "
            "redeemed_amount, first_unredeemed_at, updated_at) VALUES "
            "('7', :amount, '0xsig', :redeemed, 100, 100)"),
            {"amount": str(BIG).zfill(78), "redeemed": str(5).zfill(78)})
        connection.execute(text(
            "INSERT INTO voucher_ledger_scope (id, chain_id, market) "
            "VALUES (1, 1337, :market)"), {"market": "0x" + "ab" * 20})
        connection.execute(text(
            "INSERT INTO auth_nonces (nonce, issued_at, expires_at, used_at) VALUES "
            "(:issued, 1, 4102444800, NULL), (:spent, 1, 4102444800, 1)"),
            {"issued": issued, "spent": spent})
    return issued, spent


def _check_0005_kept_the_gateway_rows(engine: Engine, issued: str, spent: str) -> None:
    assert current_revision(engine) == head_revision()
    assert _schema_diff(engine) == []
    ledger = VoucherLedger(engine)
    ledger.bind(1337, "0x" + "AB" * 20)  # the stored market: accepted
    stored = ledger.latest("7")
    assert stored is not None
    assert (stored.cumulative_amount, stored.redeemed_amount, stored.signature) == (
        BIG, 5, "0xsig")
    assert [v.channel_id for v in ledger.pending()] == ["7"]
    nonces = NonceStore(engine)
    nonces.consume(issued)
    with pytest.raises(Exception, match="already used"):
        nonces.consume_client_nonce(spent, 4102444800)


def _downgrade(engine: Engine, target: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, target)
        connection.commit()


def test_0005_adopts_the_gateway_tables_that_create_all_made_keeping_their_rows(
        tmp_path: Path) -> None:
    legacy = make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    migrate(legacy, "0004")
    issued, spent = _gateway_rows_before_0005(legacy)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(fresh, "0005")  # 0006 then widens a column and adds one
    _check_0005_made_the_tables_create_all_made(fresh, legacy)
    migrate(legacy)
    _check_0005_kept_the_gateway_rows(legacy, issued, spent)
    assert _schema_diff(legacy) == []  # 0006 on adopted tables too
    _downgrade(legacy, "0004")  # keeps them: they were the gateway's at 0004
    assert set(GATEWAY_TABLES) <= set(inspect(legacy).get_table_names())
    migrate(legacy)
    assert current_revision(legacy) == head_revision()


def test_migrations_and_uint256_on_postgresql(postgres: Postgres) -> None:
    engine = make_engine(postgres.create_database("schema_test"))
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert _schema_diff(engine) == []
    assert _offer_roundtrip(engine) == [0, 1, 10, 2**64 + 1, BIG]
    engine.dispose()
    engine = make_engine(postgres.create_database("schema_0004"))
    migrate(engine, "0003")
    _index_before_0004(engine)
    migrate(engine)
    _check_0004_filled_the_new_columns(engine)
    engine.dispose()
    fresh = make_engine(postgres.create_database("schema_0005_fresh"))
    migrate(fresh, "0005")  # 0006 then widens a column and adds one
    legacy = make_engine(postgres.create_database("schema_0005"))
    migrate(legacy, "0004")
    issued, spent = _gateway_rows_before_0005(legacy)
    _check_0005_made_the_tables_create_all_made(fresh, legacy)
    migrate(legacy)
    _check_0005_kept_the_gateway_rows(legacy, issued, spent)
    assert _schema_diff(legacy) == []  # 0006 on adopted tables too
    assert {table: inspect(legacy).get_pk_constraint(table)["name"] for table in GATEWAY_TABLES
            } == {table: f"pk_{table}" for table in GATEWAY_TABLES}
    for engine in (fresh, legacy):
        engine.dispose()
