"""Hand every role of every deployed contract to its final holder, and prove the deployer kept
none.

Roles are found, not listed: each `*_ROLE()` constant in a contract's ABI (DEFAULT_ADMIN_ROLE,
PAUSER_ROLE, ARBITER_ROLE, ...) plus every role a `RoleGranted` event of the contract ever named.
A contract added to the deploy needs no line here. `verify_handover` reads the chain only
(web3 and the manifest's ABIs), so anyone can rerun it against a deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from web3 import Web3

from dapp.errors import DappError

ROLE_GRANTED = Web3.keccak(text="RoleGranted(bytes32,address,address)")


class HandoverIncomplete(DappError):
    code = "handover-incomplete"
    exit_code = 4


def role_constants(abi: Iterable[dict[str, Any]]) -> list[str]:
    """Names of the ABI's role constants: view functions `*_ROLE()` returning bytes32."""
    return sorted(
        item["name"] for item in abi
        if item.get("type") == "function" and item["name"].endswith("_ROLE")
        and not item.get("inputs") and [o["type"] for o in item.get("outputs", [])] == ["bytes32"]
    )


def has_access_control(abi: Iterable[dict[str, Any]]) -> bool:
    return any(item.get("type") == "function" and item.get("name") == "hasRole" for item in abi)


def hand_over(contracts: Mapping[str, Any], deployer: Any, holder: str,
              elsewhere: Mapping[str, str] | None = None) -> list[str]:
    """Grant `holder` (or `elsewhere[ROLE]`) each role the deployer holds on each (Brownie)
    contract, then renounce them, DEFAULT_ADMIN_ROLE last. Returns what moved, as
    "Contract.ROLE" lines."""
    elsewhere = elsewhere or {}
    moved = []
    for name, contract in contracts.items():
        if not has_access_control(contract.abi):
            continue
        roles = role_constants(contract.abi)
        held = [r for r in roles if contract.hasRole(getattr(contract, r)(), deployer)]
        for role in held:
            value, target = getattr(contract, role)(), elsewhere.get(role, holder)
            if not contract.hasRole(value, target):
                contract.grantRole(value, target, {"from": deployer})
        for role in sorted(held, key=lambda r: r == "DEFAULT_ADMIN_ROLE"):
            contract.renounceRole(getattr(contract, role)(), deployer, {"from": deployer})
            moved.append(f"{name}.{role}")
    return moved


def roles_on_chain(web3: Web3, address: str, abi: list[dict[str, Any]],
                   from_block: int) -> dict[str, bytes]:
    """{label: role} for every role the ABI names or a RoleGranted event of `address` used."""
    contract = web3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    roles = {name: bytes(contract.functions[name]().call()) for name in role_constants(abi)}
    logs = web3.eth.get_logs({"address": contract.address, "fromBlock": from_block,
                              "toBlock": "latest", "topics": [ROLE_GRANTED]})
    known = set(roles.values())
    for log in logs:
        role = bytes(log["topics"][1])
        if role not in known:
            roles["0x" + role.hex()] = role
            known.add(role)
    return roles


def verify_handover(web3: Web3, entries: Mapping[str, Any], deployer: str, holder: str,
                    elsewhere: Mapping[str, str] | None = None) -> list[str]:
    """Read every role of every contract in the manifest `entries`. Raise HandoverIncomplete
    when the deployer holds any (or owns an Ownable contract); return "Contract.ROLE" for each
    role `holder` (or, for the roles it names, `elsewhere[ROLE]`) holds."""
    kept, held = [], []
    deployer = Web3.to_checksum_address(deployer)
    targets = {role: Web3.to_checksum_address(a) for role, a in (elsewhere or {}).items()}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "address" not in entry:
            continue
        abi = entry["abi"]
        contract = web3.eth.contract(address=Web3.to_checksum_address(entry["address"]), abi=abi)
        ownable = any(item.get("name") == "owner" and not item.get("inputs") for item in abi)
        if ownable and contract.functions.owner().call() == deployer:
            kept.append(f"{name}.owner")
        if not has_access_control(abi):
            continue
        for label, role in roles_on_chain(web3, entry["address"], abi, entry["block"]).items():
            if contract.functions.hasRole(role, deployer).call():
                kept.append(f"{name}.{label}")
            target = targets.get(label, Web3.to_checksum_address(holder))
            if contract.functions.hasRole(role, target).call():
                held.append(f"{name}.{label}")
    if kept:
        raise HandoverIncomplete(f"the deployer {deployer} still holds {', '.join(kept)}",
                                 hint="the deploy must renounce every role; rerun the handover")
    return held
