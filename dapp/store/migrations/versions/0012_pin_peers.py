"""Pins are tracked per peer of the pin backend (issue 16, "storage that survives a node").

`pin_peers`: each pinned CID's state on each peer of the backend that holds it (a Cluster's
allocated peers; the one Kubo node; the pinning service), as last read. `pins` gains the
backend that took the pin and its handle (a pinning service's request id), when its state is
next checked, and how many repairs (recover, re-pin away from a lost peer) it needed.

Named `0012_pin_peers` (not `0012`): another branch of issue 16 may add its own 0012.

Revision ID: 0012_pin_peers
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_pin_peers"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pin_peers",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("peer", sa.String(length=128), nullable=False),
        sa.Column("peer_name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("cid", "peer", name=op.f("pk_pin_peers")),
    )
    with op.batch_alter_table("pins") as batch:
        batch.add_column(sa.Column("backend", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("check_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("repairs", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.create_index(batch.f("ix_pins_check_at"), ["check_at"])


def downgrade() -> None:
    with op.batch_alter_table("pins") as batch:
        batch.drop_index(batch.f("ix_pins_check_at"))
        batch.drop_column("repairs")
        batch.drop_column("check_at")
        batch.drop_column("request_id")
        batch.drop_column("backend")
    op.drop_table("pin_peers")
