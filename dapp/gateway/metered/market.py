"""What the gateway reads from the ComputeMarket: channels and providers, cached for seconds.

A channel's buyer, token and provider never change; deposit and expiry only grow (top-up,
extend) until the buyer reclaims after expiry; `redeemed` grows when we redeem. A cached
state is therefore safe to accept against for a few seconds, and a rejection because of
deposit or expiry is re-checked against a fresh read before it is answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from eth_typing import ChecksumAddress
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import ContractLogicError

from dapp.chain.contracts import load_abi
from dapp.errors import ChainUnavailable

CHANNEL_TTL_SECONDS = 3.0
PROVIDER_TTL_SECONDS = 10.0
MAX_CACHED = 65_536
ZERO_ADDRESS = "0x" + "00" * 20
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC1271_ABI = [{
    "name": "isValidSignature", "type": "function", "stateMutability": "view",
    "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
    "outputs": [{"name": "", "type": "bytes4"}],
}]
T = TypeVar("T")


@dataclass(frozen=True)
class ChannelState:
    channel_id: int
    buyer: ChecksumAddress
    expiry: int
    token: ChecksumAddress
    deposit: int
    provider: ChecksumAddress
    redeemed: int

    @property
    def exists(self) -> bool:
        return self.buyer != ZERO_ADDRESS


@dataclass(frozen=True)
class ProviderState:
    address: ChecksumAddress
    price_token: ChecksumAddress
    price: int
    stake: int
    exit_at: int
    endpoint: str

    @property
    def registered(self) -> bool:
        return self.price_token != ZERO_ADDRESS


class MarketReader:
    def __init__(self, web3: Web3, market_address: str,
                 channel_ttl: float = CHANNEL_TTL_SECONDS) -> None:
        self.web3 = web3
        self.address = Web3.to_checksum_address(market_address)
        self.contract = web3.eth.contract(address=self.address, abi=load_abi("ComputeMarket"))
        self._channel_ttl = channel_ttl
        self._channels: dict[int, tuple[float, ChannelState]] = {}
        self._providers: dict[str, tuple[float, ProviderState]] = {}
        self._contracts: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._chain_time = 0.0
        self._chain_time_read_at = -2.0

    def chain_time(self) -> float:
        """The chain's clock (latest block), read at most once a second. Redemption happens
        on chain, so expiry is judged by this — a dev chain moved forward, or a skewed local
        clock, must not let a channel look alive that the contract considers expired."""
        now = time.monotonic()
        if now - self._chain_time_read_at > 1.0:
            self._chain_time = float(_call(lambda: self.web3.eth.get_block("latest")["timestamp"]))
            self._chain_time_read_at = now
        return self._chain_time

    def channel(self, channel_id: int, fresh: bool = False) -> ChannelState:
        now = time.monotonic()
        if not fresh:
            with self._lock:
                cached = self._channels.get(channel_id)
            if cached is not None and now - cached[0] < self._channel_ttl:
                return cached[1]
        record = _call(lambda: self.contract.functions.getChannel(channel_id).call())
        buyer, expiry, token, deposit, provider, redeemed = record
        state = ChannelState(channel_id, Web3.to_checksum_address(buyer), int(expiry),
                             Web3.to_checksum_address(token), int(deposit),
                             Web3.to_checksum_address(provider), int(redeemed))
        with self._lock:
            if len(self._channels) >= MAX_CACHED:
                self._channels.clear()
            self._channels[channel_id] = (now, state)
        return state

    def cached_channel(self, channel_id: int) -> ChannelState | None:
        """The last state read of the channel, however old (None if never read)."""
        with self._lock:
            cached = self._channels.get(channel_id)
        return None if cached is None else cached[1]

    def provider(self, address: str, fresh: bool = False) -> ProviderState:
        key = Web3.to_checksum_address(address)
        now = time.monotonic()
        if not fresh:
            with self._lock:
                cached = self._providers.get(key)
            if cached is not None and now - cached[0] < PROVIDER_TTL_SECONDS:
                return cached[1]
        price_token, price, stake, _locked, exit_at, endpoint = _call(
            lambda: self.contract.functions.getProvider(key).call())
        state = ProviderState(key, Web3.to_checksum_address(price_token), int(price),
                              int(stake), int(exit_at), str(endpoint))
        with self._lock:
            self._providers[key] = (now, state)
        return state

    def min_provider_stake(self) -> int:
        return int(_call(lambda: self.contract.functions.params().call())[5])

    def stake_token(self) -> ChecksumAddress:
        return Web3.to_checksum_address(_call(lambda: self.contract.functions.stakeToken().call()))

    def is_contract(self, address: str) -> bool:
        """Whether `address` has code (an ERC-1271 wallet could be); a yes is cached for good."""
        with self._lock:
            if self._contracts.get(address):
                return True
        has_code = len(_call(lambda: self.web3.eth.get_code(
            Web3.to_checksum_address(address)))) > 0
        with self._lock:
            if has_code:
                self._contracts[address] = True
        return has_code

    def erc1271_accepts(self, wallet: str, digest: bytes, signature: bytes) -> bool:
        """`wallet.isValidSignature(digest, signature)` returns the ERC-1271 magic value."""
        contract = self.web3.eth.contract(address=Web3.to_checksum_address(wallet),
                                          abi=ERC1271_ABI)
        try:
            result = _call(lambda: contract.functions.isValidSignature(digest, signature).call(
                {"gas": 200_000}))
        except ContractLogicError:
            return False
        except ChainUnavailable:
            raise
        except Exception:  # not an ERC-1271 wallet, garbage return data
            return False
        return bytes(result) == ERC1271_MAGIC


def _call(call: Callable[[], T]) -> T:
    try:
        return call()
    except (RequestException, OSError) as error:
        raise ChainUnavailable("the chain RPC is unreachable",
                               hint="the gateway checks vouchers against the chain") from error

