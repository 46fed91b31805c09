"""The store's schema: Alembic migrations equal the models, run idempotently and under
concurrency, on SQLite (WAL) and on a real PostgreSQL; uint256 values stay exact."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text

from dapp.store.base import Base
from dapp.store.db import make_engine
from dapp.store.migrate import current_revision, head_revision, migrate
from dapp.store.models import Asset, Offer
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


def test_migrations_and_uint256_on_postgresql(postgres: Postgres) -> None:
    engine = make_engine(postgres.create_database("schema_test"))
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert _schema_diff(engine) == []
    assert _offer_roundtrip(engine) == [0, 1, 10, 2**64 + 1, BIG]
    engine.dispose()
