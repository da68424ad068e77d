"""The Google Reader API's form parsing (web/api_common.urlencoded_pairs) reads a urlencoded body
exactly as Starlette's form parser does, and keeps the same bounds."""

from __future__ import annotations

import asyncio

import pytest
from starlette.datastructures import Headers
from starlette.formparsers import FormParser

from newsdesk.errors_accounts import InvalidRequestError
from newsdesk.web.api_common import urlencoded_pairs

BODIES = [
    b"",
    b"i=1&i=2&i=-3",
    b"i=tag%3Agoogle.com%2C2005%3Areader%2Fitem%2F000000000000002a&a=user%2F-%2Fstate%2Fcom.google%2Fread",
    b"&&a=1&&b=2&",
    b"name-only&x=&=value-only&y=a=b",
    b"plus=a+b%2Bc&utf8=%C3%A9t%C3%A9&bad=%ZZ%&latin=\xe9",
    b"s=feed%2Fhttps%3A%2F%2Fexample.org%2Ffeed%3Fa%3D1%26b%3D2;c=d",
    b"a=%3d&b=%26%26&%3D=x",
    b"split=%C3&utf8=%A9&half=%E2%82&end=%",
    b"i=" + b"&i=".join(b"tag%3Agoogle.com%2C2005%3Areader%2Fitem%2F" + f"{n:016x}".encode() for n in range(1000)),
]


async def _starlette(body: bytes) -> list[tuple[str, str]]:
    async def stream():  # type: ignore[no-untyped-def]
        yield body

    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    form = await FormParser(headers, stream(), max_fields=1000, max_part_size=64 * 1024).parse()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


@pytest.mark.parametrize("body", BODIES)
def test_same_pairs_as_starlette(body: bytes) -> None:
    assert urlencoded_pairs(body, max_fields=1000, max_field_bytes=64 * 1024) == asyncio.run(_starlette(body))


def test_bounds() -> None:
    assert len(urlencoded_pairs(b"&".join([b"i=1"] * 10), max_fields=10, max_field_bytes=10)) == 10
    with pytest.raises(InvalidRequestError):
        urlencoded_pairs(b"&".join([b"i=1"] * 11), max_fields=10, max_field_bytes=10)
    with pytest.raises(InvalidRequestError):
        urlencoded_pairs(b"i=" + b"9" * 20, max_fields=10, max_field_bytes=10)
