"""Adaptive log ranges: the sizing rule, and which node errors mean "ask for fewer blocks"."""

from __future__ import annotations

import pytest
import requests
from web3.exceptions import Web3RPCError

from dapp.indexer.ranges import (
    FIRST_RANGE_DIVISOR,
    RangeSizer,
    RangeTooLarge,
    is_range_too_large,
)


def test_ranges_grow_on_success_and_halve_on_refusal_within_bounds() -> None:
    sizer = RangeSizer(max_blocks=64, blocks=4)
    assert sizer.range_from(10, 1000) == (10, 13)
    sizer.succeeded()
    sizer.succeeded()
    assert sizer.range_from(10, 1000) == (10, 25)
    for _ in range(10):
        sizer.succeeded()
    assert sizer.blocks == 64
    assert sizer.range_from(10, 20) == (10, 20)  # never past the target
    sizer.too_large(64)
    assert sizer.blocks == 32
    sizer.too_large(5)  # a short range (at the head) failed: halve below what failed
    assert sizer.blocks == 2
    sizer.too_large(2)
    assert sizer.blocks == 1
    with pytest.raises(RangeTooLarge):
        sizer.too_large(1)


def test_a_range_that_filled_half_the_log_budget_does_not_double() -> None:
    """Doubling it would fetch twice the logs a batch may take, half of them thrown away."""
    sizer = RangeSizer(max_blocks=2000, blocks=500)
    sizer.succeeded(full=True)
    assert sizer.blocks == 500
    sizer.succeeded(full=False)
    assert sizer.blocks == 1000


def test_a_sizer_starts_at_its_maximum() -> None:
    assert RangeSizer(max_blocks=7).blocks == 7
    with pytest.raises(ValueError):
        RangeSizer(max_blocks=0)


def test_a_long_catch_up_starts_at_an_eighth_of_the_maximum_then_doubles() -> None:
    """Its first range tells how dense the chain is: a full one over a dense chain would be
    fetched whole and mostly thrown away while halving."""
    sizer = RangeSizer(max_blocks=2000)
    sizer.start_small(span=1_000_000)
    assert sizer.range_from(1, 10**9) == (1, 2000 // FIRST_RANGE_DIVISOR)
    for _ in range(3):
        sizer.succeeded()
    assert sizer.blocks == 2000
    sizer.start_small(span=1_000_000)  # once sized by an answer, never again
    assert sizer.blocks == 2000


def test_a_short_catch_up_or_a_refused_range_keeps_its_size() -> None:
    short = RangeSizer(max_blocks=2000)
    short.start_small(span=2000)  # one range covers it: asked whole, as before
    assert short.blocks == 2000
    refused = RangeSizer(max_blocks=2000)
    refused.too_large(2000)
    refused.start_small(span=1_000_000)
    assert refused.blocks == 1000


@pytest.mark.parametrize("message", [
    "query returned more than 10000 results",  # geth, Infura
    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
    "eth_getLogs is limited to a 10,000 range",  # QuickNode
    "block range is too wide",  # Ankr
    "query exceeds max results 20000, retry with the range 1-10",  # Erigon
    "Requested range exceeds maximum range limit",  # Besu
    "request timed out",
])
def test_providers_refusals_are_recognised(message: str) -> None:
    assert is_range_too_large(Web3RPCError(message))


def test_timeouts_shrink_but_a_node_that_is_down_does_not() -> None:
    assert is_range_too_large(requests.ReadTimeout("read timed out"))
    assert not is_range_too_large(requests.ConnectTimeout("connect timed out"))
    assert not is_range_too_large(requests.ConnectionError("refused"))
    assert not is_range_too_large(Web3RPCError("execution reverted"))
