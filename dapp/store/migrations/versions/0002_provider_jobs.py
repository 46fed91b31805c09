"""The gateway's work as a compute provider: its jobs' local state and its log cursor.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_cursors",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("market", "provider", name=op.f("pk_provider_cursors")),
    )
    op.create_table(
        "provider_jobs",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("algorithm_id", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("result_cid", sa.String(length=128), nullable=True),
        sa.Column("result_hash", sa.String(length=66), nullable=True),
        sa.Column("result_size", sa.BigInteger(), nullable=True),
        sa.Column("result_name", sa.String(length=200), nullable=True),
        sa.Column("result_sealed_key", sa.String(length=200), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("market", "job_id", name=op.f("pk_provider_jobs")),
    )
    with op.batch_alter_table("provider_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_jobs_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_jobs_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("provider_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_jobs_state"))
        batch_op.drop_index(batch_op.f("ix_provider_jobs_buyer"))

    op.drop_table("provider_jobs")
    op.drop_table("provider_cursors")
