"""The store's schema: Alembic migrations equal the models, run idempotently and under
concurrency, on SQLite (WAL) and on a real PostgreSQL; uint256 values stay exact."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text

from dapp.store.base import Base
from dapp.store.db import make_engine
from dapp.store.migrate import current_revision, head_revision, migrate
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
