"""Faults while `newsdesk worker` processes collect: PostgreSQL restarted mid-pass, a worker's
connections dropped, the disk full under SQLite, workers whose clocks disagree. Each time: no article
lost or stored twice, a clear line in the log, and recovery without anyone's help.

(Killed with -9, frozen with SIGSTOP past the lease, and workers on other hosts: test_workers.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from farm import Farm, start_worker, stop_workers, wait_until_collected
from faults import (
    PG_URL,
    PrivateCluster,
    fill_disk,
    private_postgres_unavailable,
    shifted_clock_env,
    small_tmpfs,
    terminate_backends,
)

from newsdesk.models import ArticleCursor
from newsdesk.storage.base import ArticleFilter
from newsdesk.storage.sql import SqlStorage

pytestmark = pytest.mark.slow

HOSTS = [f"127.0.0.{n}" for n in range(41, 51)]
#: free bytes left on the small disk: room for some of the 60 articles of the disk-full test, not all
LEAVE_FREE = 400_000


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, and time for the clean stop it asks for: the pass under way ends and the story
    thread assigns what is queued (on a loaded machine that can take longer than farm's 10 s)."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        with suppress(subprocess.TimeoutExpired):
            worker.wait(90)
    stop_workers(workers)  # whatever is still running is killed


def _storage(url: str) -> SqlStorage:
    storage = SqlStorage(url)
    storage.migrate()
    return storage


def _articles(storage: SqlStorage) -> list[str]:
    urls: list[str] = []
    cursor = None
    while page := storage.list_articles(ArticleFilter(), before=cursor, limit=1000):
        urls.extend(item.url for item in page)
        cursor = ArticleCursor.of(page[-1])
    return urls


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _integrity(database: Path) -> str:
    with closing(sqlite3.connect(database)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("*.log")))


def _assert_collected_once(storage: SqlStorage, farm: Farm) -> None:
    """Every article stored exactly once; every source polled successfully, no failure left on it
    (a database fault is ours, not the feed's, and must not push its next poll back)."""
    urls = _articles(storage)
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted(farm.article_urls)
    sources = storage.list_sources()
    assert all(s.state.last_success_at is not None for s in sources)
    assert [s.url for s in sources if s.state.error_count] == []


def _assert_every_article_in_a_story(storage: SqlStorage) -> None:
    """Stored during the fault, an article still gets its story (retried while the database is away)."""
    ids = [item.id for item in storage.list_articles(ArticleFilter(), limit=1000)]
    assert [i for i in ids if storage.story_of_article(i) is None] == []


@pytest.fixture
def private_pg() -> Iterator[PrivateCluster]:
    reason = private_postgres_unavailable()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster to restart: {reason}")
    cluster = PrivateCluster()
    yield cluster
    cluster.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_mid_pass(private_pg: PrivateCluster, mode: str, tmp_path: Path) -> None:
    """pg_ctl restart (-m fast: connections told to end; -m immediate: the server crashes and
    recovers) while two workers are half-way through a pass."""
    farm = Farm(HOSTS, feeds_per_host=8, delay=0.2)
    storage = _storage(private_pg.url)
    farm.add_sources(storage)
    workers = [start_worker(private_pg.url, tmp_path / f"w{n}.log", lease_batch=4) for n in range(2)]
    try:
        _wait_for(lambda: storage.count_articles() >= 10, 60, "the pass did not start")
        before = set(_articles(storage))
        private_pg.restart(mode)
        assert len(before) < len(farm.article_urls), "the restart came after the pass"
        wait_until_collected(storage, farm, timeout=100)
        assert [w.poll() for w in workers] == [None, None]  # both lived through it
    finally:
        _stop(workers)
        farm.close()
    assert [w.returncode for w in workers] == [0, 0]  # SIGTERM: a clean stop, stories finished
    _assert_collected_once(storage, farm)
    assert before <= set(_articles(storage))  # nothing committed before the restart was lost
    _assert_every_article_in_a_story(storage)
    storage.close()
    log = _logs(tmp_path)
    assert "database unavailable" in log or "the database is unavailable" in log


@pytest.mark.postgres
def test_worker_connections_dropped_mid_pass(pg_url: str, tmp_path: Path) -> None:
    """pg_terminate_backend on every connection of one worker, again and again during its pass."""
    name = f"newsdesk_fault_{uuid.uuid4().hex[:8]}"
    victim_url = f"{pg_url}&application_name={quote(name)}"
    farm = Farm(HOSTS, feeds_per_host=8, delay=0.15)
    storage = _storage(pg_url)
    farm.add_sources(storage)
    workers = [start_worker(victim_url, tmp_path / "victim.log", lease_batch=4),
               start_worker(pg_url, tmp_path / "other.log", lease_batch=4)]
    try:
        _wait_for(lambda: storage.count_articles() >= 5, 60, "the pass did not start")
        cut = 0
        for _ in range(25):
            cut += terminate_backends(PG_URL, name)
            time.sleep(0.15)
        assert cut > 0, "the victim had no connection to drop"
        wait_until_collected(storage, farm, timeout=100)
        assert [w.poll() for w in workers] == [None, None]
    finally:
        _stop(workers)
        farm.close()
    assert [w.returncode for w in workers] == [0, 0]  # SIGTERM: a clean stop, stories finished
    # (a feed whose poll was cut off before its outcome was recorded is polled again once its lease
    # runs out: the articles it stored meanwhile are known by URL and not stored again)
    _assert_collected_once(storage, farm)
    _assert_every_article_in_a_story(storage)
    storage.close()
    # No log line is asserted here: a connection cut between two statements is replaced by the
    # pool's pre-ping without any error, so whether one shows depends on timing. The restart test
    # (the server down for 2 s) asserts the line every run.


def test_disk_full_under_sqlite(tmp_path: Path) -> None:
    """The disk fills up under a worker writing to SQLite: a clear error in the log, the database
    passes its integrity check and keeps every committed article, and once space is freed the
    worker goes on by itself and stores the rest, each once."""
    disk = tmp_path / "disk"
    try:
        mounted = small_tmpfs(disk, "6m")
        mounted.__enter__()
    except OSError as exc:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {exc}")
    workers = []
    farm = Farm(HOSTS, feeds_per_host=6, delay=0.05)
    try:
        database = disk / "newsdesk.sqlite"
        url = f"sqlite:///{database}"
        storage = _storage(url)
        farm.add_sources(storage)
        filler = fill_disk(disk, leave=LEAVE_FREE)
        workers = [start_worker(url, tmp_path / "w.log", lease_batch=6)]
        _wait_for(lambda: "database or disk is full" in (tmp_path / "w.log").read_text(), 60,
                  "the disk never filled")
        time.sleep(1)  # a few more writes fail
        assert _integrity(database) == "ok"
        committed = set(_articles(storage))
        assert 0 < len(committed) < len(farm.article_urls), "the disk did not fill mid-pass"
        filler.unlink()
        wait_until_collected(storage, farm, timeout=90)
        assert workers[0].poll() is None
        _stop(workers)
        assert workers[0].returncode == 0
        _assert_collected_once(storage, farm)
        assert committed <= set(_articles(storage))
        _assert_every_article_in_a_story(storage)
        storage.close()
        assert _integrity(database) == "ok"
    finally:
        _stop(workers)
        farm.close()
        mounted.__exit__(None, None, None)
    log = (tmp_path / "w.log").read_text()
    assert "database unavailable" in log or "the database is unavailable" in log


@pytest.mark.postgres
def test_workers_with_skewed_clocks(pg_url: str, tmp_path: Path) -> None:
    """Two workers whose own clocks are 3 hours ahead and 10 minutes behind: both take the time
    from the database, so no feed is fetched twice, none is missed, and the schedule they write is
    the database's, not their own."""
    farm = Farm(HOSTS, feeds_per_host=4, delay=0.2)
    storage = _storage(pg_url)
    farm.add_sources(storage)
    ids = [s.id for s in storage.list_sources()]
    for source_id in ids:  # until both have started, so that they really share the pass
        storage.set_source_paused(source_id, True)
    ahead = shifted_clock_env(tmp_path / "ahead", 3 * 3600)
    behind = shifted_clock_env(tmp_path / "behind", -600)
    workers = [start_worker(pg_url, tmp_path / "ahead.log", lease_batch=4, env=ahead),
               start_worker(pg_url, tmp_path / "behind.log", lease_batch=4, env=behind)]
    try:
        _wait_for(lambda: all("started" in (tmp_path / name).read_text() for name in ("ahead.log", "behind.log")),
                  90, "the workers did not start")
        for source_id in ids:
            storage.set_source_paused(source_id, False)
        wait_until_collected(storage, farm, timeout=100)
        time.sleep(2)  # a few more scheduler ticks: nothing is due, nothing is fetched again
    finally:
        _stop(workers)
        farm.close()
    _assert_collected_once(storage, farm)
    assert [farm.hits[u] for u in farm.feed_urls] == [1] * len(farm.feed_urls)
    assert [farm.hits[u] for u in farm.article_urls] == [1] * len(farm.article_urls)
    now = datetime.now(UTC)
    for source in storage.list_sources():
        assert source.state.last_fetched_at is not None
        assert abs(source.state.last_fetched_at - now) < timedelta(minutes=5)
        assert source.state.next_fetch_at is not None and source.state.next_fetch_at < now + timedelta(hours=2)
    storage.close()
    ahead_log, behind_log = (tmp_path / "ahead.log").read_text(), (tmp_path / "behind.log").read_text()
    # said once (not every tick), with the size of the skew
    assert ahead_log.count("this clock is 10800") == 1 and behind_log.count("this clock is -600") == 1
    # Which worker fetches what is up to the scheduler; usually both take a share. Either way both
    # kept ticking after the pass (the sleep above) with their skewed clocks and fetched nothing
    # again (the hits above), which is what a worker trusting its own clock would not do.
    assert "new articles" in ahead_log or "new articles" in behind_log
