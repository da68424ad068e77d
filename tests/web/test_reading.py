"""The pure parts of the reading use cases and of language choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsdesk.models import ArticleCursor
from newsdesk.services.reading import (
    BadListParameterError,
    ListContext,
    decode_cursor,
    encode_cursor,
    search_neighbours,
)
from newsdesk.web.i18n import choose_language, format_time


def test_cursor_round_trip_keeps_microseconds_and_normalises_to_utc() -> None:
    when = datetime(2026, 1, 20, 13, 5, 7, 123456, tzinfo=timezone(timedelta(hours=1)))
    cursor = ArticleCursor(when, 42)
    token = encode_cursor(cursor)
    assert token == "2026-01-20T12:05:07.123456Z_42"
    decoded = decode_cursor(token)
    assert decoded == cursor and decoded.sort_at.tzinfo is not None


@pytest.mark.parametrize("token", ["", "garbage", "2026-01-20T12:00:00Z_", "2026-13-01_4", "x_1",
                                   "2026-01-20T12:00:00Z_-3", "2026-01-20T12:00:00Z_" + "9" * 40])
def test_bad_cursors_are_refused(token: str) -> None:
    with pytest.raises(BadListParameterError):
        decode_cursor(token)


@pytest.mark.parametrize("context", [ListContext.home(), ListContext.for_source(3),
                                     ListContext.for_search("heffingen Groenland"),
                                     ListContext.for_search("a:b c")])
def test_list_context_round_trip(context: ListContext) -> None:
    assert ListContext.parse(context.serialise()) == context


@pytest.mark.parametrize("raw", [None, "", "bogus", "source:", "source:x", "search:", "search:   "])
def test_unreadable_context_means_home(raw: str | None) -> None:
    assert ListContext.parse(raw) == ListContext.home()


def test_search_context_normalises_and_bounds_the_query() -> None:
    assert ListContext.parse("search:  a   b ").query == "a b"
    assert len(ListContext.for_search("x" * 5000).query) == 200


def test_search_neighbours() -> None:
    assert search_neighbours([5, 9, 2], 5) == (None, 9)
    assert search_neighbours([5, 9, 2], 9) == (5, 2)
    assert search_neighbours([5, 9, 2], 2) == (9, None)
    assert search_neighbours([5, 9, 2], 7) == (None, None)


@pytest.mark.parametrize(("query", "cookie", "accept", "default", "expected"), [
    ("nl", "en", "en", "en", "nl"),
    (None, "nl", "en", "en", "nl"),
    ("xx", "en", "nl", "nl", "en"),
    (None, None, "de-DE,de;q=0.9,nl;q=0.8,en;q=0.5", "en", "nl"),
    (None, None, "fr", "nl", "nl"),
    (None, None, "nl;q=0", "en", "en"),
    (None, None, None, "de", "en"),
])
def test_choose_language(query: str | None, cookie: str | None, accept: str | None, default: str,
                         expected: str) -> None:
    assert choose_language(query, cookie, accept, default) == expected


def test_format_time_relative_then_absolute() -> None:
    now = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
    assert format_time(now - timedelta(minutes=5), now, "en") == "5 min ago"
    assert format_time(now - timedelta(hours=3), now, "nl") == "3 uur geleden"
    assert format_time(now + timedelta(minutes=10), now, "en") == "in 10 min"
    assert format_time(now + timedelta(hours=5), now, "nl") == "over 5 uur"
    assert format_time(datetime(2026, 3, 4, 9, 7, tzinfo=UTC), now, "nl") == "4 mrt 2026, 09:07"
    assert format_time(datetime(2025, 10, 4, 9, 7, tzinfo=UTC), now, "en") == "4 Oct 2025, 09:07"
