"""The raw `events` table loses its indexes on `address` and `name`: nothing reads events by
either (the indexer's rebuild reads them in chain order, by the primary key), and every
indexed event paid for both — a third of the cost of inserting its row (issue 16, the
indexer's catch-up).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_name"))
        batch_op.drop_index(batch_op.f("ix_events_address"))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_name"), ["name"], unique=False)
