"""Assets, their versions, offers and licenses, as the registry's events describe them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dapp.store.base import AppendOnly, Base, EventFact, Origin
from dapp.store.types import ADDRESS, CID, Uint256


class Asset(Origin, Base):
    """One registry token (dataset, model or algorithm) and its running totals."""

    __tablename__ = "assets"

    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(ADDRESS, index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    content_cid: Mapped[str] = mapped_column(CID)
    metadata_cid: Mapped[str] = mapped_column(CID)
    version_count: Mapped[int] = mapped_column(Integer)
    curator_share_bps: Mapped[int] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    published_block: Mapped[int] = mapped_column(BigInteger, index=True)
    published_tx: Mapped[str] = mapped_column(String(66))
    sales_count: Mapped[int] = mapped_column(Integer, default=0)
    total_staked: Mapped[int] = mapped_column(Uint256, default=0, index=True)  # earning
    staker_count: Mapped[int] = mapped_column(Integer, default=0)  # with earning stake
    warming_staked: Mapped[int] = mapped_column(Uint256, default=0)  # not earning yet
    # a cut of the curators' share scheduled by `CuratorShareScheduled`: the share from
    # `curator_share_effective_at` on (`curator_share_bps` is in force until then)
    pending_curator_share_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    curator_share_effective_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # the dataset owner's compute policy (`ComputePolicySet`): any algorithm may run, and the
    # cap on a job's result (None: the provider's own)
    compute_any_algorithm: Mapped[bool] = mapped_column(Boolean, default=False)
    max_result_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    log_tail_bytes: Mapped[int] = mapped_column(BigInteger, default=0)  # of a failed run's log


class AssetVersion(AppendOnly, Base):
    """Every version an asset ever had, numbered as on chain (`version(assetId, n)`): 1 is the
    one it was published with."""

    __tablename__ = "asset_versions"

    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_cid: Mapped[str] = mapped_column(CID)
    metadata_cid: Mapped[str] = mapped_column(CID)


class Offer(Origin, Base):
    """An asset's offer as last set (price in base units of `token`; duration 0 = perpetual)."""

    __tablename__ = "offers"

    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    offer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(ADDRESS)
    price: Mapped[int] = mapped_column(Uint256)
    duration: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)


class TrustedAlgorithm(Origin, Base):
    """An algorithm or model a dataset's owner listed as allowed to run on it
    (`AlgorithmTrusted`), pinned to `version` (0 = its latest); `trusted` turns False at
    `AlgorithmUntrusted` (the row stays, so a reorg can restore it)."""

    __tablename__ = "trusted_algorithms"

    dataset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    algorithm_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                              index=True)
    version: Mapped[int] = mapped_column(Integer)
    trusted: Mapped[bool] = mapped_column(Boolean)


PERPETUAL = 2**64 - 1  # the registry's `type(uint64).max`: a license without end


class License(Origin, Base):
    """Who may use an asset for what, until when, as the registry keeps it: the end of what
    was bought and the end of what was granted, separately (revoking a grant never touches a
    purchase), in unix seconds as on chain (0 = none, `PERPETUAL` = no end).

    `expires_at` is the later of the two (None = perpetual, 0 = no license left) and `source`
    says which one it is (`purchase` or `grant`)."""

    __tablename__ = "licenses"

    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    licensee: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    bought_until: Mapped[int] = mapped_column(Uint256, default=0)
    granted_until: Mapped[int] = mapped_column(Uint256, default=0)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source: Mapped[str] = mapped_column(String(16))


class LicensePurchase(EventFact, Base):
    """One sale: the facts behind sales counts and revenue statistics."""

    __tablename__ = "license_purchases"

    asset_id: Mapped[int] = mapped_column(BigInteger, index=True)
    offer_id: Mapped[int] = mapped_column(BigInteger)
    payer: Mapped[str] = mapped_column(ADDRESS)
    licensee: Mapped[str] = mapped_column(ADDRESS, index=True)
    scope: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(ADDRESS)
    price: Mapped[int] = mapped_column(Uint256)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LicenseToken(Origin, Base):
    """A licence token (LicenseTokens, ERC-1155) as one holder holds it: the token id
    (`assetId << 2 | scope << 1 | transferable`) and the licence's end in unix seconds
    (None = perpetual, 0 = the holder no longer holds it: moved away)."""

    __tablename__ = "license_tokens"

    token_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    holder: Mapped[str] = mapped_column(ADDRESS, primary_key=True, index=True)
    asset_id: Mapped[int] = mapped_column(BigInteger, index=True)
    scope: Mapped[str] = mapped_column(String(16))
    transferable: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
