"""DDX1: AES-256-GCM over fixed-size plaintext segments, streamable and range-readable.

Layout of an encrypted file::

    header  = b"DDX1" | version u8 | segment_size u32 | plaintext_size u64 | salt 16 bytes
    segment = AES-GCM(plaintext[i*S : (i+1)*S]) | tag 16 bytes      (i = 0 .. n-1)

There is always at least one segment (an empty file has one empty segment), so the header is
authenticated by the content key even when there is nothing else. Each segment is sealed with
a per-file key ``HKDF-SHA256(content_key, salt)``, nonce ``salt[:4] | i (u64 BE)`` and
``AAD = header | i (u64 BE) | is_last (u8)``: segments cannot be reordered, dropped, swapped
between files, or the file cut at a segment boundary without a failed tag. All integers are
big-endian. Any failed check is `ContentIntegrityError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dapp.errors import DappError
from dapp.metadata import ContentInfo

MAGIC = b"DDX1"
VERSION = 1
DEFAULT_SEGMENT_SIZE = 64 * 1024
MAX_SEGMENT_SIZE = 16 * 1024 * 1024
KEY_SIZE = 32
SALT_SIZE = 16
TAG_SIZE = 16
CIPHER_NAME = "aes-256-gcm-ddx1"

_HEADER = struct.Struct(">4sBIQ16s")
HEADER_SIZE = _HEADER.size
_SEGMENT_KEY_INFO = b"datadao DDX1 segment key"


class ContentIntegrityError(DappError):
    """Encrypted content failed authentication: tampered, truncated, or the wrong key."""

    code = "content-integrity"
    http_status = 502


class PlaintextSizeMismatch(DappError):
    """The bytes to encrypt were not as many as announced (a file changed while read?)."""

    code = "plaintext-size-mismatch"
    http_status = 500


def generate_content_key() -> bytes:
    """A fresh random 256-bit content key; one per encrypted file."""
    return AESGCM.generate_key(bit_length=256)


def stored_size(content: ContentInfo) -> int:
    """The bytes IPFS must hold for content its metadata describes as `content`: the DDX1
    ciphertext of `plaintext_size` bytes when encrypted, the plaintext itself otherwise."""
    if content.encrypted and content.segment_size is not None:
        return SegmentLayout(content.plaintext_size, content.segment_size).ciphertext_size
    return content.plaintext_size


@dataclass(frozen=True)
class SegmentLayout:
    """Where plaintext bytes live in the ciphertext; pure arithmetic, no keys."""

    plaintext_size: int
    segment_size: int = DEFAULT_SEGMENT_SIZE

    def __post_init__(self) -> None:
        if self.plaintext_size < 0 or self.plaintext_size >= 1 << 64:
            raise ValueError(f"plaintext size out of range: {self.plaintext_size}")
        if not 0 < self.segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError(f"segment size out of range: {self.segment_size}")

    @property
    def header_size(self) -> int:
        return HEADER_SIZE

    @property
    def segment_count(self) -> int:
        return max(1, -(-self.plaintext_size // self.segment_size))

    @property
    def ciphertext_size(self) -> int:
        return HEADER_SIZE + self.plaintext_size + TAG_SIZE * self.segment_count

    def plaintext_length(self, index: int) -> int:
        """Plaintext bytes in segment `index` (the last one may be short, or empty)."""
        self._check_index(index)
        if index < self.segment_count - 1:
            return self.segment_size
        return self.plaintext_size - self.segment_size * (self.segment_count - 1)

    def ciphertext_offset(self, index: int) -> int:
        """Offset of segment `index` in the encrypted file."""
        self._check_index(index)
        return HEADER_SIZE + index * (self.segment_size + TAG_SIZE)

    def segment_for_offset(self, plain_offset: int) -> int:
        if not 0 <= plain_offset < self.plaintext_size:
            raise ValueError(f"offset {plain_offset} outside 0..{self.plaintext_size - 1}")
        return plain_offset // self.segment_size

    def ciphertext_range_for(self, plain_start: int, plain_end_inclusive: int
                             ) -> tuple[int, int, int]:
        """(ciphertext start, ciphertext end inclusive, first segment index) holding the
        plaintext bytes `plain_start..plain_end_inclusive`; the range starts on a segment."""
        if plain_start > plain_end_inclusive:
            raise ValueError(f"empty range {plain_start}..{plain_end_inclusive}")
        first = self.segment_for_offset(plain_start)
        last = self.segment_for_offset(plain_end_inclusive)
        end = self.ciphertext_offset(last) + self.plaintext_length(last) + TAG_SIZE - 1
        return self.ciphertext_offset(first), end, first

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.segment_count:
            raise ValueError(f"segment {index} outside 0..{self.segment_count - 1}")


@dataclass(frozen=True)
class Header:
    segment_size: int
    plaintext_size: int
    salt: bytes

    @property
    def layout(self) -> SegmentLayout:
        return SegmentLayout(self.plaintext_size, self.segment_size)

    def to_bytes(self) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, self.segment_size, self.plaintext_size, self.salt)

    @classmethod
    def parse(cls, data: bytes) -> Header:
        if len(data) != HEADER_SIZE:
            raise ContentIntegrityError(
                f"DDX1 header is {len(data)} bytes, expected {HEADER_SIZE}")
        magic, version, segment_size, plaintext_size, salt = _HEADER.unpack(data)
        if magic != MAGIC:
            raise ContentIntegrityError("content is not DDX1-encrypted (bad magic)")
        if version != VERSION:
            raise ContentIntegrityError(f"DDX1 version {version} is not supported")
        if not 0 < segment_size <= MAX_SEGMENT_SIZE:
            raise ContentIntegrityError(f"DDX1 segment size {segment_size} is out of range")
        return cls(segment_size, plaintext_size, salt)


class _SegmentCipher:
    """AES-GCM for one file: per-file key, nonces and AAD as in the module docstring."""

    def __init__(self, content_key: bytes, header: Header) -> None:
        if len(content_key) != KEY_SIZE:
            raise ValueError(f"content key must be {KEY_SIZE} bytes, got {len(content_key)}")
        segment_key = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=header.salt,
                           info=_SEGMENT_KEY_INFO).derive(content_key)
        self._aead = AESGCM(segment_key)
        self._header_bytes = header.to_bytes()
        self._nonce_prefix = header.salt[:4]
        self._last_index = header.layout.segment_count - 1

    def _nonce_and_aad(self, index: int) -> tuple[bytes, bytes]:
        index_bytes = index.to_bytes(8, "big")
        is_last = b"\x01" if index == self._last_index else b"\x00"
        return self._nonce_prefix + index_bytes, self._header_bytes + index_bytes + is_last

    def seal(self, index: int, plaintext: bytes | bytearray | memoryview) -> bytes:
        nonce, aad = self._nonce_and_aad(index)
        return self._aead.encrypt(nonce, plaintext, aad)

    def open(self, index: int, sealed: bytes) -> bytes:
        nonce, aad = self._nonce_and_aad(index)
        try:
            return self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise ContentIntegrityError(
                f"encrypted segment {index} failed authentication",
                hint="the content was altered or cut, or the key is not this file's") from None


def encrypt_stream(key: bytes, chunks: Iterable[bytes], plaintext_size: int,
                   segment_size: int = DEFAULT_SEGMENT_SIZE, *, salt: bytes | None = None
                   ) -> Iterator[bytes]:
    """The DDX1 file for the plaintext `chunks`, header first, one segment at a time.

    Holds at most one segment plus one incoming chunk; whole segments are sealed straight out
    of the incoming chunk, only a segment split across chunks is copied. Raises
    `PlaintextSizeMismatch` as soon as the chunks add up to more than `plaintext_size`, or at
    the end if they add up to less; what was yielded before then must be thrown away. `salt`
    is drawn at random unless given (only test vectors give one: docs/DDX1.md)."""
    if salt is not None and len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes, got {len(salt)}")
    header = Header(segment_size, plaintext_size, os.urandom(SALT_SIZE) if salt is None else salt)
    layout = header.layout
    cipher = _SegmentCipher(key, header)
    yield header.to_bytes()
    partial = bytearray()  # the start of segment `index`, when a chunk ended inside it
    index = 0
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > plaintext_size:
            raise PlaintextSizeMismatch(
                f"got more than the announced {plaintext_size} bytes to encrypt")
        rest = memoryview(chunk)
        if partial:
            missing = layout.plaintext_length(index) - len(partial)
            partial += rest[:missing]
            rest = rest[missing:]
            if len(partial) < layout.plaintext_length(index):
                continue
            yield cipher.seal(index, partial)
            partial.clear()
            index += 1
        while rest and len(rest) >= layout.plaintext_length(index):
            length = layout.plaintext_length(index)
            yield cipher.seal(index, rest[:length])
            rest = rest[length:]
            index += 1
        partial += rest
    if received != plaintext_size:
        raise PlaintextSizeMismatch(
            f"got {received} bytes to encrypt, announced {plaintext_size}")
    if index < layout.segment_count:  # only the empty segment of an empty file is left
        yield cipher.seal(index, partial)


class RangeDecryptor:
    """Push-style decryption of whole segments, trimmed to plaintext `start..end` (inclusive).

    Feed it the ciphertext from `SegmentLayout.ciphertext_range_for(start, end)[0]` on (the
    whole segment region when no range is given) in chunks of any size: `feed` returns the
    plaintext it could authenticate so far, `finish` checks that nothing is missing. Nothing
    unauthenticated is ever returned. Usable from sync (`iter`) and async (`aiter`) code."""

    def __init__(self, key: bytes, header: bytes, start: int = 0, end: int | None = None
                 ) -> None:
        self.header = Header.parse(header)
        self.layout = self.header.layout
        self._cipher = _SegmentCipher(key, self.header)
        size = self.layout.plaintext_size
        if size == 0 and start == 0 and end is None:  # the one empty segment, still checked
            self.start, self.end, self._index, self._last = 0, -1, 0, 0
        else:
            self.start, self.end = start, size - 1 if end is None else end
            _, _, self._index = self.layout.ciphertext_range_for(self.start, self.end)
            self._last = self.layout.segment_for_offset(self.end)
        self._buffer = bytearray()

    @property
    def output_size(self) -> int:
        return self.end - self.start + 1

    def feed(self, data: bytes) -> bytes:
        if self._index > self._last and data:
            raise ContentIntegrityError("encrypted content has bytes past its last segment")
        self._buffer += data
        out = bytearray()
        used = 0
        while self._index <= self._last:
            sealed_size = self.layout.plaintext_length(self._index) + TAG_SIZE
            if len(self._buffer) - used < sealed_size:
                break
            sealed = bytes(self._buffer[used:used + sealed_size])
            out += self._trim(self._index, self._cipher.open(self._index, sealed))
            used += sealed_size
            self._index += 1
        del self._buffer[:used]
        if self._index > self._last and self._buffer:
            raise ContentIntegrityError("encrypted content has bytes past its last segment")
        return bytes(out)

    def finish(self) -> bytes:
        if self._index <= self._last:
            raise ContentIntegrityError(
                f"encrypted content ends inside segment {self._index}",
                hint="the download was cut short or the file is truncated")
        return b""

    def iter(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            plaintext = self.feed(chunk)
            if plaintext:
                yield plaintext
        self.finish()

    async def aiter(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            plaintext = self.feed(chunk)
            if plaintext:
                yield plaintext
        self.finish()

    def _trim(self, index: int, plaintext: bytes) -> bytes:
        segment_start = index * self.layout.segment_size
        low = max(self.start - segment_start, 0)
        high = min(self.end - segment_start + 1, len(plaintext))
        return plaintext[low:high]


def decrypt_stream(key: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of a whole DDX1 file given as `chunks`, one segment at a time."""
    header = bytearray()
    iterator = iter(chunks)
    for chunk in iterator:
        header += chunk
        if len(header) >= HEADER_SIZE:
            break
    if len(header) < HEADER_SIZE:
        raise ContentIntegrityError("encrypted content is shorter than its DDX1 header")
    decryptor = RangeDecryptor(key, bytes(header[:HEADER_SIZE]))
    rest = bytes(header[HEADER_SIZE:])
    if rest:
        first = decryptor.feed(rest)
        if first:
            yield first
    yield from decryptor.iter(iterator)
