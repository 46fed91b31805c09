"""A throw-away PostgreSQL cluster for the benchmarks (Debian's `postgresql` binaries, as the
dapp tests use them): initdb in a temporary directory, started on a free port without fsync,
removed afterwards. None when the binaries are missing (the benchmark then says so)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from dapp.devstack.postgres import postgres_bin_dir
from dapp.devstack.postgres import running_postgres as postgres_cluster


class BenchPostgres:
    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)


@contextmanager
def running_postgres(log_dir: Path) -> Iterator[BenchPostgres | None]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        yield None
        return
    with postgres_cluster(bin_dir, log_dir, "bench-postgres") as (_, port):
        yield BenchPostgres(port)
