"""The buyer's side of metered model calls: each call pays the gateway's provider one price
with the next EIP-712 voucher on a payment channel.

What this machine has signed is kept per channel in a small JSON file (`SignedVouchers`):
`accepted`, the amount the gateway confirmed, and `signed`, the highest amount ever signed. A
call signs `accepted + price`. When the gateway answers 402 stale (a call whose answer was
lost, a crash between sending and recording), it names the amount it holds; the client takes
it only if it signed that much itself — a gateway cannot talk it into signing more than it
ever did, unless the buyer asks for that (`resync`, for a channel used from another machine).

Nothing the gateway says about money is taken on its word: before a voucher is signed, its
terms (`GET /v1/provider`) are compared with the chain — the market must be our deployment's
ComputeMarket on our chain, the provider registered there with that price and token — and the
channel must be ours, to that provider, in that token, with a deposit that covers the amount.
The price must not exceed the caller's maximum (default: the provider's price on chain). So
one call signs at most one on-chain price above what this machine signed before."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from eth_account.signers.local import LocalAccount

from dapp.client.gateway import GatewayClient, raise_for_problem
from dapp.errors import AccountNeeded, DappError, InvalidInput, PaymentRequired
from dapp.market.reader import ChannelState, ProviderState
from dapp.market.vouchers import ACCEPTED_HEADER, VOUCHER_HEADER, sign_voucher


class VoucherRecordUnreadable(DappError):
    code = "voucher-record-unreadable"


class ChannelNeeded(InvalidInput):
    """A paid call without a channel to pay from."""

    code = "channel-needed"


class GatewayCountAhead(PaymentRequired):
    """The gateway holds a higher count for a channel than this machine ever signed."""

    code = "gateway-count-ahead"


class TermsMismatch(PaymentRequired):
    """The gateway's terms (market, chain, provider, price, token) are not what the chain
    says: nothing is signed."""

    code = "gateway-terms-mismatch"


class PriceAboveMaximum(PaymentRequired):
    """The provider's price is above what the caller allows per call."""

    code = "price-above-maximum"


class MarketView(Protocol):
    """What the metered client asks the chain (`MarketReader` is one)."""

    @property
    def address(self) -> str: ...

    def provider(self, address: str, fresh: bool = False) -> ProviderState: ...

    def channel(self, channel_id: int, fresh: bool = False) -> ChannelState: ...


@dataclass(frozen=True)
class ProviderTerms:
    """`GET /v1/provider`: whom a channel pays and what a call costs."""

    address: str
    market: str
    chain_id: int
    token: str
    price: int
    endpoint: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ProviderTerms:
        return cls(str(body["address"]), str(body["market"]), int(body["chain_id"]),
                   str(body["token"]), int(body["price"]), str(body["endpoint"]))


@dataclass(frozen=True)
class ChannelRecord:
    accepted: int = 0
    signed: int = 0


class SignedVouchers:
    """What this machine signed per (chain, market, channel): one JSON file, rewritten
    atomically under an exclusive lock, so two CLI runs at once do not lose an update."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def key(chain_id: int, market: str, channel_id: int) -> str:
        return f"{chain_id}:{market.lower()}:{channel_id}"

    def get(self, key: str) -> ChannelRecord:
        entry = self._read().get(key)
        if entry is None:
            return ChannelRecord()
        return ChannelRecord(int(entry["accepted"]), int(entry["signed"]))

    def channel_ids(self, chain_id: int, market: str) -> list[int]:
        """The channels this machine keeps a record of on `market`, newest id first."""
        prefix = f"{chain_id}:{market.lower()}:"
        return sorted((int(key[len(prefix):]) for key in self._read() if key.startswith(prefix)),
                      reverse=True)

    def update(self, key: str, *, accepted: int | None = None, signed: int | None = None
               ) -> ChannelRecord:
        """Raise `accepted` and/or `signed` (they never go down); the record after."""
        with self._locked():
            records = self._read()
            old = records.get(key, {"accepted": "0", "signed": "0"})
            new = ChannelRecord(max(int(old["accepted"]), accepted or 0),
                                max(int(old["signed"]), signed or 0, accepted or 0))
            records[key] = {"accepted": str(new.accepted), "signed": str(new.signed)}
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(records, indent=1, sort_keys=True))
            os.replace(temporary, self.path)
            return new

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            records: dict[str, dict[str, str]] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as error:
            raise VoucherRecordUnreadable(
                f"{self.path} is not the voucher record JSON: {error}",
                hint="restore it, or move it away to start the count afresh (then resync "
                     "with the gateway's count once)") from None
        return records

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


@dataclass(frozen=True)
class InvokeResult:
    body: bytes
    media_type: str
    price: int
    cumulative: int  # what the channel has paid this provider after this call (0 when free)


class MeteredClient:
    """Metered calls to one gateway as `account`: vouchers signed here for `market` (our
    deployment's ComputeMarket, read from our own chain `chain_id`), free providers (price 0
    on chain) answered with a signed-in session instead."""

    def __init__(self, gateway: GatewayClient, vouchers: SignedVouchers, market: MarketView,
                 chain_id: int) -> None:
        self.gateway = gateway
        self.vouchers = vouchers
        self.market = market
        self.chain_id = chain_id
        self._terms: ProviderTerms | None = None

    @property
    def account(self) -> LocalAccount:
        if self.gateway.account is None:
            raise AccountNeeded("paying for calls needs an account")
        return self.gateway.account

    def terms(self) -> ProviderTerms:
        if self._terms is None:
            self._terms = fetch_terms(self.gateway)
        return self._terms

    def invoke(self, asset_id: int, body: bytes, *, channel_id: int | None,
               content_type: str = "application/json", resync: bool = False,
               max_price: int | None = None, route: str = "invoke") -> InvokeResult:
        """Run model `asset_id` once on `body`, paying with channel `channel_id` at most
        `max_price` base units (default: the provider's price on chain). `route`: "private"
        for encrypted input (`dapp.client.private`)."""
        terms = self.terms()
        price = self.checked_price(terms, max_price)
        url = f"/v1/models/{asset_id}/{route}"
        headers = {"Content-Type": content_type}
        if price == 0:
            response = self.gateway.request("POST", url, content=body,
                                            headers={**headers, **self.gateway.auth_headers})
            raise_for_problem(response)
            return InvokeResult(response.content, _media_type(response), 0, 0)
        if channel_id is None:
            raise ChannelNeeded(f"calls cost {price} base units: pay from a channel",
                                hint="give the id of a payment channel to this provider "
                                     "(open one if there is none)")
        channel = self.checked_channel(channel_id, terms)
        key = SignedVouchers.key(self.chain_id, self.market.address, channel_id)
        for _attempt in range(2):  # the second after taking the gateway's count
            amount = self.vouchers.get(key).accepted + price
            channel = self._covering(channel, amount)
            self.vouchers.update(key, signed=amount)  # before it leaves this machine
            voucher = sign_voucher(self.account.key, self.chain_id, self.market.address,
                                   channel_id, amount)
            response = self.gateway.request(
                "POST", url, content=body,
                headers={**headers, VOUCHER_HEADER: voucher.header_value()})
            if response.status_code == 402 and _problem(response).get("reason") == "stale":
                self._take_gateway_count(key, channel_id, _problem(response), resync)
                continue
            raise_for_problem(response)
            cumulative = _accepted(response, amount)
            self.vouchers.update(key, accepted=cumulative)
            return InvokeResult(response.content, _media_type(response), price, cumulative)
        raise PaymentRequired(f"channel {channel_id}: the gateway refused two vouchers in a "
                              "row as stale", hint="another client is spending this channel")

    def checked_price(self, terms: ProviderTerms, max_price: int | None = None) -> int:
        """The price per call, if the gateway's terms are the chain's and it is within
        `max_price` (default: the on-chain price)."""
        gateway = self.gateway.base_url
        if (terms.chain_id, terms.market.lower()) != (self.chain_id, self.market.address.lower()):
            raise TermsMismatch(
                f"the gateway at {gateway} sells on market {terms.market} (chain "
                f"{terms.chain_id}), not on your deployment's ComputeMarket "
                f"{self.market.address} (chain {self.chain_id}): nothing signed",
                hint="use a gateway of your own deployment, or do not trust this one")
        on_chain = self.market.provider(terms.address, fresh=True)
        if not on_chain.registered:
            raise TermsMismatch(f"the gateway at {gateway} names provider {terms.address}, "
                                f"which is not registered on market {self.market.address}: "
                                "nothing signed")
        if (terms.price, terms.token.lower()) != (on_chain.price,
                                                  on_chain.price_token.lower()):
            raise TermsMismatch(
                f"the gateway at {gateway} asks {terms.price} of {terms.token} per call; "
                f"provider {on_chain.address} charges {on_chain.price} of "
                f"{on_chain.price_token} on chain: nothing signed",
                details={"gateway_price": str(terms.price), "price": str(on_chain.price)})
        limit = on_chain.price if max_price is None else max_price
        if on_chain.price > limit:
            raise PriceAboveMaximum(
                f"provider {on_chain.address} charges {on_chain.price} base units per call, "
                f"above your maximum of {limit}: nothing signed",
                hint="raise the maximum to pay that price, or use another provider",
                details={"price": str(on_chain.price), "max_price": str(limit)})
        return on_chain.price

    def checked_channel(self, channel_id: int, terms: ProviderTerms) -> ChannelState:
        """Channel `channel_id` on chain, if it is this account's, to the gateway's
        provider, in the provider's token."""
        channel = self.market.channel(channel_id, fresh=True)
        if not channel.exists:
            raise ChannelNeeded(f"channel {channel_id} does not exist on market "
                                f"{self.market.address}")
        if channel.buyer.lower() != self.account.address.lower():
            raise ChannelNeeded(f"channel {channel_id} belongs to {channel.buyer}, not to "
                                f"{self.account.address}")
        if (channel.provider.lower(), channel.token.lower()) != (terms.address.lower(),
                                                                 terms.token.lower()):
            raise TermsMismatch(
                f"channel {channel_id} pays {channel.provider} in {channel.token}; the gateway "
                f"at {self.gateway.base_url} is provider {terms.address} in {terms.token}: "
                "nothing signed", hint="pay this gateway from a channel opened to it")
        return channel

    def _covering(self, channel: ChannelState, amount: int) -> ChannelState:
        """The channel, if its deposit covers a voucher for `amount` in all: one beyond the
        deposit would become payable the moment the channel is topped up."""
        if amount <= channel.deposit:
            return channel
        fresh = self.market.channel(channel.channel_id, fresh=True)  # topped up since?
        if amount > fresh.deposit:
            raise PaymentRequired(
                f"this call would bring channel {channel.channel_id} to {amount}, more than "
                f"channel {channel.channel_id}'s deposit of {fresh.deposit}: nothing signed",
                hint="top the channel up, or open a new one",
                details={"channel_id": channel.channel_id, "deposit": str(fresh.deposit)})
        return fresh

    def _take_gateway_count(self, key: str, channel_id: int, problem: dict[str, Any],
                            resync: bool) -> None:
        try:
            held = int(problem.get("accepted_cumulative") or 0)
        except (TypeError, ValueError):
            raise PaymentRequired(f"channel {channel_id}: the gateway refused the voucher as "
                                  "stale without a usable count") from None
        signed = self.vouchers.get(key).signed
        if held > signed and not resync:
            raise GatewayCountAhead(
                f"the gateway says channel {channel_id} has paid {held}, but this machine "
                f"signed at most {signed} on it",
                hint="if the channel was used from another machine, resync to continue from "
                     "the gateway's count; otherwise do not trust this gateway",
                details={"channel_id": channel_id, "gateway_count": held, "signed": signed})
        self.vouchers.update(key, accepted=held)


def fetch_terms(gateway: GatewayClient | str) -> ProviderTerms:
    """The provider terms of a gateway (a client, or its URL: no account needed)."""
    if isinstance(gateway, str):
        with GatewayClient(gateway, account=None) as client:
            return fetch_terms(client)
    response = gateway.request("GET", "/v1/provider")
    raise_for_problem(response)
    return ProviderTerms.from_json(response.json())


def _accepted(response: httpx.Response, signed: int) -> int:
    """What the gateway says the channel has paid, never more than the voucher just signed
    (the next voucher is signed on top of it)."""
    try:
        return min(int(response.headers.get(ACCEPTED_HEADER, signed)), signed)
    except ValueError:
        return signed


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "application/octet-stream").split(";")[0]
