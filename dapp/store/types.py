"""Column types for chain values that every backend stores exactly and orders correctly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UINT256_DIGITS = 78  # len(str(2**256 - 1))
_UINT256_LIMIT = 1 << 256  # (a constant: Python computes 2**256 anew at every use)


class Uint256(TypeDecorator[int]):
    """A uint256 as a zero-padded decimal string.

    SQLite has no integers wider than 64 bits; as text every amount stays exact, and string
    order equals numeric order, so `ORDER BY` and comparisons work in SQL. Sums are done in
    Python (or kept as running totals by the indexer's handlers).
    """

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        number = int(value)
        if not 0 <= number < _UINT256_LIMIT:
            raise ValueError(f"{number} is not a uint256")
        return str(number).zfill(UINT256_DIGITS)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def encode_uint256(value: int) -> str:
    """The stored form of a uint256, for comparisons in hand-written SQL."""
    return str(Uint256().process_bind_param(value, None))  # type: ignore[arg-type]


ADDRESS = String(42)  # checksummed 0x address
HASH32 = String(66)  # 0x + 64 hex digits (block, transaction, bytes32 ids)
CID = String(128)  # a CIDv1 in base32 is 59 characters for sha2-256; room for others
