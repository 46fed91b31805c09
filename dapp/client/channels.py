"""A buyer's payment channels in the ComputeMarket: open one to a provider, top it up, extend
it, and reclaim what the provider did not redeem once it has expired."""

from __future__ import annotations

from web3 import Web3
from web3.logs import DISCARD

from dapp.chain.constants import MAX_UINT96
from dapp.chain.transactions import SentTransaction
from dapp.client.market import MarketAccount
from dapp.errors import InvalidInput, NotFound
from dapp.market.reader import ChannelState


class BuyerChannels(MarketAccount):
    def channel(self, channel_id: int) -> ChannelState:
        state = self.reader.channel(channel_id, fresh=True)
        if not state.exists:
            raise NotFound(f"channel {channel_id} does not exist on market {self.address}")
        return state

    def open(self, provider: str, deposit: int, expiry: int) -> tuple[int, SentTransaction]:
        """Approve the provider's price token if needed, then `openChannel`: the channel id."""
        _check_uint96(deposit, "deposit")
        state = self.reader.provider(Web3.to_checksum_address(provider), fresh=True)
        if not state.registered:
            raise NotFound(f"{provider} is not a provider in market {self.address}")
        self._ensure_allowance(state.price_token, deposit)
        sent = self._send(self.market.functions.openChannel(state.address, deposit, expiry),
                          f"opening a channel to {state.address}")
        (event,) = self.market.events.ChannelOpened().process_receipt(sent.receipt,
                                                                      errors=DISCARD)
        return int(event["args"]["channelId"]), sent

    def top_up(self, channel_id: int, amount: int) -> SentTransaction:
        _check_uint96(amount, "amount")
        self._ensure_allowance(self.channel(channel_id).token, amount)
        return self._send(self.market.functions.topUp(channel_id, amount),
                          f"topping up channel {channel_id}")

    def extend(self, channel_id: int, expiry: int) -> SentTransaction:
        return self._send(self.market.functions.extend(channel_id, expiry),
                          f"extending channel {channel_id}")

    def reclaim(self, channel_id: int) -> tuple[int, SentTransaction]:
        sent = self._send(self.market.functions.reclaim(channel_id),
                          f"reclaiming channel {channel_id}")
        events = self.market.events.ChannelReclaimed().process_receipt(sent.receipt,
                                                                       errors=DISCARD)
        return sum(int(e["args"]["amount"]) for e in events), sent


def _check_uint96(amount: int, what: str) -> None:
    if not 0 < amount <= MAX_UINT96:
        raise InvalidInput(f"the {what} must be above 0 and fit a uint96 ({amount} does not)")
