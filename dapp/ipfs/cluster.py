"""IPFS Cluster as a pin backend, through its REST API (ipfs-cluster-service v1.1.6).

A pin is `POST /pins/{cid}` with a replication factor (min/max; unset: the Cluster's own);
the Cluster allocates it to that many peers, whose Kubo nodes fetch and pin it. Its state
per peer is `GET /pins/{cid}`: each live peer's tracker status (`pinned`, `pinning`,
`pin_queued`, `pin_error`, `cluster_error`, ...); an allocated peer that does not answer at
all is reported here as `gone`. A repair recovers the peers in error (`POST
/pins/{cid}/recover`) and pins again: the Cluster then keeps the allocations that are still
valid (their peers' metrics are fresh) and adds new ones up to the factor, so the copies a
dead peer held are made elsewhere.

Several API URLs may be given (peers of the same Cluster): a request goes to the first that
answers. A Cluster whose REST API has `basic_auth_credentials` is sent them (basic
authentication; the settings refuse them over plain HTTP to anything but loopback).
"""

from __future__ import annotations

from typing import Any

import httpx

from dapp.errors import NotFound, PinBackendUnavailable
from dapp.ipfs.pinning import PeerPin, PinState


class ClusterPinBackend:
    name = "cluster"

    def __init__(self, api_urls: list[str], replication_min: int | None = None,
                 replication_max: int | None = None, timeout_seconds: float = 30.0,
                 credentials: tuple[str, str] | None = None) -> None:
        if not api_urls:
            raise ValueError("an IPFS Cluster backend needs at least one REST API URL "
                             "(DAPP_CLUSTER_API_URLS)")
        self.api_urls = [url.rstrip("/") for url in api_urls]
        self.replication_min = replication_min
        self.replication_max = replication_max
        # basic authentication when the Cluster asks for it (its basic_auth_credentials)
        self._http = httpx.Client(timeout=timeout_seconds,
                                  auth=httpx.BasicAuth(*credentials) if credentials else None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ClusterPinBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, what: str,
                 params: dict[str, Any] | None = None) -> Any:
        errors = []
        for url in self.api_urls:
            try:
                response = self._http.request(method, url + path, params=params)
            except httpx.TransportError as error:
                errors.append(f"{url}: {type(error).__name__}")
                continue
            if response.status_code == 404:
                raise NotFound(f"IPFS Cluster cannot {what}: {_message(response)}")
            if response.status_code in (401, 403):
                raise PinBackendUnavailable(
                    f"IPFS Cluster at {url} refused to {what} ({response.status_code})",
                    hint="the Cluster's REST API asks for credentials: set "
                         "DAPP_CLUSTER_API_CREDENTIALS (or _FILE) to its USER:PASSWORD")
            if response.status_code >= 400:
                raise PinBackendUnavailable(
                    f"IPFS Cluster refused to {what}: {_message(response)}")
            return response.json() if response.content else None
        raise PinBackendUnavailable(
            f"IPFS Cluster is unreachable while trying to {what} ({'; '.join(errors)})",
            hint="is ipfs-cluster-service running? check DAPP_CLUSTER_API_URLS; "
                 "the pin is tried again later")

    def pin(self, cid: str, name: str = "") -> PinState:
        params: dict[str, Any] = {}
        if self.replication_min is not None:
            params["replication-min"] = self.replication_min
        if self.replication_max is not None:
            params["replication-max"] = self.replication_max
        if name:
            params["name"] = name
        self._request("POST", f"/pins/{cid}", f"pin {cid}", params)
        return self.status(cid)

    def status(self, cid: str, request_id: str | None = None) -> PinState:
        info = self._request("GET", f"/pins/{cid}", f"read the status of {cid}",
                             {"local": "false"})
        return _pin_state(cid, info)

    def repair(self, state: PinState, name: str = "") -> PinState:
        """Peers gone, or the pin gone from the Cluster: pin again (new allocations); peers
        in error: recover them (the Cluster pins again on their Kubo nodes)."""
        if not state.peers or any(p.status in ("gone", "lost") for p in state.peers):
            return self.pin(state.cid, name)
        if state.broken:
            self._request("POST", f"/pins/{state.cid}/recover", f"recover {state.cid}",
                          {"local": "false"})
        return self.status(state.cid)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)[:300]
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"


def _pin_state(cid: str, info: dict[str, Any]) -> PinState:
    """Per-peer states of a `GlobalPinInfo`: the allocated peers (all peers when the pin is
    everywhere), an allocated peer missing from the answer (or `cluster_error`) as `gone`.
    Every peer `unpinned` and none allocated: the Cluster does not hold the pin, `lost`."""
    peer_map: dict[str, dict[str, Any]] = info.get("peer_map") or {}
    allocations: list[str] = info.get("allocations") or []
    if not allocations and all(e.get("status") == "unpinned" for e in peer_map.values()):
        return PinState(cid, tuple(
            PeerPin(peer, "lost", name=str(entry.get("peername") or ""),
                    error="the Cluster holds no such pin") for peer, entry in peer_map.items()))
    wanted = allocations or list(peer_map)
    peers = []
    for peer in wanted:
        entry = peer_map.get(peer)
        if entry is None:
            peers.append(PeerPin(peer, "gone", error="the peer does not answer"))
            continue
        status = str(entry.get("status", "undefined"))
        peers.append(PeerPin(peer, "gone" if status == "cluster_error" else status,
                             name=str(entry.get("peername") or ""),
                             error=entry.get("error") or None))
    return PinState(cid, tuple(peers))
