"""A licensed download that survives its gateway (issue 16): several gateways serve the same
asset (replicas behind one service, or the provider directory's entries); when the one in use
dies or answers 503 before or during the download, the next one is asked for the rest with a
`Range` request (`GatewayClient.download` resumes from the `.part` file, `If-Range` naming the
version's ETag, which is the same at every gateway), and the finished file is checked against
the version's metadata as always: bytes from two gateways are kept only if together they are
the content the chain names."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount

from dapp.client.gateway import DownloadResult, ExpectedContent, GatewayClient, Progress
from dapp.errors import InvalidInput, IpfsUnavailable, ServiceUnavailable

log = logging.getLogger("dapp.client.failover")

RETRY_PAUSE_SECONDS = 0.5


def download_from_gateways(urls: Sequence[str], account: LocalAccount, asset_id: int,
                           destination: Path, *, chain_id: int | None,
                           expected: ExpectedContent | None = None,
                           on_progress: Progress | None = None, rounds: int = 2,
                           timeout: float = 60.0,
                           transport: Callable[[], httpx.BaseTransport] | None = None
                           ) -> DownloadResult:
    """Download from the first gateway of `urls` that completes, going round them at most
    `rounds` times; the last failure when none does. `resumed_from` of the result is where
    the last (successful) request started. `transport` makes each connection's httpx
    transport (socket options); None, httpx's default."""
    if not urls:
        raise InvalidInput("no gateway to download from", hint="name at least one gateway URL")
    last: Exception | None = None
    for attempt in range(rounds * len(urls)):
        url = urls[attempt % len(urls)]
        if attempt and attempt % len(urls) == 0:
            time.sleep(RETRY_PAUSE_SECONDS)
        try:
            with GatewayClient(url, account, timeout, chain_id=chain_id,
                               transport=transport() if transport else None) as client:
                return client.download(asset_id, destination, expected=expected,
                                       on_progress=on_progress)
        except (ServiceUnavailable, IpfsUnavailable) as error:
            log.warning("download of asset %s at %s failed (%s); trying another gateway",
                        asset_id, url, error)
            last = error
    assert last is not None
    raise last
