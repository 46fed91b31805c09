"""`hasLicense` on chain, cached for seconds at most and dropped per asset on new events.

Positive answers live `ttl_seconds` (default 5 s); negative ones 1 s, so a buyer who just
bought is let in quickly even before the indexer reports the purchase. `invalidate(asset)`
drops an asset's entries at once (called when the indexer sees a license or a retire).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import IntEnum

from requests.exceptions import RequestException
from web3 import Web3

from dapp.errors import ChainUnavailable

HAS_LICENSE_ABI = [
    {
        "name": "hasLicense",
        "type": "function",
        "stateMutability": "view",
        "inputs": [
            {"name": "assetId", "type": "uint256"},
            {"name": "account", "type": "address"},
            {"name": "scope", "type": "uint8"},
        ],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


class Scope(IntEnum):
    DOWNLOAD = 0
    COMPUTE = 1


CacheKey = tuple[int, str, int]


class LicenseChecker:
    def __init__(
        self,
        web3: Web3,
        registry_address: str,
        ttl_seconds: float = 5.0,
        negative_ttl_seconds: float = 1.0,
        observe: Callable[[bool, float], None] | None = None,
    ) -> None:
        self._oracle = web3.eth.contract(address=Web3.to_checksum_address(registry_address),
                                         abi=HAS_LICENSE_ABI)
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._observe = observe or (lambda cached, seconds: None)
        self._cache: dict[CacheKey, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def has_license(self, asset_id: int, account: str, scope: Scope) -> bool:
        started = time.perf_counter()
        key = (asset_id, account.lower(), int(scope))
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            self._observe(True, time.perf_counter() - started)
            return hit[0]
        try:
            answer = bool(self._oracle.functions.hasLicense(
                asset_id, Web3.to_checksum_address(account), int(scope)).call())
        except (RequestException, OSError) as error:
            raise ChainUnavailable("cannot ask the chain for the license",
                                   hint="the chain RPC is unreachable") from error
        ttl = self._ttl if answer else self._negative_ttl
        with self._lock:
            self._cache[key] = (answer, now + ttl)
        self._observe(False, time.perf_counter() - started)
        return answer

    def invalidate(self, asset_id: int) -> None:
        with self._lock:
            for key in [k for k in self._cache if k[0] == asset_id]:
                del self._cache[key]

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
