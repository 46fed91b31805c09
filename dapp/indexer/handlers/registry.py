"""AssetRegistry events → assets, versions, offers, licenses, payouts, stakes."""

from __future__ import annotations

from dapp.indexer.handlers.table import HandlerTable

HANDLERS = HandlerTable()
