"""What people type, turned into what the contracts take: token amounts, durations, shares,
kinds and scopes. Pure functions, no I/O."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from dapp.chain.constants import MAX_UINT64, AssetKind, Scope
from dapp.errors import InvalidInput

PERPETUAL = 0
MAX_CURATOR_SHARE_BPS = 5000

_DURATION = re.compile(r"^(\d+)\s*([smhdwy]?)$")
_SECONDS_PER = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400,
                "y": 365 * 86_400}


def parse_amount(text: str, decimals: int, *, what: str = "amount") -> int:
    """'10' or '0.5' token units → base units; refuses more decimals than the token has."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput(f"{what} {text!r} is not a number", hint="e.g. 10 or 0.5") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput(f"{what} {text!r} must be a positive number")
    base = value.scaleb(decimals)
    if base != base.to_integral_value():
        raise InvalidInput(f"{what} {text!r} has more than {decimals} decimals")
    return int(base)


def format_amount(base_units: int, decimals: int) -> str:
    """Base units → '10', '0.5', '1234.000001' (no trailing zeros, no exponent)."""
    text = format(Decimal(base_units).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_duration(text: str) -> int:
    """'30d', '12h', '90m', '3600s', '3600', '1y', '0' or 'perpetual' → seconds (0 = perpetual)."""
    cleaned = text.strip().lower()
    if cleaned in ("perpetual", "forever", "0"):
        return PERPETUAL
    match = _DURATION.match(cleaned)
    if not match:
        raise InvalidInput(f"duration {text!r} is not understood",
                           hint="use e.g. 30d, 12h, 90m, 3600s, or 0 for perpetual")
    seconds = int(match.group(1)) * _SECONDS_PER[match.group(2)]
    if seconds > MAX_UINT64:
        raise InvalidInput(f"duration {text!r} is too long")
    return seconds


def format_duration(seconds: int) -> str:
    if seconds == PERPETUAL:
        return "perpetual"
    for unit, size in (("y", 365 * 86_400), ("w", 7 * 86_400), ("d", 86_400), ("h", 3600),
                       ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_share_bps(text: str) -> int:
    """A curator share as a percentage ('10', '10%', '2.5%') → basis points (≤ 50 %)."""
    cleaned = text.strip().removesuffix("%")
    try:
        bps = Decimal(cleaned) * 100
    except InvalidOperation:
        raise InvalidInput(f"curator share {text!r} is not a percentage",
                           hint="e.g. 10 or 2.5%") from None
    if bps != bps.to_integral_value() or not 0 <= bps <= MAX_CURATOR_SHARE_BPS:
        raise InvalidInput(f"curator share {text!r} must be 0..50 % in steps of 0.01 %")
    return int(bps)


def kind_index(kind: str) -> int:
    try:
        return AssetKind[kind.upper()].value
    except KeyError:
        raise InvalidInput(f"kind {kind!r} is not one of {', '.join(AssetKind.labels())}"
                           ) from None


def scope_index(scope: str) -> int:
    try:
        return Scope[scope.upper()].value
    except KeyError:
        raise InvalidInput(f"scope {scope!r} is not one of {', '.join(Scope.labels())}"
                           ) from None
