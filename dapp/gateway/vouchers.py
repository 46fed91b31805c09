"""The voucher ledger for metered calls: the latest voucher per channel, durably stored
*before* the call's response is sent, and redeemed on chain in batches.

A voucher is the buyer's EIP-712 signature over (channel, cumulative amount). Only an amount
higher by at least the call's price replaces the stored one (compare-and-set in one UPDATE),
so concurrent calls and a restart can never lose or double-count value: what is redeemable is
always the highest voucher accepted, and redeeming marks exactly that amount as settled.

Channel ids only mean something in one ComputeMarket on one chain, so the ledger is bound to
the first market it serves (`bind`): a database kept across a chain reset or a redeployment is
refused with a clear error, its vouchers left as they are, instead of being mixed up with the
new market's channels.

The ledger's tables are the store's (`dapp.store.models.vouchers`), made by its migrations,
which the ledger runs on first use.
"""

from __future__ import annotations

import contextlib
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from dapp.chain.cache_only import refuse_if_cache_only
from dapp.errors import ServiceUnavailable
from dapp.gateway.voucher_cas import CompareAndSet
from dapp.store.migrate import migrate
from dapp.store.models import ChannelVoucher, VoucherLedgerScope
from dapp.store.models.vouchers import SIGNATURE_MAX_CHARS
from dapp.store.types import encode_uint256

# The amounts are `Uint256` columns: zero-padded decimal strings, exact on every backend (SQLite
# has no 256-bit numbers), and string order equals numeric order, so SQL compares them. They
# are encoded up front (`encode_uint256`), so an amount that is no uint256 fails with
# ValueError before anything is written.
MAX_KNOWN_CHANNELS = 65_536
channel_vouchers = ChannelVoucher.__table__
ledger_scope = VoucherLedgerScope.__table__
# The read of a call that meets a channel first, built once (bound per call); the
# compare-and-set every paid call writes is `voucher_cas`'s, on driver connections.
_LATEST = select(channel_vouchers).where(channel_vouchers.c.channel_id == bindparam("channel"))


class LedgerOfAnotherMarket(ServiceUnavailable):
    code = "voucher-ledger-of-another-market"


@dataclass(frozen=True)
class StoredVoucher:
    channel_id: str
    cumulative_amount: int
    signature: str
    redeemed_amount: int
    first_unredeemed_at: int | None = None  # unix seconds; None when nothing is pending

    @property
    def unredeemed(self) -> int:
        return self.cumulative_amount - self.redeemed_amount


class VoucherLedger:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema_ready = False
        # SQLite takes one writer at a time and makes the others sleep in its busy handler
        # (1, 2, 5, 10... ms: with 8 concurrent paid calls, most of their time); the writers
        # of this process queue on a lock instead. PostgreSQL locks the row itself.
        self._writes: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext())
        self._known: dict[str, int] = {}  # channel → the highest amount seen stored
        self._known_lock = threading.Lock()
        # the per-call UPDATE on driver connections of its own (`voucher_cas`)
        self._cas = CompareAndSet(engine)

    def _ensure_schema(self) -> None:
        # the store's migrations, on first use: a gateway starts (and answers 503) while the
        # database is down
        if not self._schema_ready:
            migrate(self._engine)
            self._schema_ready = True

    def bind(self, chain_id: int, market: str) -> None:
        """Tie the ledger to `market` on `chain_id` (the first call stores them; later ones,
        from any process, must name the same). LedgerOfAnotherMarket otherwise."""
        self._ensure_schema()
        try:
            with self._engine.begin() as connection:
                row = connection.execute(select(ledger_scope)).first()
                if row is None:
                    connection.execute(insert(ledger_scope).values(
                        id=1, chain_id=chain_id, market=market))
                    return
        except IntegrityError:  # another process bound it at the same moment
            with self._engine.connect() as connection:
                row = connection.execute(select(ledger_scope)).one()
        if (int(row.chain_id), row.market.lower()) != (chain_id, market.lower()):
            raise LedgerOfAnotherMarket(
                f"this database's voucher ledger belongs to the ComputeMarket {row.market} on "
                f"chain {row.chain_id}, not to {market} on chain {chain_id}",
                hint="point DAPP_DATABASE_URL at this deployment's database (or a new one); "
                     "the stored vouchers stay redeemable in their own market")

    def latest(self, channel_id: str) -> StoredVoucher | None:
        refuse_if_cache_only("reading the voucher ledger")
        self._ensure_schema()
        with self._engine.connect() as connection:
            row = connection.execute(_LATEST, {"channel": channel_id}).first()
        if row is None:
            return None
        self._remember(channel_id, int(row.cumulative_amount))
        return StoredVoucher(row.channel_id, int(row.cumulative_amount), row.signature,
                             int(row.redeemed_amount), row.first_unredeemed_at)

    def known_amount(self, channel_id: str) -> int:
        """The channel's stored amount as this process last stored or read it (0: none),
        without a query when it has: a *lower bound* of the database's, which only grows
        (another gateway sharing the database may have stored more since). A check may pass
        on it; `accept`'s compare-and-set, against the database, stays the authority."""
        with self._known_lock:
            known = self._known.get(channel_id)
        if known is not None:
            return known
        stored = self.latest(channel_id)
        return stored.cumulative_amount if stored is not None else 0

    def _remember(self, channel_id: str, amount: int) -> None:
        with self._known_lock:
            if len(self._known) >= MAX_KNOWN_CHANNELS:
                self._known.clear()
            if amount > self._known.get(channel_id, -1):
                self._known[channel_id] = amount

    def accept(self, channel_id: str, cumulative_amount: int, signature: str,
               min_increment: int = 1) -> bool:
        """Store the voucher if it exceeds the stored one by at least `min_increment` (the
        price of the call it pays for); committed on return. False when the stored voucher
        is higher than `cumulative_amount - min_increment` (stale: another call already took
        that value). With `min_increment` = the price, n accepted calls on a channel always
        add up to at least n * price, however they interleave."""
        if min_increment < 1:
            raise ValueError("min_increment must be at least 1")
        if len(signature) > SIGNATURE_MAX_CHARS:  # the header admits no longer one
            raise ValueError(f"a voucher signature is at most {SIGNATURE_MAX_CHARS} characters")
        if cumulative_amount < min_increment:
            return False
        self._ensure_schema()
        now = int(time.time())
        amount = encode_uint256(cumulative_amount)
        ceiling = encode_uint256(cumulative_amount - min_increment)
        with self._writes:
            if self._cas.raise_stored(channel_id, amount, ceiling, signature, now):
                self._remember(channel_id, cumulative_amount)
                return True
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(channel_vouchers).values(
                        channel_id=channel_id, cumulative_amount=amount, signature=signature,
                        redeemed_amount=encode_uint256(0), first_unredeemed_at=now,
                        updated_at=now,
                    ))
            except IntegrityError:
                return False  # the channel exists with an equal or higher voucher
            self._remember(channel_id, cumulative_amount)
            return True

    def close(self) -> None:
        """Give the compare-and-set's connections back to the engine (the gateway's
        shutdown)."""
        self._cas.close()

    def pending(self) -> list[StoredVoucher]:
        """Vouchers with value not yet redeemed on chain, oldest first."""
        self._ensure_schema()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(channel_vouchers)
                .where(channel_vouchers.c.cumulative_amount > channel_vouchers.c.redeemed_amount)
                .order_by(channel_vouchers.c.first_unredeemed_at)
            ).all()
        return [StoredVoucher(r.channel_id, int(r.cumulative_amount), r.signature,
                              int(r.redeemed_amount), r.first_unredeemed_at) for r in rows]

    def oldest_pending_age(self, now: float | None = None) -> float | None:
        pending = self.pending()
        if not pending:
            return None
        with self._engine.connect() as connection:
            first = connection.execute(
                select(channel_vouchers.c.first_unredeemed_at)
                .where(channel_vouchers.c.channel_id == pending[0].channel_id)
            ).scalar_one()
        return (time.time() if now is None else now) - float(first or 0)

    def mark_redeemed(self, redeemed: list[StoredVoucher], tx_hash: str) -> None:
        """Record that each voucher's cumulative amount is settled on chain."""
        self._ensure_schema()
        now = int(time.time())
        with self._writes, self._engine.begin() as connection:
            for voucher in redeemed:
                settled = encode_uint256(voucher.cumulative_amount)
                connection.execute(
                    update(channel_vouchers)
                    .where(channel_vouchers.c.channel_id == voucher.channel_id)
                    .where(channel_vouchers.c.redeemed_amount < settled)
                    .values(
                        redeemed_amount=settled,
                        redeem_tx=tx_hash,
                        # a voucher accepted after the batch was taken is still pending
                        first_unredeemed_at=case(
                            (channel_vouchers.c.cumulative_amount > settled, now), else_=None
                        ),
                    )
                )

    def write_off(self, voucher: StoredVoucher, reason: str) -> None:
        """Stop trying to redeem `voucher`: the chain can never pay it (the buyer reclaimed
        the deposit after expiry, the channel is not ours). Recorded in `redeem_tx`."""
        self.mark_redeemed([voucher], f"written-off: {reason}"[:80])
