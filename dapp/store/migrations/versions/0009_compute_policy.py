"""The dataset owner's compute policy (issue 14): which algorithms may run on a dataset.

* `trusted_algorithms`: one row per (dataset, algorithm) the owner listed (`AlgorithmTrusted`),
  pinned to `version` (0 = latest); `trusted` turns False at `AlgorithmUntrusted`.
* `assets.compute_any_algorithm`, `assets.max_result_bytes`, `assets.log_tail_bytes`:
  `ComputePolicySet` (existing rows: False / None / 0, the registry's defaults; the server
  defaults are dropped once they are filled).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_algorithms",
        sa.Column("dataset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("algorithm_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "algorithm_id", name=op.f("pk_trusted_algorithms")),
    )
    with op.batch_alter_table("trusted_algorithms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trusted_algorithms_algorithm_id"), ["algorithm_id"],
                              unique=False)
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compute_any_algorithm", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("max_result_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("log_tail_bytes", sa.BigInteger(), nullable=False,
                                      server_default="0"))
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.alter_column("compute_any_algorithm", server_default=None,
                              existing_type=sa.Boolean(), existing_nullable=False)
        batch_op.alter_column("log_tail_bytes", server_default=None,
                              existing_type=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("log_tail_bytes")
        batch_op.drop_column("max_result_bytes")
        batch_op.drop_column("compute_any_algorithm")
    with op.batch_alter_table("trusted_algorithms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_algorithms_algorithm_id"))
    op.drop_table("trusted_algorithms")
