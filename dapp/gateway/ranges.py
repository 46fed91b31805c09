"""HTTP Range requests (RFC 9110 §14) for a single byte range over a resource of known size."""

from __future__ import annotations

from dataclasses import dataclass

from dapp.errors import DappError


class RangeNotSatisfiable(DappError):
    code = "range-not-satisfiable"
    http_status = 416

    def __init__(self, size: int, header: str) -> None:
        super().__init__(f"range {header!r} is outside the content (size {size})",
                         headers={"Content-Range": f"bytes */{size}"})


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The requested range, or None for the whole resource.

    A syntactically invalid header is ignored (the whole resource is sent, as RFC 9110
    allows); several ranges are answered with the first one's span up to the last one's
    end (no multipart); an unsatisfiable one raises RangeNotSatisfiable (416).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges = [_parse_one(part.strip(), size) for part in spec.split(",")]
    if any(r is False for r in ranges):
        return None
    satisfiable = [r for r in ranges if isinstance(r, ByteRange)]
    if not satisfiable:
        raise RangeNotSatisfiable(size, header)
    return ByteRange(min(r.start for r in satisfiable), max(r.end for r in satisfiable))


def _parse_one(part: str, size: int) -> ByteRange | bool | None:
    """ByteRange, None when unsatisfiable, False when malformed."""
    first, dash, last = part.partition("-")
    if not dash or (first and not first.isdigit()) or (last and not last.isdigit()):
        return False
    if not first:  # suffix: the last N bytes
        if not last or int(last) == 0 or size == 0:
            return None if last else False
        return ByteRange(max(0, size - int(last)), size - 1)
    start = int(first)
    if last and int(last) < start:
        return False
    if start >= size:
        return None
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))
