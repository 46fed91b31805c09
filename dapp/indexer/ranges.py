"""Adaptive `eth_getLogs` block ranges: double after a success (unless that range already held
over half the logs a batch may take), halve when the node says the range is too big (too many
results, response too large, timed out), never below one block."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import requests
from web3.exceptions import Web3RPCError

# What providers answer when a range holds too much (geth, Erigon, Infura, Alchemy,
# QuickNode, Ankr, Nethermind, Besu): matched on the error message, case-insensitive.
TOO_LARGE_PATTERNS = re.compile(
    r"more than [\d,]+ results|too many|limit exceeded|response size|exceed(s|ed)? .*(limit|max)"
    r"|limited to|block range|range (is )?too (large|wide|big)|timed? ?out|response too big",
    re.IGNORECASE,
)


FIRST_RANGE_DIVISOR = 8  # a long catch-up's first range: the most / 8 (see start_small)


class RangeTooLarge(Exception):
    """The node refused or could not answer a log query over this many blocks."""


def is_range_too_large(error: BaseException) -> bool:
    if isinstance(error, requests.ConnectionError):
        return False  # the node is down (a connect timeout too): not the range's fault
    if isinstance(error, RangeTooLarge | requests.Timeout):
        return True
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return error.response.status_code in (408, 413, 504)
    if isinstance(error, Web3RPCError | ValueError):
        return bool(TOO_LARGE_PATTERNS.search(str(error)))
    return False


@dataclass
class RangeSizer:
    """How many blocks the next log query covers."""

    max_blocks: int
    blocks: int = field(default=0)
    #: a query's outcome has sized the ranges (a success, or a refusal)
    adjusted: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.max_blocks < 1:
            raise ValueError("max_blocks must be at least 1")
        if not 1 <= self.blocks <= self.max_blocks:
            self.blocks = self.max_blocks

    def start_small(self, span: int) -> None:
        """Before the first query of `span` blocks, more than the most a range may cover (a
        long catch-up): start at an eighth of the most, which doubles after each success.
        A full first range over a dense chain is fetched whole, then mostly thrown away
        while halving to what a batch may hold."""
        if not self.adjusted and span > self.max_blocks:
            self.blocks = max(1, min(self.blocks, self.max_blocks // FIRST_RANGE_DIVISOR))

    def range_from(self, start: int, last_allowed: int) -> tuple[int, int]:
        return start, min(last_allowed, start + self.blocks - 1)

    def succeeded(self, full: bool = False) -> None:
        """Double, unless the range was `full` (it held over half the logs a batch may take):
        twice as many blocks would hold too many, and their logs would be fetched only to
        be cut back to this size."""
        self.adjusted = True
        if not full:
            self.blocks = min(self.max_blocks, self.blocks * 2)

    def too_large(self, tried_blocks: int) -> None:
        """Halve (below the range that failed); a single block that fails cannot shrink."""
        if tried_blocks <= 1:
            raise RangeTooLarge("a single block's logs are too large for the node to return")
        self.adjusted = True
        self.blocks = max(1, min(self.blocks, tried_blocks) // 2)
