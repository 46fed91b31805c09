"""Compute providers' price and price token; a job's collateral and challenge end.

Rows indexed before this revision are filled from the stored raw events (`events` keeps every
decoded log): the last `ProviderRegistered` / `ProviderUpdated` of each provider gives its
price, `JobCreated` a job's collateral, `ResultSubmitted` its challenge end. The new columns
get server defaults first, so a provider or job without such an event keeps 0 / "" / NULL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UINT256_ZERO = "0" * dapp.store.types.UINT256_DIGITS
MARKET = "ComputeMarket"


def upgrade() -> None:
    with op.batch_alter_table("compute_providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_token", sa.String(length=42), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("price", dapp.store.types.Uint256(length=78),
                                      nullable=False, server_default=UINT256_ZERO))
    with op.batch_alter_table("compute_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collateral", dapp.store.types.Uint256(length=78),
                                      nullable=False, server_default=UINT256_ZERO))
        batch_op.add_column(sa.Column("challenge_end", sa.BigInteger(), nullable=True))
    _fill_from_stored_events()


def _fill_from_stored_events() -> None:
    events = sa.table("events", sa.column("block_number"), sa.column("log_index"),
                      sa.column("contract"), sa.column("name"), sa.column("args", sa.JSON))
    providers = sa.table("compute_providers", sa.column("address"),
                         sa.column("price_token"),
                         sa.column("price", dapp.store.types.Uint256(length=78)))
    jobs = sa.table("compute_jobs", sa.column("job_id"),
                    sa.column("collateral", dapp.store.types.Uint256(length=78)),
                    sa.column("challenge_end"))
    names = ("ProviderRegistered", "ProviderUpdated", "JobCreated", "ResultSubmitted")
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(events.c.name, events.c.args)
        .where(events.c.contract == MARKET, events.c.name.in_(names))
        .order_by(events.c.block_number, events.c.log_index)).all()
    for name, args in rows:  # in chain order: the last price of a provider wins
        if name in ("ProviderRegistered", "ProviderUpdated"):
            connection.execute(providers.update()
                               .where(providers.c.address == args["provider"])
                               .values(price_token=args["priceToken"], price=int(args["price"])))
        elif name == "JobCreated":
            connection.execute(jobs.update().where(jobs.c.job_id == int(args["jobId"]))
                               .values(collateral=int(args["collateral"])))
        else:
            connection.execute(jobs.update().where(jobs.c.job_id == int(args["jobId"]))
                               .values(challenge_end=int(args["challengeEnd"])))


def downgrade() -> None:
    with op.batch_alter_table("compute_jobs", schema=None) as batch_op:
        batch_op.drop_column("challenge_end")
        batch_op.drop_column("collateral")
    with op.batch_alter_table("compute_providers", schema=None) as batch_op:
        batch_op.drop_column("price")
        batch_op.drop_column("price_token")
