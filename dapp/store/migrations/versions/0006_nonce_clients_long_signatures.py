"""Bounded sign-in nonces and contract-wallet voucher signatures.

* `auth_nonces.client` (nullable, indexed): the client address a gateway-issued nonce went to,
  so that the gateway can bound how many unused nonces one client holds (an anonymous
  `GET /v1/auth/nonce` flood stored a row per request before). Rows of earlier revisions have
  none and count only towards the total.
* `channel_vouchers.signature` widens from 300 to 1026 characters: the voucher header admits a
  signature of up to 1024 hex digits (an ERC-1271 wallet's may be long), and PostgreSQL
  refused the longer ones after the model had run, so such a call was never charged. SQLite
  does not enforce the length; batch mode rebuilds its table to carry the new type.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_nonces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_auth_nonces_client"), ["client"], unique=False)
    with op.batch_alter_table("channel_vouchers", schema=None) as batch_op:
        batch_op.alter_column("signature", existing_type=sa.String(length=300),
                              type_=sa.String(length=1026), existing_nullable=False)


def downgrade() -> None:
    # a signature longer than 300 characters would not fit the old column: keep the width
    with op.batch_alter_table("auth_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_nonces_client"))
        batch_op.drop_column("client")
