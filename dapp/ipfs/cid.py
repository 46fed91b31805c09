"""CIDs as the exchange stores them: text for people, `Cid{bytes32 digest; uint64 codec}` on chain.

Only what the chain can hold is accepted: CIDv1 with a sha2-256 multihash and the raw (0x55) or
dag-pb (0x70) codec, written in lower-case base32 (multibase "b"). A CIDv0 ("Qm...", base58btc,
always dag-pb) is accepted too and turned into its v1 form, so one file has one text everywhere.
No dependency beyond the standard library: `multiformats` (PyPI, 0.3.1) was tried and kept out.
It adds four packages, takes any multibase (`z...`, `B...`, even mixed case) and other codecs and
hashes, so every check here would stay; only the decoding would go, its errors (`IndexError`
for "b", "CIDv18 is currently not supported" for a bad CIDv0) would need rewording.
"""

from __future__ import annotations

import base64
import binascii

from dapp.errors import MalformedCid

CODEC_RAW = 0x55
CODEC_DAG_PB = 0x70
CHAIN_CODECS = frozenset({CODEC_RAW, CODEC_DAG_PB})

SHA2_256 = 0x12
SHA2_256_LENGTH = 32

_MULTIBASE_BASE32_LOWER = "b"
_CID_VERSION_1 = 1
_MAX_VARINT_BYTES = 9  # multiformats caps unsigned varints at 63 bits
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(_BASE58_ALPHABET)}
_CIDV0_LENGTH = 46
_HINT = "expected a CIDv1 (base32, 'b...') or CIDv0 ('Qm...') of a sha2-256 raw or dag-pb block"


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, as multiformats writes it."""
    if value < 0 or value >= 1 << 63:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, offset: int) -> tuple[int, int]:
    """(value, offset after it); refuses truncated, over-long and non-minimal encodings."""
    value = 0
    for position in range(_MAX_VARINT_BYTES):
        if offset + position >= len(data):
            raise MalformedCid("CID is truncated inside a varint", hint=_HINT)
        byte = data[offset + position]
        value |= (byte & 0x7F) << (7 * position)
        if not byte & 0x80:
            if byte == 0 and position > 0:
                raise MalformedCid("CID has a non-minimal varint", hint=_HINT)
            return value, offset + position + 1
    raise MalformedCid("CID has a varint longer than 9 bytes", hint=_HINT)


def _base32_decode(text: str) -> bytes:
    if not text or text != text.lower():
        raise MalformedCid("CID base32 part must be non-empty lower case", hint=_HINT)
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        data = base64.b32decode(padded)
    except (binascii.Error, ValueError) as error:
        raise MalformedCid(f"CID has characters outside base32: {error}", hint=_HINT) from None
    if _base32_encode(data) != text:  # leftover bits or an impossible length
        raise MalformedCid("CID base32 text is not canonical", hint=_HINT)
    return data


def _base32_encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _BASE58_INDEX.get(char)
        if index is None:
            raise MalformedCid(f"CIDv0 has a character outside base58btc: {char!r}", hint=_HINT)
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def _parse_multihash(data: bytes, offset: int) -> bytes:
    function, offset = decode_varint(data, offset)
    if function != SHA2_256:
        raise MalformedCid(f"CID hash function 0x{function:x} is not sha2-256", hint=_HINT)
    length, offset = decode_varint(data, offset)
    if length != SHA2_256_LENGTH:
        raise MalformedCid(f"CID sha2-256 digest length is {length}, not 32", hint=_HINT)
    digest = data[offset:]
    if len(digest) != SHA2_256_LENGTH:
        problem = "truncated" if len(digest) < SHA2_256_LENGTH else "followed by extra bytes"
        raise MalformedCid(f"CID digest is {problem}", hint=_HINT)
    return digest


def _parse_v0(text: str) -> tuple[bytes, int]:
    if len(text) != _CIDV0_LENGTH:
        raise MalformedCid(f"CIDv0 must be {_CIDV0_LENGTH} characters, got {len(text)}",
                           hint=_HINT)
    return _parse_multihash(_base58_decode(text), 0), CODEC_DAG_PB


def _parse_v1(text: str) -> tuple[bytes, int]:
    data = _base32_decode(text[1:])
    version, offset = decode_varint(data, 0)
    if version != _CID_VERSION_1:
        raise MalformedCid(f"CID version {version} is not supported", hint=_HINT)
    codec, offset = decode_varint(data, offset)
    if codec not in CHAIN_CODECS:
        raise MalformedCid(f"CID codec 0x{codec:x} is neither raw (0x55) nor dag-pb (0x70)",
                           hint=_HINT)
    return _parse_multihash(data, offset), codec


def _parse(text: str) -> tuple[bytes, int]:
    if not isinstance(text, str) or not text:
        raise MalformedCid("CID is empty", hint=_HINT)
    if text.startswith("Qm"):
        return _parse_v0(text)
    if text[0] != _MULTIBASE_BASE32_LOWER:
        raise MalformedCid(f"CID multibase prefix {text[0]!r} is not 'b' (base32 lower)",
                           hint=_HINT)
    return _parse_v1(text)


def cid_to_chain(text: str) -> tuple[bytes, int]:
    """(32-byte sha2-256 digest, codec) for the on-chain `Cid` struct."""
    return _parse(text)


def cid_from_chain(digest: bytes, codec: int) -> str:
    """The CIDv1 base32 text of an on-chain `Cid` struct."""
    if len(digest) != SHA2_256_LENGTH:
        raise MalformedCid(f"on-chain digest is {len(digest)} bytes, not 32", hint=_HINT)
    if codec not in CHAIN_CODECS:
        raise MalformedCid(f"on-chain codec 0x{codec:x} is neither raw nor dag-pb", hint=_HINT)
    binary = (encode_varint(_CID_VERSION_1) + encode_varint(codec)
              + encode_varint(SHA2_256) + encode_varint(SHA2_256_LENGTH) + bytes(digest))
    return _MULTIBASE_BASE32_LOWER + _base32_encode(binary)


def validate_cid(text: str) -> str:
    """The canonical CIDv1 base32 text of `text`, or `MalformedCid` saying what is wrong."""
    return cid_from_chain(*_parse(text))
