"""ComputeMarket events → compute providers, escrowed jobs and payment channels.

Every event the market emits is either handled here or named in `IGNORED` (the raw log is kept
in `events` either way). Rows mirror the contract's own views, changed only through the
`StateWriter` so that a reorg undoes them:

* `compute_providers`: endpoint, price and its token (per job and per metered call), stake
  (locked collateral included, as `getProvider`), and `active` = not exiting (an exiting
  provider takes no new jobs or channels);
* `compute_jobs`: escrowed → submitted → finalized, or → disputed → finalized / refunded, or
  escrowed → refunded (deadline passed) / declined (the provider refused it). `amount` is the
  escrow: provider fee + data fee, in `token`; `collateral` the provider stake the job locks;
  `challenge_end` set with the result;
* `payment_channels`: `deposit` and `redeemed` as `getChannel` (a reclaim lowers the deposit to
  what was redeemed); status open, redeemed (the provider took the whole deposit) or reclaimed
  (the buyer took the rest back); a top-up opens the channel again.

Money the market moves elsewhere is not counted here: a finalized job's data fee goes through
`AssetRegistry.payRevenue`, whose `RevenueSplit` the registry handlers credit.
"""

from __future__ import annotations

from dapp.chain.events import DecodedEvent
from dapp.indexer.handlers.registry import cid_text
from dapp.indexer.handlers.table import HandlerTable
from dapp.indexer.writer import StateWriter
from dapp.store.models import ComputeJob, ComputeProvider, PaymentChannel

CONTRACT = "ComputeMarket"

#: Events with nothing for these tables: market parameters, per-dataset data fees (the fee a
#: job escrowed is in `JobCreated`), pause, roles, the EIP-712 domain.
IGNORED = frozenset({"ParamsSet", "ComputeFeeSet", "Paused", "Unpaused", "RoleAdminChanged",
                     "RoleGranted", "RoleRevoked", "EIP712DomainChanged"})

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
    """A refund after a missed deadline or a lost or stale dispute. `declineJob` refunds too,
    right after its `JobDeclined`: such a job stays `declined`."""
    key = {"job_id": event.args["jobId"]}
    if writer.require(ComputeJob, **key)["status"] != "declined":
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


@on(CONTRACT, "ChannelRedeemed")
def channel_redeemed(writer: StateWriter, event: DecodedEvent) -> None:
    key = _channel_key(event)
    redeemed = event.args["redeemed"]
    deposit = writer.require(PaymentChannel, **key)["deposit"]
    writer.update(PaymentChannel, key, redeemed=redeemed,
                  status="redeemed" if redeemed >= deposit else "open")


@on(CONTRACT, "ChannelReclaimed")
def channel_reclaimed(writer: StateWriter, event: DecodedEvent) -> None:
    """The buyer took back what was not redeemed: the deposit is now what was redeemed."""
    key = _channel_key(event)
    channel = writer.require(PaymentChannel, **key)
    writer.update(PaymentChannel, key, deposit=channel["redeemed"], status="reclaimed")
