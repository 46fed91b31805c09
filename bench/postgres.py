"""A throw-away PostgreSQL cluster for the benchmarks (Debian's `postgresql` binaries, as the
dapp tests use them): initdb in a temporary directory, started on a free port without fsync,
removed afterwards. None when the binaries are missing (the benchmark then says so)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from dapp.devstack.process import ManagedProcess
from dapp.ports import free_port

BIN_GLOB = "usr/lib/postgresql/*/bin"


def _as_postgres_user(argv: list[str]) -> list[str]:
    """Root may not run PostgreSQL: run it as the `postgres` system user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


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
    bin_dirs = sorted(Path("/").glob(BIN_GLOB))
    if not bin_dirs:
        yield None
        return
    bin_dir = bin_dirs[-1]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    subprocess.run(_as_postgres_user([str(bin_dir / "initdb"), "-D", str(data_dir), "-A",
                                      "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True)
    port = free_port()
    process = ManagedProcess(
        name="postgres",
        argv=_as_postgres_user([
            str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(data_dir),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
        ]),
        log_file=log_dir / f"bench-postgres-{port}.log",
    ).start()

    def ready() -> bool:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres"):
            return True

    try:
        process.wait_until(ready, 60)
        yield BenchPostgres(port)
    finally:
        process.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
