"""A small IPFS Pinning Service API server (the spec's /pins endpoints, bearer token) for the
spec client test: no real service runs on this machine. It pins on a real Kubo: a request is
`queued`, a worker thread pins the CID on the node, then it is `pinned` (or `failed`).

Only what the spec says and the client uses: POST /pins, GET /pins (cid, status, limit
filters), GET/POST/DELETE /pins/{requestid}; 401 with the spec's Failure body on a missing or
wrong token. `fail(requestid)` marks a request failed (a service that lost the content)."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from dapp.ipfs.client import IpfsClient


class PinningService:
    def __init__(self, token: str, ipfs_api_url: str) -> None:
        self.token = token
        self.ipfs_api_url = ipfs_api_url
        self.pins: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.authorizations: list[str] = []  # every Authorization header seen
        self._work: queue.Queue[str | None] = queue.Queue()

    def fail(self, request_id: str, reason: str = "content lost") -> None:
        with self.lock:
            self.pins[request_id]["status"] = "failed"
            self.pins[request_id]["info"] = {"status_details": reason}

    def _worker(self) -> None:
        with IpfsClient(self.ipfs_api_url, timeout_seconds=30) as ipfs:
            while (request_id := self._work.get()) is not None:
                with self.lock:
                    cid = self.pins[request_id]["pin"]["cid"]
                    self.pins[request_id]["status"] = "pinning"
                try:
                    ipfs.pin(cid)
                    status, info = "pinned", {}
                except Exception as error:  # the service reports it, as a real one would
                    status, info = "failed", {"status_details": str(error)[:200]}
                with self.lock:
                    if request_id in self.pins:
                        self.pins[request_id].update(status=status, info=info)

    def create(self, body: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        request_id = request_id or uuid.uuid4().hex
        status = {"requestid": request_id, "status": "queued",
                  "created": datetime.now(UTC).isoformat(),
                  "pin": {"cid": body["cid"], **({"name": body["name"]} if "name" in body
                                                 else {})},
                  "delegates": ["/ip4/127.0.0.1/tcp/4001/p2p/stand-in"], "info": {}}
        with self.lock:
            self.pins[request_id] = status
            answer = json.loads(json.dumps(status))
        self._work.put(request_id)
        return answer

    @contextmanager
    def serving(self) -> Iterator[str]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: object | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _fail(self, code: int, reason: str, details: str = "") -> None:
                self._send(code, {"error": {"reason": reason, "details": details}})

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization", "")
                service.authorizations.append(header)
                if header != f"Bearer {service.token}":
                    self._fail(401, "UNAUTHORIZED", "access token is missing or invalid")
                    return False
                return True

            def _body(self) -> dict[str, Any] | None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = None
                if not isinstance(body, dict) or not isinstance(body.get("cid"), str):
                    self._fail(400, "BAD_REQUEST", "a pin needs a cid")
                    return None
                return body

            def _request_id(self) -> str | None:
                parts = urlparse(self.path).path.strip("/").split("/")
                return parts[1] if len(parts) == 2 and parts[0] == "pins" else None

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                url = urlparse(self.path)
                if url.path.rstrip("/") == "/pins":
                    query = parse_qs(url.query)
                    cids = set(",".join(query.get("cid", [])).split(",")) - {""}
                    statuses = set(",".join(query.get("status", ["pinned"])).split(","))
                    limit = int(query.get("limit", ["10"])[0])
                    with service.lock:
                        results = [p for p in service.pins.values()
                                   if p["status"] in statuses
                                   and (not cids or p["pin"]["cid"] in cids)]
                        results = json.loads(json.dumps(results))
                    self._send(200, {"count": len(results), "results": results[:limit]})
                    return
                request_id = self._request_id()
                with service.lock:
                    found = service.pins.get(request_id or "")
                    found = json.loads(json.dumps(found)) if found else None
                if found is None:
                    self._fail(404, "NOT_FOUND", "no such pin request")
                else:
                    self._send(200, found)

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                body = self._body()
                if body is None:
                    return
                request_id = self._request_id()
                if request_id is None:
                    self._send(202, service.create(body))
                    return
                with service.lock:
                    known = service.pins.pop(request_id, None)
                if known is None:
                    self._fail(404, "NOT_FOUND", "no such pin request")
                else:  # a replacement is a new request with a new id
                    self._send(202, service.create(body))

            def do_DELETE(self) -> None:
                if not self._authorized():
                    return
                with service.lock:
                    known = service.pins.pop(self._request_id() or "", None)
                if known is None:
                    self._fail(404, "NOT_FOUND", "no such pin request")
                else:
                    self._send(202)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threads = [threading.Thread(target=server.serve_forever, daemon=True),
                   threading.Thread(target=self._worker, daemon=True)]
        for thread in threads:
            thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            self._work.put(None)
