"""The read side of compute providers for the gateway: who sells jobs and metered calls, at
what price, with how much stake behind them — as the indexer last saw the ComputeMarket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, func, select

from dapp.store.catalog import checksum
from dapp.store.models import ComputeJob, ComputeProvider


@dataclass(frozen=True)
class ProviderView:
    address: str
    endpoint: str
    price_token: str
    price: int  # per job, and per metered call
    stake: int  # locked collateral included
    active: bool  # False once exiting: no new jobs or channels
    jobs: int  # jobs escrowed to it, in any state


# A provider row with its job count, in one query.
_JOB_COUNT = (select(func.count()).select_from(ComputeJob)
              .where(ComputeJob.provider == ComputeProvider.address)
              .correlate(ComputeProvider).scalar_subquery().label("job_count"))
_PROVIDERS = select(ComputeProvider, _JOB_COUNT)


class ProviderDirectory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list_providers(self, include_exiting: bool = False) -> list[ProviderView]:
        """Providers, cheapest first (then by address); exiting ones only when asked."""
        query = _PROVIDERS.order_by(ComputeProvider.price, ComputeProvider.address)
        if not include_exiting:
            query = query.where(ComputeProvider.active.is_(True))
        with self.engine.connect() as connection:
            return [_view(row) for row in connection.execute(query)]

    def get_provider(self, address: str) -> ProviderView | None:
        query = _PROVIDERS.where(ComputeProvider.address == checksum(address, "provider"))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else _view(row)


def _view(row: Row[Any]) -> ProviderView:
    return ProviderView(address=row.address, endpoint=row.endpoint, price_token=row.price_token,
                        price=int(row.price), stake=int(row.stake), active=bool(row.active),
                        jobs=int(row.job_count))
