"""Initial schema: chain sync bookkeeping, catalog, money, DAOs, compute, operations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dapp.store.types

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_versions",
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_cid", sa.String(length=128), nullable=False),
        sa.Column("metadata_cid", sa.String(length=128), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "version_index", name=op.f("pk_asset_versions")),
    )
    with op.batch_alter_table("asset_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asset_versions_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "assets",
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_cid", sa.String(length=128), nullable=False),
        sa.Column("metadata_cid", sa.String(length=128), nullable=False),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("curator_share_bps", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("published_block", sa.BigInteger(), nullable=False),
        sa.Column("published_tx", sa.String(length=66), nullable=False),
        sa.Column("sales_count", sa.Integer(), nullable=False),
        sa.Column("total_staked", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("staker_count", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_assets")),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assets_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_assets_owner"), ["owner"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assets_published_block"), ["published_block"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assets_total_staked"), ["total_staked"], unique=False)

    op.create_table(
        "block_hashes",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "block_number", name=op.f("pk_block_hashes")),
    )
    op.create_table(
        "cid_metadata",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("schema_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_cid_metadata")),
    )
    op.create_table(
        "compute_jobs",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("algorithm_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("amount", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result_cid", sa.String(length=128), nullable=True),
        sa.Column("result_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_compute_jobs")),
    )
    with op.batch_alter_table("compute_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compute_jobs_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_compute_jobs_provider"), ["provider"], unique=False)

    op.create_table(
        "compute_providers",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("stake", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_compute_providers")),
    )
    op.create_table(
        "daos",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("timelock", sa.String(length=42), nullable=True),
        sa.Column("creator", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_daos")),
    )
    op.create_table(
        "downloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("version_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("bytes_served", sa.BigInteger(), nullable=False),
        sa.Column("range_start", sa.BigInteger(), nullable=True),
        sa.Column("range_end", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downloads")),
    )
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_downloads_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_downloads_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "events",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "block_number", "log_index", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_name"), ["name"], unique=False)

    op.create_table(
        "license_purchases",
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("payer", sa.String(length=42), nullable=False),
        sa.Column("licensee", sa.String(length=42), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("price", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_license_purchases")),
    )
    with op.batch_alter_table("license_purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_purchases_asset_id"), ["asset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_license_purchases_licensee"), ["licensee"], unique=False
        )

    op.create_table(
        "licenses",
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("licensee", sa.String(length=42), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("bought_until", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("granted_until", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "licensee", "scope", name=op.f("pk_licenses")),
    )
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licenses_licensee"), ["licensee"], unique=False)

    op.create_table(
        "metadata_tags",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("cid", "tag", name=op.f("pk_metadata_tags")),
    )
    with op.batch_alter_table("metadata_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metadata_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "offers",
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("offer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("price", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "offer_id", name=op.f("pk_offers")),
    )
    op.create_table(
        "payment_channels",
        sa.Column("channel_id", sa.String(length=80), nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("deposit", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("redeemed", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_payment_channels")),
    )
    with op.batch_alter_table("payment_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_channels_buyer"), ["buyer"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payment_channels_provider"), ["provider"], unique=False
        )

    op.create_table(
        "payout_balances",
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("credited", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("withdrawn", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("account", "token", name=op.f("pk_payout_balances")),
    )
    op.create_table(
        "pins",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("asset_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_try_at", sa.Float(), nullable=False),
        sa.Column("pinned_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_pins")),
    )
    with op.batch_alter_table("pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pins_next_try_at"), ["next_try_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pins_status"), ["status"], unique=False)

    op.create_table(
        "proposals",
        sa.Column("dao", sa.String(length=42), nullable=False),
        sa.Column("proposal_id", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("proposer", sa.String(length=42), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("vote_start", sa.BigInteger(), nullable=False),
        sa.Column("vote_end", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("votes_for", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("votes_against", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("votes_abstain", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("dao", "proposal_id", name=op.f("pk_proposals")),
    )
    op.create_table(
        "registry_params",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("contract", "name", name=op.f("pk_registry_params")),
    )
    op.create_table(
        "payment_tokens",
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("contract", "token", name=op.f("pk_payment_tokens")),
    )
    op.create_table(
        "reward_claims",
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("curator", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("amount", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_reward_claims")),
    )
    with op.batch_alter_table("reward_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reward_claims_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reward_claims_curator"), ["curator"], unique=False)

    op.create_table(
        "revenue_splits",
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("fee", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("curators", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("owner_amount", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_revenue_splits")),
    )
    with op.batch_alter_table("revenue_splits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revenue_splits_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "stakes",
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("curator", sa.String(length=42), nullable=False),
        sa.Column("amount", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("unbonding", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("unbonding_available_at", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", "curator", name=op.f("pk_stakes")),
    )
    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stakes_curator"), ["curator"], unique=False)

    op.create_table(
        "state_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_key", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_journal")),
    )
    with op.batch_alter_table("state_journal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_state_journal_block_number"), ["block_number"], unique=False
        )

    op.create_table(
        "sync_cursor",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("genesis_hash", sa.String(length=66), nullable=False),
        sa.Column("contracts_key", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "votes",
        sa.Column("dao", sa.String(length=42), nullable=False),
        sa.Column("proposal_id", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("voter", sa.String(length=42), nullable=False),
        sa.Column("support", sa.Integer(), nullable=False),
        sa.Column("weight", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_votes")),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_votes_dao"), ["dao"], unique=False)
        batch_op.create_index(batch_op.f("ix_votes_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "watched_contracts",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("from_block", sa.BigInteger(), nullable=False),
        sa.Column("dynamic", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_watched_contracts")),
    )
    op.create_table(
        "withdrawals",
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("recipient", sa.String(length=42), nullable=False),
        sa.Column("amount", dapp.store.types.Uint256(length=78), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_withdrawals")),
    )
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_withdrawals_account"), ["account"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("withdrawals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_withdrawals_account"))

    op.drop_table("withdrawals")
    op.drop_table("watched_contracts")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_votes_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_votes_dao"))

    op.drop_table("votes")
    op.drop_table("sync_cursor")
    with op.batch_alter_table("state_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_state_journal_block_number"))

    op.drop_table("state_journal")
    with op.batch_alter_table("stakes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stakes_curator"))

    op.drop_table("stakes")
    with op.batch_alter_table("revenue_splits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revenue_splits_asset_id"))

    op.drop_table("revenue_splits")
    with op.batch_alter_table("reward_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_claims_curator"))
        batch_op.drop_index(batch_op.f("ix_reward_claims_asset_id"))

    op.drop_table("reward_claims")
    op.drop_table("payment_tokens")
    op.drop_table("registry_params")
    op.drop_table("proposals")
    with op.batch_alter_table("pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pins_status"))
        batch_op.drop_index(batch_op.f("ix_pins_next_try_at"))

    op.drop_table("pins")
    op.drop_table("payout_balances")
    with op.batch_alter_table("payment_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_channels_provider"))
        batch_op.drop_index(batch_op.f("ix_payment_channels_buyer"))

    op.drop_table("payment_channels")
    op.drop_table("offers")
    with op.batch_alter_table("metadata_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metadata_tags_tag"))

    op.drop_table("metadata_tags")
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licenses_licensee"))

    op.drop_table("licenses")
    with op.batch_alter_table("license_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_purchases_licensee"))
        batch_op.drop_index(batch_op.f("ix_license_purchases_asset_id"))

    op.drop_table("license_purchases")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_name"))
        batch_op.drop_index(batch_op.f("ix_events_address"))

    op.drop_table("events")
    with op.batch_alter_table("downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_downloads_asset_id"))
        batch_op.drop_index(batch_op.f("ix_downloads_account"))

    op.drop_table("downloads")
    op.drop_table("daos")
    op.drop_table("compute_providers")
    with op.batch_alter_table("compute_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compute_jobs_provider"))
        batch_op.drop_index(batch_op.f("ix_compute_jobs_buyer"))

    op.drop_table("compute_jobs")
    op.drop_table("cid_metadata")
    op.drop_table("block_hashes")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_total_staked"))
        batch_op.drop_index(batch_op.f("ix_assets_published_block"))
        batch_op.drop_index(batch_op.f("ix_assets_owner"))
        batch_op.drop_index(batch_op.f("ix_assets_kind"))

    op.drop_table("assets")
    with op.batch_alter_table("asset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_versions_block_number"))

    op.drop_table("asset_versions")
