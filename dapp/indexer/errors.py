"""What stops the indexer on purpose (each says what to do next)."""

from __future__ import annotations

from dapp.errors import DappError


class IndexerError(DappError):
    code = "indexer-error"
    exit_code = 11


class ReorgTooDeep(IndexerError):
    code = "reorg-too-deep"


class ConcurrentIndexer(IndexerError):
    code = "concurrent-indexer"


class WrongChain(IndexerError):
    code = "wrong-chain"


class ChainUnsettled(IndexerError):
    code = "chain-unsettled"
