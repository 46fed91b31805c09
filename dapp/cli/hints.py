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
    "TokenNotAllowed": "the registry accepts only its payment tokens (default: the DDT token)",
    "NothingToWithdraw": "`datadao payouts show` shows the balances",
    "InsufficientStake": "`datadao assets show ID` shows the stake",
    "StillUnbonding": "wait until the unbonding delay has passed",
    "CuratorShareTooHigh": "the curator share is at most 50 %",
    "ERC20InsufficientBalance": "the account does not hold enough of the token",
    "ERC20InsufficientAllowance": "approve the registry first",
}

#: by `DappError.code`
CODE_HINTS = {
    "chain-unavailable": "is the dev chain running? `make up` starts one",
    "account-needed": "pass --account NAME",
    "unknown-account": "`datadao account list` shows them; `datadao account new` makes one",
}


def cli_hint(error: DappError) -> str | None:
    """The hint to print under `error`: the CLI's own where it has one, else the core's."""
    if isinstance(error, TransactionReverted) and error.error_name in REVERT_HINTS:
        return REVERT_HINTS[error.error_name]
    return CODE_HINTS.get(error.code, error.hint)


def cli_message(error: DappError) -> str:
    """`error` as the one line the CLI prints."""
    hint = cli_hint(error)
    return f"{error.message} ({hint})" if hint else error.message
