"""Handlers are small functions, one per (contract, event), registered in a table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Table

from dapp.chain.events import DecodedEvent
from dapp.indexer.writer import StateWriter

Handler = Callable[[StateWriter, DecodedEvent], None]


@dataclass
class HandlerTable:
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    #: tables outside the store's models that handlers write to (tests, plug-ins)
    extra_tables: dict[str, Table] = field(default_factory=dict)

    def on(self, contract: str, event: str) -> Callable[[Handler], Handler]:
        """Decorator: `@HANDLERS.on("AssetRegistry", "AssetPublished")`."""

        def register(handler: Handler) -> Handler:
            key = (contract, event)
            if key in self.handlers:
                raise ValueError(f"two handlers for {contract}.{event}")
            self.handlers[key] = handler
            return handler

        return register

    def get(self, contract: str, event: str) -> Handler | None:
        return self.handlers.get((contract, event))

    def contracts(self) -> set[str]:
        return {contract for contract, _ in self.handlers}

    def events_of(self, contract: str) -> set[str]:
        return {event for name, event in self.handlers if name == contract}

    @classmethod
    def merged(cls, tables: Iterable[HandlerTable]) -> HandlerTable:
        result = cls()
        for table in tables:
            for (contract, event), handler in table.handlers.items():
                result.on(contract, event)(handler)
            result.extra_tables.update(table.extra_tables)
        return result
