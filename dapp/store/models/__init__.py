"""Every table of the store. Importing this package registers them all on `Base.metadata`."""

from __future__ import annotations

from dapp.store.base import AppendOnly, Base, Origin
from dapp.store.models.assets import (
    PERPETUAL,
    Asset,
    AssetVersion,
    License,
    LicensePurchase,
    LicenseToken,
    Offer,
    TrustedAlgorithm,
)
from dapp.store.models.auth import AuthNonce
from dapp.store.models.compute import ComputeJob, ComputeProvider, PaymentChannel
from dapp.store.models.dao import Dao, DaoMember, Proposal, Vote, proposal_state
from dapp.store.models.ops import (
    CidMetadata,
    Download,
    MetadataTag,
    MetadataTask,
    Pin,
    PinPeer,
)
from dapp.store.models.params import PaymentToken, RegistryParam
from dapp.store.models.payouts import (
    PayoutBalance,
    RevenueSplit,
    RewardClaim,
    Stake,
    Withdrawal,
)
from dapp.store.models.provider_jobs import ProviderCursor, ProviderJob, ProviderScanHash
from dapp.store.models.shared import AuthSession, RateBucket
from dapp.store.models.sync import BlockHash, JournalEntry, RawEvent, SyncCursor, WatchedContract
from dapp.store.models.vouchers import ChannelVoucher, VoucherLedgerScope

__all__ = [
    "PERPETUAL", "Asset", "AssetVersion", "AuthNonce", "AuthSession", "BlockHash", "ChannelVoucher",
    "CidMetadata", "ComputeJob",
    "ComputeProvider", "Dao", "DaoMember", "Download", "JournalEntry", "License", "LicensePurchase",
    "LicenseToken",
    "MetadataTag", "MetadataTask", "Offer", "PaymentChannel", "PaymentToken", "PayoutBalance",
    "Pin", "PinPeer", "Proposal",
    "ProviderCursor", "ProviderJob", "ProviderScanHash", "RateBucket",
    "RawEvent", "RegistryParam", "RevenueSplit", "RewardClaim", "Stake", "SyncCursor",
    "TrustedAlgorithm", "Vote",
    "VoucherLedgerScope", "WatchedContract", "Withdrawal", "event_derived_models", "proposal_state",
]


def event_derived_models() -> list[type[Origin]]:
    """Every model whose rows come from events (a reorg or a reset touches exactly these)."""
    return [
        mapper.class_
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, Origin)
    ]


def append_only_models() -> list[type[AppendOnly]]:
    return [model for model in event_derived_models() if issubclass(model, AppendOnly)]
