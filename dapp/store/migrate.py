"""Bring a database to the newest schema: Alembic's `upgrade head`, run in-process.

Several processes (the indexer, gateway replicas) may start at once against one database, so
the upgrade holds a lock for its whole run: `BEGIN IMMEDIATE` on SQLite (whose DDL is
transactional inside it), an advisory transaction lock on PostgreSQL. The loser waits, then
finds the schema current and does nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x44415441  # "DATA": one advisory lock id for schema upgrades


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def migrate(engine: Engine, target: str = "head") -> None:
    """Upgrade the store's tables to the newest revision (a no-op when they are current), or
    to `target` (tests of a migration start from the revision before it)."""
    config = alembic_config()
    with engine.connect() as connection:
        _lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, target)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
