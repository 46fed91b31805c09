"""Models declare the tasks they serve (issue 17, routing by task): `metadata_tasks` holds the
`service.tasks` of every valid metadata document, so the catalog finds the models of a task
(`GET /v1/models?task=`). Documents read before this revision that declared a service were
stored as invalid (the field was unknown then) and have no rows here until read again.

Revision ID: 0013
Revises: 0012_pin_peers
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012_pin_peers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metadata_tasks",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("cid", "task", name=op.f("pk_metadata_tasks")),
    )
    op.create_index(op.f("ix_metadata_tasks_task"), "metadata_tasks", ["task"])


def downgrade() -> None:
    op.drop_index(op.f("ix_metadata_tasks_task"), table_name="metadata_tasks")
    op.drop_table("metadata_tasks")
