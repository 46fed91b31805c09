"""The catalog from the indexer's store: list with filters, paging and sorting; one asset;
the raw bytes of a version's metadata document (for clients that check them against the
chain); the signed-in account's licenses; any account's licence tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from dapp.errors import NotFound
from dapp.gateway.deps import ADDRESS_PATTERN, AccountDep, ServicesDep
from dapp.metadata import MAX_METADATA_BYTES
from dapp.store.catalog import MAX_PAGE_SIZE, AssetSummary, CatalogQuery, OfferView

router = APIRouter(prefix="/v1", tags=["catalog"])

Kind = Literal["dataset", "model", "algorithm"]


class OfferOut(BaseModel):
    offer_id: int
    token: str
    price: str = Field(description="in the token's base units")
    duration: int = Field(description="seconds; 0 = perpetual")
    scope: str
    active: bool

    @classmethod
    def of(cls, offer: OfferView) -> OfferOut:
        return cls(offer_id=offer.offer_id, token=offer.token, price=str(offer.price),
                   duration=offer.duration, scope=offer.scope, active=offer.active)


class CuratorShareCutOut(BaseModel):
    curator_share_bps: int
    effective_at: str = Field(description="ISO 8601 UTC")


class AssetSummaryOut(BaseModel):
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
    offers: list[OfferOut]
    sales: int
    stakers: int = Field(description="curators whose stake earns")
    total_staked: str = Field(description="earning stake, in base units of the staking token")
    warming_staked: str = Field(description="stake warming up: it earns only after one "
                                            "unbonding delay")
    curator_share_bps: int = Field(description="the curators' share of each sale in force now")
    pending_curator_share: CuratorShareCutOut | None = Field(
        description="a cut of the curators' share scheduled one unbonding delay ahead")

    @classmethod
    def of(cls, summary: AssetSummary) -> AssetSummaryOut:
        share, pending = summary.curator_share_at(int(time.time()))
        return cls(
            asset_id=summary.asset_id, kind=summary.kind, owner=summary.owner, dao=summary.dao,
            title=summary.title, description=summary.description, tags=summary.tags,
            size=summary.size, retired=summary.retired, version_count=summary.version_count,
            published_block=summary.published_block,
            offers=[OfferOut.of(offer) for offer in summary.offers], sales=summary.sales,
            stakers=summary.stakers, total_staked=str(summary.total_staked),
            warming_staked=str(summary.warming_staked), curator_share_bps=share,
            pending_curator_share=None if pending is None else CuratorShareCutOut(
                curator_share_bps=pending[0],
                effective_at=datetime.fromtimestamp(pending[1], UTC).isoformat()),
        )


class CatalogPageOut(BaseModel):
    items: list[AssetSummaryOut]
    total: int
    page: int
    page_size: int


class VersionOut(BaseModel):
    index: int
    content_cid: str
    metadata_cid: str
    block: int


class RevenueOut(BaseModel):
    token: str
    amount: str


class StatsOut(BaseModel):
    sales: int
    downloads: int
    revenue: list[RevenueOut]


class TrustedAlgorithmOut(BaseModel):
    algorithm_id: int
    version: int = Field(description="the pinned version; 0 = the algorithm's latest")


class ComputePolicyOut(BaseModel):
    any_algorithm: bool = Field(description="every algorithm may run (the owner's choice)")
    max_result_bytes: int | None = Field(description="cap on a job's result; null = the "
                                                     "provider's own")
    log_tail_bytes: int = Field(description="how much of a failed run's log end the buyer "
                                            "reads (0 = nothing)")
    trusted_algorithms: list[TrustedAlgorithmOut]


class AssetDetailOut(AssetSummaryOut):
    versions: list[VersionOut]
    metadata: dict[str, Any] | None
    stats: StatsOut
    compute_policy: ComputePolicyOut | None = Field(
        None, description="datasets: who may run what on it, as set on chain by its owner")


class LicenseOut(BaseModel):
    asset_id: int
    scope: str
    expires_at: str | None = Field(description="ISO 8601 UTC; null = perpetual")
    source: str


@router.get("/assets", response_model=CatalogPageOut)
def list_assets(*,
    kind: Kind | None = None,
    tag: str | None = Query(None, max_length=64),
    owner: str | None = Query(None, max_length=42),
    dao: str | None = Query(None, max_length=42),
    q: str | None = Query(None, max_length=200, description="text in title or description"),
    sort: Literal["newest", "oldest", "sales", "staked"] = "newest",
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
    include_retired: bool = False,
    services: ServicesDep,
) -> CatalogPageOut:
    """Published assets, filtered by kind, tag, owner, DAO and text, sorted and paged."""
    result = services.catalog().list_assets(CatalogQuery(
        kind=kind, tag=tag, owner=owner, dao=dao, text=q, sort=sort, page=page,
        page_size=page_size, include_retired=include_retired,
    ))
    return CatalogPageOut(items=[AssetSummaryOut.of(item) for item in result.items],
                          total=result.total, page=result.page, page_size=result.page_size)


@router.get("/assets/{asset_id}", response_model=AssetDetailOut)
def get_asset(asset_id: int, services: ServicesDep) -> AssetDetailOut:
    """One asset with every version, its offers, metadata and statistics."""
    if not 0 < asset_id < 2**63:  # ids count up from 1; the store keeps them as int64
        raise NotFound(f"asset {asset_id} does not exist")
    detail = services.catalog().get_asset(asset_id)
    if detail is None:
        raise NotFound(f"asset {asset_id} is not in the catalog",
                       hint="new assets appear once the indexer has seen them")
    summary = AssetSummaryOut.of(detail.summary)
    return AssetDetailOut(
        **summary.model_dump(),
        versions=[VersionOut(index=v.index, content_cid=v.content_cid,
                             metadata_cid=v.metadata_cid, block=v.block)
                  for v in detail.versions],
        metadata=detail.metadata,
        stats=StatsOut(sales=detail.stats.sales, downloads=detail.stats.downloads,
                       revenue=[RevenueOut(token=token, amount=str(amount))
                                for token, amount in sorted(detail.stats.revenue.items())]),
        compute_policy=None if detail.compute is None else ComputePolicyOut(
            any_algorithm=detail.compute.any_algorithm,
            max_result_bytes=detail.compute.max_result_bytes,
            log_tail_bytes=detail.compute.log_tail_bytes,
            trusted_algorithms=[TrustedAlgorithmOut(algorithm_id=a, version=v)
                                for a, v in detail.compute.trusted]),
    )


@router.get("/assets/{asset_id}/versions/{number}/metadata", response_class=Response,
            responses={200: {"content": {"application/json": {}},
                             "description": "the document's bytes as stored in IPFS"}})
def version_metadata(asset_id: int, number: int, services: ServicesDep) -> Response:
    """The metadata document of one version, byte for byte as IPFS holds it under the CID the
    registry stores, so a client can hash it and compare with the chain instead of trusting
    this gateway. Only CIDs of the catalog's versions are read (no open IPFS proxy)."""
    if not (0 < asset_id < 2**63 and 0 < number < 2**32):
        raise NotFound(f"asset {asset_id} has no version {number}")
    detail = services.catalog().get_asset(asset_id)
    found = [v for v in detail.versions if v.index == number] if detail else []
    if not found:
        raise NotFound(f"asset {asset_id} has no version {number} in the catalog",
                       hint="new versions appear once the indexer has seen them")
    cid = found[0].metadata_cid
    data = b"".join(services.ipfs.cat(cid, length=MAX_METADATA_BYTES + 1))
    return Response(data[:MAX_METADATA_BYTES + 1], media_type="application/json",
                    headers={"X-DataDAO-Metadata-Cid": cid})


@router.get("/me/licenses", response_model=list[LicenseOut])
def my_licenses(account: AccountDep,
                services: ServicesDep) -> list[LicenseOut]:
    """The signed-in account's licenses as the indexer last saw them."""
    return [
        LicenseOut(asset_id=lic.asset_id, scope=lic.scope, source=lic.source,
                   expires_at=None if lic.expires_at is None else
                   datetime.fromtimestamp(lic.expires_at, UTC).isoformat())
        for lic in services.catalog().licenses_of(account)
    ]


class LicenceTokenOut(BaseModel):
    token_id: str = Field(description="the ERC-1155 id: assetId << 2 | scope << 1 | "
                                      "transferable, as a decimal string")
    asset_id: int
    title: str = Field(description="the asset's title; empty until its metadata is read")
    scope: str
    transferable: bool
    expires_at: str | None = Field(description="ISO 8601 UTC; null = perpetual")
    expires_at_unix: int | None = Field(description="the same in unix seconds")


@router.get("/accounts/{address}/licence-tokens", response_model=list[LicenceTokenOut])
def licence_tokens(*, address: str = Path(pattern=ADDRESS_PATTERN, description="the holder"),
                   services: ServicesDep) -> list[LicenceTokenOut]:
    """The licence tokens (LicenseTokens, ERC-1155) an account holds, as the indexer last saw
    them: public, like the chain they come from. Expired ones are listed with their end;
    tokens the account has transferred away are not."""
    return [
        LicenceTokenOut(token_id=str(t.token_id), asset_id=t.asset_id, title=t.title,
                        scope=t.scope, transferable=t.transferable,
                        expires_at=None if t.expires_at is None else
                        datetime.fromtimestamp(t.expires_at, UTC).isoformat(),
                        expires_at_unix=t.expires_at)
        for t in services.catalog().licence_tokens_of(address)
    ]
