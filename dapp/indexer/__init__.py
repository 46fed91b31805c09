"""The indexer: contract events → the store, crash- and reorg-safe; pins published CIDs."""

from __future__ import annotations

from dapp.indexer.sync import Indexer, SyncReport

__all__ = ["Indexer", "SyncReport"]
