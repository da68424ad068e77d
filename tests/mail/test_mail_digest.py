"""Digest selection and digest periods (incl. daylight-saving changes in Europe/Amsterdam)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mailhelpers import article, utc

from newsdesk.mail.digest import MAX_ENTRIES, digest_period, select_digest_entries
from newsdesk.models import Cadence

AMS = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS).astimezone(UTC)


# --- selection ---------------------------------------------------------------------------------

def test_one_entry_per_story_with_outlets_in_order_of_first_publication():
    arts = [
        article(1, 10, "NOS", 5),
        article(2, 10, "NRC", 3, title="Eerste melding"),
        article(3, 10, "NOS", 9),  # the same outlet again: listed once
        article(4, 10, "Trouw", 7),
        article(5, None, "NU.nl", 1),  # no story: its own entry
        article(6, 11, "NRC", 20),
    ]
    entries = select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21))
    assert [e.story_id for e in entries] == [11, 10, None]  # the most recent news first
    story = entries[1]
    assert story.title == "Eerste melding" and story.article_id == 2
    assert [o.source_title for o in story.outlets] == ["NRC", "NOS", "Trouw"]
    assert story.outlets[1].url == "https://nos.example/a/1"  # NOS's first article, not its second
    assert story.first_published == utc(2026, 1, 20, 6, 3) and story.last_published == utc(2026, 1, 20, 6, 9)
    assert entries[2].article_id == 5 and [o.source_title for o in entries[2].outlets] == ["NU.nl"]


def test_articles_without_story_are_never_merged():
    entries = select_digest_entries([article(1, None, "A", 1), article(2, None, "A", 2)],
                                    utc(2026, 1, 20), utc(2026, 1, 21))
    assert [e.article_id for e in entries] == [2, 1]


def test_period_is_half_open():
    arts = [article(1, None, "A", 0), article(2, None, "A", 30)]
    entries = select_digest_entries(arts, utc(2026, 1, 20, 6, 0), utc(2026, 1, 20, 6, 30))
    assert [e.article_id for e in entries] == [1]


def test_capped_and_deterministic():
    arts = [article(i, i, "A", i % 60) for i in range(100)]
    entries = select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21))
    assert len(entries) == MAX_ENTRIES
    assert entries == select_digest_entries(list(reversed(arts)), utc(2026, 1, 20), utc(2026, 1, 21))
    assert select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21), limit=5) == entries[:5]


def test_outlets_per_story_are_capped():
    arts = [article(i, 1, f"Outlet {i}", i) for i in range(40)]
    (entry,) = select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21), max_outlets=12)
    assert len(entry.outlets) == 12


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        select_digest_entries([], datetime(2026, 1, 20), utc(2026, 1, 21))


# --- periods -----------------------------------------------------------------------------------

def test_daily_period_ends_at_the_latest_local_hour():
    p = digest_period(Cadence.DAILY, 7, 0, "Europe/Amsterdam", None, local(2026, 1, 20, 9, 30))
    assert p is not None
    assert p.end == local(2026, 1, 20, 7) == utc(2026, 1, 20, 6)
    assert p.start == local(2026, 1, 19, 7)
    assert p.key == "2026-01-20"
    # before 07:00 the latest period is yesterday's
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", None, local(2026, 1, 20, 6, 59))
    assert p is not None and p.key == "2026-01-19" and p.end == local(2026, 1, 19, 7)
    # exactly at 07:00 it is due
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", None, local(2026, 1, 20, 7))
    assert p is not None and p.key == "2026-01-20"


def test_daily_period_is_sent_once():
    now = local(2026, 1, 20, 9)
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", None, now)
    assert p is not None
    assert digest_period("daily", 7, 0, "Europe/Amsterdam", p.end, now) is None
    assert digest_period("daily", 7, 0, "Europe/Amsterdam", p.end, local(2026, 1, 21, 6, 59)) is None
    nxt = digest_period("daily", 7, 0, "Europe/Amsterdam", p.end, local(2026, 1, 21, 7, 0, 1))
    assert nxt is not None and nxt.start == p.end and nxt.key == "2026-01-21"


def test_daily_catch_up_after_downtime_is_one_bounded_digest():
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", local(2026, 1, 1, 7), local(2026, 1, 20, 8))
    assert p is not None and p.key == "2026-01-20"
    assert p.start == p.end - timedelta(days=7)
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", local(2026, 1, 18, 7), local(2026, 1, 20, 8))
    assert p is not None and p.start == local(2026, 1, 18, 7)


def test_daily_across_spring_forward_is_23_hours():
    # Europe/Amsterdam: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", None, local(2026, 3, 29, 12))
    assert p is not None and p.key == "2026-03-29"
    assert p.end == utc(2026, 3, 29, 5)  # 07:00 CEST
    assert p.start == utc(2026, 3, 28, 6)  # 07:00 CET
    assert p.end - p.start == timedelta(hours=23)


def test_daily_across_fall_back_is_25_hours():
    # Sunday 25 October 2026, 03:00 CEST -> 02:00 CET
    p = digest_period("daily", 7, 0, "Europe/Amsterdam", None, local(2026, 10, 25, 12))
    assert p is not None
    assert p.end == utc(2026, 10, 25, 6) and p.start == utc(2026, 10, 24, 5)
    assert p.end - p.start == timedelta(hours=25)


def test_an_hour_that_does_not_exist_still_sends_once():
    # 02:00 does not exist on 29 March 2026 in Amsterdam: the digest goes at 03:00 CEST (01:00 UTC)
    before = digest_period("daily", 2, 0, "Europe/Amsterdam", None, utc(2026, 3, 29, 0, 59))
    assert before is not None and before.key == "2026-03-28"
    p = digest_period("daily", 2, 0, "Europe/Amsterdam", before.end, utc(2026, 3, 29, 1, 0))
    assert p is not None and p.key == "2026-03-29" and p.end == utc(2026, 3, 29, 1)
    assert digest_period("daily", 2, 0, "Europe/Amsterdam", p.end, utc(2026, 3, 29, 22)) is None


def test_an_hour_that_happens_twice_sends_once():
    # 02:00 happens twice on 25 October 2026 (CEST, then CET): the first one counts
    p = digest_period("daily", 2, 0, "Europe/Amsterdam", None, utc(2026, 10, 25, 0, 30))
    assert p is not None and p.key == "2026-10-25" and p.end == utc(2026, 10, 25, 0)
    # at the second 02:00 (01:00 UTC) nothing new is due
    assert digest_period("daily", 2, 0, "Europe/Amsterdam", p.end, utc(2026, 10, 25, 1, 30)) is None


def test_every_day_of_a_year_exactly_one_daily_period():
    last = None
    keys = []
    t = local(2026, 1, 1, 0)
    while t < local(2027, 1, 1, 0):
        p = digest_period("daily", 7, 0, "Europe/Amsterdam", last, t)
        if p is not None:
            keys.append(p.key)
            assert last is None or p.start == last
            assert p.end.astimezone(AMS).hour == 7
            last = p.end
        t += timedelta(minutes=30)
    # the first run (midnight on 1 January) sends 31 December's digest, then one per day of 2026
    assert keys[0] == "2025-12-31" and keys[-1] == "2026-12-31"
    assert len(keys) == len(set(keys)) == 366


def test_weekly_period():
    # Tuesday 20 January 2026; weekly on Monday at 08:00
    p = digest_period("weekly", 8, 0, "Europe/Amsterdam", None, local(2026, 1, 20, 12))
    assert p is not None
    assert p.end == local(2026, 1, 19, 8) and p.start == local(2026, 1, 12, 8)
    assert p.key == "2026-W04"
    # Monday 07:59: last week's
    p = digest_period("weekly", 8, 0, "Europe/Amsterdam", None, local(2026, 1, 19, 7, 59))
    assert p is not None and p.key == "2026-W03"
    sent = local(2026, 1, 19, 8)
    assert digest_period("weekly", 8, 0, "Europe/Amsterdam", sent, local(2026, 1, 25, 23)) is None


def test_weekly_across_dst_is_167_hours():
    # Sunday digests at 09:00 around 29 March 2026
    p = digest_period("weekly", 9, 6, "Europe/Amsterdam", None, local(2026, 3, 29, 10))
    assert p is not None and p.end - p.start == timedelta(hours=167)
    assert p.end.astimezone(AMS).hour == 9 and p.start.astimezone(AMS).hour == 9


def test_immediate_periods_are_on_a_fixed_grid():
    now = utc(2026, 1, 20, 10, 17, 42)
    p = digest_period("immediate", 0, 0, "Europe/Amsterdam", utc(2026, 1, 20, 10, 0), now)
    assert p is not None
    assert p.start == utc(2026, 1, 20, 10, 0) and p.end == utc(2026, 1, 20, 10, 15)
    assert p.key == "2026-01-20T10:15Z"
    # a repeated run in the same slot gets the same key; once sent, nothing is due until the next slot
    assert digest_period("immediate", 0, 0, "UTC", utc(2026, 1, 20, 10, 0), utc(2026, 1, 20, 10, 19)) == p
    assert digest_period("immediate", 0, 0, "UTC", p.end, utc(2026, 1, 20, 10, 19)) is None


def test_bad_arguments():
    with pytest.raises(ValueError):
        digest_period("daily", 24, 0, "Europe/Amsterdam", None, utc(2026, 1, 1))
    with pytest.raises(ValueError):
        digest_period("daily", 7, 0, "Mars/Olympus", None, utc(2026, 1, 1))
    with pytest.raises(ValueError):
        digest_period("daily", 7, 0, "UTC", None, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        digest_period("hourly", 7, 0, "UTC", None, utc(2026, 1, 1))
