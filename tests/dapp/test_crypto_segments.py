"""DDX1 segmented AES-256-GCM: round trips, byte ranges, tampering, constant memory."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import struct
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from dapp.crypto.segments import (
    HEADER_SIZE,
    TAG_SIZE,
    ContentIntegrityError,
    PlaintextSizeMismatch,
    RangeDecryptor,
    SegmentLayout,
    decrypt_stream,
    encrypt_stream,
    generate_content_key,
)

SEGMENT = 64 * 1024
KEY = bytes(range(32))
RANGE_SIZE = 3 * SEGMENT + 5


def chunked(data: bytes, sizes: Iterator[int]) -> Iterator[bytes]:
    offset = 0
    while offset < len(data):
        size = next(sizes)
        yield data[offset:offset + size]
        offset += size


def random_chunks(data: bytes, seed: int = 0) -> Iterator[bytes]:
    rng = random.Random(seed)
    return chunked(data, iter(lambda: rng.randint(1, 100_000), None))


def encrypt(plaintext: bytes, key: bytes = KEY, segment_size: int = SEGMENT) -> bytes:
    return b"".join(encrypt_stream(key, random_chunks(plaintext), len(plaintext), segment_size))


def decrypt(ciphertext: bytes, key: bytes = KEY) -> bytes:
    return b"".join(decrypt_stream(key, random_chunks(ciphertext, seed=1)))


@lru_cache(maxsize=4)
def sample(size: int, segment_size: int = SEGMENT) -> tuple[bytes, bytes]:
    plaintext = random.Random(size).randbytes(size)
    return plaintext, encrypt(plaintext, segment_size=segment_size)


def test_content_key_is_random_and_256_bits() -> None:
    assert len(generate_content_key()) == 32
    assert generate_content_key() != generate_content_key()


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 5])
def test_round_trip(size: int) -> None:
    plaintext = os.urandom(size)
    ciphertext = encrypt(plaintext)
    layout = SegmentLayout(size)
    assert len(ciphertext) == layout.ciphertext_size
    assert ciphertext[:4] == b"DDX1"
    assert decrypt(ciphertext) == plaintext


def test_same_plaintext_encrypts_differently() -> None:
    assert encrypt(b"same bytes") != encrypt(b"same bytes")


def test_layout_arithmetic() -> None:
    layout = SegmentLayout(3 * SEGMENT + 5)
    assert layout.header_size == HEADER_SIZE
    assert layout.segment_count == 4
    assert layout.plaintext_length(3) == 5
    assert layout.ciphertext_size == HEADER_SIZE + 3 * SEGMENT + 5 + 4 * TAG_SIZE
    assert layout.segment_for_offset(SEGMENT) == 1
    start, end, first = layout.ciphertext_range_for(SEGMENT + 10, SEGMENT + 20)
    assert (start, end, first) == (HEADER_SIZE + SEGMENT + TAG_SIZE,
                                   HEADER_SIZE + 2 * (SEGMENT + TAG_SIZE) - 1, 1)
    assert layout.ciphertext_range_for(0, 3 * SEGMENT + 4)[1] == layout.ciphertext_size - 1
    assert SegmentLayout(0).segment_count == 1
    with pytest.raises(ValueError):
        layout.segment_for_offset(3 * SEGMENT + 5)
    with pytest.raises(ValueError):
        layout.ciphertext_range_for(10, 9)


def decrypt_range(ciphertext: bytes, start: int, end: int, seed: int) -> bytes:
    decryptor = RangeDecryptor(KEY, ciphertext[:HEADER_SIZE], start, end)
    c_start, c_end, _ = decryptor.layout.ciphertext_range_for(start, end)
    plaintext = b"".join(decryptor.iter(random_chunks(ciphertext[c_start:c_end + 1], seed)))
    assert len(plaintext) == decryptor.output_size
    return plaintext


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_range_decrypts_to_its_slice(data: st.DataObject) -> None:
    plaintext, ciphertext = sample(RANGE_SIZE)
    start = data.draw(st.integers(0, RANGE_SIZE - 1), label="start")
    end = data.draw(st.integers(start, RANGE_SIZE - 1), label="end")
    seed = data.draw(st.integers(0, 1000), label="seed")
    assert decrypt_range(ciphertext, start, end, seed) == plaintext[start:end + 1]


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 5000), segment_size=st.integers(1, 700), data=st.data())
def test_small_segments_ranges(size: int, segment_size: int, data: st.DataObject) -> None:
    plaintext = random.Random(size).randbytes(size)
    ciphertext = encrypt(plaintext, segment_size=segment_size)
    assert decrypt(ciphertext) == plaintext
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start, size - 1))
    assert decrypt_range(ciphertext, start, end, seed=size) == plaintext[start:end + 1]


def test_async_range_decryption() -> None:
    plaintext, ciphertext = sample(RANGE_SIZE)
    start, end = SEGMENT - 3, 2 * SEGMENT + 7
    decryptor = RangeDecryptor(KEY, ciphertext[:HEADER_SIZE], start, end)
    c_start, c_end, _ = decryptor.layout.ciphertext_range_for(start, end)

    async def source() -> AsyncIterator[bytes]:
        for chunk in random_chunks(ciphertext[c_start:c_end + 1]):
            yield chunk

    async def collect() -> bytes:
        return b"".join([piece async for piece in decryptor.aiter(source())])

    assert asyncio.run(collect()) == plaintext[start:end + 1]


def segment_bounds(index: int) -> tuple[int, int]:
    start = HEADER_SIZE + index * (SEGMENT + TAG_SIZE)
    return start, start + SEGMENT + TAG_SIZE


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1:]


def tampered_variants() -> dict[str, bytes]:
    _, ciphertext = sample(RANGE_SIZE)
    s0, e0 = segment_bounds(0)
    s1, e1 = segment_bounds(1)
    last = HEADER_SIZE + 3 * (SEGMENT + TAG_SIZE)
    smaller_header = (ciphertext[:9] + (3 * SEGMENT).to_bytes(8, "big")
                      + ciphertext[17:HEADER_SIZE])
    _, other = sample(RANGE_SIZE + 1)
    return {
        "flipped byte in segment": flipped(ciphertext, s1 + 100),
        "flipped tag": flipped(ciphertext, e0 - 1),
        "flipped salt": flipped(ciphertext, HEADER_SIZE - 1),
        "flipped size": flipped(ciphertext, 16),
        "swapped segments": ciphertext[:s0] + ciphertext[s1:e1] + ciphertext[s0:e0]
        + ciphertext[e1:],
        "truncated last segment": ciphertext[:-3],
        "dropped last segment": ciphertext[:last],
        "dropped last segment, size rewritten": smaller_header + ciphertext[HEADER_SIZE:last],
        "segment from another file": ciphertext[:s1] + other[s1:e1] + ciphertext[e1:],
        "trailing bytes": ciphertext + b"\0",
        "header only": ciphertext[:HEADER_SIZE],
        "half a header": ciphertext[:10],
        "bad magic": b"XDX1" + ciphertext[4:],
    }


@pytest.mark.parametrize("case", sorted(tampered_variants()))
def test_tampering_is_detected(case: str) -> None:
    with pytest.raises(ContentIntegrityError):
        decrypt(tampered_variants()[case])


@pytest.mark.parametrize("size", [0, 5, RANGE_SIZE])
def test_wrong_key_is_detected(size: int) -> None:
    _, ciphertext = sample(size)
    with pytest.raises(ContentIntegrityError, match="authentication"):
        decrypt(ciphertext, key=generate_content_key())


def test_range_decryptor_detects_truncation_and_tampering() -> None:
    _, ciphertext = sample(RANGE_SIZE)
    decryptor = RangeDecryptor(KEY, ciphertext[:HEADER_SIZE], 10, SEGMENT + 10)
    c_start, c_end, _ = decryptor.layout.ciphertext_range_for(10, SEGMENT + 10)
    decryptor.feed(ciphertext[c_start:c_end])  # one byte short
    with pytest.raises(ContentIntegrityError, match="ends inside segment 1"):
        decryptor.finish()
    decryptor = RangeDecryptor(KEY, ciphertext[:HEADER_SIZE], 10, 20)
    with pytest.raises(ContentIntegrityError):
        decryptor.feed(flipped(ciphertext, HEADER_SIZE + 15)[HEADER_SIZE:c_end])


def test_size_mismatch_is_refused() -> None:
    with pytest.raises(PlaintextSizeMismatch, match="more than"):
        b"".join(encrypt_stream(KEY, [b"abc", b"def"], 5))
    with pytest.raises(PlaintextSizeMismatch, match="got 6 bytes"):
        b"".join(encrypt_stream(KEY, [b"abc", b"def"], 7))


def test_encrypting_50_mb_runs_in_constant_memory() -> None:
    size = 50 * 1024 * 1024
    block = os.urandom(100_000)
    chunks = itertools.chain(itertools.repeat(block, size // len(block)),
                             [block[:size % len(block)]])
    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        total = 0
        for piece in encrypt_stream(KEY, chunks, size):
            digest.update(piece)
            total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == SegmentLayout(size).ciphertext_size
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"


def reference_ddx1(key: bytes, plaintext: bytes, segment_size: int, salt: bytes) -> bytes:
    """The DDX1 file written out from the module docstring, one segment at a time."""
    header = struct.pack(">4sBIQ16s", b"DDX1", 1, segment_size, len(plaintext), salt)
    segment_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                       info=b"datadao DDX1 segment key").derive(key)
    aead = AESGCM(segment_key)
    count = max(1, -(-len(plaintext) // segment_size))
    out = [header]
    for index in range(count):
        aad = header + index.to_bytes(8, "big") + (b"\x01" if index == count - 1 else b"\x00")
        piece = plaintext[index * segment_size:(index + 1) * segment_size]
        out.append(aead.encrypt(salt[:4] + index.to_bytes(8, "big"), piece, aad))
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 1, 1000, 3 * 1024, 3 * 1024 + 7])
@pytest.mark.parametrize("chunk_size", [1, 1000, 1024, 2048 + 3, 10_000])
def test_ciphertext_is_the_ddx1_format_however_the_plaintext_is_chunked(
        size: int, chunk_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    salt = bytes(range(100, 116))
    monkeypatch.setattr("dapp.crypto.segments.os.urandom", lambda n: salt[:n])
    plaintext = random.Random(size).randbytes(size)
    chunks = [plaintext[i:i + chunk_size] for i in range(0, size, chunk_size)]
    encrypted = b"".join(encrypt_stream(KEY, chunks, size, segment_size=1024))
    assert encrypted == reference_ddx1(KEY, plaintext, 1024, salt)
