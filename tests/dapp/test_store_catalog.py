"""Catalog queries on a real SQLite store with rows as the indexer writes them: filters,
text search, sorting, paging, one asset's detail and statistics, licenses, downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dapp.errors import InvalidInput
from dapp.store.catalog import Catalog, CatalogQuery, DownloadRecord
from dapp.store.db import make_engine
from dapp.store.migrate import migrate
from dapp.store.models import (
    Asset,
    AssetVersion,
    CidMetadata,
    Dao,
    License,
    LicensePurchase,
    MetadataTag,
    Offer,
    Pin,
)
from dapp.store.models.assets import PERPETUAL

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
DAO = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HASH = "0x" + "ab" * 32


def origin(block: int, log_index: int = 0) -> dict[str, object]:
    return {"block_number": block, "block_hash": HASH, "log_index": log_index, "tx_hash": HASH}


def asset(asset_id: int, owner: str, kind: str, block: int, **values: object) -> Asset:
    fields: dict[str, object] = {
        "content_cid": f"bafycontent{asset_id}", "metadata_cid": f"bafymeta{asset_id}",
        "version_count": 1, "curator_share_bps": 500, "retired": False, "sales_count": 0,
        "total_staked": 0, "staker_count": 0, "published_tx": HASH, **values,
    }
    return Asset(asset_id=asset_id, owner=owner, kind=kind, published_block=block,
                 **fields, **origin(block))


def metadata(cid: str, title: str, description: str, tags: list[str]) -> list[object]:
    document = {"title": title, "description": description, "tags": tags, "size": 1234}
    rows: list[object] = [CidMetadata(cid=cid, title=title, description=description,
                                      size=1234, document=document)]
    return rows + [MetadataTag(cid=cid, tag=tag) for tag in tags]


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    migrate(engine)
    with Session(engine) as session:
        session.add_all([
            asset(1, ALICE, "dataset", 10, sales_count=3, total_staked=5 * 10**18,
                  staker_count=2),
            asset(2, BOB, "model", 11, total_staked=2**200),
            asset(3, DAO, "dataset", 12, sales_count=1),
            asset(4, ALICE, "algorithm", 13, retired=True),
            Dao(address=DAO, name="Weather DAO", token=TOKEN, timelock=None, creator=ALICE,
                **origin(5)),
            *metadata("bafymeta1", "Rainfall 1990-2020", "Daily rainfall in 100% detail",
                      ["weather", "climate"]),
            *metadata("bafymeta2", "Rain nowcasting model", "A U-Net", ["weather", "ml"]),
            *metadata("bafymeta3", "Wind speeds", "Hourly, by station", ["climate"]),
            AssetVersion(asset_id=1, version_index=1, content_cid="bafycontent1-1",
                         metadata_cid="bafymeta1-1", **origin(10)),
            AssetVersion(asset_id=1, version_index=2, content_cid="bafycontent1",
                         metadata_cid="bafymeta1", **origin(20)),
            Offer(asset_id=1, offer_id=1, token=TOKEN, price=10**18, duration=0,
                  scope="download", active=True, **origin(10, 1)),
            Offer(asset_id=1, offer_id=2, token=TOKEN, price=2**255, duration=86400,
                  scope="compute", active=False, **origin(10, 2)),
            LicensePurchase(asset_id=1, offer_id=1, payer=BOB, licensee=BOB, scope="download",
                            token=TOKEN, price=2**255, expires_at=None, **origin(30)),
            LicensePurchase(asset_id=1, offer_id=1, payer=BOB, licensee=BOB, scope="download",
                            token=TOKEN, price=2**255, expires_at=None, **origin(31)),
            License(asset_id=1, licensee=BOB, scope="download", bought_until=PERPETUAL,
                    granted_until=1_800_000_000, expires_at=None, source="purchase",
                    **origin(31)),
            License(asset_id=2, licensee=BOB, scope="compute", bought_until=0,
                    granted_until=1_900_000_000, expires_at=1_900_000_000, source="grant",
                    **origin(32)),
            License(asset_id=3, licensee=BOB, scope="download", bought_until=0,
                    granted_until=0, expires_at=0, source="grant", **origin(33)),
            Pin(cid="bafymeta1", kind="metadata", status="pinned", next_try_at=0),
            Pin(cid="bafycontent1", kind="content", status="retrying", next_try_at=0),
        ])
        session.commit()
    return engine


def ids(catalog: Catalog, **query: object) -> list[int]:
    return [item.asset_id for item in catalog.list_assets(CatalogQuery(**query)).items]


def test_filters_by_kind_owner_dao_tag_and_text(store: Engine) -> None:
    catalog = Catalog(store)
    assert ids(catalog) == [3, 2, 1]  # newest first, retired hidden
    assert ids(catalog, include_retired=True) == [4, 3, 2, 1]
    assert ids(catalog, kind="dataset") == [3, 1]
    assert ids(catalog, owner=ALICE.lower()) == [1]
    assert ids(catalog, dao=DAO) == [3]
    assert ids(catalog, dao=ALICE) == []  # an owner that is not a DAO
    assert ids(catalog, tag="Climate") == [3, 1]
    assert ids(catalog, text="rain") == [2, 1]
    assert ids(catalog, text="100%") == [1]  # LIKE wildcards are literal
    assert ids(catalog, text="_") == []
    assert ids(catalog, kind="dataset", tag="weather", text="daily") == [1]


def test_sorts_and_pages(store: Engine) -> None:
    catalog = Catalog(store)
    assert ids(catalog, sort="oldest") == [1, 2, 3]
    assert ids(catalog, sort="sales") == [1, 3, 2]
    assert ids(catalog, sort="staked") == [2, 1, 3]  # 2**200 > 5e18, exactly
    page = catalog.list_assets(CatalogQuery(sort="oldest", page=2, page_size=2))
    assert (page.total, [i.asset_id for i in page.items]) == (3, [3])
    with pytest.raises(InvalidInput):
        catalog.list_assets(CatalogQuery(page_size=1000))
    with pytest.raises(InvalidInput):
        catalog.list_assets(CatalogQuery(owner="not-an-address"))


def test_summary_carries_metadata_offers_and_dao(store: Engine) -> None:
    catalog = Catalog(store)
    first, *_ = catalog.list_assets(CatalogQuery(sort="oldest")).items
    assert (first.title, first.tags, first.size) == ("Rainfall 1990-2020",
                                                     ["climate", "weather"], 1234)
    assert [(o.offer_id, o.price, o.scope, o.active) for o in first.offers] == [
        (1, 10**18, "download", True), (2, 2**255, "compute", False)]
    assert (first.sales, first.stakers, first.total_staked) == (3, 2, 5 * 10**18)
    dao_asset = next(i for i in catalog.list_assets(CatalogQuery()).items if i.asset_id == 3)
    assert dao_asset.dao == DAO


def test_a_new_version_keeps_the_title_until_the_pinner_reads_its_metadata(
        store: Engine) -> None:
    """Between a VersionAdded and the pinner reading the new document, the asset keeps the
    title and description of its newest read version (the dApp showed "Asset 5" meanwhile);
    a document read but unreadable is what the latest version says: no title."""
    with Session(store) as session:
        session.add_all([
            asset(5, ALICE, "dataset", 30, version_count=3, metadata_cid="bafymeta5-3"),
            asset(6, ALICE, "dataset", 31, version_count=2, metadata_cid="bafymeta6-2"),
            *metadata("bafymeta5-1", "Snow depth v1", "first", ["snow"]),
            *metadata("bafymeta5-2", "Snow depth v2", "second", ["snow"]),
            *metadata("bafymeta6-1", "Hail v1", "first", ["hail"]),
            CidMetadata(cid="bafymeta6-2", title="", description="", error="not JSON"),
            *[AssetVersion(asset_id=5, version_index=n, content_cid=f"bafycontent5-{n}",
                           metadata_cid=f"bafymeta5-{n}", **origin(30 + n)) for n in (1, 2, 3)],
            *[AssetVersion(asset_id=6, version_index=n, content_cid=f"bafycontent6-{n}",
                           metadata_cid=f"bafymeta6-{n}", **origin(31 + n)) for n in (1, 2)],
        ])
        session.commit()
    catalog = Catalog(store)

    def shown(asset_id: int) -> tuple[str, str]:
        detail = catalog.get_asset(asset_id)
        assert detail is not None
        listed = next(a for a in catalog.list_assets(CatalogQuery(page_size=100)).items
                      if a.asset_id == asset_id)
        assert (listed.title, listed.description) == (detail.summary.title,
                                                      detail.summary.description)
        return detail.summary.title, detail.summary.description

    assert shown(5) == ("Snow depth v2", "second")  # v3's document not read yet
    assert catalog.get_asset(5).metadata is None  # type: ignore[union-attr]  # v3's, unread
    assert shown(6) == ("", "")  # v2's document read: it has no title
    assert shown(2) == ("Rain nowcasting model", "A U-Net")
    with Session(store) as session:
        session.add_all(metadata("bafymeta5-3", "Snow depth v3", "third", ["snow"]))
        session.commit()
    assert shown(5) == ("Snow depth v3", "third")


def test_one_asset_with_versions_metadata_and_stats(store: Engine) -> None:
    catalog = Catalog(store)
    catalog.record_download(DownloadRecord(asset_id=1, version_index=1, account=BOB.lower(),
                                           bytes_served=4096, range_start=0, range_end=4095,
                                           completed=True))
    detail = catalog.get_asset(1)
    assert detail is not None
    assert [(v.index, v.content_cid, v.block) for v in detail.versions] == [
        (1, "bafycontent1-1", 10), (2, "bafycontent1", 20)]
    assert detail.metadata is not None and detail.metadata["title"] == "Rainfall 1990-2020"
    assert (detail.stats.sales, detail.stats.downloads) == (3, 1)
    assert detail.stats.revenue == {TOKEN: 2**256}  # beyond uint256 as a sum: still exact
    assert (detail.stats.stakers, detail.stats.total_staked) == (2, 5 * 10**18)
    assert catalog.get_asset(99) is None


def test_licenses_of_an_account_skip_revoked_grants(store: Engine) -> None:
    licenses = Catalog(store).licenses_of(BOB)
    assert [(lic.asset_id, lic.scope, lic.expires_at, lic.source) for lic in licenses] == [
        (1, "download", None, "purchase"), (2, "compute", 1_900_000_000, "grant")]


def test_operations_views(store: Engine) -> None:
    catalog = Catalog(store)
    assert catalog.pin_counts() == {"pinned": 1, "retrying": 1}
    assert catalog.indexed_block(1337) is None


def test_downloads_count_licensees_who_got_the_whole_file_once(store: Engine) -> None:
    """Cut and failed requests do not count; a licensee's repeated or resumed download counts
    once: the public count is distinct accounts with a completed request."""
    catalog = Catalog(store)
    before = catalog.get_asset(2)
    assert before is not None

    def served(account: str, completed: bool) -> None:
        catalog.record_download(DownloadRecord(asset_id=2, version_index=1, account=account,
                                               bytes_served=10, completed=completed))

    served(BOB, completed=False)  # cut
    served(BOB, completed=False)  # failed again
    detail = catalog.get_asset(2)
    assert detail is not None and detail.stats.downloads == before.stats.downloads
    served(BOB, completed=True)  # the resumed last part
    served(BOB, completed=True)  # and once more
    served(ALICE, completed=True)
    detail = catalog.get_asset(2)
    assert detail is not None and detail.stats.downloads == before.stats.downloads + 2
