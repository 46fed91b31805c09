"""Is this voucher worth one more call? Checked against the chain (cached channel state) and
the voucher ledger, with the EIP-712 digest computed locally.

A voucher pays for a call when its channel exists, is ours, is in our price token, is not
about to expire, its signature is the channel buyer's (ECDSA, or ERC-1271 for a contract
buyer), and its cumulative amount is at least one price above the last accepted amount and
within the deposit. Anything else is 402 Payment Required with the terms to pay by.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from dapp.errors import PaymentRequired
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.reader import ChannelState, MarketReader
from dapp.market.vouchers import (
    VOUCHER_HEADER,
    MalformedVoucher,
    Voucher,
    parse_voucher_header,
    signed_by,
    voucher_digest,
)

#: a channel must stay open this long after a call, so the redeemer can still cash it in
EXPIRY_MARGIN_SECONDS = 60
#: a channel read as missing is read again after this long (not the whole cache TTL): a channel
#: opened just after a call saw it missing pays at once, and a flood of calls naming one
#: missing channel costs at most one chain read per second for it
MISSING_CHANNEL_MAX_AGE_SECONDS = 1.0

REASONS = ("missing", "malformed", "unknown-channel", "wrong-provider", "wrong-token",
           "expired", "wrong-signer", "stale", "over-deposit")


@dataclass(frozen=True)
class Terms:
    """What a call costs and whom to pay: the body of every 402."""

    price: int
    token: str
    provider: str
    market: str
    chain_id: int

    def as_problem(self) -> dict[str, Any]:
        return {"price": str(self.price), "token": self.token, "provider": self.provider,
                "market": self.market, "chain_id": self.chain_id}


@dataclass(frozen=True)
class CheckedVoucher:
    voucher: Voucher
    channel: ChannelState
    accepted_before: int


class VoucherVerifier:
    def __init__(self, market: MarketReader, ledger: VoucherLedger, provider: str, price: int,
                 chain_id: int, observe_rejection: Any = None) -> None:
        self.market = market
        self.ledger = ledger
        self.provider = provider
        self.price = price
        self.chain_id = chain_id
        self._observe = observe_rejection

    def terms(self) -> Terms:
        token = self.market.provider(self.provider).price_token
        return Terms(self.price, token, self.provider, self.market.address, self.chain_id)

    def accepted(self, channel: ChannelState, known: bool = False) -> int:
        """The highest amount already paid for on `channel`: ledger or chain, whichever is
        higher (the chain's `redeemed` counts even if the ledger never saw it). `known`: the
        ledger's amount as this process last saw it (no query; a lower bound, enough to pass
        a voucher on to `accept`, whose compare-and-set has the last word)."""
        channel_id = str(channel.channel_id)
        if known:
            return max(self.ledger.known_amount(channel_id), channel.redeemed)
        stored = self.ledger.latest(channel_id)
        return max(stored.cumulative_amount if stored else 0, channel.redeemed)

    def check(self, header: str | None, now: float | None = None) -> CheckedVoucher:
        """The voucher in `header`, checked; PaymentRequired (402) with the reason otherwise."""
        if header is None:
            raise self._refuse("missing", f"this call costs {self.price}: send a voucher in "
                                          f"{VOUCHER_HEADER}")
        try:
            voucher = parse_voucher_header(header)
        except MalformedVoucher as error:
            raise self._refuse("malformed", str(error)) from None
        channel_id = voucher.channel_id
        channel = self.market.channel(channel_id)
        if not channel.exists:  # opened since it was read? believe "missing" ≤ 1 s
            channel = self.market.channel(channel_id, max_age=MISSING_CHANNEL_MAX_AGE_SECONDS)
        if not channel.exists:
            raise self._refuse("unknown-channel", f"channel {channel_id} does not exist",
                               channel_id)
        if channel.provider != self.provider:
            raise self._refuse("wrong-provider", f"channel {channel_id} pays "
                               f"{channel.provider}, not this gateway", channel_id)
        token = self.market.provider(self.provider).price_token
        if channel.token != token:
            raise self._refuse("wrong-token", f"channel {channel_id} is in {channel.token}; "
                               f"calls are priced in {token}", channel_id)
        moment = max(time.time(), self.market.chain_time()) if now is None else now
        if channel.expiry < moment + EXPIRY_MARGIN_SECONDS:
            channel = self.market.channel(channel_id, fresh=True)  # extended since?
            if channel.expiry < moment + EXPIRY_MARGIN_SECONDS:
                raise self._refuse(
                    "expired", f"channel {channel_id} expires at {channel.expiry}; calls need "
                    f"{EXPIRY_MARGIN_SECONDS} s left to be redeemed", channel_id,
                    accepted=self.accepted(channel), expiry=channel.expiry)
        accepted = self.accepted(channel, known=True)
        if voucher.cumulative_amount < accepted + self.price:
            accepted = self.accepted(channel)  # refused on what the database says
        needed = accepted + self.price
        if voucher.cumulative_amount < needed:
            raise self._refuse("stale", f"the voucher is for {voucher.cumulative_amount}; this "
                               f"call needs a cumulative amount of at least {needed}",
                               channel_id, accepted=accepted)
        if voucher.cumulative_amount > channel.deposit:
            channel = self.market.channel(channel_id, fresh=True)  # topped up since?
            if voucher.cumulative_amount > channel.deposit:
                raise self._refuse(
                    "over-deposit", f"the voucher is for {voucher.cumulative_amount}, more "
                    f"than channel {channel_id}'s deposit of {channel.deposit}", channel_id,
                    accepted=self.accepted(channel), deposit=str(channel.deposit))
        if not self._signed_by_buyer(voucher, channel):
            raise self._refuse("wrong-signer", f"the voucher is not signed by channel "
                               f"{channel_id}'s buyer {channel.buyer} (for chain "
                               f"{self.chain_id} and market {self.market.address})",
                               channel_id, accepted=self.accepted(channel))
        return CheckedVoucher(voucher, channel, accepted)

    def accept(self, checked: CheckedVoucher) -> int:
        """Reserve the call: store the voucher durably (compare-and-set: at least one price
        above the stored one) before the model runs; its amount on success. Concurrent calls
        that carry the same value lose here (402 stale) and do not run."""
        voucher = checked.voucher
        if not self.ledger.accept(str(voucher.channel_id), voucher.cumulative_amount,
                                  voucher.signature_hex, min_increment=self.price):
            accepted = self.accepted(checked.channel)
            raise self._refuse("stale", f"another call took this voucher's value first: "
                               f"channel {voucher.channel_id} is at {accepted}; send at least "
                               f"{accepted + self.price}", voucher.channel_id,
                               accepted=accepted)
        return voucher.cumulative_amount

    def _signed_by_buyer(self, voucher: Voucher, channel: ChannelState) -> bool:
        digest = voucher_digest(self.chain_id, self.market.address, voucher.channel_id,
                                voucher.cumulative_amount)
        if signed_by(digest, voucher.signature, channel.buyer):
            return True
        if self.market.is_contract(channel.buyer):
            return self.market.erc1271_accepts(channel.buyer, digest, voucher.signature)
        return False

    def _refuse(self, reason: str, detail: str, channel_id: int | None = None,
                accepted: int | None = None, **extra: Any) -> PaymentRequired:
        body = {"reason": reason, **self.terms().as_problem(),
                "channel": None if channel_id is None else str(channel_id),
                "accepted_cumulative": None if accepted is None else str(accepted)}
        body.update(extra)
        if self._observe is not None:  # counted once the refusal is made (`cache_only` may
            self._observe(reason)  # have stopped an attempt on the event loop before)
        return PaymentRequired(detail, hint="sign an EIP-712 Voucher for channel <id> and send "
                               f"it as {VOUCHER_HEADER}: <channelId>:<cumulativeAmount>:"
                               "<0x signature>", details=body)
