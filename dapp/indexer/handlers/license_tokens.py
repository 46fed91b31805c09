"""LicenseTokens events → `license_tokens` (who holds which licence token until when).

A purchase (`LicenseTokenPurchased`) sets the holder's end; a transfer (`TransferSingle`,
`TransferBatch`) moves the sender's end to the receiver, who keeps the later of the two as the
contract does, and leaves the sender's row at 0. Mints are counted by the purchase event that
follows them in the same transaction.
"""

from __future__ import annotations

from typing import Any

from dapp.chain.constants import ZERO_ADDRESS, Scope
from dapp.chain.events import DecodedEvent
from dapp.indexer.handlers.table import HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.store.models import PERPETUAL, LicenseToken

CONTRACT = "LicenseTokens"

#: Events with nothing for the catalog (the raw logs stay in `events`). `UpdateUser` (a loan,
#: ERC-4907) changes no holding: the gateway never caches a "yes" that a licence token gives, so
#: a lender loses access at once, and a borrower's cached "no" lasts at most the negative TTL.
#: Resale listings are not indexed: a sale's move is its `TransferSingle`, its money the
#: registry's `RevenueSplit` (royalty) and `PayoutCredited` (the seller's part).
IGNORED = frozenset({"ApprovalForAll", "TokenOfferSet", "RoyaltySet", "MetadataSet",
                     "ContractURIUpdated", "URI", "UpdateUser", "ResaleListed", "ResaleBought"})

HANDLERS = HandlerTable()
on = HANDLERS.on


def _as_end(raw: int) -> int | None:
    return None if raw >= PERPETUAL else raw


def _raw_end(row: dict[str, Any] | None) -> int:
    if row is None:
        return 0
    return PERPETUAL if row["expires_at"] is None else int(row["expires_at"])


def _set_holding(writer: StateWriter, token_id: int, holder: str, raw_end: int) -> None:
    writer.upsert(LicenseToken, {"token_id": token_id, "holder": holder},
                  asset_id=token_id >> 2, scope=Scope.label_of((token_id >> 1) & 1),
                  transferable=bool(token_id & 1), expires_at=_as_end(raw_end))


def _move(writer: StateWriter, token_id: int, sender: str, receiver: str, value: int) -> None:
    if value == 0 or sender in (ZERO_ADDRESS, receiver):
        return
    moved = _raw_end(writer.get(LicenseToken, token_id=token_id, holder=sender))
    theirs = _raw_end(writer.get(LicenseToken, token_id=token_id, holder=receiver))
    _set_holding(writer, token_id, sender, 0)
    _set_holding(writer, token_id, receiver, max(moved, theirs))


@on(CONTRACT, "LicenseTokenPurchased")
def license_token_purchased(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _set_holding(writer, int(a["id"]), a["holder"], int(a["expiresAt"]))


@on(CONTRACT, "TransferSingle")
def transfer_single(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _move(writer, int(a["id"]), a["from"], a["to"], int(a["value"]))


@on(CONTRACT, "TransferBatch")
def transfer_batch(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    for token_id, value in zip(a["ids"], a["values"], strict=True):
        _move(writer, int(token_id), a["from"], a["to"], int(value))
