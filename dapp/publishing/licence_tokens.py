"""Licence tokens (contracts/LicenseTokens.sol, ERC-1155) as their users meet them: the asset
owner opts an offer in, a buyer buys one, a holder lists and transfers them. Every call to the
LicenseTokens ABI from the Python side is here (lending can be added beside `transfer`).

A token id is `assetId << 2 | scope << 1 | transferable`; a holder holds 0 or 1 of an id, and
`expiresAt(id, holder)` is its end (0 = holds none, 2**64-1 = perpetual).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from dapp.chain.constants import ZERO_ADDRESS, Scope
from dapp.chain.contracts import load_abi
from dapp.chain.transactions import ErrorDecoder, SentTransaction
from dapp.errors import InvalidInput, NotFound
from dapp.publishing.exchange import DEFAULT_TOKEN, LICENSE_TOKENS, REGISTRY, Exchange
from dapp.store.catalog import OfferView

PERPETUAL = (1 << 64) - 1


class NoLicenceTokens(NotFound):
    """The deployment has no LicenseTokens contract."""

    code = "no-licence-tokens"


class TransferRefused(InvalidInput):
    """A licence-token transfer that would fail or give nothing: refused before sending."""

    code = "transfer-refused"


class NotTransferable(TransferRefused):
    code = "licence-not-transferable"


class NoLicenceTokenHeld(TransferRefused):
    code = "no-licence-token-held"


def token_id(asset_id: int, scope: int, transferable: bool) -> int:
    return (asset_id << 2) | (scope << 1) | int(transferable)


def split_id(value: int) -> tuple[int, int, bool]:
    """(asset id, scope, transferable) of a token id."""
    return value >> 2, (value >> 1) & 1, bool(value & 1)


@dataclass(frozen=True)
class TokenOffer:
    enabled: bool
    transferable: bool


@dataclass(frozen=True)
class Holding:
    """One licence token an account holds: its end in unix seconds (PERPETUAL = forever)."""

    token_id: int
    asset_id: int
    scope: str
    transferable: bool
    expires_at: int


def transfer_refusal(*, sender: str, to: str, transferable_end: int, bound_end: int,
                     now: int, asset_id: int, scope: str) -> TransferRefused | None:
    """Why moving `sender`'s licence token of (asset, scope) to `to` is refused, or None.
    `transferable_end`/`bound_end` are `expiresAt` of the two ids for the sender (0 = none)."""
    if not Web3.is_address(to) or Web3.to_checksum_address(to) == ZERO_ADDRESS:
        return TransferRefused(f"{to!r} is not an address to transfer to",
                               hint="name the new holder by its 0x… address (not the zero "
                                    "address)")
    if Web3.to_checksum_address(to) == Web3.to_checksum_address(sender):
        return TransferRefused(f"{to} is the holder itself; nothing would move")
    if transferable_end == 0 and bound_end:
        return NotTransferable(
            f"your {scope} licence token of asset {asset_id} is bound to {sender}: its offer "
            "does not allow transfers", hint="only tokens of a transferable offer can move")
    if transferable_end == 0:
        return NoLicenceTokenHeld(
            f"{sender} holds no {scope} licence token of asset {asset_id}",
            hint="the chain's events (and a gateway's /v1/accounts/ADDRESS/licence-tokens) "
                 "list the licence tokens an account holds")
    if transferable_end != PERPETUAL and transferable_end <= now:
        return TransferRefused(
            f"your {scope} licence token of asset {asset_id} has expired; nothing to transfer")
    return None


class LicenceTokens:
    """LicenseTokens bound to an `Exchange` (its web3, deployment and sender)."""

    def __init__(self, exchange: Exchange) -> None:
        if LICENSE_TOKENS not in exchange.deployment.contracts:
            raise NoLicenceTokens("this deployment has no LicenseTokens contract",
                                  hint="redeploy with scripts/deploy.py (issue 19)")
        self.exchange = exchange
        self.contract: Contract = exchange.license_tokens  # type: ignore[assignment]

    @staticmethod
    def error_decoder() -> ErrorDecoder:
        return ErrorDecoder([load_abi(REGISTRY), load_abi(DEFAULT_TOKEN), load_abi(LICENSE_TOKENS)])

    # ---- reads ---------------------------------------------------------------------------
    def token_offer(self, asset_id: int, offer_id: int) -> TokenOffer:
        with self.exchange._rpc():
            enabled, transferable = self.contract.functions.tokenOffer(asset_id, offer_id).call()
        return TokenOffer(bool(enabled), bool(transferable))

    def expires_at(self, value: int, holder: str) -> int:
        with self.exchange._rpc():
            return int(self.contract.functions.expiresAt(
                value, Web3.to_checksum_address(holder)).call())

    def balance_of(self, holder: str, value: int) -> int:
        with self.exchange._rpc():
            return int(self.contract.functions.balanceOf(
                Web3.to_checksum_address(holder), value).call())

    def chain_time(self) -> int:
        with self.exchange._rpc():
            return int(self.exchange.web3.eth.get_block("latest")["timestamp"])

    def holdings(self, holder: str) -> list[Holding]:
        """The licence tokens `holder` holds now, from the chain: the ids it ever received
        (purchases and transfers to it, from the contract's deploy block), each checked with
        `expiresAt` (expired ones included; moved-away ones not)."""
        holder = Web3.to_checksum_address(holder)
        start = self.exchange.deployment.contract(LICENSE_TOKENS).block
        events = self.contract.events
        ids: set[int] = set()
        with self.exchange._rpc():
            for log in events.LicenseTokenPurchased().get_logs(
                    from_block=start, argument_filters={"holder": holder}):
                ids.add(int(log["args"]["id"]))
            for log in events.TransferSingle().get_logs(
                    from_block=start, argument_filters={"to": holder}):
                ids.add(int(log["args"]["id"]))
            for log in events.TransferBatch().get_logs(
                    from_block=start, argument_filters={"to": holder}):
                ids.update(int(i) for i in log["args"]["ids"])
        found = []
        for value in sorted(ids):
            end = self.expires_at(value, holder)
            if end:
                asset_id, scope, transferable = split_id(value)
                found.append(Holding(value, asset_id, Scope.label_of(scope), transferable, end))
        return found

    # ---- writes --------------------------------------------------------------------------
    def _send_function(self, function: ContractFunction, what: str) -> SentTransaction:
        return self.exchange._send(function, what)

    def set_token_offer(self, asset_id: int, offer_id: int, enabled: bool,
                        transferable: bool) -> SentTransaction:
        self.exchange.check_owner(asset_id)
        return self._send_function(
            self.contract.functions.setTokenOffer(asset_id, offer_id, enabled, transferable),
            f"setting the licence tokens of offer {offer_id} of asset {asset_id}")

    def buy(self, asset_id: int, shown: OfferView, licensee: str
            ) -> tuple[int, int, list[SentTransaction]]:
        """Buy a licence token on exactly the terms shown (approve the registry first if
        needed: it pulls the price). Returns (token id, expiresAt, txs)."""
        exchange = self.exchange
        txs: list[SentTransaction] = []
        if shown.price:
            approval = exchange._ensure_allowance(shown.token, shown.price)
            txs += [approval] if approval else []
        sent = self._send_function(self.contract.functions.buy(
            asset_id, shown.offer_id, Web3.to_checksum_address(licensee),
            Web3.to_checksum_address(shown.token), shown.price, shown.duration,
            int(Scope[shown.scope.upper()])),
            f"buying a licence token of offer {shown.offer_id} of asset {asset_id}")
        txs.append(sent)
        (event,) = self.contract.events.LicenseTokenPurchased().process_receipt(
            sent.receipt, errors=DISCARD)
        return int(event["args"]["id"]), int(event["args"]["expiresAt"]), txs

    def check_transfer(self, sender: str, asset_id: int, scope: int, to: str) -> int:
        """The id `sender` may move to `to`, or the refusal raised (nothing is sent)."""
        label = Scope.label_of(scope)
        refusal = transfer_refusal(
            sender=sender, to=to, asset_id=asset_id, scope=label, now=self.chain_time(),
            transferable_end=self.expires_at(token_id(asset_id, scope, True), sender),
            bound_end=self.expires_at(token_id(asset_id, scope, False), sender))
        if refusal is not None:
            raise refusal
        return token_id(asset_id, scope, True)

    def transfer(self, sender: str, asset_id: int, scope: int, to: str
                 ) -> tuple[int, SentTransaction]:
        """Check, then `safeTransferFrom(sender, to, id, 1, "")`."""
        value = self.check_transfer(sender, asset_id, scope, to)
        sent = self._send_function(self.contract.functions.safeTransferFrom(
            Web3.to_checksum_address(sender), Web3.to_checksum_address(to), value, 1, b""),
            f"transferring licence token {value}")
        return value, sent
