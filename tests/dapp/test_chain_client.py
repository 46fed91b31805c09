"""`dapp.chain.client.connect` against a node that drops the first connection it gets without
an answer (what a keep-alive connection closed by the node as it is reused looks like): reads
are sent again, a signed transaction is not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from dapp.chain.client import connect


class DropsFirstRequest(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append(body["method"])
        if len(self.seen) == 1:
            self.close_connection = True
            self.connection.shutdown(2)  # no status line: "Connection aborted"
            return
        answer = json.dumps({"jsonrpc": "2.0", "id": body["id"], "result": "0x2a"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def node() -> Iterator[str]:
    DropsFirstRequest.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), DropsFirstRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_read_on_a_dropped_connection_is_sent_again(node: str) -> None:
    assert connect(node).eth.block_number == 42
    assert DropsFirstRequest.seen == ["eth_blockNumber", "eth_blockNumber"]


def test_a_signed_transaction_is_not_sent_twice(node: str) -> None:
    with pytest.raises(requests.ConnectionError):
        connect(node).eth.send_raw_transaction("0x01")
    assert DropsFirstRequest.seen == ["eth_sendRawTransaction"]
