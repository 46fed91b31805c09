"""Choosing the compute executor, and a Ray address that does not answer (no cluster needed;
the jobs on a real two-node Ray cluster are in test_compute_ray, marked `scale`).

`ray.init` on an address where nothing listens did not return within 200 s here;
the executor checks the address with a plain TCP connect first and says what is wrong."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dapp.compute.executor import ExecutorUnavailable, LocalSandboxExecutor
from dapp.compute.ray_executor import RayExecutor
from dapp.compute.service import default_executor
from dapp.config import Settings
from dapp.ports import free_port


def test_the_local_sandbox_is_the_default_and_a_ray_address_picks_ray(tmp_path: Path) -> None:
    assert isinstance(default_executor(Settings(data_dir=tmp_path)), LocalSandboxExecutor)
    chosen = default_executor(Settings(data_dir=tmp_path, compute_ray_address="10.0.0.5:6379",
                                       compute_ray_retries=1))
    assert isinstance(chosen, RayExecutor)
    assert (chosen.address, chosen.retries) == ("10.0.0.5:6379", 1)


def test_an_unreachable_ray_address_is_a_clear_error_within_seconds() -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ExecutorUnavailable) as raised:
        RayExecutor(address).connect()
    assert time.monotonic() - started < 5
    assert raised.value.message.startswith(f"the Ray cluster at {address} is unreachable")
    assert raised.value.hint is not None and "DAPP_COMPUTE_RAY_ADDRESS" in raised.value.hint
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("address", ["ray-head", "ray://ray-head", "10.0.0.5:port", ":6379"])
def test_a_ray_address_without_host_and_port_is_a_clear_error(address: str) -> None:
    with pytest.raises(ExecutorUnavailable, match=r"not a Ray address host:port"):
        RayExecutor(address).connect()
