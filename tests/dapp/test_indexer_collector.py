"""The garbage collector's thresholds while the indexer catches up: raised inside the block,
never lowered, put back afterwards (the indexer may share its process), even on an error."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dapp.indexer.collector import CATCH_UP_THRESHOLDS, fewer_collections


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("thresholds")
def test_thresholds_are_raised_inside_and_put_back_after_an_error() -> None:
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), fewer_collections():
        assert gc.get_threshold() == CATCH_UP_THRESHOLDS
        raise RuntimeError("a batch failed")
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("thresholds")
def test_a_process_that_collects_less_often_or_never_keeps_its_choice() -> None:
    gc.set_threshold(10**6, 5, 1000)
    with fewer_collections():
        assert gc.get_threshold() == (10**6, CATCH_UP_THRESHOLDS[1], 1000)
    gc.set_threshold(0)  # automatic collection off
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0
