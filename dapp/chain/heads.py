"""New heads by WebSocket subscription (`eth_subscribe` newHeads), where the node offers it.

The indexer's runner waits on `wake` between sync rounds; a `HeadWatcher` thread sets it as
soon as the node announces a block, so a round starts within milliseconds of a block instead
of up to one poll interval later (the gateway drops its cached version counts the same way).
The runner keeps its poll interval as the longest wait, so without a subscription (no
WebSocket endpoint, the node refuses `eth_subscribe`, the connection dropped) it simply
polls. A dropped subscription wakes the runner once (so nothing announced just before the
drop waits a whole interval) and is made again, after a pause that doubles up to
`max_retry_seconds` (default `MAX_RETRY_SECONDS`) while the node keeps refusing.

ganache and anvil serve WebSocket on their HTTP port: `ws_url_for` turns the RPC URL into
that endpoint; `DAPP_CHAIN_WS_URL` names another one, or `off`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import InvalidURI, WebSocketException
from websockets.sync.client import connect

from dapp.chain.transactions import redact_url

log = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 30.0
RECV_TICK_SECONDS = 0.5  # how often the reader looks at `stop` while no message comes
OPEN_TIMEOUT_SECONDS = 5.0
SUBSCRIBE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                        "params": ["newHeads"]})


class SubscriptionRefused(Exception):
    """The node answered `eth_subscribe` with an error (it may serve WebSocket without it)."""


def ws_url_for(rpc_url: str, setting: str | None = None) -> str | None:
    """The WebSocket endpoint to subscribe at: `setting` when given (None when it is `off`),
    else `rpc_url` with its scheme changed (http → ws, https → wss); None for an RPC URL that
    is neither (an IPC path)."""
    if setting:
        return None if setting.strip().lower() == "off" else setting
    parts = urlsplit(rpc_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme)) if scheme else None


class HeadWatcher:
    def __init__(self, url: str, on_head: Callable[[], None], retry_seconds: float = 1.0,
                 max_retry_seconds: float = MAX_RETRY_SECONDS) -> None:
        self.url = url
        self.on_head = on_head
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max(retry_seconds, max_retry_seconds)
        self.heads = 0  # notifications received
        self.subscriptions = 0  # subscriptions made (more than one: it dropped and came back)
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heads", daemon=True)

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def start(self) -> HeadWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        return self._subscribed.wait(timeout)

    def _run(self) -> None:
        pause = self.retry_seconds
        last_problem = ""
        while not self._stop.is_set():
            try:
                self._follow()
                pause = self.retry_seconds  # it worked for a while: retry soon
            except (OSError, TimeoutError, WebSocketException, SubscriptionRefused,
                    ValueError) as error:
                problem = f"{error.__class__.__name__}: {error}".replace(
                    self.url, redact_url(self.url))  # an RPC URL's path may hold an API key
                if problem != last_problem:  # once per kind of trouble, not every retry
                    log.warning("no new-head subscription at %s (%s); polling, retrying in "
                                "%.0fs", redact_url(self.url), problem, pause)
                    last_problem = problem
                if isinstance(error, InvalidURI):
                    return
            finally:
                if self._subscribed.is_set():
                    self._subscribed.clear()
                    self.on_head()  # poll once now: a block may have come with the drop
            if self._stop.wait(pause):
                return
            pause = min(self.max_retry_seconds, pause * 2)

    def _follow(self) -> None:
        with connect(self.url, open_timeout=OPEN_TIMEOUT_SECONDS, close_timeout=1.0,
                     max_size=1 << 22) as socket:
            socket.send(SUBSCRIBE)
            answer = json.loads(socket.recv(timeout=OPEN_TIMEOUT_SECONDS))
            if answer.get("error") is not None or not answer.get("result"):
                raise SubscriptionRefused(str(answer.get("error")))
            self.subscriptions += 1
            self._subscribed.set()
            log.info("following new heads at %s", redact_url(self.url))
            self.on_head()  # a block may have come between the last poll and now
            while not self._stop.is_set():
                try:
                    message = socket.recv(timeout=RECV_TICK_SECONDS)
                except TimeoutError:
                    continue
                if '"eth_subscription"' in str(message):
                    self.heads += 1
                    self.on_head()
