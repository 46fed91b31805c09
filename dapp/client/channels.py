"""A buyer's payment channels in the ComputeMarket: open one to a provider, top it up, extend
it, and reclaim what the provider did not redeem once it has expired.

Reads go through `MarketReader` (the gateway's view of channels, uncached here); writes are
signed locally by the buyer's `TransactionSender`, with the market's custom errors named."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import Deployment
from dapp.errors import InvalidInput, NotFound
from dapp.gateway.metered.market import ChannelState, MarketReader
from dapp.publishing.transactions import ErrorDecoder, SentTransaction, TransactionSender

MARKET = "ComputeMarket"
TOKEN_ABI = "TestToken"  # any ERC-20: approve / allowance / symbol / decimals
MAX_UINT96 = 2**96 - 1


def channel_error_decoder() -> ErrorDecoder:
    return ErrorDecoder([load_abi(MARKET), load_abi(TOKEN_ABI)])


class BuyerChannels:
    """The channels of `sender`'s account (reads need no sender)."""

    def __init__(self, web3: Web3, deployment: Deployment,
                 sender: TransactionSender | None = None) -> None:
        self.web3 = web3
        self.market: Contract = bind(web3, deployment, MARKET)
        self.reader = MarketReader(web3, self.market.address, channel_ttl=0.0)
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.market.address)

    def channel(self, channel_id: int) -> ChannelState:
        state = self.reader.channel(channel_id, fresh=True)
        if not state.exists:
            raise NotFound(f"channel {channel_id} does not exist on market {self.address}")
        return state

    def chain_time(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

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

    def _ensure_allowance(self, token: str, amount: int) -> None:
        sender = self._sender()
        erc20 = self.web3.eth.contract(address=Web3.to_checksum_address(token),
                                       abi=load_abi(TOKEN_ABI))
        if erc20.functions.allowance(sender.address, self.address).call() < amount:
            sender.send(erc20.functions.approve(self.address, amount),
                        "approving the channel deposit")

    def _send(self, function: object, what: str) -> SentTransaction:
        return self._sender().send(function, what)  # type: ignore[arg-type]

    def _sender(self) -> TransactionSender:
        if self.sender is None:
            raise InvalidInput("this needs an account", hint="pass --account NAME")
        return self.sender


def _check_uint96(amount: int, what: str) -> None:
    if not 0 < amount <= MAX_UINT96:
        raise InvalidInput(f"the {what} must be above 0 and fit a uint96 ({amount} does not)")
