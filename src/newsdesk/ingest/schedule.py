"""When to poll a source next: pure decisions over times and headers, no IO.

A feed is polled about twice per posting gap (so a new article waits about half a gap), never more
often than the server's Cache-Control allows or Retry-After asks, and after failures with capped
exponential backoff with jitter, so thousands of failing feeds do not retry in lockstep. A source is
never dropped for failing: its next poll is only pushed out, up to the cap.
"""

from __future__ import annotations

import email.utils
import random
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "SchedulePolicy",
    "backoff_delay",
    "cache_max_age",
    "next_poll_after_failure",
    "next_poll_after_success",
    "posting_interval",
    "retry_after_seconds",
]


@dataclass(frozen=True)
class SchedulePolicy:
    min_interval: int = 600  #: seconds
    max_interval: int = 86_400  #: seconds; also the backoff cap
    #: first retry delay after a failure, doubled per consecutive failure
    backoff_base: int = 300
    #: how many of the newest entries the posting rate is learned from
    rate_window: int = 20

    @classmethod
    def from_settings(cls, settings: object) -> SchedulePolicy:
        return cls(min_interval=int(getattr(settings, "min_interval")),  # noqa: B009 - Settings is dynamic
                   max_interval=int(getattr(settings, "max_interval")))  # noqa: B009


def _clamp(value: float, policy: SchedulePolicy) -> int:
    return int(min(max(value, policy.min_interval), policy.max_interval))


def posting_interval(entry_times: Sequence[datetime], policy: SchedulePolicy) -> int:
    """Polling interval in seconds from the gaps between a feed's newest entries.

    Half the median gap: robust to one burst or one long silence. Without two dated entries we know
    nothing and poll hourly (within the bounds).
    """
    times = sorted((t for t in entry_times if t is not None), reverse=True)[: policy.rate_window]
    gaps = [(a - b).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    gaps = [g for g in gaps if g > 0]
    if not gaps:
        return _clamp(3600, policy)
    return _clamp(statistics.median(gaps) / 2, policy)


_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def cache_max_age(headers: Mapping[str, str]) -> int | None:
    """Seconds from Cache-Control max-age (no-store/no-cache say nothing about polling rate)."""
    value = headers.get("cache-control", "")
    match = _MAX_AGE.search(value)
    return int(match.group(1)) if match else None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date. Garbage means no hint."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_poll_after_success(
    now: datetime,
    entry_times: Sequence[datetime],
    headers: Mapping[str, str],
    policy: SchedulePolicy,
    previous_interval: int | None = None,
    rng: random.Random | None = None,
) -> tuple[datetime, int]:
    """(next poll time, interval learned)."""
    # A 304 passes no entry times: the interval learned before holds.
    interval = posting_interval(entry_times, policy) if entry_times else previous_interval or _clamp(3600, policy)
    delay = float(interval)
    max_age = cache_max_age(headers)
    if max_age is not None:
        delay = max(delay, min(max_age, policy.max_interval))
    retry = retry_after_seconds(headers.get("retry-after"), now)
    if retry is not None:
        delay = max(delay, min(retry, policy.max_interval))
    # A little jitter (up to 5%) spreads feeds that were added together.
    delay *= 1 + (rng or random).random() * 0.05
    return now + timedelta(seconds=delay), interval


def backoff_delay(error_count: int, policy: SchedulePolicy, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with "equal jitter": half fixed, half random."""
    exp: int = policy.backoff_base * 2 ** max(0, min(error_count - 1, 20))
    capped = float(min(exp, policy.max_interval))
    return capped / 2 + (rng or random).random() * capped / 2


def next_poll_after_failure(
    now: datetime,
    error_count: int,
    policy: SchedulePolicy,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """`error_count` counts this failure too (1 after the first)."""
    delay = backoff_delay(error_count, policy, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_interval))
    return now + timedelta(seconds=delay)
