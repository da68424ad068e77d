"""json_bytes_utc writes aware datetimes itself (the Miniflux entries' times): the bytes must be those of
the same body with each time formatted by iso_utc first, with orjson and with the stdlib fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from newsdesk.web import api_common
from newsdesk.web.api_common import iso_utc, json_bytes, json_bytes_utc

TIMES = [
    datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC),  # no microseconds: none written
    datetime(2026, 11, 27, 10, 0, 0, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2))),  # another zone: written in UTC
]


def body_with(times: list[Any]) -> dict[str, Any]:
    return {"total": len(times), "entries": [{"id": i, "published_at": t, "title": "é \"q\""}
                                             for i, t in enumerate(times)]}


def test_iso_utc() -> None:
    assert iso_utc(TIMES[0]) == "2026-11-27T10:00:00.123456Z"
    assert iso_utc(TIMES[1]) == "2026-11-27T10:00:00Z"
    assert iso_utc(TIMES[4]) == "2026-03-29T00:30:00Z"


@pytest.mark.parametrize("fast", [True, False])
def test_same_bytes_as_formatted_first(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not fast:
        monkeypatch.setattr(api_common, "_FAST_DUMPS_UTC", None)
        monkeypatch.setattr(api_common, "_FAST_DUMPS", None)
    utc_times = [t.astimezone(UTC) for t in TIMES]
    expected = json_bytes(body_with([iso_utc(t) for t in TIMES]))
    # Storage hands out UTC times; the other zone is written the same only by the fallback's
    # iso_utc, so orjson is checked on the UTC ones.
    assert json_bytes_utc(body_with(utc_times)) == expected
    if not fast:
        assert json_bytes_utc(body_with(TIMES)) == expected
    json.loads(expected)


def test_naive_time_is_refused_by_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_common, "_FAST_DUMPS_UTC", None)
    with pytest.raises(TypeError):
        json_bytes_utc({"at": datetime(2026, 1, 1)})  # noqa: DTZ001 - naive on purpose
