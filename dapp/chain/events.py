"""Decode raw `eth_getLogs` entries into named events with JSON-safe arguments.

Decoding is keyed by (contract name, topic0): an ERC-20 and an ERC-721 `Transfer` share a
topic0 but not their indexed arguments, so the contract an address belongs to picks the ABI.
Values come out JSON-safe and stable: addresses checksummed, bytes as 0x-hex, integers as
Python ints (exact at any width), tuples as lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import to_checksum_address
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from hexbytes import HexBytes

# Dynamic types are stored in a topic as their keccak hash: decode them as the raw 32 bytes.
_HASHED_WHEN_INDEXED = ("string", "bytes")


class UnknownEvent(LookupError):
    """A log whose topic0 is not an event of the contract it came from."""


@dataclass(frozen=True)
class LogOrigin:
    """Where a log sits in the chain: enough to delete everything from a block up."""

    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class DecodedEvent:
    contract: str
    address: str
    name: str
    args: dict[str, Any]
    origin: LogOrigin


def hex32(value: bytes | str) -> str:
    """0x-prefixed lowercase hex of a hash (block, transaction, topic)."""
    return HexBytes(value).to_0x_hex()


def _json_safe(abi_type: str, value: Any) -> Any:
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [_json_safe(inner, item) for item in value]
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.startswith("bytes"):
        return HexBytes(value).to_0x_hex()
    if isinstance(value, tuple):
        return list(value)
    return value


def _json_safe_input(abi_input: Mapping[str, Any], value: Any) -> Any:
    abi_type = abi_input["type"]
    if abi_type.startswith("tuple"):
        components = abi_input.get("components", [])
        if abi_type == "tuple":
            return {c["name"]: _json_safe_input(c, v) for c, v in zip(components, value,
                                                                        strict=True)}
        element = {**abi_input, "type": abi_type[: abi_type.rindex("[")]}
        return [_json_safe_input(element, item) for item in value]
    return _json_safe(abi_type, value)


@dataclass(frozen=True)
class EventAbi:
    name: str
    inputs: tuple[Mapping[str, Any], ...]
    topic0: str

    @classmethod
    def from_abi(cls, entry: Mapping[str, Any]) -> EventAbi:
        return cls(
            name=entry["name"],
            inputs=tuple(entry.get("inputs", [])),
            topic0=hex32(event_abi_to_log_topic(dict(entry))),  # type: ignore[arg-type]
        )

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        indexed = [i for i in self.inputs if i.get("indexed")]
        plain = [i for i in self.inputs if not i.get("indexed")]
        if len(topics) != len(indexed) + 1:
            raise UnknownEvent(f"{self.name}: {len(topics) - 1} topics, "
                               f"{len(indexed)} indexed inputs")
        args: dict[str, Any] = {}
        for abi_input, topic in zip(indexed, topics[1:], strict=True):
            abi_type = collapse_if_tuple(dict(abi_input))
            if abi_type in _HASHED_WHEN_INDEXED or abi_type.endswith("]") or "(" in abi_type:
                args[abi_input["name"]] = HexBytes(topic).to_0x_hex()
            else:
                (value,) = decode([abi_type], topic)
                args[abi_input["name"]] = _json_safe_input(abi_input, value)
        values = decode([collapse_if_tuple(dict(i)) for i in plain], data)
        for abi_input, value in zip(plain, values, strict=True):
            args[abi_input["name"]] = _json_safe_input(abi_input, value)
        return {i["name"]: args[i["name"]] for i in self.inputs}


class EventDecoder:
    """Decodes the logs of named contracts from their ABIs."""

    def __init__(self, abis: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> None:
        self._events: dict[tuple[str, str], EventAbi] = {}
        self._contracts: set[str] = set()
        for contract, abi in (abis or {}).items():
            self.add_contract(contract, abi)

    def knows(self, contract: str) -> bool:
        return contract in self._contracts

    def add_contract(self, contract: str, abi: Iterable[Mapping[str, Any]]) -> None:
        self._contracts.add(contract)
        for entry in abi:
            if entry.get("type") == "event" and not entry.get("anonymous"):
                event = EventAbi.from_abi(entry)
                self._events[(contract, event.topic0)] = event

    def event_names(self, contract: str) -> set[str]:
        return {event.name for (name, _), event in self._events.items() if name == contract}

    def decode(self, contract: str, log: Mapping[str, Any]) -> DecodedEvent:
        topics = [HexBytes(t) for t in log["topics"]]
        if not topics:
            raise UnknownEvent(f"{contract}: anonymous log at {log['blockNumber']}")
        event = self._events.get((contract, hex32(topics[0])))
        if event is None:
            raise UnknownEvent(f"{contract}: no event with topic {hex32(topics[0])}")
        return DecodedEvent(
            contract=contract,
            address=to_checksum_address(log["address"]),
            name=event.name,
            args=event.decode(topics, bytes(HexBytes(log["data"]))),
            origin=LogOrigin(
                block_number=int(log["blockNumber"]),
                block_hash=hex32(log["blockHash"]),
                log_index=int(log["logIndex"]),
                tx_hash=hex32(log["transactionHash"]),
            ),
        )
