"""The indexer's event decoder against web3's `process_log`, for every event of every ABI in
`dapp/chain/abi`: same arguments, same Python types (after the JSON-safe mapping the store
keeps: bytes as 0x-hex, structs as dicts, arrays as lists), for logs as web3 formats them and
as the node sends them. An ABI change that the precomputed decoders get wrong fails here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3

from dapp.chain.contracts import ABI_DIR, load_abi
from dapp.chain.events import EventDecoder, checksum_address, hex32

ARRAY = re.compile(r"^(?P<element>.+)\[(?P<size>\d*)\]$")


def every_event() -> list[tuple[str, dict[str, Any]]]:
    events = []
    for path in sorted(ABI_DIR.glob("*.json")):
        for entry in load_abi(path.stem):
            if entry.get("type") == "event" and not entry.get("anonymous"):
                events.append((path.stem, entry))
    return events


def sample(abi_input: Mapping[str, Any], rng: random.Random) -> Any:
    """A random value of the input's type, edge values included now and then."""
    abi_type = abi_input["type"]
    array = ARRAY.match(abi_type)
    if array:
        element = {**abi_input, "type": array["element"]}
        size = int(array["size"]) if array["size"] else rng.randrange(4)
        return [sample(element, rng) for _ in range(size)]
    if abi_type == "tuple":
        return tuple(sample(c, rng) for c in abi_input["components"])
    if abi_type == "address":
        return to_checksum_address(rng.randbytes(20))
    if abi_type == "bool":
        return rng.random() < 0.5
    if abi_type == "string":
        return rng.choice(["", "plain", "ünïcödé ✓", "x" * 70])
    if abi_type == "bytes":
        return rng.randbytes(rng.choice([0, 1, 32, 70]))
    if abi_type.startswith("bytes"):
        return rng.randbytes(int(abi_type[5:]))
    bits = int(abi_type.lstrip("uint") or 256)
    if abi_type.startswith("uint"):
        return rng.choice([0, 2**bits - 1, rng.randrange(2**bits)])
    return rng.choice([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, rng.randrange(-(2 ** (bits - 1)),
                                                                               2 ** (bits - 1))])


def topic_of(abi_input: Mapping[str, Any], value: Any) -> bytes:
    """An indexed value as the EVM logs it: static values encoded, the rest hashed."""
    abi_type = collapse_if_tuple(dict(abi_input))
    encoded = encode([abi_type], [value])
    hashed = abi_type in ("string", "bytes") or abi_type.endswith("]") or "(" in abi_type
    return keccak(encoded) if hashed else encoded


def make_log(event: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A log of `event` with random arguments, formatted as web3's `get_logs` returns it."""
    inputs = event.get("inputs", [])
    values = [sample(i, rng) for i in inputs]
    topics = [event_abi_to_log_topic(dict(event))]  # type: ignore[arg-type]
    topics += [topic_of(i, v) for i, v in zip(inputs, values, strict=True) if i.get("indexed")]
    plain = [(collapse_if_tuple(dict(i)), v) for i, v in zip(inputs, values, strict=True)
             if not i.get("indexed")]
    data = encode([t for t, _ in plain], [v for _, v in plain])
    return {
        "address": to_checksum_address(rng.randbytes(20)),
        "topics": [HexBytes(t) for t in topics],
        "data": HexBytes(data),
        "blockNumber": rng.randrange(1, 10**8),
        "blockHash": HexBytes(rng.randbytes(32)),
        "logIndex": rng.randrange(1000),
        "transactionHash": HexBytes(rng.randbytes(32)),
        "transactionIndex": rng.randrange(100),
        "removed": False,
    }


def as_node_sends_it(log: Mapping[str, Any]) -> dict[str, Any]:
    """The same log as raw JSON-RPC: hex strings, lowercase address."""
    return {
        **log,
        "address": log["address"].lower(),
        "topics": [t.to_0x_hex() for t in log["topics"]],
        "data": log["data"].to_0x_hex(),
        "blockNumber": hex(log["blockNumber"]),
        "blockHash": log["blockHash"].to_0x_hex(),
        "logIndex": hex(log["logIndex"]),
        "transactionHash": log["transactionHash"].to_0x_hex(),
    }


def in_capitals(log: Mapping[str, Any]) -> dict[str, Any]:
    """The node's form with its hex digits in capitals (JSON-RPC allows either case)."""
    node = as_node_sends_it(log)
    return {**node, "topics": ["0x" + t[2:].upper() for t in node["topics"]],
            "data": "0x" + node["data"][2:].upper()}


def json_safe(value: Any) -> Any:
    """web3's decoded values in the form the store keeps."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def assert_same_types(ours: Any, reference: Any, path: str) -> None:
    """`==` says 1 == True and 0 == False: compare the types too, all the way down."""
    assert type(ours) is type(reference), f"{path}: {type(ours)} vs {type(reference)}"
    if isinstance(ours, dict):
        assert ours.keys() == reference.keys(), path
        for key in ours:
            assert_same_types(ours[key], reference[key], f"{path}.{key}")
    elif isinstance(ours, list):
        for index, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
            assert_same_types(mine, theirs, f"{path}[{index}]")


EVENTS = every_event()


def test_every_abi_has_been_read() -> None:
    assert len({contract for contract, _ in EVENTS}) >= 10
    assert any(name == "AssetRegistry" for name, _ in EVENTS)


@pytest.mark.parametrize(("contract", "event"), EVENTS,
                         ids=[f"{c}.{e['name']}" for c, e in EVENTS])
def test_decodes_like_web3_process_log(contract: str, event: dict[str, Any]) -> None:
    web3_event = Web3().eth.contract(abi=[event]).events[event["name"]]()
    decoder = EventDecoder({contract: load_abi(contract)})
    rng = random.Random(f"{contract}.{event['name']}")
    for _ in range(8):
        log = make_log(event, rng)
        reference = web3_event.process_log(log)  # type: ignore[arg-type]
        expected = json_safe(dict(reference["args"]))
        for form in (log, as_node_sends_it(log), in_capitals(log)):
            decoded = decoder.decode(contract, form)
            assert decoded.name == reference["event"]
            assert decoded.args == expected
            assert_same_types(decoded.args, expected, event["name"])
            # the order the store's JSON keeps (web3 puts the indexed arguments first)
            assert list(decoded.args) == [i["name"] for i in event["inputs"]]
            assert decoded.address == reference["address"]
            assert (decoded.origin.block_number, decoded.origin.log_index) == (
                reference["blockNumber"], reference["logIndex"])
            assert decoded.origin.block_hash == reference["blockHash"].to_0x_hex()
            assert decoded.origin.tx_hash == reference["transactionHash"].to_0x_hex()


def test_checksums_like_eth_utils() -> None:
    rng = random.Random(1)
    for _ in range(500):
        raw = rng.randbytes(20)
        lower = "0x" + raw.hex()
        assert checksum_address(lower) == to_checksum_address(raw)
        assert checksum_address(lower.upper().replace("0X", "0x")) == to_checksum_address(raw)
    with pytest.raises(ValueError):
        checksum_address("0x1234")
    with pytest.raises(ValueError):
        checksum_address("0x" + "zz" * 20)


def test_hashes_come_out_lowercase_from_bytes_or_text() -> None:
    value = bytes(range(200, 232))
    expected = "0x" + value.hex()
    assert hex32(value) == hex32(HexBytes(value)) == hex32(expected.upper()) == expected


@pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "node text"])
@pytest.mark.parametrize(("field", "word"), [
    ("scope", (256).to_bytes(32, "big")),  # uint8 out of range
    ("licensee", b"\x01" + bytes(11) + bytes(range(20))),  # address with dirty padding
])
def test_malformed_words_are_refused_as_eth_abi_refuses_them(field: str, word: bytes,
                                                             as_text: bool) -> None:
    """The word-by-word decoders (of bytes, and of the node's hex text) hand a malformed
    word to eth_abi, which says what is wrong."""
    event = next(e for c, e in every_event()
                 if c == "AssetRegistry" and e["name"] == "LicenseGranted")
    decoder = EventDecoder({"AssetRegistry": load_abi("AssetRegistry")})
    log = make_log(event, random.Random(7))
    topics, data = list(log["topics"]), bytes(log["data"])
    if field == "scope":  # the first data word
        data = word + data[32:]
    else:  # the second topic
        topics[2] = HexBytes(word)
    malformed = {**log, "topics": topics, "data": HexBytes(data)}
    if as_text:
        malformed = as_node_sends_it(malformed)
    with pytest.raises(Exception, match=r"(?i)padding|bounds|range|invalid") as refused:
        decoder.decode("AssetRegistry", malformed)
    assert type(refused.value).__module__.startswith("eth_abi")


@pytest.mark.parametrize("damage", [
    lambda t, d: (t, d + "0"),  # half a byte more data
    lambda t, d: (t, d[:-64]),  # a word less
    lambda t, d: ([t[0], t[1][:-2] + "zz", *t[2:]], d),  # not hex
    lambda t, d: ([t[0], t[1][:-2], t[2] + "00", *t[3:]], d),  # a byte moved between topics
    lambda t, d: (t, d[:-64] + " " + d[-63:]),  # a space (int(..., 16) strips it)
    lambda t, d: (t, d[:-64] + "+" + d[-63:]),  # a sign (int(..., 16) reads it)
    lambda t, d: (t, d[:-32] + "_" + d[-31:]),  # an underscore (int(..., 16) skips it)
], ids=["odd data", "short data", "not hex", "topic lengths", "space", "sign", "underscore"])
def test_node_text_that_is_not_whole_hex_words_is_not_decoded_as_words(damage: Any) -> None:
    """Hex text is decoded word by word only when it is whole words of hex digits; anything
    else goes to the bytes decoders, which refuse it as before (never a value made up from
    text that int() or bytes.fromhex would have read leniently)."""
    event = next(e for c, e in every_event()
                 if c == "AssetRegistry" and e["name"] == "LicenseGranted")
    decoder = EventDecoder({"AssetRegistry": load_abi("AssetRegistry")})
    node = as_node_sends_it(make_log(event, random.Random(8)))
    topics, data = damage(node["topics"], node["data"])
    with pytest.raises(Exception) as refused:
        decoder.decode("AssetRegistry", {**node, "topics": topics, "data": data})
    assert not isinstance(refused.value, AssertionError)
