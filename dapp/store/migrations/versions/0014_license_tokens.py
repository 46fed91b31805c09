"""Licence tokens (issue 19): `license_tokens`, one row per (token id, holder) of the
LicenseTokens contract (ERC-1155), with the licence's end (None = perpetual, 0 = moved away).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "license_tokens",
        sa.Column("token_id", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("transferable", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "holder", name=op.f("pk_license_tokens")),
    )
    with op.batch_alter_table("license_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_license_tokens_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_license_tokens_holder"), ["holder"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("license_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_tokens_holder"))
        batch_op.drop_index(batch_op.f("ix_license_tokens_asset_id"))
    op.drop_table("license_tokens")
