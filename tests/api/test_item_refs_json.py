"""item_refs_json writes the `stream/items/ids` body by hand: it must be the bytes json_bytes() makes
of the same body as a dict (the shape it had before, 2026-11-27)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from newsdesk.models import ArticleCursor
from newsdesk.web.api_common import json_bytes
from newsdesk.web.api_greader import item_refs_json


def as_dict(positions: list[ArticleCursor], continuation: str | None) -> bytes:
    body: dict[str, object] = {"itemRefs": [
        {"id": str(p.id), "directStreamIds": [], "timestampUsec": str(int(p.sort_at.timestamp() * 1_000_000))}
        for p in positions]}
    if continuation:
        body["continuation"] = continuation
    return json_bytes(body)


START = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
POSITIONS = [ArticleCursor(START - timedelta(seconds=37.000001 * i), 10**12 - i) for i in range(50)]


@pytest.mark.parametrize(("positions", "continuation"), [
    ([], None),
    ([], ""),
    (POSITIONS[:1], None),
    (POSITIONS, "2026-10-28T15:08:06.014876Z_99001"),
    # before 1970 (negative microseconds), an id of 1, and a continuation that needs escaping
    ([ArticleCursor(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), 1)], 'a"b\\c\u00e9\n'),
    # an aware time in another zone (a PostgreSQL session may hand those back)
    ([ArticleCursor(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))), 7)], None),
])
def test_same_bytes_as_the_dict(positions: list[ArticleCursor], continuation: str | None) -> None:
    written = item_refs_json(positions, continuation)
    assert written == as_dict(positions, continuation)
    orjson.loads(written)  # and valid JSON
