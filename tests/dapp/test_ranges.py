"""HTTP Range parsing (unit)."""

from __future__ import annotations

import pytest

from dapp.gateway.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("", 100, None),
        ("bytes=0-9", 100, ByteRange(0, 9)),
        ("bytes=90-", 100, ByteRange(90, 99)),
        ("bytes=-10", 100, ByteRange(90, 99)),
        ("bytes=-500", 100, ByteRange(0, 99)),
        ("bytes=50-5000", 100, ByteRange(50, 99)),
        ("bytes=0-0", 1, ByteRange(0, 0)),
        ("bytes=0-9, 20-29", 100, ByteRange(0, 29)),
        ("bytes=0-9,200-300", 100, ByteRange(0, 9)),
        ("items=0-9", 100, None),
        ("bytes=9-0", 100, None),
        ("bytes=a-b", 100, None),
        ("bytes=", 100, None),
        ("bytes=-", 100, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100),
                                              ("bytes=0-", 0), ("bytes=-5", 0)])
def test_unsatisfiable_range_is_416_with_content_range(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, size)
    assert raised.value.http_status == 416
    assert raised.value.headers == {"Content-Range": f"bytes */{size}"}


def test_content_range_header() -> None:
    assert ByteRange(10, 19).content_range(100) == "bytes 10-19/100"
    assert ByteRange(10, 19).length == 10
