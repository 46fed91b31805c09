"""ComputeMarket events → compute providers, escrowed jobs and payment channels.

Every event the market emits is either handled here or named in `IGNORED` (the raw log is kept
in `events` either way). Rows mirror the contract's own views, changed only through the
`StateWriter` so that a reorg undoes them:

* `compute_providers`: endpoint, price and its token (per job and per metered call), stake
  (locked collateral included, as `getProvider`), and `active` = not exiting (an exiting
  provider takes no new jobs or channels);
* `compute_jobs`: escrowed → accepted (the provider locked its collateral) → submitted →
  finalized, or → disputed → finalized / refunded; escrowed or accepted → refunded (deadline
  passed) / declined (the provider refused it); escrowed → cancelled (by the buyer, before
  acceptance). A result posted on an escrowed job accepts it in the same call (escrowed →
  submitted). `amount` is the escrow: provider fee + data fee, in `token`; `collateral` the
  provider stake the job locks once accepted; `challenge_end` set with the result;
* `payment_channels`: `deposit` and `redeemed` as `getChannel` (a reclaim lowers the deposit to
  what was redeemed); status open, redeemed (the provider took the whole deposit) or reclaimed
  (the buyer took the rest back); a top-up opens the channel again. A single `redeem` emits
  `ChannelRedeemed`; a batch (`redeemMany`) one `VouchersRedeemed` with every channel's new
  cumulative total.

Money the market moves elsewhere is not counted here: a finalized job's data fee goes through
`AssetRegistry.payRevenue`, whose `RevenueSplit` the registry handlers credit. What settlements
credit inside the market (refunds, slashes, provider fees, bonds: `Credited`, `Withdrawn`) is
read from the market's own `claimable(account, token)` view, which the CLI and the dApp show.
"""

from __future__ import annotations

from dapp.chain.events import DecodedEvent
from dapp.indexer.handlers.registry import cid_text
from dapp.indexer.handlers.table import HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.store.models import ComputeJob, ComputeProvider, PaymentChannel

CONTRACT = "ComputeMarket"

#: Events with nothing for these tables: market parameters, per-dataset data fees (the fee a
#: job escrowed is in `JobCreated`), credited balances and their withdrawals (the market's
#: `claimable` view is the answer), pause, roles, the EIP-712 domain.
IGNORED = frozenset({"ParamsSet", "ComputeFeeSet", "Credited", "Withdrawn", "Paused",
                     "Unpaused", "RoleAdminChanged", "RoleGranted", "RoleRevoked",
                     "EIP712DomainChanged"})

HANDLERS = HandlerTable()
on = HANDLERS.on


# -- providers ---------------------------------------------------------------------------------
def _provider(address: str) -> dict[str, str]:
    return {"address": address}


@on(CONTRACT, "ProviderRegistered")
def provider_registered(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.upsert(ComputeProvider, _provider(a["provider"]), endpoint=a["endpoint"],
                  price_token=a["priceToken"], price=a["price"], stake=a["stake"], active=True)


@on(CONTRACT, "ProviderUpdated")
def provider_updated(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.update(ComputeProvider, _provider(a["provider"]), endpoint=a["endpoint"],
                  price_token=a["priceToken"], price=a["price"])


@on(CONTRACT, "StakeAdded")
def stake_added(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(ComputeProvider, _provider(event.args["provider"]), stake=event.args["stake"])


@on(CONTRACT, "StakeWithdrawn")
def stake_withdrawn(writer: StateWriter, event: DecodedEvent) -> None:
    """The whole stake leaves; the provider stays exiting until `cancelExit`."""
    writer.update(ComputeProvider, _provider(event.args["provider"]), stake=0)


@on(CONTRACT, "ProviderSlashed")
def provider_slashed(writer: StateWriter, event: DecodedEvent) -> None:
    key = _provider(event.args["provider"])
    provider = writer.require(ComputeProvider, **key)
    writer.update(ComputeProvider, key, stake=provider["stake"] - event.args["amount"])


@on(CONTRACT, "ExitRequested")
def exit_requested(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(ComputeProvider, _provider(event.args["provider"]), active=False)


@on(CONTRACT, "ExitCancelled")
def exit_cancelled(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(ComputeProvider, _provider(event.args["provider"]), active=True)


# -- jobs --------------------------------------------------------------------------------------
def _set_job_status(writer: StateWriter, event: DecodedEvent, status: str) -> None:
    writer.update(ComputeJob, {"job_id": event.args["jobId"]}, status=status)


@on(CONTRACT, "JobCreated")
def job_created(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.insert(ComputeJob, job_id=a["jobId"], buyer=a["buyer"], provider=a["provider"],
                  dataset_id=a["datasetId"], algorithm_id=a["algorithmId"], token=a["token"],
                  amount=a["providerFee"] + a["dataFee"], deadline=a["deadline"],
                  collateral=a["collateral"], challenge_end=None, status="escrowed",
                  result_cid=None, result_hash=None)


@on(CONTRACT, "JobAccepted")
def job_accepted(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(ComputeJob, {"job_id": event.args["jobId"]}, status="accepted",
                  collateral=event.args["collateral"])


@on(CONTRACT, "JobCancelled")
def job_cancelled(writer: StateWriter, event: DecodedEvent) -> None:
    """The buyer withdrew a job not yet accepted; its `JobRefunded` follows."""
    _set_job_status(writer, event, "cancelled")


@on(CONTRACT, "ResultSubmitted")
def result_submitted(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.update(ComputeJob, {"job_id": a["jobId"]}, status="submitted",
                  result_cid=cid_text(a["resultCid"]), result_hash=a["resultHash"],
                  challenge_end=a["challengeEnd"])


@on(CONTRACT, "JobDisputed")
def job_disputed(writer: StateWriter, event: DecodedEvent) -> None:
    _set_job_status(writer, event, "disputed")


@on(CONTRACT, "DisputeResolved")
def dispute_resolved(writer: StateWriter, event: DecodedEvent) -> None:
    """The arbiter's decision; `JobFinalized` or `JobRefunded` follows in the same transaction
    and says the same."""
    _set_job_status(writer, event, "finalized" if event.args["providerPaid"] else "refunded")


@on(CONTRACT, "JobFinalized")
def job_finalized(writer: StateWriter, event: DecodedEvent) -> None:
    _set_job_status(writer, event, "finalized")


@on(CONTRACT, "JobDeclined")
def job_declined(writer: StateWriter, event: DecodedEvent) -> None:
    _set_job_status(writer, event, "declined")


@on(CONTRACT, "JobRefunded")
def job_refunded(writer: StateWriter, event: DecodedEvent) -> None:
    """A refund after a missed deadline or a lost or stale dispute. `declineJob` and
    `cancelJob` refund too, right after their `JobDeclined` / `JobCancelled`: such a job stays
    `declined` / `cancelled`."""
    key = {"job_id": event.args["jobId"]}
    if writer.require(ComputeJob, **key)["status"] not in ("declined", "cancelled"):
        writer.update(ComputeJob, key, status="refunded")


# -- payment channels --------------------------------------------------------------------------
def _channel_key(event: DecodedEvent) -> dict[str, str]:
    return {"channel_id": str(event.args["channelId"])}


@on(CONTRACT, "ChannelOpened")
def channel_opened(writer: StateWriter, event: DecodedEvent) -> None:
    a = event.args
    writer.insert(PaymentChannel, **_channel_key(event), buyer=a["buyer"],
                  provider=a["provider"], token=a["token"], deposit=a["deposit"], redeemed=0,
                  expires_at=a["expiry"], status="open")


@on(CONTRACT, "ChannelToppedUp")
def channel_topped_up(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(PaymentChannel, _channel_key(event), deposit=event.args["deposit"],
                  status="open")


@on(CONTRACT, "ChannelExtended")
def channel_extended(writer: StateWriter, event: DecodedEvent) -> None:
    writer.update(PaymentChannel, _channel_key(event), expires_at=event.args["expiry"])


def _set_redeemed(writer: StateWriter, channel_id: int, redeemed: int) -> None:
    key = {"channel_id": str(channel_id)}
    deposit = writer.require(PaymentChannel, **key)["deposit"]
    writer.update(PaymentChannel, key, redeemed=redeemed,
                  status="redeemed" if redeemed >= deposit else "open")


@on(CONTRACT, "ChannelRedeemed")
def channel_redeemed(writer: StateWriter, event: DecodedEvent) -> None:
    _set_redeemed(writer, event.args["channelId"], event.args["redeemed"])


@on(CONTRACT, "VouchersRedeemed")
def vouchers_redeemed(writer: StateWriter, event: DecodedEvent) -> None:
    """One `redeemMany`: each channel's new cumulative total, in the batch's order."""
    for channel_id, redeemed in zip(event.args["channelIds"], event.args["redeemed"],
                                    strict=True):
        _set_redeemed(writer, channel_id, redeemed)


@on(CONTRACT, "ChannelReclaimed")
def channel_reclaimed(writer: StateWriter, event: DecodedEvent) -> None:
    """The buyer took back what was not redeemed: the deposit is now what was redeemed."""
    key = _channel_key(event)
    channel = writer.require(PaymentChannel, **key)
    writer.update(PaymentChannel, key, deposit=channel["redeemed"], status="reclaimed")
