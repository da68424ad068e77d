"""Several `newsdesk worker` processes share one database: every feed is fetched exactly once per
interval, one host is polled by one worker at a time, and a worker killed with -9 or frozen with
SIGSTOP mid-pass loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from farm import Farm, leased, start_worker, stop_workers, wait_until_collected

from newsdesk.storage.sql import SqlStorage

pytestmark = pytest.mark.slow

#: 20 hosts (loopback addresses) of 10 feeds each: 200 feeds, one article each
HOSTS = [f"127.0.0.{n}" for n in range(11, 31)]


@pytest.fixture
def farm_slow() -> Iterator[Farm]:
    farm = Farm(HOSTS, feeds_per_host=10, delay=0.05)
    yield farm
    farm.close()


def _storage(url: str) -> SqlStorage:
    storage = SqlStorage(url)
    storage.migrate()
    return storage


def _articles(storage: SqlStorage) -> list[str]:
    from newsdesk.storage.base import ArticleFilter

    items, cursor = [], None
    while page := storage.list_articles(ArticleFilter(), before=cursor, limit=1000):
        items.extend(page)
        from newsdesk.models import ArticleCursor

        cursor = ArticleCursor.of(page[-1])
    return [i.url for i in items]


def test_four_workers_fetch_every_feed_exactly_once(db_url: str, farm_slow: Farm, tmp_path: Path) -> None:
    storage = _storage(db_url)
    farm_slow.add_sources(storage)
    workers = [start_worker(db_url, tmp_path / f"w{n}.log") for n in range(4)]
    try:
        wait_until_collected(storage, farm_slow, timeout=120)
    finally:
        stop_workers(workers)
        storage.close()
    assert [farm_slow.hits[u] for u in farm_slow.feed_urls] == [1] * len(farm_slow.feed_urls)
    assert [farm_slow.hits[u] for u in farm_slow.article_urls] == [1] * len(farm_slow.article_urls)
    # per-host politeness across workers: per_host_connections=1 in each worker, and never two at once
    assert max(farm_slow.max_in_flight.values()) == 1
    logs = [(tmp_path / f"w{n}.log").read_text() for n in range(4)]
    working = [log for log in logs if "new articles" in log]
    assert len(working) >= 2, "the pass was not shared between workers"


@pytest.mark.postgres
def test_worker_killed_mid_pass_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    farm = Farm(HOSTS, feeds_per_host=10, delay=0.1)
    storage = _storage(pg_url)
    farm.add_sources(storage)
    workers = [start_worker(pg_url, tmp_path / f"w{n}.log") for n in range(4)]
    victim = workers[0]
    try:
        deadline = time.monotonic() + 60
        while not (held := leased(storage, f"%:{victim.pid}:%")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held, "the victim never leased anything"
        time.sleep(0.3)  # mid-batch: some of its feeds are being fetched
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        orphaned = set(leased(storage, f"%:{victim.pid}:%"))
        wait_until_collected(storage, farm, timeout=120)
    finally:
        stop_workers(workers)
        farm.close()
    urls = _articles(storage)
    storage.close()
    assert sorted(urls) == sorted(farm.article_urls)  # 0 lost, 0 duplicated
    assert all(farm.hits[u] >= 1 for u in farm.feed_urls)
    by_id = {s_url: n for n, s_url in enumerate(farm.feed_urls, start=1)}
    twice = {by_id[u] for u in farm.feed_urls if farm.hits[u] > 1}
    # only feeds the dead worker held were fetched again, after its lease ran out
    assert twice <= orphaned


@pytest.mark.postgres
def test_frozen_worker_is_fenced(pg_url: str, tmp_path: Path) -> None:
    farm = Farm(HOSTS[:4], feeds_per_host=10, delay=0.3)
    storage = _storage(pg_url)
    farm.add_sources(storage)
    frozen = start_worker(pg_url, tmp_path / "frozen.log", lease_seconds=2, lease_batch=10)
    others: list = []
    try:
        deadline = time.monotonic() + 60
        while not leased(storage, f"%:{frozen.pid}:%") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        os.kill(frozen.pid, signal.SIGSTOP)
        others = [start_worker(pg_url, tmp_path / f"w{n}.log", lease_seconds=2) for n in range(2)]
        wait_until_collected(storage, farm, timeout=120)
        os.kill(frozen.pid, signal.SIGCONT)
        time.sleep(3)  # it wakes up, finishes its stale fetches, and must be refused
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
        stop_workers([frozen, *others])
        farm.close()
    urls = _articles(storage)
    sources = storage.list_sources()
    storage.close()
    assert sorted(urls) == sorted(farm.article_urls)
    assert all(s.state.last_success_at is not None and s.state.error_count == 0 for s in sources)
    log = (tmp_path / "frozen.log").read_text()
    assert "lost its lease" in log


@pytest.mark.postgres
def test_workers_on_separate_hosts(pg_url: str, tmp_path: Path) -> None:
    """4 workers: 2 in network namespaces of their own ('hosts', reaching PostgreSQL through a TCP
    forwarder on their veth link, since it listens on 127.0.0.1 only) and 2 on this host. One of
    the namespaced workers is killed with -9 mid-pass."""
    from netns import Forwarder, Hosts, netns_unavailable

    reason = netns_unavailable()
    if reason:
        pytest.skip(f"no network namespaces: {reason}")
    hosts = Hosts(2, farm_addresses=10)
    forwarder = Forwarder(hosts.host_side, ("127.0.0.1", 5432))
    farm = Farm(hosts.farm, feeds_per_host=20, delay=0.05)
    storage = _storage(pg_url)
    workers = []
    try:
        farm.add_sources(storage)
        networks = "10.231.0.0/16"
        for n in range(2):
            remote = pg_url.replace("127.0.0.1:5432", f"{hosts.host_side[n]}:{forwarder.port}")
            workers.append(start_worker(remote, tmp_path / f"ns{n}.log", prefix=hosts.prefix(n), networks=networks))
        workers += [start_worker(pg_url, tmp_path / f"local{n}.log", networks=networks) for n in range(2)]
        victim = workers[0]
        deadline = time.monotonic() + 60
        while not leased(storage, f"%:{victim.pid}:%") and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        orphaned = set(leased(storage, f"%:{victim.pid}:%"))
        wait_until_collected(storage, farm, timeout=150)
        urls = _articles(storage)
    finally:
        stop_workers(workers)
        farm.close()
        forwarder.close()
        hosts.close()
        storage.close()
    assert sorted(urls) == sorted(farm.article_urls)
    by_id = {u: n for n, u in enumerate(farm.feed_urls, start=1)}
    assert {by_id[u] for u in farm.feed_urls if farm.hits[u] > 1} <= orphaned
    assert all(farm.hits[u] >= 1 for u in farm.feed_urls)
    # the namespaced worker that lived did its share, through the forwarder
    assert "new articles" in (tmp_path / "ns1.log").read_text()
