"""DataDAOs indexed: members (shares, votes, delegate), the DAO's settings and share supply,
a queued proposal's eta, and the lookup of a DAO by its share token.

The new columns of existing tables get server defaults (0, "" or NULL) so that a database
with rows migrates; the indexer always writes them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UINT256_ZERO = "0" * dapp.store.types.UINT256_DIGITS


def upgrade() -> None:
    op.create_table(
        "dao_members",
        sa.Column("dao", sa.String(length=42), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("shares", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("votes", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("delegate", sa.String(length=42), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("dao", "account", name=op.f("pk_dao_members")),
    )
    with op.batch_alter_table("daos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("symbol", sa.String(length=64), nullable=False,
                                      server_default=""))
        for name in ("voting_delay", "voting_period", "execution_delay"):
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=False,
                                          server_default="0"))
        batch_op.add_column(sa.Column("proposal_threshold", dapp.store.types.Uint256(length=78),
                                      nullable=False, server_default=UINT256_ZERO))
        batch_op.add_column(sa.Column("quorum_numerator", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("total_shares", dapp.store.types.Uint256(length=78),
                                      nullable=False, server_default=UINT256_ZERO))
        batch_op.create_index(batch_op.f("ix_daos_token"), ["token"], unique=False)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eta", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_column("eta")
    with op.batch_alter_table("daos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daos_token"))
        for name in ("total_shares", "quorum_numerator", "proposal_threshold",
                     "execution_delay", "voting_period", "voting_delay", "symbol"):
            batch_op.drop_column(name)
    op.drop_table("dao_members")
