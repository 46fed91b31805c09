"""The read side the gateway uses: the catalog (filtered, sorted, paged), one asset with its
versions, offers and statistics, an account's licenses, and the download log.

Plain dataclasses out; the gateway turns them into its pydantic response models. Amounts are
exact Python ints (the gateway renders them as decimal strings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from eth_utils import is_address, to_checksum_address
from sqlalchemy import Engine, Select, and_, distinct, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from dapp.errors import InvalidInput
from dapp.store.models import (
    Asset,
    AssetVersion,
    CidMetadata,
    Dao,
    Download,
    License,
    LicensePurchase,
    LicenseToken,
    MetadataTag,
    Offer,
    Pin,
    SyncCursor,
    TrustedAlgorithm,
)

SortOrder = Literal["newest", "oldest", "sales", "staked"]
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class CatalogQuery:
    kind: str | None = None
    tag: str | None = None
    owner: str | None = None
    dao: str | None = None
    text: str | None = None
    sort: SortOrder = "newest"
    page: int = 1
    page_size: int = 20
    include_retired: bool = False


@dataclass(frozen=True)
class OfferView:
    offer_id: int
    token: str
    price: int
    duration: int
    scope: str
    active: bool


@dataclass(frozen=True)
class AssetSummary:
    asset_id: int
    kind: str
    owner: str
    dao: str | None
    title: str
    description: str
    tags: list[str]
    size: int | None
    retired: bool
    version_count: int
    published_block: int
    offers: list[OfferView]
    sales: int
    stakers: int
    total_staked: int  # earning stake
    metadata_cid: str
    warming_staked: int = 0  # staked, not earning yet (warming up)
    curator_share_bps: int = 0  # as of the last event; `curator_share_at` for a time
    pending_curator_share_bps: int | None = None
    curator_share_effective_at: int | None = None

    def curator_share_at(self, now: int) -> tuple[int, tuple[int, int] | None]:
        """The curators' share in force at `now` (unix seconds), and a cut still to come as
        (bps, effective_at): a scheduled cut applies by itself once due, without an event."""
        pending, due = self.pending_curator_share_bps, self.curator_share_effective_at
        if pending is None or due is None:
            return self.curator_share_bps, None
        if due <= now:
            return pending, None
        return self.curator_share_bps, (pending, due)


@dataclass(frozen=True)
class VersionView:
    index: int
    content_cid: str
    metadata_cid: str
    block: int


@dataclass(frozen=True)
class AssetStats:
    sales: int
    downloads: int
    revenue: dict[str, int]  # token → amount paid for licenses, in base units
    stakers: int = 0  # curators with an active stake
    total_staked: int = 0  # active stake, in base units of the staking token


@dataclass(frozen=True)
class ComputePolicyView:
    """A dataset's compute policy as its owner last set it on chain."""

    any_algorithm: bool
    max_result_bytes: int | None  # None: the provider's own cap
    log_tail_bytes: int  # of a failed run's log the buyer may read (0: none)
    trusted: list[tuple[int, int]]  # (algorithm id, pinned version; 0 = latest), by id


@dataclass(frozen=True)
class AssetDetail:
    summary: AssetSummary
    versions: list[VersionView]
    metadata: dict[str, Any] | None
    stats: AssetStats
    compute: ComputePolicyView | None = None  # datasets only


@dataclass(frozen=True)
class CatalogPage:
    items: list[AssetSummary]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class LicenseView:
    asset_id: int
    scope: str
    expires_at: int | None  # unix seconds; None = perpetual
    source: str  # which end `expires_at` is: "purchase" or "grant"


@dataclass(frozen=True)
class LicenceTokenView:
    token_id: int
    asset_id: int
    title: str  # "" until the pinner has read the asset's metadata
    scope: str
    transferable: bool
    expires_at: int | None  # unix seconds; None = perpetual


@dataclass(frozen=True)
class DownloadRecord:
    asset_id: int
    version_index: int
    account: str
    bytes_served: int
    range_start: int | None = None
    range_end: int | None = None
    request_id: str | None = None
    downloaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed: bool = False  # streamed through the file's last byte


def checksum(address: str, what: str) -> str:
    if not is_address(address):
        raise InvalidInput(f"{what} {address!r} is not an address")
    return to_checksum_address(address)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Catalog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the catalog -------------------------------------------------------------------------
    def list_assets(self, query: CatalogQuery) -> CatalogPage:
        if query.page < 1 or not 1 <= query.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page must be ≥ 1 and page_size 1..{MAX_PAGE_SIZE}")
        base = self._filtered(query)
        with Session(self.engine) as connection:
            total = connection.execute(
                select(func.count()).select_from(base.subquery())).scalar_one()
            rows = connection.execute(
                base.order_by(*self._order(query.sort))
                .limit(query.page_size).offset((query.page - 1) * query.page_size)).all()
            items = self._summaries(connection, rows)
        return CatalogPage(items=items, total=int(total), page=query.page,
                           page_size=query.page_size)

    def _filtered(self, query: CatalogQuery) -> Select[Any]:
        statement = self._summary_select()
        conditions = []
        if not query.include_retired:
            conditions.append(Asset.retired.is_(False))
        if query.kind:
            conditions.append(Asset.kind == query.kind)
        if query.owner:
            conditions.append(Asset.owner == checksum(query.owner, "owner"))
        if query.dao:
            conditions.append(and_(Asset.owner == checksum(query.dao, "dao"),
                                   Dao.address.is_not(None)))
        if query.tag:
            conditions.append(exists().where(MetadataTag.cid == Asset.metadata_cid,
                                             MetadataTag.tag == query.tag.strip().lower()))
        if query.text:
            pattern = _like_pattern(query.text.strip())
            conditions.append(or_(CidMetadata.title.ilike(pattern, escape="\\"),
                                  CidMetadata.description.ilike(pattern, escape="\\")))
        return statement.where(*conditions)

    @staticmethod
    def _summary_select() -> Select[Any]:
        return (
            select(Asset, Dao.address.label("dao_address"), CidMetadata.title,
                   CidMetadata.description, CidMetadata.size)
            .outerjoin(Dao, Dao.address == Asset.owner)
            .outerjoin(CidMetadata, CidMetadata.cid == Asset.metadata_cid)
        )

    @staticmethod
    def _order(sort: SortOrder) -> list[Any]:
        newest = [Asset.published_block.desc(), Asset.asset_id.desc()]
        return {
            "newest": newest,
            "oldest": [Asset.published_block.asc(), Asset.asset_id.asc()],
            "sales": [Asset.sales_count.desc(), *newest],
            "staked": [Asset.total_staked.desc(), *newest],
        }[sort]

    def _summaries(self, connection: Session, rows: Sequence[Any]) -> list[AssetSummary]:
        asset_ids = [row.Asset.asset_id for row in rows]
        cids = [row.Asset.metadata_cid for row in rows]
        offers: dict[int, list[OfferView]] = defaultdict(list)
        for offer in connection.scalars(select(Offer).where(Offer.asset_id.in_(asset_ids))
                                        .order_by(Offer.asset_id, Offer.offer_id)):
            offers[offer.asset_id].append(OfferView(
                offer_id=offer.offer_id, token=offer.token, price=offer.price,
                duration=offer.duration, scope=offer.scope, active=offer.active))
        tags: dict[str, list[str]] = defaultdict(list)
        for tag in connection.scalars(select(MetadataTag).where(MetadataTag.cid.in_(cids))
                                      .order_by(MetadataTag.tag)):
            tags[tag.cid].append(tag.tag)
        pending = [row.Asset.asset_id for row in rows
                   if row.title is None and row.Asset.version_count > 1]
        earlier = self._earlier_texts(connection, pending)
        texts = {row.Asset.asset_id: (row.title, row.description) if row.title is not None
                 else earlier.get(row.Asset.asset_id, ("", "")) for row in rows}
        return [
            AssetSummary(
                asset_id=row.Asset.asset_id, kind=row.Asset.kind, owner=row.Asset.owner,
                dao=row.dao_address, title=texts[row.Asset.asset_id][0],
                description=texts[row.Asset.asset_id][1],
                tags=tags[row.Asset.metadata_cid], size=row.size, retired=row.Asset.retired,
                version_count=row.Asset.version_count,
                published_block=row.Asset.published_block, offers=offers[row.Asset.asset_id],
                sales=row.Asset.sales_count, stakers=row.Asset.staker_count,
                total_staked=row.Asset.total_staked, metadata_cid=row.Asset.metadata_cid,
                warming_staked=row.Asset.warming_staked,
                curator_share_bps=row.Asset.curator_share_bps,
                pending_curator_share_bps=row.Asset.pending_curator_share_bps,
                curator_share_effective_at=row.Asset.curator_share_effective_at,
            )
            for row in rows
        ]

    @staticmethod
    def _earlier_texts(connection: Session, asset_ids: list[int]) -> dict[int, tuple[str, str]]:
        """(title, description) of the newest version whose metadata the pinner has read, for
        assets whose latest version's metadata it has not read yet: a new version keeps the
        asset's title until its own document is read (not "Asset 7" meanwhile)."""
        if not asset_ids:
            return {}
        found: dict[int, tuple[str, str]] = {}
        for asset_id, title, description in connection.execute(
                select(AssetVersion.asset_id, CidMetadata.title, CidMetadata.description)
                .join(CidMetadata, CidMetadata.cid == AssetVersion.metadata_cid)
                .where(AssetVersion.asset_id.in_(asset_ids))
                .order_by(AssetVersion.asset_id, AssetVersion.version_index.desc())):
            found.setdefault(asset_id, (title, description))
        return found

    # -- one asset ---------------------------------------------------------------------------
    def get_asset(self, asset_id: int) -> AssetDetail | None:
        with Session(self.engine) as connection:
            row = connection.execute(
                self._summary_select().where(Asset.asset_id == asset_id)).first()
            if row is None:
                return None
            summary = self._summaries(connection, [row])[0]
            versions = [
                VersionView(index=v.version_index, content_cid=v.content_cid,
                            metadata_cid=v.metadata_cid, block=v.block_number)
                for v in connection.scalars(select(AssetVersion)
                                            .where(AssetVersion.asset_id == asset_id)
                                            .order_by(AssetVersion.version_index))
            ]
            document = connection.execute(select(CidMetadata.document).where(
                CidMetadata.cid == summary.metadata_cid)).scalar()
            stats = self._stats(connection, summary)
            compute = self._compute_policy(connection, asset_id) \
                if summary.kind == "dataset" else None
        return AssetDetail(summary=summary, versions=versions, metadata=document, stats=stats,
                           compute=compute)

    @staticmethod
    def _compute_policy(connection: Session, dataset_id: int) -> ComputePolicyView:
        any_algorithm, max_result_bytes, log_tail_bytes = connection.execute(
            select(Asset.compute_any_algorithm, Asset.max_result_bytes, Asset.log_tail_bytes)
            .where(Asset.asset_id == dataset_id)).one()
        trusted = connection.execute(
            select(TrustedAlgorithm.algorithm_id, TrustedAlgorithm.version)
            .where(TrustedAlgorithm.dataset_id == dataset_id, TrustedAlgorithm.trusted)
            .order_by(TrustedAlgorithm.algorithm_id)).all()
        return ComputePolicyView(bool(any_algorithm), max_result_bytes, int(log_tail_bytes),
                                 [(int(a), int(v)) for a, v in trusted])

    @staticmethod
    def _stats(connection: Session, summary: AssetSummary) -> AssetStats:
        asset_id = summary.asset_id
        # Licensees who received the whole file: a cut or failed request does not count, nor
        # does a licensee's second download; a resumed one counts when its last part ends.
        downloads = connection.execute(
            select(func.count(distinct(Download.account)))
            .where(Download.asset_id == asset_id, Download.completed.is_(True))).scalar_one()
        revenue: dict[str, int] = defaultdict(int)
        for token, price in connection.execute(
                select(LicensePurchase.token, LicensePurchase.price)
                .where(LicensePurchase.asset_id == asset_id)):
            revenue[token] += price  # uint256 sums in Python: exact on every backend
        return AssetStats(sales=summary.sales, downloads=int(downloads), revenue=dict(revenue),
                          stakers=summary.stakers, total_staked=summary.total_staked)

    # -- accounts, downloads, operations -----------------------------------------------------
    def licenses_of(self, account: str) -> list[LicenseView]:
        """Every license the account holds or held (expired ones too, with their end); not
        those whose only grant was revoked."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(License).where(License.licensee == checksum(account, "account"),
                                      or_(License.expires_at.is_(None),
                                          License.expires_at > 0))
                .order_by(License.asset_id, License.scope))
            return [LicenseView(asset_id=r.asset_id, scope=r.scope, expires_at=r.expires_at,
                                source=r.source) for r in rows]

    def licence_tokens_of(self, account: str) -> list[LicenceTokenView]:
        """The licence tokens the account holds as the indexer last saw them (expired ones
        too, with their end; not those it moved away)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(LicenseToken, CidMetadata.title)
                .join(Asset, Asset.asset_id == LicenseToken.asset_id, isouter=True)
                .join(CidMetadata, CidMetadata.cid == Asset.metadata_cid, isouter=True)
                .where(LicenseToken.holder == checksum(account, "account"),
                       or_(LicenseToken.expires_at.is_(None), LicenseToken.expires_at > 0))
                .order_by(LicenseToken.asset_id, LicenseToken.token_id))
            return [LicenceTokenView(token_id=int(r.token_id), asset_id=r.asset_id,
                                     title=r.title or "", scope=r.scope,
                                     transferable=r.transferable, expires_at=r.expires_at)
                    for r in rows]

    def record_download(self, record: DownloadRecord) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(Download).values(
                asset_id=record.asset_id, version_index=record.version_index,
                account=checksum(record.account, "account"), bytes_served=record.bytes_served,
                range_start=record.range_start, range_end=record.range_end,
                request_id=record.request_id, downloaded_at=record.downloaded_at,
                completed=record.completed))

    def pin_counts(self) -> dict[str, int]:
        """Pins by status (queued, retrying, pinned), for metrics."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(Pin.status, func.count()).group_by(Pin.status))
            return {status: int(count) for status, count in rows}

    def indexed_block(self, chain_id: int) -> int | None:
        """The last block the indexer finished on this chain (None before its first run)."""
        with self.engine.connect() as connection:
            return connection.execute(select(SyncCursor.block_number)
                                      .where(SyncCursor.chain_id == chain_id)).scalar()
