"""Pending vouchers to chain: one `redeemMany` for every channel with unredeemed value.

`redeemMany` takes EIP-2098 compact signatures (`dapp.market.vouchers.compact_voucher`): every
65-byte voucher goes in the batch, a contract wallet's included (the market checks it with
ERC-1271 on the 65-byte expansion). A voucher whose signature is not 65 bytes (e.g. a
multisig wallet's) is redeemed with `redeem(channelId, amount, signature)`, one per call.

A round is due when `voucher_batch_size` channels have value pending, when the oldest pending
voucher is `voucher_batch_age_seconds` old, or when a pending channel expires within
`URGENT_EXPIRY_SECONDS` (after expiry the buyer may reclaim what was not redeemed).

Crash safety: vouchers are marked redeemed only after the receipt. A crash between sending and
marking leaves them pending; the next round reads each channel's `redeemed` from chain first
and marks what is already covered instead of sending it again (the contract would refuse a
voucher that is not newer anyway, and `redeemMany` is all-or-nothing).

Several gateways on one database share the ledger and the provider account: a round runs under
the account's send lock (`dapp.market.provider.send_lock`, a PostgreSQL advisory lock there),
so one gateway's round reads the chain only after the other's transaction is mined, and no
voucher is sent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hexbytes import HexBytes

from dapp.chain.transactions import TransactionReverted, TransactionSender
from dapp.gateway.vouchers import StoredVoucher, VoucherLedger
from dapp.market.provider import send_lock
from dapp.market.reader import ChannelState, MarketReader
from dapp.market.vouchers import NotCompactable, compact_voucher

log = logging.getLogger("dapp.gateway.metered")

URGENT_EXPIRY_SECONDS = 300
MAX_BATCH = 100  # vouchers per transaction (gas); the rest go in the next round
ALREADY_ON_CHAIN = "already-on-chain"
# reverts that will never succeed for this voucher: stop trying it
_HOPELESS = {"UnknownChannel", "NotChannelProvider", "VoucherExceedsDeposit",
             "InvalidVoucherSignature"}


@dataclass
class RedeemRound:
    redeemed: list[StoredVoucher] = field(default_factory=list)  # paid by our transaction(s)
    already_settled: list[StoredVoucher] = field(default_factory=list)  # found paid on chain
    written_off: list[StoredVoucher] = field(default_factory=list)  # never payable
    tx_hashes: list[str] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return sum(voucher.unredeemed for voucher in self.redeemed)


class Redeemer:
    def __init__(self, ledger: VoucherLedger, market: MarketReader, sender: TransactionSender,
                 batch_size: int, batch_age_seconds: float,
                 on_pending: Callable[[int], None] | None = None) -> None:
        self.ledger = ledger
        self.market = market
        self.sender = sender
        self.batch_size = batch_size
        self.batch_age_seconds = batch_age_seconds
        self._on_pending = on_pending
        self._lock = threading.Lock()

    def due(self, now: float | None = None) -> bool:
        pending = self.ledger.pending()
        self._report(len(pending))
        if not pending:
            return False
        moment = time.time() if now is None else now
        if len(pending) >= self.batch_size:
            return True
        oldest = min(v.first_unredeemed_at or moment for v in pending)
        if moment - oldest >= self.batch_age_seconds:
            return True
        return any(state is not None and state.expiry - moment < URGENT_EXPIRY_SECONDS
                   for state in (self.market.cached_channel(int(v.channel_id))
                                 for v in pending))

    def redeem(self) -> RedeemRound:
        """One round (never two at once, in any process sharing the provider account):
        reconcile with chain, then one redeemMany."""
        with self._lock, send_lock(self.sender.address,
                                   getattr(self.sender, "lock_engine", None)):
            result = RedeemRound()
            batch = self._reconcile(self.ledger.pending()[:MAX_BATCH], result)
            if batch:
                self._send(batch, result)
            self._report(len(self.ledger.pending()))
            return result

    def _reconcile(self, pending: list[StoredVoucher], result: RedeemRound
                   ) -> list[StoredVoucher]:
        batch = []
        for voucher in pending:
            channel = self.market.channel(int(voucher.channel_id), fresh=True)
            hopeless = _hopeless(voucher, channel, self.sender.address)
            if hopeless:
                log.error("voucher of channel %s for %s written off: %s", voucher.channel_id,
                          voucher.cumulative_amount, hopeless)
                self.ledger.write_off(voucher, hopeless)
                result.written_off.append(voucher)
            elif channel.redeemed >= voucher.cumulative_amount:
                self.ledger.mark_redeemed([voucher], ALREADY_ON_CHAIN)
                result.already_settled.append(voucher)
            else:
                batch.append(voucher)
        return batch

    def _send(self, batch: list[StoredVoucher], result: RedeemRound) -> None:
        compact, whole = [], []
        for voucher in batch:
            try:
                compact.append((voucher, compact_voucher(int(voucher.channel_id),
                                                         voucher.cumulative_amount,
                                                         bytes(HexBytes(voucher.signature)))))
            except NotCompactable:
                whole.append(voucher)
        if compact:
            self._send_many(compact, result)
        if whole:  # contract wallets whose signatures are not 65 bytes
            self._send_one_by_one(whole, result)

    def _send_many(self, compact: list[tuple[StoredVoucher, tuple[int, int, bytes, bytes]]],
                   result: RedeemRound) -> None:
        batch = [voucher for voucher, _ in compact]
        try:
            sent = self.sender.send(
                self.market.contract.functions.redeemMany([call for _, call in compact]),
                f"redeemMany of {len(batch)} vouchers")
        except TransactionReverted as error:
            log.warning("redeemMany reverted (%s); redeeming one by one", error)
            self._send_one_by_one(batch, result)
            return
        self.ledger.mark_redeemed(batch, sent.tx_hash)
        result.redeemed.extend(batch)
        result.tx_hashes.append(sent.tx_hash)
        log.info("redeemed %d vouchers for %d in %s", len(batch),
                 sum(v.unredeemed for v in batch), sent.tx_hash)

    def _send_one_by_one(self, batch: list[StoredVoucher], result: RedeemRound) -> None:
        for voucher in batch:
            function = self.market.contract.functions.redeem(
                int(voucher.channel_id), voucher.cumulative_amount, HexBytes(voucher.signature))
            try:
                sent = self.sender.send(function, f"redeem of channel {voucher.channel_id}")
            except TransactionReverted as error:
                if error.error_name == "VoucherNotNewer":
                    self.ledger.mark_redeemed([voucher], ALREADY_ON_CHAIN)
                    result.already_settled.append(voucher)
                elif error.error_name in _HOPELESS:
                    self.ledger.write_off(voucher, str(error.error_name))
                    result.written_off.append(voucher)
                else:  # e.g. paused: try again next round
                    log.error("redeem of channel %s failed: %s", voucher.channel_id, error)
                continue
            self.ledger.mark_redeemed([voucher], sent.tx_hash)
            result.redeemed.append(voucher)
            result.tx_hashes.append(sent.tx_hash)

    def _report(self, pending: int) -> None:
        if self._on_pending is not None:
            self._on_pending(pending)


def _hopeless(voucher: StoredVoucher, channel: ChannelState, provider: str) -> str | None:
    if not channel.exists:
        return "channel does not exist"
    if channel.provider != provider:
        return "channel of another provider"
    if channel.redeemed < voucher.cumulative_amount and voucher.cumulative_amount > \
            channel.deposit:
        return "deposit reclaimed"
    return None
