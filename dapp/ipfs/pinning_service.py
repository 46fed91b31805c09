"""Any IPFS Pinning Service API endpoint as a pin backend (the spec's `/pins` endpoints,
https://ipfs.github.io/pinning-services-api-spec/, with `Authorization: Bearer <token>`).

The service is one peer to us (named by its host): its pin request's status `queued`,
`pinning`, `pinned` or `failed` is that peer's `pin_queued`, `pinning`, `pinned` or
`pin_error`. A pin first looks for a request the service already holds for the CID (so a
retried pin is not requested twice); a repair replaces a failed request (`POST
/pins/{requestid}`) or makes a new one when the service no longer knows it. The token is only
ever put in the Authorization header: no message, log line or repr carries it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx

from dapp.errors import NotFound, PinBackendUnavailable
from dapp.ipfs.pinning import PeerPin, PinState

STATUSES = {"queued": "pin_queued", "pinning": "pinning", "pinned": "pinned",
            "failed": "pin_error"}


class PinningServiceBackend:
    name = "pinning-service"

    def __init__(self, endpoint: str, token: str, timeout_seconds: float = 30.0) -> None:
        if not token:
            raise ValueError("a pinning service needs an access token "
                             "(DAPP_PINNING_SERVICE_TOKEN or DAPP_PINNING_SERVICE_TOKEN_FILE)")
        self.endpoint = endpoint.rstrip("/")
        self.peer = urlparse(self.endpoint).netloc or self.endpoint
        self._http = httpx.Client(timeout=timeout_seconds,
                                  headers={"Authorization": f"Bearer {token}"})

    def __repr__(self) -> str:
        return f"PinningServiceBackend({self.endpoint!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PinningServiceBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, self.endpoint + path, **kwargs)
        except httpx.TransportError as error:
            raise PinBackendUnavailable(
                f"pinning service {self.endpoint} is unreachable while trying to {what} "
                f"({type(error).__name__})",
                hint="check DAPP_PINNING_SERVICE_URL; the pin is tried again later") from error
        if response.status_code in (401, 403):
            raise PinBackendUnavailable(
                f"pinning service {self.endpoint} refused the access token while trying to "
                f"{what} ({response.status_code})",
                hint="check DAPP_PINNING_SERVICE_TOKEN / DAPP_PINNING_SERVICE_TOKEN_FILE")
        if response.status_code == 404:
            raise NotFound(f"pinning service cannot {what}: {_reason(response)}")
        if response.status_code >= 400:
            raise PinBackendUnavailable(
                f"pinning service {self.endpoint} refused to {what}: {_reason(response)}")
        return response.json() if response.content else None

    def _state(self, cid: str, status: dict[str, Any]) -> PinState:
        info = status.get("info") or {}
        error = info.get("status_details") if status.get("status") == "failed" else None
        return PinState(cid, (PeerPin(self.peer, STATUSES.get(status.get("status", ""),
                                                              "undefined"),
                                      name=self.peer, error=error),),
                        request_id=status.get("requestid"))

    def _find(self, cid: str) -> dict[str, Any] | None:
        answer = self._request("GET", "/pins", f"list the pins of {cid}",
                               params={"cid": cid, "status": "queued,pinning,pinned,failed",
                                       "limit": 1})
        results = answer.get("results") or []
        return results[0] if results else None

    def pin(self, cid: str, name: str = "") -> PinState:
        existing = self._find(cid)
        if existing is not None:
            return self._state(cid, existing)
        body = {"cid": cid, **({"name": name[:255]} if name else {})}
        return self._state(cid, self._request("POST", "/pins", f"pin {cid}", json=body))

    def status(self, cid: str, request_id: str | None = None) -> PinState:
        if request_id is None:
            found = self._find(cid)
            if found is None:
                return PinState(cid, (PeerPin(self.peer, "lost"),))
            return self._state(cid, found)
        try:
            return self._state(cid, self._request("GET", f"/pins/{request_id}",
                                                  f"read the status of {cid}"))
        except NotFound:
            return PinState(cid, (PeerPin(self.peer, "lost"),))

    def repair(self, state: PinState, name: str = "") -> PinState:
        if state.request_id is None or state.pinned_on:
            return self.pin(state.cid, name)
        body = {"cid": state.cid, **({"name": name[:255]} if name else {})}
        try:
            return self._state(state.cid, self._request(
                "POST", f"/pins/{state.request_id}", f"replace the pin of {state.cid}",
                json=body))
        except NotFound:
            return self.pin(state.cid, name)


def _reason(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("reason", "")) + (f": {error['details']}"
                                               if error.get("details") else "")
    except (ValueError, AttributeError):
        return response.text[:300] or f"HTTP {response.status_code}"
