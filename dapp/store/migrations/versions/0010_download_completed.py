"""A download log row says whether its request completed (issue 18).

`downloads.completed`: the request was streamed to its end, and its end was the file's last
byte (a whole-file download, or the last part of a resumed one). The catalog's public
"downloads" count is the number of distinct accounts with such a row, so cut, failed and
repeated requests no longer count. Rows from before this revision get False: their outcome was
not recorded. The default is dropped after the rows are filled, so that the schema equals the
model, which sets it in Python.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.alter_column("completed", server_default=None, existing_type=sa.Boolean(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.drop_column("completed")
