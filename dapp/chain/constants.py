"""The contracts' enums and constants, defined once.

Solidity ABIs carry an enum as a bare `uint8`, so the members are restated here, in
declaration order; `tests/dapp/test_chain_constants.py` compares them with the `enum`
declarations in `contracts/interfaces/` so the two cannot drift apart.
"""

from __future__ import annotations

from enum import IntEnum
from functools import cache

ZERO_ADDRESS = "0x" + "00" * 20
MAX_UINT64 = 2**64 - 1
MAX_UINT96 = 2**96 - 1
MAX_UINT256 = 2**256 - 1


class _NamedEnum(IntEnum):
    @property
    def label(self) -> str:
        """The lowercase name the API, the CLI and the store use ("dataset", "compute")."""
        return self.name.lower()

    @classmethod
    def labels(cls) -> tuple[str, ...]:
        return tuple(member.label for member in cls)

    @classmethod
    def label_of(cls, value: int) -> str:
        """The label of `value`, or `<enum>-<value>` for one this code does not know."""
        return _label_of(cls, value)


@cache  # the indexer asks once per event
def _label_of(cls: type[_NamedEnum], value: int) -> str:
    try:
        return cls(value).label
    except ValueError:
        return f"{_UNKNOWN_PREFIX[cls.__name__]}-{value}"


class AssetKind(_NamedEnum):
    """IAssetRegistry.Kind"""

    DATASET = 0
    MODEL = 1
    ALGORITHM = 2


class Scope(_NamedEnum):
    """IAssetRegistry.Scope: what a license allows."""

    DOWNLOAD = 0
    COMPUTE = 1


class JobStatus(_NamedEnum):
    """IComputeMarket.JobStatus"""

    NONE = 0
    OPEN = 1  # escrowed, not accepted: the buyer may cancel
    ACCEPTED = 2  # the provider locked its collateral
    SUBMITTED = 3
    DISPUTED = 4
    FINALIZED = 5
    REFUNDED = 6


_UNKNOWN_PREFIX = {"AssetKind": "kind", "Scope": "scope", "JobStatus": "status"}
