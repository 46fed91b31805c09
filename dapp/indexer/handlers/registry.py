"""AssetRegistry events → assets, versions, offers, licenses, payouts, stakes.

Every event the registry emits is either handled here or named in `IGNORED` (the raw log is
kept in `events` either way). State rows change only through the `StateWriter`, so a reorg
undoes them; running totals (sales, stake totals, payout balances) are kept by the handlers
rather than summed on every read.

What the events alone say about money: a sale's split credits `ownerAmount` to the asset's
owner and `protocolFee` to the treasury (the last `TreasurySet`), without a `PayoutCredited`
(that event is only for `depositFor`); the curators' share goes to stakers, who receive it
with `claim` (`RewardClaimed`, paid out directly, never through a balance).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dapp.chain.constants import ZERO_ADDRESS, AssetKind, Scope
from dapp.chain.events import DecodedEvent
from dapp.errors import MalformedCid
from dapp.indexer.handlers.table import HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.ipfs.cid import cid_from_chain
from dapp.store.models import (
    PERPETUAL,
    Asset,
    AssetVersion,
    License,
    LicensePurchase,
    Offer,
    PaymentToken,
    PayoutBalance,
    RegistryParam,
    RevenueSplit,
    RewardClaim,
    Stake,
    TrustedAlgorithm,
    Withdrawal,
)

log = logging.getLogger(__name__)

CONTRACT = "AssetRegistry"

#: Events with nothing for the catalog: approvals, roles (the raw logs stay in `events`).
IGNORED = frozenset({"Approval", "ApprovalForAll", "RoleAdminChanged", "RoleGranted",
                     "RoleRevoked"})

HANDLERS = HandlerTable()
on = HANDLERS.on


# -- decoding helpers --------------------------------------------------------------------------
def chain_cid(value: dict[str, Any]) -> str | None:
    """The CID text of a decoded `Cid{digest, codec}`; None when it is not one IPFS can serve
    (the registry checks only that the digest is not zero)."""
    try:
        return cid_from_chain(bytes.fromhex(value["digest"][2:]), int(value["codec"]))
    except (MalformedCid, ValueError):
        return None


def cid_text(value: dict[str, Any]) -> str:
    """What the store keeps for an on-chain CID: its text, or for a malformed one a marker
    that says so (never pinned, never a crash of the indexer)."""
    return chain_cid(value) or f"invalid:{int(value['codec']):#x}:{value['digest']}"


def license_end(bought_until: int, granted_until: int) -> tuple[int | None, str]:
    """(`expires_at`, `source`) of a license: the later end, None when it never ends."""
    end = max(bought_until, granted_until)
    source = "purchase" if bought_until >= granted_until else "grant"
    return (None if end >= PERPETUAL else end), source


def pin_version(writer: StateWriter, asset_id: int, content: dict[str, Any],
                metadata: dict[str, Any]) -> None:
    for value, kind in ((content, "content"), (metadata, "metadata")):
        cid = chain_cid(value)
        if cid is None:
            log.warning("asset %d: %s CID %s is not pinnable", asset_id, kind, value)
        else:
            writer.request_pin(cid, kind, asset_id=asset_id)


# -- assets ------------------------------------------------------------------------------------
@on(CONTRACT, "AssetPublished")
def asset_published(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    asset_id, content, metadata = a["assetId"], cid_text(a["content"]), cid_text(a["metadata"])
    writer.insert(Asset, asset_id=asset_id, owner=a["owner"], kind=AssetKind.label_of(a["kind"]),
                  content_cid=content, metadata_cid=metadata, version_count=1,
                  curator_share_bps=a["curatorShareBps"], retired=False,
                  published_block=event.origin.block_number,
                  published_tx=event.origin.tx_hash, sales_count=0, total_staked=0,
                  staker_count=0, warming_staked=0)
    writer.append(AssetVersion, asset_id=asset_id, version_index=1, content_cid=content,
                  metadata_cid=metadata)
    pin_version(writer, asset_id, a["content"], a["metadata"])


@on(CONTRACT, "VersionAdded")
def version_added(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    asset_id, content, metadata = a["assetId"], cid_text(a["content"]), cid_text(a["metadata"])
    writer.append(AssetVersion, asset_id=asset_id, version_index=a["version"],
                  content_cid=content, metadata_cid=metadata)
    writer.update(Asset, {"asset_id": asset_id}, content_cid=content, metadata_cid=metadata,
                  version_count=a["version"])
    pin_version(writer, asset_id, a["content"], a["metadata"])


@on(CONTRACT, "Transfer")
def transferred(writer: StateWriter, event: DecodedEvent) -> None:
    """The NFT changed hands: the new owner sells, grants and is paid from now on. A mint
    (from zero) is followed by `AssetPublished` in the same transaction, which writes it."""
    if event.args["from"] == ZERO_ADDRESS:
        return
    writer.update(Asset, {"asset_id": event.args["tokenId"]}, owner=event.args["to"])


@on(CONTRACT, "AssetRetired")
def asset_retired(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(Asset, {"asset_id": event.args["assetId"]}, retired=True)


@on(CONTRACT, "CuratorShareSet")
def curator_share_set(writer: StateWriter, event: DecodedEvent) -> None:
    """A raise (or an equal share): in force at once; it replaces any scheduled cut."""
    writer.update(Asset, {"asset_id": event.args["assetId"]},
                  curator_share_bps=event.args["curatorShareBps"],
                  pending_curator_share_bps=None, curator_share_effective_at=None)


@on(CONTRACT, "CuratorShareScheduled")
def curator_share_scheduled(writer: StateWriter, event: DecodedEvent) -> None:
    """A cut, in force from `effectiveAt` (one unbonding delay after the block). The share in
    force until then is the one in force at this block: an earlier cut that was already due
    then has become the current share."""
    a = event.args
    asset = writer.require(Asset, asset_id=a["assetId"])
    current = asset["curator_share_bps"]
    earlier_at = asset["curator_share_effective_at"]
    if earlier_at is not None and earlier_at <= _block_time(writer, event, a["effectiveAt"]):
        current = asset["pending_curator_share_bps"]
    writer.update(Asset, {"asset_id": a["assetId"]}, curator_share_bps=current,
                  pending_curator_share_bps=a["curatorShareBps"],
                  curator_share_effective_at=a["effectiveAt"])


def _block_time(writer: StateWriter, event: DecodedEvent, effective_at: int) -> int:
    """The time of the block of a `CuratorShareScheduled`: its `effectiveAt` less the
    unbonding delay in force then (the registry's last `UnbondingDelaySet`, emitted by its
    constructor too). Without it, the event's own `effectiveAt` (an earlier cut counts as due
    only if it was due by then)."""
    delay = writer.get(RegistryParam, contract=event.address, name="unbonding_delay")
    return effective_at - int(delay["value"]) if delay else effective_at


@on(CONTRACT, "OfferSet")
def offer_set(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.upsert(Offer, {"asset_id": a["assetId"], "offer_id": a["offerId"]}, token=a["token"],
                  price=a["price"], duration=a["duration"], scope=Scope.label_of(a["scope"]),
                  active=a["active"])


# -- compute policy ----------------------------------------------------------------------------
@on(CONTRACT, "ComputePolicySet")
def compute_policy_set(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.update(Asset, {"asset_id": a["datasetId"]}, compute_any_algorithm=a["anyAlgorithm"],
                  max_result_bytes=a["maxResultBytes"] or None,
                  log_tail_bytes=a["logTailBytes"])


@on(CONTRACT, "AlgorithmTrusted")
def algorithm_trusted(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.upsert(TrustedAlgorithm,
                  {"dataset_id": a["datasetId"], "algorithm_id": a["algorithmId"]},
                  version=a["version"], trusted=True)


@on(CONTRACT, "AlgorithmUntrusted")
def algorithm_untrusted(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.update(TrustedAlgorithm, {"dataset_id": a["datasetId"],
                                     "algorithm_id": a["algorithmId"]}, trusted=False)


# -- licenses ----------------------------------------------------------------------------------
def _set_license(writer: StateWriter, asset_id: int, licensee: str, scope: str,
                 **ends: int) -> None:
    key = {"asset_id": asset_id, "licensee": licensee, "scope": scope}
    current = writer.get(License, **key)
    bought = ends.get("bought_until", current["bought_until"] if current else 0)
    granted = ends.get("granted_until", current["granted_until"] if current else 0)
    expires_at, source = license_end(bought, granted)
    writer.upsert(License, key, bought_until=bought, granted_until=granted,
                  expires_at=expires_at, source=source)


def license_read(args: Mapping[str, Any]) -> list[tuple[Any, Mapping[str, Any]]]:
    """The license row `_set_license` reads (prefetched for a whole batch)."""
    return [(License, {"asset_id": args["assetId"], "licensee": args["licensee"],
                       "scope": Scope.label_of(args["scope"])})]


@on(CONTRACT, "LicensePurchased", reads=license_read)
def license_purchased(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    scope, expires_at = Scope.label_of(a["scope"]), a["expiresAt"]
    writer.append(LicensePurchase, asset_id=a["assetId"], offer_id=a["offerId"],
                  payer=a["buyer"], licensee=a["licensee"], scope=scope, token=a["token"],
                  price=a["price"], expires_at=None if expires_at >= PERPETUAL else expires_at)
    _set_license(writer, a["assetId"], a["licensee"], scope, bought_until=expires_at)
    asset = writer.require(Asset, asset_id=a["assetId"])
    writer.update(Asset, {"asset_id": a["assetId"]}, sales_count=asset["sales_count"] + 1)


@on(CONTRACT, "LicenseGranted", reads=license_read)
def license_granted(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _set_license(writer, a["assetId"], a["licensee"], Scope.label_of(a["scope"]),
                 granted_until=a["expiresAt"])


@on(CONTRACT, "LicenseGrantRevoked", reads=license_read)
def license_grant_revoked(writer: StateWriter, event: DecodedEvent) -> None:
    """Only the grant ends; a purchase stays. Revoking what was never granted changes nothing."""
    a = event.args
    scope = Scope.label_of(a["scope"])
    if writer.get(License, asset_id=a["assetId"], licensee=a["licensee"], scope=scope):
        _set_license(writer, a["assetId"], a["licensee"], scope, granted_until=0)


# -- payouts -----------------------------------------------------------------------------------
def _credit(writer: StateWriter, account: str, token: str, amount: int) -> None:
    if amount == 0:
        return
    row = writer.get(PayoutBalance, account=account, token=token)
    writer.upsert(PayoutBalance, {"account": account, "token": token},
                  credited=(row["credited"] if row else 0) + amount,
                  withdrawn=row["withdrawn"] if row else 0)


@on(CONTRACT, "RevenueSplit")
def revenue_split(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.append(RevenueSplit, asset_id=a["assetId"], token=a["token"], fee=a["protocolFee"],
                  curators=a["curatorAmount"], owner_amount=a["ownerAmount"], owner=a["owner"])
    _credit(writer, a["owner"], a["token"], a["ownerAmount"])
    treasury = writer.get(RegistryParam, contract=event.address, name="treasury")
    if treasury is not None:
        _credit(writer, treasury["value"], a["token"], a["protocolFee"])
    elif a["protocolFee"]:
        log.warning("protocol fee of asset %d at %s: no TreasurySet seen", a["assetId"],
                    event.origin)


@on(CONTRACT, "PayoutCredited")
def payout_credited(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _credit(writer, a["account"], a["token"], a["amount"])


@on(CONTRACT, "Withdrawn")
def withdrawn(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.append(Withdrawal, account=a["account"], token=a["token"], recipient=a["to"],
                  amount=a["amount"])
    row = writer.get(PayoutBalance, account=a["account"], token=a["token"])
    writer.upsert(PayoutBalance, {"account": a["account"], "token": a["token"]},
                  credited=row["credited"] if row else 0,
                  withdrawn=(row["withdrawn"] if row else 0) + a["amount"])


# -- curation stakes ---------------------------------------------------------------------------
# A stake row holds what the registry's `stakeOf` and `warmingStake` return: earning `amount`,
# `warming` (earns from `warming_active_at`), `unbonding` (withdrawable from
# `unbonding_available_at`). The asset keeps the totals: earning (`total_staked`, the chain's
# `totalStaked`), warming, and the number of curators whose stake earns.
def _change_stake(writer: StateWriter, asset_id: int, curator: str, active_delta: int = 0,
                  warming_delta: int = 0, **changes: Any) -> None:
    """Apply a change to one stake and keep the asset's totals in step."""
    key = {"asset_id": asset_id, "curator": curator}
    row = writer.get(Stake, **key) or {"amount": 0, "unbonding": 0,
                                       "unbonding_available_at": None, "warming": 0,
                                       "warming_active_at": None}
    amount, warming = row["amount"] + active_delta, row["warming"] + warming_delta
    values = {"amount": amount, "unbonding": row["unbonding"],
              "unbonding_available_at": row["unbonding_available_at"], "warming": warming,
              "warming_active_at": row["warming_active_at"] if warming else None, **changes}
    writer.upsert(Stake, key, **values)
    if active_delta or warming_delta:
        asset = writer.require(Asset, asset_id=asset_id)
        joined = int(amount > 0) - int(row["amount"] > 0)
        writer.update(Asset, {"asset_id": asset_id},
                      total_staked=asset["total_staked"] + active_delta,
                      warming_staked=asset["warming_staked"] + warming_delta,
                      staker_count=asset["staker_count"] + joined)


@on(CONTRACT, "Staked")
def staked(writer: StateWriter, event: DecodedEvent) -> None:
    """New stake warms up; the staker's whole warming amount earns from `activeAt` (a warmed-up
    amount was activated first, `StakeActivated` earlier in the same transaction)."""
    a = event.args
    _change_stake(writer, a["assetId"], a["staker"], warming_delta=a["amount"],
                  warming_active_at=a["activeAt"])


@on(CONTRACT, "StakeActivated")
def stake_activated(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _change_stake(writer, a["assetId"], a["staker"], active_delta=a["amount"],
                  warming_delta=-a["amount"])


@on(CONTRACT, "UnstakeRequested")
def unstake_requested(writer: StateWriter, event: DecodedEvent) -> None:
    """The registry takes stake still warming up first, then earning stake."""
    a = event.args
    row = writer.require(Stake, asset_id=a["assetId"], curator=a["staker"])
    from_warming = min(a["amount"], row["warming"])
    _change_stake(writer, a["assetId"], a["staker"], active_delta=from_warming - a["amount"],
                  warming_delta=-from_warming, unbonding=row["unbonding"] + a["amount"],
                  unbonding_available_at=a["availableAt"])


@on(CONTRACT, "StakeWithdrawn")
def stake_withdrawn(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    _change_stake(writer, a["assetId"], a["staker"], unbonding=0,
                  unbonding_available_at=None)


@on(CONTRACT, "RewardClaimed")
def reward_claimed(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.append(RewardClaim, asset_id=a["assetId"], curator=a["staker"], token=a["token"],
                  amount=a["amount"])


# -- protocol settings -------------------------------------------------------------------------
def _set_param(writer: StateWriter, event: DecodedEvent, name: str, value: object) -> None:
    writer.upsert(RegistryParam, {"contract": event.address, "name": name}, value=str(value))


@on(CONTRACT, "ProtocolFeeSet")
def protocol_fee_set(writer: StateWriter, event: DecodedEvent) -> None:
    _set_param(writer, event, "protocol_fee_bps", event.args["feeBps"])


@on(CONTRACT, "TreasurySet")
def treasury_set(writer: StateWriter, event: DecodedEvent) -> None:
    _set_param(writer, event, "treasury", event.args["treasury"])


@on(CONTRACT, "UnbondingDelaySet")
def unbonding_delay_set(writer: StateWriter, event: DecodedEvent) -> None:
    _set_param(writer, event, "unbonding_delay", event.args["delaySeconds"])


@on(CONTRACT, "Paused")
def paused(writer: StateWriter, event: DecodedEvent) -> None:
    _set_param(writer, event, "paused", "true")


@on(CONTRACT, "Unpaused")
def unpaused(writer: StateWriter, event: DecodedEvent) -> None:
    _set_param(writer, event, "paused", "false")


@on(CONTRACT, "PaymentTokenAllowed")
def payment_token_allowed(writer: StateWriter, event: DecodedEvent) -> None:
    writer.upsert(PaymentToken, {"contract": event.address, "token": event.args["token"]},
                  allowed=event.args["allowed"])
