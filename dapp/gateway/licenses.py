"""`hasLicense` on chain, cached for seconds at most and dropped on new license events.

Positive answers live `ttl_seconds` (default 5 s, never more: `MAX_TTL_SECONDS`); negative ones
1 s, so a buyer who just bought is let in quickly even before the indexer reports the purchase.

Invalidation, for code running in the gateway's process (e.g. an in-process indexer):

- `checker.invalidate(asset_id, account=None)` drops one account's entries of an asset (every
  account's when `account` is None);
- `checker.on_event(event)` takes a decoded event (anything with `.name` and `.args`, such as
  `dapp.chain.events.DecodedEvent`) and drops what a `LicensePurchased`, `LicenseGranted`,
  `LicenseGrantRevoked` or `AssetRetired` changes;
- the gateway's `StaleCaches` (dapp.gateway.caches) calls `invalidate` on the checkers
  registered with it, when the license feed reports what the indexer changed.

Without any of these, a change is seen at the latest `ttl_seconds` later. A "yes" asked for in
its second half is renewed in the background (`dapp.chain.refresh`), so a buyer's steady
stream of calls does not wait on the chain every `ttl_seconds`.

Licence tokens (contracts/LicenseTokens.sol, named by the registry's `licenseTokens()`) move
with a transfer, which no registry event reports: a "yes" that a licence token gives (the
token contract says yes too) is never cached, so the old holder is refused from the transfer's
block on. A "no" for the new holder lives the negative TTL at most (the license feed drops it
sooner when the indexer reports the transfer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from dapp.chain.constants import Scope
from dapp.chain.refresh import RefreshAhead
from dapp.chain.transactions import chain_errors

MAX_TTL_SECONDS = 5.0

_SCOPED_INPUTS = [
    {"name": "assetId", "type": "uint256"},
    {"name": "account", "type": "address"},
    {"name": "scope", "type": "uint8"},
]
HAS_LICENSE_ABI = [
    {"name": "hasLicense", "type": "function", "stateMutability": "view",
     "inputs": _SCOPED_INPUTS, "outputs": [{"name": "", "type": "bool"}]},
    {"name": "licenseExpiry", "type": "function", "stateMutability": "view",
     "inputs": _SCOPED_INPUTS, "outputs": [{"name": "", "type": "uint64"}]},
]
LICENSE_TOKENS_ABI = [
    {"name": "licenseTokens", "type": "function", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "address"}]},
]
ZERO_ADDRESS = "0x" + "00" * 20

LICENSE_EVENTS = frozenset({"LicensePurchased", "LicenseGranted", "LicenseGrantRevoked"})
ASSET_EVENTS = frozenset({"AssetRetired"})


@dataclass(frozen=True)
class LicenseStatus:
    """Why an account has no license: never had one (`expires_at` 0) or it ran out."""

    expires_at: int  # unix seconds on chain; 0 = never licensed

    @property
    def ever_licensed(self) -> bool:
        return self.expires_at > 0


class LicenseEvent(Protocol):
    name: str
    args: dict[str, Any]


CacheKey = tuple[int, str, int]

class LicenseChecker:
    def __init__(
        self,
        web3: Web3,
        registry_address: str,
        ttl_seconds: float = MAX_TTL_SECONDS,
        negative_ttl_seconds: float = 1.0,
        observe: Callable[[bool, float], None] | None = None,
    ) -> None:
        if not 0 <= negative_ttl_seconds <= ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"license cache TTLs must satisfy 0 ≤ negative ≤ positive ≤ "
                             f"{MAX_TTL_SECONDS} s")
        self._oracle = web3.eth.contract(address=Web3.to_checksum_address(registry_address),
                                         abi=HAS_LICENSE_ABI + LICENSE_TOKENS_ABI)
        self._tokens: Any = None  # the licence-token contract, once asked (False: none)
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._observe = observe or (lambda cached, seconds: None)
        self._cache: dict[CacheKey, tuple[bool, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # +1 on every invalidation: a read begun before it is not kept
        self._refresh = RefreshAhead("licenses")

    def cached(self, asset_id: int, account: str, scope: Scope) -> bool | None:
        """The cached answer, or None when `has_license` would ask the chain (cheap enough to
        ask on the event loop first)."""
        started = time.perf_counter()
        with self._lock:
            hit = self._cache.get((asset_id, account.lower(), int(scope)))
        if hit is None or hit[1] <= time.monotonic():
            return None
        self._observe(True, time.perf_counter() - started)
        return hit[0]

    def has_license(self, asset_id: int, account: str, scope: Scope) -> bool:
        started = time.perf_counter()
        key = (asset_id, account.lower(), int(scope))
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            if hit[0] and hit[1] - now <= self._ttl / 2:  # a "yes" in use: renew it early
                self._refresh.soon(key, lambda: self._read(key, asset_id, account, scope))
            self._observe(True, time.perf_counter() - started)
            return hit[0]
        answer = self._read(key, asset_id, account, scope)
        self._observe(False, time.perf_counter() - started)
        return answer

    def _read(self, key: CacheKey, asset_id: int, account: str, scope: Scope) -> bool:
        now = time.monotonic()  # the TTL counts from before the read
        with self._lock:
            generation = self._generation
        answer = bool(self._call("hasLicense", asset_id, account, scope))
        if not (answer and self._held_as_token(asset_id, account, scope)):
            ttl = self._ttl if answer else self._negative_ttl
            with self._lock:
                if self._generation == generation:  # else an event made this read stale
                    self._cache[key] = (answer, now + ttl)
        return answer

    def renewing(self) -> int:
        """How many answers are being renewed in the background now."""
        return self._refresh.running()

    def close(self) -> None:
        """Stop renewing answers in the background (the gateway's shutdown)."""
        self._refresh.close()

    def status(self, asset_id: int, account: str, scope: Scope) -> LicenseStatus:
        """The license's end on chain (uncached; asked only to explain a refusal)."""
        return LicenseStatus(expires_at=int(self._call("licenseExpiry", asset_id, account,
                                                       scope)))

    def _call(self, function: str, asset_id: int, account: str, scope: Scope,
              oracle: Any = None) -> Any:
        with chain_errors(self._oracle.w3, "asking for a license"):
            return getattr((oracle or self._oracle).functions, function)(
                asset_id, Web3.to_checksum_address(account), int(scope)).call()

    def _held_as_token(self, asset_id: int, account: str, scope: Scope) -> bool:
        """Whether `account` holds a running licence token of the asset (a transfer could end
        the answer in any block)."""
        tokens = self._token_oracle()
        return tokens is not None and bool(self._call("hasLicense", asset_id, account, scope,
                                                      oracle=tokens))

    def _token_oracle(self) -> Any:
        if self._tokens is None:
            try:
                with chain_errors(self._oracle.w3, "asking for the licence-token contract"):
                    address = self._oracle.functions.licenseTokens().call()
            except (ContractLogicError, BadFunctionCallOutput):  # a registry from before them
                address = ZERO_ADDRESS
            self._tokens = False if int(address, 16) == 0 else self._oracle.w3.eth.contract(
                address=Web3.to_checksum_address(address), abi=HAS_LICENSE_ABI)
        return self._tokens or None

    def invalidate(self, asset_id: int, account: str | None = None) -> None:
        wanted = None if account is None else account.lower()
        with self._lock:
            self._generation += 1
            for key in [k for k in self._cache
                        if k[0] == asset_id and (wanted is None or k[1] == wanted)]:
                del self._cache[key]

    def on_event(self, event: LicenseEvent) -> None:
        """Drop what a decoded registry event makes stale (other events are ignored)."""
        if event.name in LICENSE_EVENTS:
            self.invalidate(int(event.args["assetId"]), str(event.args["licensee"]))
        elif event.name in ASSET_EVENTS:
            self.invalidate(int(event.args["assetId"]))

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()
