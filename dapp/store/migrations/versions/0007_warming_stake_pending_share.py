"""Stake that warms up before it earns, and curators' share cuts scheduled ahead (issue 13).

The registry now keeps a new stake out of the earning weight for one unbonding delay
(`Staked` carries its `activeAt`, `StakeActivated` moves it into the weight), and schedules a
cut of the curators' share one delay ahead (`CuratorShareScheduled`). What a curator or a
buyer needs to see of that:

* `stakes.warming`, `stakes.warming_active_at`: a curator's stake that does not earn yet, and
  from when it does (None: nothing warming up); `stakes.amount` stays the earning stake.
* `assets.warming_staked`: the asset's stake warming up (`total_staked` stays the earning
  stake, as the chain's `totalStaked`).
* `assets.pending_curator_share_bps`, `assets.curator_share_effective_at`: a scheduled cut.

Existing rows get 0 / None: they were written from a registry without warm-up, whose stakes
all earned. The zero defaults (in `Uint256`'s padded form) are dropped again after the rows
are filled, so that the schema equals the models, which set them in Python.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZERO = dapp.store.types.encode_uint256(0)


def _uint256(name: str) -> sa.Column[int]:
    return sa.Column(name, dapp.store.types.Uint256(length=78), nullable=False,
                     server_default=ZERO)


def upgrade() -> None:
    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.add_column(_uint256("warming"))
        batch_op.add_column(sa.Column("warming_active_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(_uint256("warming_staked"))
        batch_op.add_column(sa.Column("pending_curator_share_bps", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("curator_share_effective_at", sa.BigInteger(),
                                      nullable=True))
    for table, column in (("stakes", "warming"), ("assets", "warming_staked")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None,
                                  existing_type=dapp.store.types.Uint256(length=78),
                                  existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("curator_share_effective_at")
        batch_op.drop_column("pending_curator_share_bps")
        batch_op.drop_column("warming_staked")
    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.drop_column("warming_active_at")
        batch_op.drop_column("warming")
