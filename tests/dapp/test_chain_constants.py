"""The Python mirrors of the contracts' enums match the Solidity declarations, member by member."""

from __future__ import annotations

import re
from enum import IntEnum
from pathlib import Path

import pytest

from dapp.chain.constants import AssetKind, JobStatus, Scope

INTERFACES = Path(__file__).resolve().parents[2] / "contracts" / "interfaces"


def solidity_enum(file: str, name: str) -> list[str]:
    source = re.sub(r"//[^\n]*", "", (INTERFACES / file).read_text())
    match = re.search(rf"\benum\s+{name}\s*\{{([^}}]*)\}}", source)
    assert match is not None, f"enum {name} not found in {file}"
    return [member.strip() for member in match[1].split(",") if member.strip()]


@pytest.mark.parametrize(("mirror", "file", "name"), [
    (AssetKind, "IAssetRegistry.sol", "Kind"),
    (Scope, "IAssetRegistry.sol", "Scope"),
    (JobStatus, "IComputeMarket.sol", "JobStatus"),
])
def test_enum_mirrors_the_contract(mirror: type[IntEnum], file: str, name: str) -> None:
    declared = [member.upper() for member in solidity_enum(file, name)]
    assert [member.name for member in mirror] == declared
    assert [int(member) for member in mirror] == list(range(len(declared)))


def test_unknown_values_get_a_label_instead_of_an_error() -> None:
    assert AssetKind.label_of(1) == "model"
    assert Scope.label_of(7) == "scope-7"
