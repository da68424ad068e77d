"""The polling schedule is pure: tested with plain datetimes, no database, no network."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from newsdesk.ingest.schedule import (
    SchedulePolicy,
    backoff_delay,
    cache_max_age,
    next_poll_after_failure,
    next_poll_after_success,
    posting_interval,
    retry_after_seconds,
)

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
POLICY = SchedulePolicy(min_interval=600, max_interval=86_400, backoff_base=300)


def hourly(n: int) -> list[datetime]:
    return [NOW - timedelta(hours=i) for i in range(n)]


def test_interval_is_half_the_median_posting_gap():
    assert posting_interval(hourly(10), POLICY) == 1800


def test_interval_is_clamped_to_the_bounds():
    every_minute = [NOW - timedelta(minutes=i) for i in range(10)]
    monthly = [NOW - timedelta(days=30 * i) for i in range(5)]
    assert posting_interval(every_minute, POLICY) == 600
    assert posting_interval(monthly, POLICY) == 86_400


def test_without_dates_the_feed_is_polled_hourly():
    assert posting_interval([], POLICY) == 3600
    assert posting_interval([NOW], POLICY) == 3600


def test_cache_control_and_retry_after_push_the_next_poll_out():
    rng = random.Random(1)
    at, interval = next_poll_after_success(NOW, hourly(10), {"cache-control": "public, max-age=7200"}, POLICY, rng=rng)
    assert interval == 1800
    assert timedelta(seconds=7200) <= at - NOW <= timedelta(seconds=7200 * 1.05)
    at, _ = next_poll_after_success(NOW, hourly(10), {"retry-after": "10000"}, POLICY, rng=rng)
    assert at - NOW >= timedelta(seconds=10000)


def test_a_304_keeps_the_learned_interval():
    at, interval = next_poll_after_success(NOW, [], {}, POLICY, previous_interval=5000, rng=random.Random(2))
    assert interval == 5000
    assert timedelta(seconds=5000) <= at - NOW <= timedelta(seconds=5250)


def test_cache_control_parsing():
    assert cache_max_age({"cache-control": "max-age=60"}) == 60
    assert cache_max_age({"cache-control": "no-cache, s-maxage=5"}) is None
    assert cache_max_age({"cache-control": 's-max-age="90"'}) == 90
    assert cache_max_age({}) is None


def test_retry_after_parsing():
    assert retry_after_seconds("120", NOW) == 120
    assert retry_after_seconds("Tue, 20 Jan 2026 12:10:00 GMT", NOW) == 600
    assert retry_after_seconds("Tue, 20 Jan 2026 11:00:00 GMT", NOW) == 0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    rng = random.Random(3)
    first = [backoff_delay(1, POLICY, rng) for _ in range(100)]
    assert all(150 <= d <= 300 for d in first)
    assert len(set(first)) > 50  # jittered, not lockstep
    fourth = [backoff_delay(4, POLICY, rng) for _ in range(100)]
    assert all(1200 <= d <= 2400 for d in fourth)
    assert all(d <= 86_400 for d in (backoff_delay(n, POLICY, rng) for n in range(1, 200)))


def test_failure_honours_retry_after_but_never_beyond_the_cap():
    at = next_poll_after_failure(NOW, 1, POLICY, retry_after=3600, rng=random.Random(4))
    assert at - NOW >= timedelta(seconds=3600)
    at = next_poll_after_failure(NOW, 1, POLICY, retry_after=10**9, rng=random.Random(4))
    assert at - NOW <= timedelta(seconds=86_400)


@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1),
                             timezones=st.just(UTC)), max_size=50),
       st.integers(min_value=1, max_value=10_000))
def test_every_schedule_stays_within_the_bounds(times, errors):
    interval = posting_interval(times, POLICY)
    assert POLICY.min_interval <= interval <= POLICY.max_interval
    at = next_poll_after_failure(NOW, errors, POLICY, rng=random.Random(errors))
    assert NOW < at <= NOW + timedelta(seconds=POLICY.max_interval)
