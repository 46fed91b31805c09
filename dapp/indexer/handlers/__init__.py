"""Per-contract event handlers. Each module holds one contract family's table; the indexer
uses all of them merged (`default_handlers()`)."""

from __future__ import annotations

from dapp.indexer.handlers.table import Handler, HandlerTable

__all__ = ["Handler", "HandlerTable", "default_handlers"]


def default_handlers() -> HandlerTable:
    from dapp.indexer.handlers import compute, dao, license_tokens, registry

    return HandlerTable.merged([registry.HANDLERS, dao.HANDLERS, compute.HANDLERS,
                                license_tokens.HANDLERS])
