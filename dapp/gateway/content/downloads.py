"""The download log: one row per served GET (account, asset, version, range, bytes, time,
whether it completed) in the store's `downloads` table, and the per-asset counts its publisher
sees.

Writing never fails a download: a database that is down costs the row, not the bytes (the
failure is logged and counted in `gateway_downloads_unrecorded_total`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, case, distinct, func, select
from sqlalchemy.exc import SQLAlchemyError

from dapp.errors import DatabaseUnavailable
from dapp.store.catalog import Catalog, DownloadRecord
from dapp.store.models import Download

log = logging.getLogger("dapp.gateway.downloads")


@dataclass(frozen=True)
class VersionDownloads:
    version: int
    downloads: int
    full_downloads: int
    bytes_served: int
    accounts: int
    completed: int = 0


@dataclass(frozen=True)
class AssetDownloads:
    asset_id: int
    downloads: int
    full_downloads: int
    bytes_served: int
    accounts: int
    versions: list[VersionDownloads]
    completed: int = 0  # distinct accounts that received the whole file (the public count)


def record_download(catalog: Catalog, record: DownloadRecord) -> bool:
    """Store one download; False (and a log line) when the database refuses."""
    try:
        catalog.record_download(record)
    except (SQLAlchemyError, DatabaseUnavailable) as error:
        log.error("download of asset %s by %s not recorded: %s", record.asset_id,
                  record.account, error.__class__.__name__)
        return False
    return True


def asset_downloads(engine: Engine, asset_id: int) -> AssetDownloads:
    """Requests served (a resumed download counts once per request), of which whole-file ones
    (no Range), bytes served, distinct accounts, and distinct accounts that received the
    file's last byte in a request that completed, in total and per version."""
    full = func.sum(case((Download.range_start.is_(None), 1), else_=0))
    completed = func.count(distinct(case((Download.completed.is_(True), Download.account))))
    columns = (func.count(), full, func.coalesce(func.sum(Download.bytes_served), 0),
               func.count(distinct(Download.account)), completed)
    where = Download.asset_id == asset_id
    try:
        with engine.connect() as connection:
            total = connection.execute(select(*columns).where(where)).one()
            rows = connection.execute(select(Download.version_index, *columns).where(where)
                                      .group_by(Download.version_index)
                                      .order_by(Download.version_index)).all()
    except SQLAlchemyError as error:
        raise DatabaseUnavailable("cannot read the download log") from error
    return AssetDownloads(
        asset_id=asset_id, downloads=int(total[0]), full_downloads=int(total[1] or 0),
        bytes_served=int(total[2]), accounts=int(total[3]), completed=int(total[4]),
        versions=[VersionDownloads(version=int(r[0]), downloads=int(r[1]),
                                   full_downloads=int(r[2] or 0), bytes_served=int(r[3]),
                                   accounts=int(r[4]), completed=int(r[5])) for r in rows],
    )
