"""Failed logins in the database (storage/logins.py), on both backends, and the limiter that
decides over them (services.accounts.LoginLimiter, retry_after)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.errors_accounts import RateLimitedError
from newsdesk.services.accounts import LoginLimiter, retry_after
from newsdesk.storage.sql import SqlStorage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_failures_are_kept_per_key_read_by_window_and_pruned(storage: SqlStorage) -> None:
    storage.add_login_failures(["user:ann", "addr:10.0.0.1"], T0, forget_before=T0 - timedelta(minutes=15))
    storage.add_login_failures(["user:ann"], T0 + timedelta(minutes=1), forget_before=T0 - timedelta(minutes=14))
    found = storage.login_failures(["user:ann", "addr:10.0.0.1", "user:bob"], since=T0)
    assert found == {"user:ann": [T0, T0 + timedelta(minutes=1)], "addr:10.0.0.1": [T0]}
    assert storage.login_failures(["user:ann"], since=T0 + timedelta(seconds=1)) == {
        "user:ann": [T0 + timedelta(minutes=1)]}
    # a later failure prunes every key's failures older than its window
    storage.add_login_failures(["user:bob"], T0 + timedelta(minutes=20), forget_before=T0 + timedelta(seconds=30))
    assert storage.login_failures(["user:ann", "addr:10.0.0.1", "user:bob"], since=T0 - timedelta(days=1)) == {
        "user:ann": [T0 + timedelta(minutes=1)], "user:bob": [T0 + timedelta(minutes=20)]}
    storage.clear_login_failures("user:ann")
    assert storage.login_failures(["user:ann"], since=T0 - timedelta(days=1)) == {}
    # a key longer than a column holds is cut the same way on writing and reading
    long_key = "user:" + "x" * 500
    storage.add_login_failures([long_key], T0, forget_before=T0 - timedelta(minutes=1))
    assert list(storage.login_failures([long_key], since=T0)) == [long_key[:200]]


def test_two_limiters_over_one_database_count_together(storage: SqlStorage) -> None:
    """Two web processes are two limiters over one database: their failures add up."""
    now = [T0]
    first, second = (LoginLimiter(storage, attempts=3, window=60, clock=lambda: now[0]) for _ in range(2))
    first.failed(["user:ann"])
    second.failed(["user:ann"])
    assert first.check(["user:ann", "addr:x"]) == {"user:ann"}
    now[0] += timedelta(seconds=10)
    first.failed(["user:ann"])
    with pytest.raises(RateLimitedError) as limited:
        second.check(["user:ann"])
    assert limited.value.retry_after == pytest.approx(50)  # when the oldest leaves the window
    now[0] += timedelta(seconds=51)
    assert second.check(["user:ann"]) == {"user:ann"}  # the first two left the window, the third not
    second.succeeded("user:ann")
    assert first.check(["user:ann"]) == set()


def test_retry_after() -> None:
    times = [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=9)]
    assert retry_after(times[:2], T0 + timedelta(seconds=10), attempts=3, window=60) == 0
    assert retry_after(times, T0 + timedelta(seconds=10), attempts=3, window=60) == 50
    # more failures than attempts (two processes raced past the check): the gate is the newest `attempts`
    assert retry_after(times, T0 + timedelta(seconds=10), attempts=2, window=60) == 55
    assert retry_after(times, T0 + timedelta(seconds=69.5), attempts=3, window=60) == 1.0  # at least a second
