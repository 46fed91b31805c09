"""A network file: where `scripts/deploy_network.py` deploys and to whom it hands the roles.

TOML (`.toml`) or YAML (`.yaml`/`.yml`); deploy/networks/example.toml shows every key. Plain
Python (no Brownie), so tests and tools read it too. Bad files fail with one line naming the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from eth_utils import is_address, to_checksum_address

from dapp.errors import InvalidInput

DEFAULT_PROTOCOL_FEE_BPS = 250
DEFAULT_UNBONDING_DELAY = 3 * 24 * 3600
ZERO = "0x0000000000000000000000000000000000000000"
HINT = "see deploy/networks/example.toml and docs/DEPLOY.md"


class NetworkFileError(InvalidInput):
    code = "bad-network-file"


@dataclass(frozen=True)
class TimelockConfig:
    proposers: tuple[str, ...]  # the multisig(s) that schedule and cancel operations
    executors: tuple[str, ...]  # who may execute once the delay passed (ZERO: anyone)
    min_delay: int  # seconds between schedule and execute


@dataclass(frozen=True)
class NetworkConfig:
    name: str
    chain_id: int
    rpc_url: str  # may carry an API key: never written to the manifest
    public_rpc_url: str  # what the manifest records for others ("" when none)
    payment_tokens: tuple[str, ...]
    staking_token: str
    fee_receiver: str
    protocol_fee_bps: int
    unbonding_delay: int
    timelock: TimelockConfig
    #: roles that go elsewhere than the timelock, by name (e.g. PAUSER_ROLE to a guardian)
    roles: dict[str, str]


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NetworkFileError(f"no network file at {path}", hint=HINT)
    text = path.read_text()
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise NetworkFileError(f"{path} is not valid {path.suffix[1:].upper()}: {first}",
                               hint=HINT) from None
    if not isinstance(data, dict):
        raise NetworkFileError(f"{path} must be a table of keys", hint=HINT)
    return data


def _required(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise NetworkFileError(f"{where}: `{key}` is missing", hint=HINT)
    return data[key]


def _address(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not is_address(value) or int(value, 16) == 0:
        raise NetworkFileError(f"{where}: `{key}` is not a non-zero address: {value!r}",
                               hint=HINT)
    return to_checksum_address(value)


def _addresses(value: Any, key: str, where: str, allow_zero: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise NetworkFileError(f"{where}: `{key}` must be a non-empty list of addresses",
                               hint=HINT)
    if allow_zero and value == [ZERO]:
        return (ZERO,)
    return tuple(_address(item, key, where) for item in value)


def _int(data: dict[str, Any], key: str, where: str, default: int | None = None,
         minimum: int = 0) -> int:
    value = data.get(key, default) if default is not None else _required(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NetworkFileError(f"{where}: `{key}` must be an integer >= {minimum}: {value!r}",
                               hint=HINT)
    return value


def _roles(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise NetworkFileError(f"{where}: `roles` must be a table of ROLE = address", hint=HINT)
    for name in value:
        if not name.endswith("_ROLE") or name == "DEFAULT_ADMIN_ROLE":
            raise NetworkFileError(f"{where} [roles]: {name!r} is not a role that may leave "
                                   "the timelock (a *_ROLE other than DEFAULT_ADMIN_ROLE)",
                                   hint=HINT)
    return {name: _address(address, name, f"{where} [roles]") for name, address in value.items()}


def load_network(path: Path) -> NetworkConfig:
    data = _read(path)
    where = str(path)
    rpc_url = _required(data, "rpc_url", where)
    if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
        raise NetworkFileError(f"{where}: `rpc_url` must be an http(s) URL: {rpc_url!r}",
                               hint=HINT)
    timelock = _required(data, "timelock", where)
    if not isinstance(timelock, dict):
        raise NetworkFileError(f"{where}: `timelock` must be a table", hint=HINT)
    tl_where = f"{where} [timelock]"
    proposers = _addresses(_required(timelock, "proposers", tl_where), "proposers", tl_where)
    executors = timelock.get("executors", list(proposers))
    return NetworkConfig(
        name=str(data.get("name", path.stem)),
        chain_id=_int(data, "chain_id", where, minimum=1),
        rpc_url=rpc_url,
        public_rpc_url=str(data.get("public_rpc_url", "")),
        payment_tokens=_addresses(_required(data, "payment_tokens", where), "payment_tokens",
                                  where),
        staking_token=_address(_required(data, "staking_token", where), "staking_token", where),
        fee_receiver=_address(_required(data, "fee_receiver", where), "fee_receiver", where),
        protocol_fee_bps=_int(data, "protocol_fee_bps", where, DEFAULT_PROTOCOL_FEE_BPS),
        unbonding_delay=_int(data, "unbonding_delay", where, DEFAULT_UNBONDING_DELAY),
        timelock=TimelockConfig(
            proposers=proposers,
            executors=_addresses(executors, "executors", tl_where, allow_zero=True),
            min_delay=_int(timelock, "min_delay", tl_where, minimum=1),
        ),
        roles=_roles(data.get("roles", {}), where),
    )
