"""What the operator sees of the pins: each pinned CID's backend, state and state per peer
(`python -m dapp.indexer --pins`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Engine, select

from dapp.store.models import Pin, PinPeer


@dataclass(frozen=True)
class PeerState:
    peer: str
    name: str
    status: str
    error: str | None
    checked_at: float


@dataclass(frozen=True)
class PinReport:
    cid: str
    kind: str
    asset_id: int | None
    status: str  # queued, retrying, pinned, refused
    backend: str | None
    repairs: int
    last_error: str | None
    peers: tuple[PeerState, ...]

    @property
    def replicas(self) -> int:
        return sum(1 for p in self.peers if p.status == "pinned")


def pin_reports(engine: Engine, asset_id: int | None = None) -> list[PinReport]:
    with engine.connect() as connection:
        query = select(Pin).order_by(Pin.asset_id, Pin.kind, Pin.cid)
        if asset_id is not None:
            query = query.where(Pin.asset_id == asset_id)
        pins = connection.execute(query).all()
        peers: dict[str, list[PeerState]] = defaultdict(list)
        for row in connection.execute(select(PinPeer).where(PinPeer.cid.in_([
                p.cid for p in pins])).order_by(PinPeer.peer_name, PinPeer.peer)):
            peers[row.cid].append(PeerState(row.peer, row.peer_name, row.status, row.error,
                                            row.checked_at))
    return [PinReport(p.cid, p.kind, p.asset_id, p.status, p.backend, p.repairs or 0,
                      p.last_error, tuple(peers[p.cid])) for p in pins]


def format_reports(reports: list[PinReport]) -> str:
    lines = []
    for report in reports:
        head = (f"{report.cid} {report.kind} asset={report.asset_id} {report.status}"
                f" backend={report.backend or '-'} replicas={report.replicas}"
                f" repairs={report.repairs}")
        lines.append(head + (f" error={report.last_error}" if report.last_error
                             and report.status != "pinned" else ""))
        lines += [f"  {p.name or p.peer} {p.peer} {p.status}" + (f" ({p.error})" if p.error
                                                                else "")
                  for p in report.peers]
    return "\n".join(lines) or "no pins"
