"""The job worker's scan survives a reorg (issue 18): the hash of the block before its cursor,
and a window of hashes of the blocks it read, to find where to scan again from.

Existing cursors get no hash (NULL): the first scan after the upgrade records one; until then
such a cursor is trusted as it is.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provider_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_hash", sa.String(length=66), nullable=True))
    op.create_table(
        "provider_scan_hashes",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("market", "provider", "block_number",
                                name=op.f("pk_provider_scan_hashes")),
    )


def downgrade() -> None:
    op.drop_table("provider_scan_hashes")
    with op.batch_alter_table("provider_cursors", schema=None) as batch_op:
        batch_op.drop_column("block_hash")
