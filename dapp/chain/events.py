"""Decode raw `eth_getLogs` entries into named events with JSON-safe arguments.

Decoding is keyed by (contract name, topic0): an ERC-20 and an ERC-721 `Transfer` share a
topic0 but not their indexed arguments, so the contract an address belongs to picks the ABI.
Values come out JSON-safe and stable: addresses checksummed, bytes as 0x-hex, integers as
Python ints (exact at any width), tuples as lists, structs as dicts.

Everything that depends only on the ABI — which inputs are indexed, their eth_abi decoders,
how each value is made JSON-safe — is worked out once per event when a contract is added;
decoding a log then only runs those (the indexer decodes every log it follows).
`tests/dapp/test_chain_events.py` checks the result against web3's `process_log` for every
event of every ABI in `dapp/chain/abi`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from eth_abi.decoding import AddressDecoder, ContextFramesBytesIO, TupleDecoder
from eth_abi.registry import registry as abi_registry
from eth_utils import to_checksum_address
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from hexbytes import HexBytes

from dapp.chain.keccak import keccak256_hex

# Dynamic types are stored in a topic as their keccak hash: decode them as the raw 32 bytes.
_HASHED_WHEN_INDEXED = ("string", "bytes")

_FORTY_HEX_DIGITS = re.compile(r"[0-9a-f]{40}\Z")  # (lowercased)
_HEX_TEXT = re.compile(r"0x[0-9a-fA-F]*\Z")  # (and an even length: see hex32)
#: topics then data, joined: each topic a whole word, the data whole words (a misplaced "0x"
#: cannot match: x is not a hex digit)
_HEX_WORDS = re.compile(r"(?:0x[0-9a-fA-F]{64})+0x(?:[0-9a-fA-F]{64})*\Z")
#: EIP-55 by byte arithmetic: 0x20 (the case bit) where the address has a letter, and where
#: the hash's nibble is 8 or more; the digits XOR both masks ANDed are the checksummed form
_LETTER_BITS = bytes(0x20 if chr(i) in "abcdef" else 0 for i in range(256))
_HIGH_NIBBLE_BITS = bytes(0x20 if chr(i) in "89abcdef" else 0 for i in range(256))

#: JSON-safe form of one decoded ABI value
Converter = Callable[[Any], Any]


class UnknownEvent(LookupError):
    """A log whose topic0 is not an event of the contract it came from."""


class LogOrigin(NamedTuple):
    """Where a log sits in the chain: enough to delete everything from a block up."""

    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str


class DecodedEvent(NamedTuple):
    """(Named tuples: the indexer makes, pickles and handles one per log; a tuple is made,
    sent and read back several times faster than a dataclass.)"""

    contract: str
    address: str
    name: str
    args: dict[str, Any]
    origin: LogOrigin


#: a DecodedEvent as a flat tuple (contract, address, name, args, block number, block hash,
#: log index, tx hash): what the indexer's reader process sends
EventTuple = tuple[str, str, str, dict[str, Any], int, str, int, str]

_new_tuple = tuple.__new__


def event_tuples(events: Iterable[DecodedEvent]) -> list[EventTuple]:
    return [(contract, address, name, args, *origin)
            for contract, address, name, args, origin in events]


def events_from_tuples(rows: Iterable[EventTuple]) -> list[DecodedEvent]:
    """The events of `event_tuples`, equal to the originals (made as `_make` makes them,
    without a Python call per tuple)."""
    new = _new_tuple
    return [new(DecodedEvent, (contract, address, name, args,
                               new(LogOrigin, (block_number, block_hash, log_index, tx_hash))))
            for contract, address, name, args, block_number, block_hash, log_index, tx_hash
            in rows]


def hex32(value: bytes | str) -> str:
    """0x-prefixed lowercase hex of a hash (block, transaction, topic)."""
    if isinstance(value, str) and _HEX_TEXT.match(value) and not len(value) % 2:
        return value.lower()  # already hex text, as the node sends it: checked, kept
    return "0x" + as_bytes(value).hex()


def as_bytes(value: bytes | str) -> bytes:
    """Raw bytes of a log's topic or data, as web3 (bytes) or the node (0x-hex) gives it."""
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return bytes(HexBytes(value))


@lru_cache(maxsize=65_536)
def checksum_address(address: str) -> str:
    """EIP-55 form of a 0x-hex address: eth_utils' `to_checksum_address` without its layers
    of argument checking (a third of decoding a log), cached (a contract's logs repeat the
    same accounts). Anything but 40 hex digits goes to eth_utils, which says what is wrong."""
    digits = address[2:].lower()
    if len(address) != 42 or address[:2] not in ("0x", "0X") or not _FORTY_HEX_DIGITS.match(
            digits):
        return to_checksum_address(address)
    raw = digits.encode("ascii")
    hashed = keccak256_hex(raw).encode("ascii")[:40]
    mask = (int.from_bytes(raw.translate(_LETTER_BITS), "big")
            & int.from_bytes(hashed.translate(_HIGH_NIBBLE_BITS), "big"))
    return "0x" + (int.from_bytes(raw, "big") ^ mask).to_bytes(40, "big").decode("ascii")


class _AddressDecoder(AddressDecoder):
    """eth_abi's address decoder (same padding checks) with a cheaper last step: the 20
    bytes as lowercase 0x-hex, which is what its `to_normalized_address` returns for them."""

    decoder_fn = staticmethod(lambda value: "0x" + value.hex())


def as_int(value: int | str) -> int:
    """A log's block number or index, as web3 (int) or the node (0x-hex) gives it."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _bytes_hex(value: bytes) -> str:
    return "0x" + value.hex()


def _unchanged(value: Any) -> Any:
    return value


def _converter(abi_input: Mapping[str, Any]) -> Converter:
    """How to make a decoded value of this ABI input JSON-safe: arrays as lists, structs as
    dicts by component name, addresses checksummed, bytes as 0x-hex."""
    abi_type = abi_input["type"]
    if abi_type.endswith("]"):
        element = _converter({**abi_input, "type": abi_type[: abi_type.rindex("[")]})
        return lambda values: [element(value) for value in values]
    if abi_type == "tuple":
        fields = [(c["name"], _converter(c)) for c in abi_input.get("components", [])]
        return lambda values: {name: convert(value)
                               for (name, convert), value in zip(fields, values, strict=True)}
    if abi_type == "address":
        return checksum_address
    if abi_type.startswith("bytes"):
        return _bytes_hex
    return _unchanged


#: one 32-byte ABI word → its JSON-safe value, or _MALFORMED (then eth_abi decodes the log,
#: and says what is wrong)
WordDecoder = Callable[[bytes], Any]
TextWordDecoder = Callable[[str], Any]  # the same, of the word's 64 hex digits
_MALFORMED: Any = object()
_ZERO_PAD = bytes(32)


def _word_decoder(abi_type: str) -> WordDecoder | None:
    """A direct decoder of one word of a static elementary type (uintN, intN, address, bool,
    bytesN) with eth_abi's checks (padding, range); None for any other type."""
    if abi_type == "address":
        def address(word: bytes) -> Any:
            if word[:12] != _ZERO_PAD[:12]:
                return _MALFORMED
            return checksum_address("0x" + word[12:].hex())
        return address
    if abi_type == "bool":
        return lambda word: {1: True, 0: False}.get(int.from_bytes(word, "big"), _MALFORMED)
    if abi_type.startswith("uint") and abi_type[4:].isdigit():
        limit = 1 << int(abi_type[4:])
        return lambda word: (value if (value := int.from_bytes(word, "big")) < limit
                             else _MALFORMED)
    if abi_type.startswith("int") and abi_type[3:].isdigit():
        half = 1 << (int(abi_type[3:]) - 1)
        return lambda word: (value if -half <= (value := int.from_bytes(word, "big",
                                                                        signed=True)) < half
                             else _MALFORMED)
    if abi_type.startswith("bytes") and abi_type[5:].isdigit() and 1 <= int(abi_type[5:]) <= 32:
        size = int(abi_type[5:])
        return lambda word: ("0x" + word[:size].hex() if word[size:] == _ZERO_PAD[size:]
                             else _MALFORMED)
    return None


_ZERO_TEXT = "0" * 64


def _text_word_decoder(abi_type: str) -> TextWordDecoder | None:
    """`_word_decoder` for a word given as 64 hex digits (checked as hex by the caller), as
    the node sends it: the same values and checks without making bytes first."""
    if abi_type == "address":
        def address(word: str) -> Any:
            if word[:24] != _ZERO_TEXT[:24]:
                return _MALFORMED
            return checksum_address("0x" + word[24:])
        return address
    if abi_type == "bool":
        booleans = {_ZERO_TEXT[:63] + "1": True, _ZERO_TEXT: False}
        return lambda word: booleans.get(word, _MALFORMED)
    if abi_type.startswith("uint") and abi_type[4:].isdigit():
        limit = 1 << int(abi_type[4:])
        return lambda word: value if (value := int(word, 16)) < limit else _MALFORMED
    if abi_type.startswith("int") and abi_type[3:].isdigit():
        half, whole = 1 << (int(abi_type[3:]) - 1), 1 << 256
        return lambda word: (value if -half <= (value := int(word, 16) - (
            whole if word[0] in "89abcdefABCDEF" else 0)) < half else _MALFORMED)
    if abi_type.startswith("bytes") and abi_type[5:].isdigit() and 1 <= int(abi_type[5:]) <= 32:
        digits = 2 * int(abi_type[5:])
        return lambda word: ("0x" + word[:digits].lower() if word[digits:] == _ZERO_TEXT[digits:]
                             else _MALFORMED)
    return None


def _tuple_decoder(types: Iterable[str]) -> TupleDecoder:
    """What `eth_abi.decode(types, data)` builds on every call, built once."""
    return TupleDecoder(decoders=[_ADDRESS_DECODER if t == "address"
                                  else abi_registry.get_decoder(t) for t in types])


_ADDRESS_DECODER = _AddressDecoder()


@dataclass(frozen=True)
class _Topic:
    """How one indexed input is read from its topic: decoded, or (hashed types) kept raw."""

    name: str
    decoder: TupleDecoder | None
    convert: Converter


@dataclass(frozen=True)
class EventAbi:
    name: str
    inputs: tuple[Mapping[str, Any], ...]
    topic0: str
    _topics: tuple[_Topic, ...] = field(repr=False, compare=False)
    _data_names: tuple[str, ...] = field(repr=False, compare=False)
    _data_decoder: TupleDecoder = field(repr=False, compare=False)
    _data_converters: tuple[Converter, ...] = field(repr=False, compare=False)
    _order: tuple[str, ...] = field(repr=False, compare=False)
    #: every input a static elementary type: (name, where, decoder) in ABI order, where is
    #: the topic index (1..3) or -1 - the data word; None: decode with eth_abi
    _words: tuple[tuple[str, int, WordDecoder], ...] | None = field(
        default=None, repr=False, compare=False)
    #: the same layout for hex text: (name, topic index or -1, decoder, data digits slice)
    _text_words: tuple[tuple[str, int, TextWordDecoder, slice], ...] | None = field(
        default=None, repr=False, compare=False)

    @classmethod
    def from_abi(cls, entry: Mapping[str, Any]) -> EventAbi:
        inputs = tuple(entry.get("inputs", []))
        indexed = [i for i in inputs if i.get("indexed")]
        plain = [i for i in inputs if not i.get("indexed")]
        return cls(
            name=entry["name"],
            inputs=inputs,
            topic0=hex32(event_abi_to_log_topic(dict(entry))),  # type: ignore[arg-type]
            _topics=tuple(_topic(i) for i in indexed),
            _data_names=tuple(i["name"] for i in plain),
            _data_decoder=_tuple_decoder(collapse_if_tuple(dict(i)) for i in plain),
            _data_converters=tuple(_converter(i) for i in plain),
            _order=tuple(i["name"] for i in inputs),
            _words=_word_layout(inputs),
            _text_words=_text_word_layout(inputs),
        )

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        if len(topics) != len(self._topics) + 1:
            raise UnknownEvent(f"{self.name}: {len(topics) - 1} topics, "
                               f"{len(self._topics)} indexed inputs")
        if self._words is not None and len(data) == 32 * len(self._data_names):
            args = self._decode_words(topics, data)
            if args is not None:
                return args
        return self._decode_abi(topics, data)

    def decode_text(self, topics: list[str], data: str) -> dict[str, Any] | None:
        """`decode` of topics and data as the node sends them (0x-hex text), word by word
        without making bytes; None when that is not possible (a type that is not static and
        elementary, text that is not whole words of hex, a malformed word): then `decode`
        the bytes, which says what is wrong."""
        layout = self._text_words
        if (layout is None or len(topics) != len(self._topics) + 1
                or len(data) != 2 + 64 * len(self._data_names)
                or not _HEX_WORDS.match("".join(topics) + data)):
            return None
        args: dict[str, Any] = {}
        for name, where, decode, digits in layout:
            value = decode(topics[where][2:] if where >= 0 else data[digits])
            if value is _MALFORMED:
                return None
            args[name] = value
        return args

    def _decode_words(self, topics: list[bytes], data: bytes) -> dict[str, Any] | None:
        """Word by word (every input static and elementary); None when a word is malformed."""
        assert self._words is not None
        args: dict[str, Any] = {}
        for name, where, decode in self._words:
            if where >= 0:
                word = topics[where]
            else:
                offset = 32 * (-1 - where)
                word = data[offset:offset + 32]
            value = decode(word)
            if value is _MALFORMED or len(word) != 32:
                return None
            args[name] = value
        return args

    def _decode_abi(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for spec, topic in zip(self._topics, topics[1:], strict=True):
            if spec.decoder is None:
                args[spec.name] = _bytes_hex(topic)
            else:
                (value,) = spec.decoder(ContextFramesBytesIO(topic))
                args[spec.name] = spec.convert(value)
        values = self._data_decoder(ContextFramesBytesIO(data))
        for name, convert, value in zip(self._data_names, self._data_converters, values,
                                        strict=True):
            args[name] = convert(value)
        return {name: args[name] for name in self._order}


def _word_layout(inputs: tuple[Mapping[str, Any], ...],
                 decoder_of: Callable[[str], Any] = _word_decoder
                 ) -> tuple[tuple[str, int, Any], ...] | None:
    """(name, where, decoder) of each input in ABI order, where is the topic index (1..3)
    or -1 - the data word; None when an input has no `decoder_of` its type."""
    layout: list[tuple[str, int, Any]] = []
    topic, word = 1, 0
    for abi_input in inputs:
        decoder = decoder_of(str(abi_input["type"]))
        if decoder is None:
            return None
        if abi_input.get("indexed"):
            layout.append((abi_input["name"], topic, decoder))
            topic += 1
        else:
            layout.append((abi_input["name"], -1 - word, decoder))
            word += 1
    return tuple(layout)


def _text_word_layout(inputs: tuple[Mapping[str, Any], ...]
                      ) -> tuple[tuple[str, int, TextWordDecoder, slice], ...] | None:
    """`_word_layout` for hex text: a data word's place is its digits' slice of the data."""
    layout = _word_layout(inputs, _text_word_decoder)
    if layout is None:
        return None
    return tuple((name, where, decoder, slice(0)) if where >= 0
                 else (name, -1, decoder, slice(2 + 64 * (-1 - where), 66 + 64 * (-1 - where)))
                 for name, where, decoder in layout)


def _topic(abi_input: Mapping[str, Any]) -> _Topic:
    abi_type = collapse_if_tuple(dict(abi_input))
    if abi_type in _HASHED_WHEN_INDEXED or abi_type.endswith("]") or "(" in abi_type:
        return _Topic(name=abi_input["name"], decoder=None, convert=_unchanged)
    return _Topic(name=abi_input["name"], decoder=_tuple_decoder([abi_type]),
                  convert=_converter(abi_input))


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

    def decode(self, contract: str, log: Mapping[str, Any], canonical: bool = False
               ) -> DecodedEvent:
        """A log as web3 formats it or as the node sends it (hex strings); `canonical`: its
        address, block number, log index and hashes are already in their stored form (the
        indexer's `ChainSource.get_logs` makes them so), and are taken as they are."""
        raw_topics = log["topics"]
        if not raw_topics:
            raise UnknownEvent(f"{contract}: anonymous log at {as_int(log['blockNumber'])}")
        first, data = raw_topics[0], log["data"]
        text = type(first) is str and first[:2] == "0x"
        topic0 = first.lower() if text else _bytes_hex(as_bytes(first))
        event = self._events.get((contract, topic0))
        if event is None:
            raise UnknownEvent(f"{contract}: no event with topic {topic0}")
        args = event.decode_text(raw_topics, data) if text and type(data) is str else None
        if args is None:
            args = event.decode([as_bytes(t) for t in raw_topics], as_bytes(data))
        if canonical:
            new = _new_tuple
            return new(DecodedEvent, (contract, log["address"], event.name, args, new(
                LogOrigin, (log["blockNumber"], log["blockHash"], log["logIndex"],
                            log["transactionHash"]))))
        return DecodedEvent(
            contract=contract,
            address=checksum_address(log["address"]),
            name=event.name,
            args=args,
            origin=LogOrigin(
                block_number=as_int(log["blockNumber"]),
                block_hash=hex32(log["blockHash"]),
                log_index=as_int(log["logIndex"]),
                tx_hash=hex32(log["transactionHash"]),
            ),
        )
