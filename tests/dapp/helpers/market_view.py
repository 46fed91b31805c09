"""A `MarketView` (what `MeteredClient` asks the chain) answering from fixed facts, for unit
tests of the metered client against a scripted gateway; the real chain is in
test_cli_invoke.py and test_hostile_gateway.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from dapp.chain.constants import ZERO_ADDRESS
from dapp.market.reader import ChannelState, ProviderState


@dataclass
class FixedMarket:
    """One provider (from `terms`, as `GET /v1/provider` states them) and channels of
    `buyer` to it, each with `deposit`."""

    terms: dict[str, Any]
    buyer: str
    deposit: int = 10**30
    reads: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return Web3.to_checksum_address(self.terms["market"])

    def provider(self, address: str, fresh: bool = False) -> ProviderState:
        self.reads.append(f"provider {address}")
        registered = address.lower() == self.terms["address"].lower()
        token = self.terms["token"] if registered else ZERO_ADDRESS
        return ProviderState(Web3.to_checksum_address(address),
                             Web3.to_checksum_address(token),
                             int(self.terms["price"]) if registered else 0, 0, 0, "")

    def channel(self, channel_id: int, fresh: bool = False) -> ChannelState:
        self.reads.append(f"channel {channel_id}")
        return ChannelState(channel_id, Web3.to_checksum_address(self.buyer), 2**40,
                            Web3.to_checksum_address(self.terms["token"]), self.deposit,
                            Web3.to_checksum_address(self.terms["address"]), 0)
