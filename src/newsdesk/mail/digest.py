"""Which articles a digest holds, and when a digest is due. Pure: no IO, no clock.

`digest_period` answers "is a digest due now, and for which period?" from the newsletter's cadence,
its local hour and weekday in its time zone, and the end of the last period sent. Periods are
computed in local wall-clock time with zoneinfo, so "daily at 07:00 Europe/Amsterdam" stays at 07:00
across daylight-saving changes (the periods around a change are 23 or 25 hours long).

A local hour that does not exist (02:00 on the last Sunday of March in Europe/Amsterdam) resolves
to the first instant after the gap (03:00 CEST); an hour that occurs twice (02:00 on the last
Sunday of October) resolves to its first occurrence. Either way there is exactly one digest a day.

Each period carries a key ("2026-01-20", "2026-W04", "2026-01-20T10:15Z"); the sender records
(subscription, key) and skips pairs it has recorded, which makes sending exactly-once per subscriber
even when a crashed run is repeated. A caller that restarts a crashed run should resume the period
it recorded as started rather than compute a new one.

`select_digest_entries` turns the period's articles into one entry per story, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models import Cadence, DigestArticle, DigestEntry, DigestOutlet, DigestPeriod

__all__ = [
    "IMMEDIATE_STEP",
    "MAX_ENTRIES",
    "MAX_LOOKBACK",
    "MAX_OUTLETS",
    "digest_period",
    "select_digest_entries",
]

#: most stories in one digest
MAX_ENTRIES = 30
#: most outlets listed under one story
MAX_OUTLETS = 12
#: immediate newsletters are checked on this fixed grid, so a repeated run gets the same key
IMMEDIATE_STEP = timedelta(minutes=5)
#: after downtime, one catch-up digest covers at most this much (per cadence)
MAX_LOOKBACK = {
    Cadence.IMMEDIATE: timedelta(days=1),
    Cadence.DAILY: timedelta(days=7),
    Cadence.WEEKLY: timedelta(days=14),
}


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _local_at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """`hour`:00 local on `day`, as aware UTC (fold=0: first occurrence; gaps resolve past the gap)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def digest_period(cadence: Cadence | str, hour: int, weekday: int, tz: str,
                  last_sent_until: datetime | None, now: datetime,
                  *, max_lookback: timedelta | None = None) -> DigestPeriod | None:
    """The period a digest is due for now, or None when nothing is due.

    - daily: the period ends at the latest `hour`:00 local time at or before `now`;
    - weekly: the period ends at the latest `weekday` (0 = Monday) `hour`:00 local at or before `now`;
    - immediate: the period ends at `now` rounded down to IMMEDIATE_STEP; whether it holds any
      articles is for the caller to see (an empty batch is simply not sent).

    The period starts where the last one sent ended (`last_sent_until`), or one cadence before its
    end for a newsletter that has sent nothing yet, but never more than `max_lookback` before its end.
    It is None when `last_sent_until` is at or past the period's end (already sent).
    """
    cadence = Cadence(cadence)
    if not 0 <= hour <= 23:
        raise ValueError("hour must be 0-23")
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    _require_aware("now", now)
    if last_sent_until is not None:
        _require_aware("last_sent_until", last_sent_until)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None
    now = now.astimezone(UTC)
    local_today = now.astimezone(zone).date()

    if cadence is Cadence.IMMEDIATE:
        step = int(IMMEDIATE_STEP.total_seconds())
        end = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
        natural_start = end - IMMEDIATE_STEP
        key = end.strftime("%Y-%m-%dT%H:%MZ")
    elif cadence is Cadence.DAILY:
        end_day = local_today
        end = _local_at(end_day, hour, zone)
        if end > now:
            end_day -= timedelta(days=1)
            end = _local_at(end_day, hour, zone)
        natural_start = _local_at(end_day - timedelta(days=1), hour, zone)
        key = end_day.isoformat()
    else:
        end_day = local_today - timedelta(days=(local_today.weekday() - weekday) % 7)
        end = _local_at(end_day, hour, zone)
        if end > now:
            end_day -= timedelta(days=7)
            end = _local_at(end_day, hour, zone)
        natural_start = _local_at(end_day - timedelta(days=7), hour, zone)
        iso = end_day.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}"

    if last_sent_until is None:
        start = natural_start
    else:
        last = last_sent_until.astimezone(UTC)
        if last >= end:
            return None
        start = last
    lookback = MAX_LOOKBACK[cadence] if max_lookback is None else max_lookback
    start = max(start, end - lookback)
    return DigestPeriod(start=start, end=end, key=key)


def select_digest_entries(articles: Iterable[DigestArticle], since: datetime, until: datetime,
                          *, limit: int = MAX_ENTRIES, max_outlets: int = MAX_OUTLETS) -> list[DigestEntry]:
    """One entry per story among the articles published in [since, until), newest story first.

    An article without a story is an entry of its own. An entry's title, links and summary are those
    of the story's first-published article in the period; its outlets are deduplicated by name in
    order of first publication. Stories are ordered by their latest article (the most recent news
    first), ties broken by the lower article id; at most `limit` entries are returned.
    """
    _require_aware("since", since)
    _require_aware("until", until)
    groups: dict[tuple[str, int], list[DigestArticle]] = {}
    for article in articles:
        _require_aware("published", article.published)
        if not since <= article.published < until:
            continue
        key = ("story", article.story_id) if article.story_id is not None else ("article", article.id)
        groups.setdefault(key, []).append(article)

    entries: list[DigestEntry] = []
    for members in groups.values():
        members.sort(key=lambda a: (a.published, a.id))
        lead = members[0]
        outlets: list[DigestOutlet] = []
        seen: set[str] = set()
        for member in members:
            name = member.source_title.strip()
            if name.casefold() in seen:
                continue
            seen.add(name.casefold())
            if len(outlets) < max_outlets:
                outlets.append(DigestOutlet(name, member.url, member.reader_url, member.published))
        entries.append(DigestEntry(
            story_id=lead.story_id,
            article_id=lead.id,
            title=lead.title,
            url=lead.url,
            reader_url=lead.reader_url,
            summary=lead.summary,
            first_published=lead.published,
            last_published=members[-1].published,
            outlets=tuple(outlets),
        ))
    entries.sort(key=lambda e: (-e.last_published.timestamp(), e.article_id))
    return entries[:max(0, limit)]
