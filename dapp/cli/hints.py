"""What to do next, said in this CLI's words: its commands and flags. The core's errors carry
hints any client can act on; the CLI replaces them where it has a better one (a contract's
custom error, or an error code), so no command line reaches an HTTP client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dapp.chain.transactions import TransactionReverted
from dapp.errors import DappError

#: by the contract's custom error in a revert (the registry's, the market's, the token's): what
#: happened in words and what to do. `{name}` is filled from the error's arguments, a moment
#: (`TIME_ARGUMENTS`) as its UTC date and time; an error name both the registry and the market
#: declare with other arguments uses none of them.
REVERT_HINTS = {
    # -- AssetRegistry (with Payouts and CurationStaking) --------------------------------------
    "NotAssetOwner": "only the asset's owner can do this; check --account",
    "NotLicenseTokens": "only the registry's licence-token contract may charge an offer this way "
    "({caller} is not it)",
    "LicenseTokensSet": "the registry's licence-token contract is set once and already is "
    "({current})",
    "UnknownAsset": "asset {assetId} does not exist: `datadao assets ls` lists the asset ids",
    "UnknownOffer": "asset {assetId} has no offer {offerId}: `datadao assets show {assetId}` "
                    "lists the offers",
    "UnknownVersion": "asset {assetId} has no version {version}: `datadao assets show "
                      "{assetId}` shows how many it has",
    "AssetIsRetired": "asset {assetId} is retired: it takes no new versions, offers, "
                      "licenses or stake",
    "OfferInactive": "the owner paused this offer",
    "AlgorithmNotTrusted": "the dataset's owner has not listed this algorithm: `datadao compute "
                           "show DATASET` lists the ones that may run; its owner lists more "
                           "with `datadao compute allow`",
    "OfferTermsChanged": "the owner changed the offer after it was shown to you; nothing was "
                         "paid: `datadao assets show ID` shows the new terms",
    "PriceAboveMax": "the owner raised the price after it was shown to you; nothing was "
                     "paid: `datadao assets show ID` shows the new price",
    "TokenNotAllowed": "the registry accepts only its payment tokens (default: the DDT token)",
    "TooManyPaymentTokens": "the registry already allows as many payment tokens as it can",
    "NothingToWithdraw": "there is nothing to withdraw or claim for this account yet: "
                         "`datadao payouts show` shows the payouts, `datadao job claimable` "
                         "what the market credited; curation rewards come from sales after "
                         "your stake started earning",
    "InsufficientStake": "that is more than the stake there is: `datadao assets show ID` "
                         "shows the stake",
    "StillUnbonding": "the stake is still unbonding: it can be withdrawn from {availableAt}",
    "UnbondingDelayTooShort": "the unbonding delay is at least one day",
    "CuratorShareTooHigh": "the curator share is at most 50 %",
    "FeeTooHigh": "the protocol fee is at most {maxBps} basis points",
    "InvalidCid": "a CID the registry stores must be a non-empty sha2-256 CID",
    "NoOffers": "an asset is published with at least one offer: pass --price",
    "EmptyOrder": "the order names no asset to buy",
    "GrantExpired": "that grant would have ended at {expiresAt}, which has passed",
    "UnknownScope": "a license is for download or compute (--scope)",
    "ZeroAddress": "an address in the call is the zero address: check --to / --licensee",
    "ZeroAmount": "the amount is zero: give a positive amount",
    # -- LicenseTokens (ERC-1155 licence tokens) -------------------------------------------------
    "NotTokenOffer": "offer {offerId} of asset {assetId} sells address-bound licences, not "
                     "tokens: its owner opts it in with `datadao offer tokens`",
    "NotTransferable": "licence token {id} is bound to its holder: its offer does not allow "
                       "transfers",
    "NotHolder": "{caller} holds none of licence token {id}: only its holder can lend it",
    "LoanBeyondLicence": "a loan must end after now and by the licence's own end ({licenceEnd}), "
                         "not at {expires}",
    "UserBusy": "{user} already borrows this licence from {lender}: one loan of an id at a time",
    "InvalidUser": "{user} is the holder itself: a holder cannot lend to, or buy from, itself",
    "NotListed": "{seller} does not offer licence token {id} for resale (or the listing ended)",
    "ResaleTermsChanged": "the resale of licence token {id} by {seller} changed its token or "
                          "went over the price you allowed: nothing was paid",
    "ZeroPrice": "a resale needs a price above zero",
    "RoyaltyTooHigh": "the resale royalty is at most {maxBps} basis points",
    "NotAdmin": "only the registry's admin can do this ({caller} is not it)",
    "ERC1155InsufficientBalance": "{sender} holds no licence token {tokenId}: `datadao license "
                                  "ls` lists the ones it holds",
    "ERC1155InvalidReceiver": "{receiver} cannot receive licence tokens (the zero address, or a "
                              "contract that does not accept ERC-1155 tokens)",
    "ERC1155MissingApprovalForAll": "only the holder {owner} (or an operator it approved) can "
                                    "move its licence tokens",
    # -- ComputeMarket --------------------------------------------------------------------------
    "NotLicensed": "{account} holds no compute license on asset {assetId} (a job needs one on "
                   "the dataset and on the algorithm or model): `datadao assets show {assetId}` "
                   "lists its offers",
    "WrongAssetKind": "asset {assetId} is not of the kind this needs: a job runs an "
                      "algorithm or model on a dataset",
    "FeeTokenMismatch": "dataset {datasetId} charges its data fee in {feeToken}, the "
                        "provider in {jobToken}: a job pays both in one token; use a "
                        "provider that prices in the dataset's token",
    "InvalidDeadline": "the deadline {deadline} is in the past or beyond the market's "
                       "longest job: choose another --hours",
    "WrongJobStatus": "`datadao job show ID` shows the job's status (a job can be cancelled "
                      "only before its provider accepts it)",
    "NotJobBuyer": "job {jobId} was bought by another account: check --account",
    "NotJobProvider": "only job {jobId}'s provider can do this",
    "DeadlinePassed": "job {jobId}'s deadline passed at {deadline}: `datadao job expire "
                      "{jobId}` refunds it",
    "DeadlineNotPassed": "job {jobId}'s deadline is {deadline}: it can be expired only after "
                         "that (`datadao job show {jobId}`)",
    "ChallengeWindowOpen": "job {jobId}'s result can be disputed until {challengeEnd}: it "
                           "can be finalized only after that",
    "ChallengeWindowClosed": "job {jobId}'s challenge window closed at {challengeEnd}: it "
                             "can no longer be disputed (`datadao job finalize {jobId}`)",
    "DisputeNotStale": "the arbiter may still rule on job {jobId} until {staleAt}",
    "EmptyResult": "a result needs a CID and a hash",
    "UnknownChannel": "channel {channelId} does not exist: `datadao channel open` opens one",
    "NotChannelBuyer": "channel {channelId} was opened by another account: check --account",
    "NotChannelProvider": "only channel {channelId}'s provider can do this",
    "InvalidExpiry": "the channel would end at {expiry}, which is in the past or too far "
                     "ahead: choose another --duration",
    "ChannelNotExpired": "channel {channelId} is open until {expiry}: it can be reclaimed "
                         "only after that",
    "NothingToReclaim": "channel {channelId} holds nothing its provider did not redeem",
    "VoucherNotNewer": "channel {channelId} has already paid {redeemed} base units; a "
                       "voucher must be for more",
    "VoucherExceedsDeposit": "channel {channelId} holds {deposit} base units, less than the "
                             "voucher's {cumulativeAmount}: `datadao channel top-up "
                             "{channelId} AMOUNT`",
    "InvalidVoucherSignature": "the voucher for channel {channelId} is not signed by its "
                               "buyer",
    "AlreadyRegistered": "{provider} is already a provider",
    "UnknownProvider": "{provider} is not a provider in this market: check --gateway",
    "ProviderExiting": "provider {provider} is leaving the market and takes no new jobs or "
                       "channels: use another provider",
    "NotExiting": "provider {provider} has not asked to leave the market",
    "CollateralLocked": "{locked} base units of the provider's stake are locked as "
                        "collateral of open jobs",
    "InvalidParams": "the market refused these parameters",
    "EmptyBatch": "the batch is empty",
    "EmptyEndpoint": "a provider needs an endpoint URL",
    "TooManyTokens": "the market already tracks as many tokens for this account as it can",
    "PriceTokenMismatch": "the provider changed its price token after it was shown to you; "
                          "nothing was paid: check `GET /v1/provider` and try again",
    "AmountTooLarge": "a channel holds at most 2^88 - 1 base units; use a smaller deposit",
    # -- the payment token (ERC-20) -------------------------------------------------------------
    "ERC20InsufficientBalance": "the account does not hold enough of the token",
    "ERC20InsufficientAllowance": "approve the registry first",
}

#: error arguments that are moments (unix seconds), shown as UTC dates
TIME_ARGUMENTS = frozenset({"availableAt", "expiresAt", "deadline", "challengeEnd", "staleAt",
                            "expiry"})

#: by `DappError.code`; `{name}` is filled from the error's `details`
CODE_HINTS = {
    "chain-unavailable": "is the dev chain running? `make up` starts one",
    "confirmation-timeout": "the transaction is on chain; a dev chain mines only when sent "
                            "transactions, so use --confirmations 0 there",
    "account-needed": "pass --account NAME",
    "model-service-incomplete": "give --task and both --input-schema FILE and "
                                "--output-schema FILE",
    "model-service-not-for-kind": "publish with --kind model",
    "unknown-account": "`datadao account list` shows them; `datadao account new` makes one",
    "duplicate-account": "use --account {name}",
    "owner-account-needed": "use --account with the owner's account",
    "unknown-asset": "`datadao assets ls` lists the assets",
    "compute-license-needed": "`datadao assets show {asset_id}` lists its offers; `datadao "
                              "license buy {asset_id} OFFER_ID` buys a compute one",
    "algorithm-not-trusted": "`datadao compute show {asset_id}` lists the ones that may run; "
                             "its owner lists more with `datadao compute allow`",
    "unknown-offer": "`datadao assets show {asset_id}` lists its offers",
    "no-licence-token-held": "`datadao license ls` lists the licence tokens an account holds",
    "gateway-unreachable": "start it (`make up`) or pass --seal-to KEY",
    "no-gateway-key": "is this a DataDAO gateway? or pass --seal-to KEY",
    "gateway-keys-needed": "pass --seal-to KEY or --gateway URL, or --open to publish "
                           "unencrypted",
    "open-with-gateway-keys": "drop --seal-to/--gateway or --open",
    "recovery-key-missing": "create it once with `datadao keys recovery create`",
    "not-sealed-to-recovery-key": "it was published without your recovery key (in the "
                                  "browser, with --no-recovery, or before `datadao keys "
                                  "recovery create`): only a gateway it is sealed to can "
                                  "serve it",
    "already-sealed": "those gateways can serve it as it is; --gateway/--seal-to another one",
    "directory-unavailable": "pass --directory URL of a running gateway (its GET "
                             "/v1/providers)",
    "not-enough-gateways": "ask for fewer with --seal-to-directory N, or name gateways with "
                           "--gateway URL / --provider ADDRESS",
    "not-sealed-to": "`sealed_to` in `datadao reseal --json` (or the publish --json) lists "
                     "the keys it is sealed to",
    "keeps-recovery-key": "--remove takes gateways only: the recovery key is what re-seals "
                          "the asset",
    "not-a-provider": "`GET /v1/providers` on a gateway lists the providers; or pass "
                      "--gateway URL",
    "channel-needed": "pass --channel ID (`datadao channel open` opens one)",
    "gateway-count-ahead": "if the channel was used from another machine, pass --resync to "
                           "continue from the gateway's count; otherwise do not trust this "
                           "gateway",
    "gateway-terms-mismatch": "check --gateway against your deployment "
                              "(DAPP_DEPLOYMENTS_FILE); do not pay a gateway that misstates "
                              "its terms",
    "price-above-maximum": "raise --max-price to pay that price, or use another provider",
    "foreign-sign-in-challenge": "a gateway that asks for a sign-in to another site is not to "
                                 "be trusted; check --gateway",
    "content-mismatch": "the gateway served bytes other than the asset's; nothing was "
                        "kept: download from another gateway (--gateway URL)",
    "voucher-record-unreadable": "restore it, or move it away to start the count afresh (then "
                                 "pass --resync once)",
}


def _shown(name: str, value: Any) -> Any:
    if name in TIME_ARGUMENTS and isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value


def _filled(template: str, values: dict[str, Any]) -> str | None:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):  # raised without the values the words need
        return None


def _own_hint(error: DappError) -> str | None:
    if isinstance(error, TransactionReverted) and error.error_name in REVERT_HINTS:
        return _filled(REVERT_HINTS[error.error_name],
                       {name: _shown(name, value) for name, value in error.error_args.items()})
    template = CODE_HINTS.get(error.code)
    return None if template is None else _filled(template, error.details)


def cli_hint(error: DappError) -> str | None:
    """The hint to print under `error`: the CLI's own where it has one, else the core's. Notes
    the core added on the way up (`add_note`, e.g. what became of an upload) are already in
    its hint, and follow the CLI's."""
    own = _own_hint(error)
    if own is None:
        return error.hint
    return "; ".join([own, *getattr(error, "__notes__", ())])


def cli_message(error: DappError) -> str:
    """`error` as the one line the CLI prints."""
    hint = cli_hint(error)
    return f"{error.message} ({hint})" if hint else error.message
