"""What to do next, said in this CLI's words: its commands and flags. The core's errors carry
hints any client can act on; the CLI replaces them where it has a better one (a contract's
custom error, or an error code), so no command line reaches an HTTP client."""

from __future__ import annotations

from dapp.chain.transactions import TransactionReverted
from dapp.errors import DappError

#: by the contract's custom error in a revert
REVERT_HINTS = {
    "NotAssetOwner": "only the asset's owner can do this; check --account",
    "UnknownAsset": "`datadao assets ls` lists the asset ids",
    "UnknownOffer": "`datadao assets show ID` lists the offers",
    "OfferInactive": "the owner paused this offer",
    "OfferTermsChanged": "the owner changed the offer after it was shown to you; nothing was "
                         "paid: `datadao assets show ID` shows the new terms",
    "PriceAboveMax": "the owner raised the price after it was shown to you; nothing was "
                     "paid: `datadao assets show ID` shows the new price",
    "TokenNotAllowed": "the registry accepts only its payment tokens (default: the DDT token)",
    "NothingToWithdraw": "`datadao payouts show` shows the balances",
    "InsufficientStake": "`datadao assets show ID` shows the stake",
    "StillUnbonding": "wait until the unbonding delay has passed",
    "UnbondingDelayTooShort": "the unbonding delay is at least one day",
    "CuratorShareTooHigh": "the curator share is at most 50 %",
    "ERC20InsufficientBalance": "the account does not hold enough of the token",
    "ERC20InsufficientAllowance": "approve the registry first",
    "PriceTokenMismatch": "the provider changed its price token after it was shown to you; "
                          "nothing was paid: check `GET /v1/provider` and try again",
    "AmountTooLarge": "a channel holds at most 2^88 - 1 base units; use a smaller deposit",
    "WrongJobStatus": "`datadao job show ID` shows the job's status (a job can be cancelled "
                      "only before its provider accepts it)",
    "DeadlineNotPassed": "`datadao job show ID` shows the deadline",
}

#: by `DappError.code`; `{name}` is filled from the error's `details`
CODE_HINTS = {
    "chain-unavailable": "is the dev chain running? `make up` starts one",
    "confirmation-timeout": "the transaction is on chain; a dev chain mines only when sent "
                            "transactions, so use --confirmations 0 there",
    "account-needed": "pass --account NAME",
    "unknown-account": "`datadao account list` shows them; `datadao account new` makes one",
    "duplicate-account": "use --account {name}",
    "owner-account-needed": "use --account with the owner's account",
    "unknown-asset": "`datadao assets ls` lists the assets",
    "compute-license-needed": "`datadao assets show {asset_id}` lists its offers; `datadao "
                              "license buy {asset_id} OFFER_ID` buys a compute one",
    "unknown-offer": "`datadao assets show {asset_id}` lists its offers",
    "gateway-unreachable": "start it (`make up`) or pass --seal-to KEY",
    "no-gateway-key": "is this a DataDAO gateway? or pass --seal-to KEY",
    "gateway-keys-needed": "pass --seal-to KEY or --gateway URL, or --open to publish "
                           "unencrypted",
    "open-with-gateway-keys": "drop --seal-to/--gateway or --open",
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


def _own_hint(error: DappError) -> str | None:
    if isinstance(error, TransactionReverted) and error.error_name in REVERT_HINTS:
        return REVERT_HINTS[error.error_name]
    template = CODE_HINTS.get(error.code)
    if template is None:
        return None
    try:
        return template.format_map(error.details)
    except (KeyError, IndexError):  # raised without the details the CLI's words need
        return None


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
