"""Where the indexer's pins go: a `PinBackend` pins a CID, says on which peers it is and in
what state, and repairs a pin a peer lost.

Three backends: the local Kubo (`KuboPinBackend`, the default and what `make up` runs), an
IPFS Cluster through its REST API (`dapp.ipfs.cluster`) and any IPFS Pinning Service API
endpoint (`dapp.ipfs.pinning_service`). `pin_backend(settings, ipfs)` picks one from
`DAPP_PIN_BACKEND`. A backend that cannot be reached raises `IpfsUnavailable` with
"unreachable" in its message: the pinner then stops its round and tries again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dapp.ipfs.client import IpfsClient

#: peer states that need a repair (a Cluster's words; a pinning service's `failed` maps here)
BROKEN = frozenset({"pin_error", "cluster_error", "unexpectedly_unpinned", "error", "gone",
                    "lost"})
#: peer states on the way to `pinned`
PENDING = frozenset({"pin_queued", "pinning", "queued"})


@dataclass(frozen=True)
class PeerPin:
    """One peer's view of one pin: `status` is `pinned`, `pinning`, `pin_queued`,
    `pin_error`, `gone` (allocated to a peer that no longer answers), `lost` (the backend
    holds no such pin any more: removed behind the indexer's back), ..."""

    peer: str
    status: str
    name: str = ""
    error: str | None = None


@dataclass(frozen=True)
class PinState:
    cid: str
    peers: tuple[PeerPin, ...]
    #: the backend's own handle of the pin (a pinning service's request id), if any
    request_id: str | None = None

    @property
    def pinned_on(self) -> tuple[str, ...]:
        return tuple(sorted(p.peer for p in self.peers if p.status == "pinned"))

    @property
    def broken(self) -> tuple[PeerPin, ...]:
        return tuple(p for p in self.peers if p.status in BROKEN)


class PinBackend(Protocol):
    #: `kubo`, `cluster` or `pinning-service` (stored with each pin's peers)
    name: str

    def pin(self, cid: str, name: str = "") -> PinState:
        """Ask for `cid` to be kept (idempotent); returns at once with what is known."""
        ...

    def status(self, cid: str, request_id: str | None = None) -> PinState:
        """Where `cid` is pinned now, per peer."""
        ...

    def repair(self, state: PinState, name: str = "") -> PinState:
        """Recover the peers in error and re-allocate away from peers that are gone."""
        ...

    def close(self) -> None: ...


class KuboPinBackend:
    """Today's behaviour: a recursive pin on the one local node, which is its only peer."""

    name = "kubo"

    def __init__(self, ipfs: IpfsClient) -> None:
        self.ipfs = ipfs
        self._peer: str | None = None

    def _peer_id(self) -> str:
        if self._peer is None:
            self._peer = self.ipfs.identity().peer_id
        return self._peer

    def pin(self, cid: str, name: str = "") -> PinState:
        self.ipfs.pin(cid)
        return PinState(cid, (PeerPin(self._peer_id(), "pinned"),))

    def status(self, cid: str, request_id: str | None = None) -> PinState:
        pinned = self.ipfs.is_pinned(cid)
        return PinState(cid, (PeerPin(self._peer_id(), "pinned" if pinned else
                                      "unexpectedly_unpinned"),))

    def repair(self, state: PinState, name: str = "") -> PinState:
        return self.pin(state.cid, name)

    def close(self) -> None:
        """The IpfsClient belongs to the caller."""
