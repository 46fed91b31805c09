"""Engine creation (SQLite in WAL mode by default, PostgreSQL by URL) and a health probe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dapp.errors import DatabaseUnavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def database_status(engine: Engine) -> str:
    """The backend's name when a trivial query works; DatabaseUnavailable otherwise."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(f"database {engine.url.render_as_string()} is unusable: "
                                  f"{error.__class__.__name__}") from error
    return engine.dialect.name


def describe_failure(error: OperationalError) -> str:
    """The driver's own words: "database is locked", "database or disk is full", ..."""
    return str(error.orig or error).splitlines()[0]


@contextmanager
def unavailable_on_failure(engine: Engine) -> Iterator[None]:
    """A database that refuses work (locked past the busy timeout, disk full, connection
    lost) as DatabaseUnavailable naming it; the transaction in flight has rolled back."""
    try:
        yield
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"database {engine.url.render_as_string()} is unavailable: "
            f"{describe_failure(error)}",
            hint="free disk space, or end what holds the database's write lock, then retry",
        ) from error
