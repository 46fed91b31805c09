"""The gateway's voucher ledger (`channel_vouchers`, `voucher_ledger_scope`) and its auth
nonces (`auth_nonces`) become store tables, owned by Alembic like every other.

Until this revision the gateway made these three tables itself, with `MetaData.create_all()` on
first use and outside Alembic. A deployment whose gateway has run therefore has them already,
holding rows that matter (unredeemed vouchers are money, spent nonces stop replays), so each
table is created here only when the inspector does not find it, and an existing one is kept
as it is, rows included. The columns and types below are exactly the ones the old definitions
gave (the amounts were zero-padded 78-digit decimal strings then, which is what `Uint256`
stores), so an existing table needs no change. Only its primary key's name can differ:
create_all left it to the backend (`<table>_pkey` on PostgreSQL, unnamed on SQLite); on
PostgreSQL it is renamed to the store's convention (`pk_<table>`) so that a later revision can
name it on every deployment. SQLite cannot rename a constraint in place, so there such a
primary key stays unnamed (nothing refers to it by name; SQLite's batch mode rebuilds the table
when a later revision changes it).

`downgrade` keeps the tables and their rows: at revision 0004 they belonged to the gateway,
which found them in place; upgrading again finds them and leaves them alone.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables() -> dict[str, list[sa.SchemaItem]]:
    """The three tables' columns, as the gateway's create_all made them."""
    return {
        "channel_vouchers": [
            sa.Column("channel_id", sa.String(length=80), nullable=False),
            sa.Column("cumulative_amount", dapp.store.types.Uint256(length=78), nullable=False),
            sa.Column("signature", sa.String(length=300), nullable=False),
            sa.Column("redeemed_amount", dapp.store.types.Uint256(length=78), nullable=False),
            sa.Column("first_unredeemed_at", sa.BigInteger(), nullable=True),
            sa.Column("updated_at", sa.BigInteger(), nullable=False),
            sa.Column("redeem_tx", sa.String(length=80), nullable=True),
            sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_vouchers")),
        ],
        "voucher_ledger_scope": [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("chain_id", sa.BigInteger(), nullable=False),
            sa.Column("market", sa.String(length=42), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_ledger_scope")),
        ],
        "auth_nonces": [
            sa.Column("nonce", sa.String(length=80), nullable=False),
            sa.Column("issued_at", sa.BigInteger(), nullable=False),
            sa.Column("expires_at", sa.BigInteger(), nullable=False),
            sa.Column("used_at", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("nonce", name=op.f("pk_auth_nonces")),
        ],
    }


def upgrade() -> None:
    connection = op.get_bind()
    inspector = sa.inspect(connection)
    for name, columns in _tables().items():
        if not inspector.has_table(name):
            op.create_table(name, *columns)
        elif connection.dialect.name == "postgresql":
            _name_primary_key(inspector, name)


def _name_primary_key(inspector: sa.Inspector, table: str) -> None:
    """Give a primary key that create_all made the name the store's convention gives it."""
    current = inspector.get_pk_constraint(table).get("name")
    wanted = f"pk_{table}"
    if current and current != wanted:
        op.execute(sa.text(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{current}" TO "{wanted}"'))


def downgrade() -> None:
    pass  # see the module's docstring: the tables were the gateway's before, and stay
