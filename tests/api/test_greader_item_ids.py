"""Item ids as apps send them: long (`tag:google.com,2005:reader/item/<hex>`) or short (signed
decimal, a 64-bit rendering); anything else is a 400 (InvalidRequestError), never a 500."""

from __future__ import annotations

import pytest

from newsdesk.errors_accounts import InvalidRequestError
from newsdesk.web.api_greader import LONG_ID_PREFIX, parse_item_id


@pytest.mark.parametrize(("raw", "expected"), [
    (LONG_ID_PREFIX + "000000000000002a", 42),
    (LONG_ID_PREFIX + "2A", 42),
    (LONG_ID_PREFIX + "7fffffffffffffff", 2**63 - 1),
    ("  " + LONG_ID_PREFIX + "00000000000000ff\n", 255),
    ("42", 42),
    (" 42 ", 42),
    ("9223372036854775807", 2**63 - 1),
    ("00000000000000000042", 42),
])
def test_valid_ids(raw: str, expected: int) -> None:
    assert parse_item_id(raw) == expected


@pytest.mark.parametrize("raw", [
    "", " ", "-", "+42", "4 2", "0x2a", "42.0", "²", "\u0661\u0662", "123456789012345678901",
    LONG_ID_PREFIX, LONG_ID_PREFIX + "2g", LONG_ID_PREFIX + "12345678901234567", LONG_ID_PREFIX + "8000000000000000",
    LONG_ID_PREFIX + " 2a", LONG_ID_PREFIX + "\u0661", LONG_ID_PREFIX + "-1", "9223372036854775808",
    "-1",  # a negative rendering is of an id past 2**63, which no article has
])
def test_malformed_ids_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_item_id(raw)
