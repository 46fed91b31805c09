"""Alembic environment: the store's metadata, on the connection `migrate()` hands in, or on
the URL given with `-x url=...` when run from the command line."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

import dapp.store.models  # noqa: F401  (registers every table)
from dapp.store.base import Base
from dapp.store.db import make_engine

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only the store's tables: a database may hold others that are not the store's."""
    return type_ != "table" or name in target_metadata.tables


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    return url or config.get_main_option("sqlalchemy.url") or ""


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata,
                      literal_binds=True, include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    configure(given)
else:
    engine = make_engine(database_url())
    with engine.begin() as connection:
        configure(connection)
    engine.dispose()
