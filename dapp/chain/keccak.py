"""Keccak-256 on the hot paths (event decoding, voucher digests): safe-pysha3's C keccak
(in requirements.lock) called directly, ~0.7 µs a hash where eth_hash's dispatch costs ~5 µs;
eth_utils' keccak when it is not installed (the Python client without it)."""

from __future__ import annotations

from eth_utils import keccak

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak256(data: bytes) -> bytes:
        return bytes(_keccak_256(data).digest())

    def keccak256_hex(data: bytes) -> str:
        """The hash as lowercase hex, without 0x."""
        return str(_keccak_256(data).hexdigest())
except ImportError:  # pragma: no cover
    def keccak256(data: bytes) -> bytes:
        return bytes(keccak(data))

    def keccak256_hex(data: bytes) -> str:
        return keccak(data).hex()
