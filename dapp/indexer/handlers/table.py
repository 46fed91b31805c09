"""Handlers are small functions, one per (contract, event), registered in a table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from dapp.chain.events import DecodedEvent
from dapp.indexer.writer import StateWriter

Handler = Callable[[StateWriter, DecodedEvent], None]
#: the rows (table or model, primary key) a handler will `get` for an event's arguments: the
#: indexer reads them for a whole batch in a few queries instead of one query per event
Reads = Callable[[Mapping[str, Any]], Iterable[tuple[Any, Mapping[str, Any]]]]


@dataclass
class HandlerTable:
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    reads: dict[tuple[str, str], Reads] = field(default_factory=dict)
    #: tables outside the store's models that handlers write to (tests, plug-ins)
    extra_tables: dict[str, Table] = field(default_factory=dict)

    def on(self, contract: str, event: str, reads: Reads | None = None
           ) -> Callable[[Handler], Handler]:
        """Decorator: `@HANDLERS.on("AssetRegistry", "AssetPublished")`; `reads` names the
        rows the handler looks up by primary key (optional: a speed-up, not a promise the
        writer relies on)."""

        def register(handler: Handler) -> Handler:
            key = (contract, event)
            if key in self.handlers:
                raise ValueError(f"two handlers for {contract}.{event}")
            self.handlers[key] = handler
            if reads is not None:
                self.reads[key] = reads
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
                result.on(contract, event, table.reads.get((contract, event)))(handler)
            result.extra_tables.update(table.extra_tables)
        return result
