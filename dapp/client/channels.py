"""A buyer's payment channels in the ComputeMarket: open one to a provider (in the token the
buyer names, which must be the provider's price token), top it up, extend it, and reclaim what
the provider did not redeem once it has expired. A channel holds at most 2^88 - 1 base units
(`MAX_CHANNEL_AMOUNT`; the contract's `AmountTooLarge`)."""

from __future__ import annotations

from web3 import Web3
from web3.logs import DISCARD

from dapp.chain.transactions import SentTransaction
from dapp.client.market import MarketAccount
from dapp.errors import InvalidInput, NotFound
from dapp.market.reader import ChannelState

MAX_CHANNEL_AMOUNT = 2**88 - 1  # deposits of a channel, in base units


class BuyerChannels(MarketAccount):
    def channel(self, channel_id: int) -> ChannelState:
        state = self.reader.channel(channel_id, fresh=True)
        if not state.exists:
            raise NotFound(f"channel {channel_id} does not exist on market {self.address}")
        return state

    def open(self, provider: str, deposit: int, expiry: int, token: str | None = None
             ) -> tuple[int, SentTransaction]:
        """Approve the token if needed, then `openChannel` in it: the channel id. `token` is
        the one the buyer expects to pay in (default: the provider's price token now); a
        provider that switched its token in between makes the transaction revert
        (`PriceTokenMismatch`) instead of charging another token."""
        _check_amount(deposit, "deposit")
        state = self.reader.provider(Web3.to_checksum_address(provider), fresh=True)
        if not state.registered:
            raise NotFound(f"{provider} is not a provider in market {self.address}")
        paid_in = Web3.to_checksum_address(token) if token else state.price_token
        self._ensure_allowance(paid_in, deposit)
        sent = self._send(self.market.functions.openChannel(state.address, paid_in, deposit,
                                                            expiry),
                          f"opening a channel to {state.address}")
        (event,) = self.market.events.ChannelOpened().process_receipt(sent.receipt,
                                                                      errors=DISCARD)
        return int(event["args"]["channelId"]), sent

    def top_up(self, channel_id: int, amount: int) -> SentTransaction:
        _check_amount(amount, "amount")
        channel = self.channel(channel_id)
        if channel.deposit + amount > MAX_CHANNEL_AMOUNT:
            raise InvalidInput(f"channel {channel_id} would hold {channel.deposit + amount}; "
                               f"a channel holds at most {MAX_CHANNEL_AMOUNT} base units")
        self._ensure_allowance(channel.token, amount)
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


def _check_amount(amount: int, what: str) -> None:
    if not 0 < amount <= MAX_CHANNEL_AMOUNT:
        raise InvalidInput(f"the {what} must be above 0 and at most {MAX_CHANNEL_AMOUNT} base "
                           f"units, what a channel holds ({amount} is not)")
