"""A throw-away PostgreSQL cluster from Debian's `postgresql` binaries, for the dapp tests and
the benchmarks: initdb in a temporary directory, started on a free port without fsync, removed
afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from dapp.devstack.process import ManagedProcess
from dapp.ports import free_port

BIN_GLOB = "usr/lib/postgresql/*/bin"


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory; None when none is installed."""
    bin_dirs = sorted(Path("/").glob(BIN_GLOB))
    return bin_dirs[-1] if bin_dirs else None


def _as_postgres_user(argv: list[str]) -> list[str]:
    """Root may not run PostgreSQL: run it as the `postgres` system user (Debian's)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def running_postgres(bin_dir: Path, log_dir: Path, name: str = "postgres"
                     ) -> Iterator[tuple[ManagedProcess, int]]:
    """A fresh cluster's process and port, ready for connections; stopped and removed after."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    subprocess.run(_as_postgres_user([str(bin_dir / "initdb"), "-D", str(data_dir), "-A",
                                      "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True)
    port = free_port()
    process = ManagedProcess(
        name="postgres",
        argv=_as_postgres_user([
            str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port),
            "-k", str(data_dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
        ]),
        log_file=log_dir / f"{name}-{port}.log",
    ).start()

    def ready() -> bool:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres"):
            return True

    try:
        process.wait_until(ready, 60)
        yield process, port
    finally:
        process.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
