"""Stories with several workers: two processes assigning articles of one event at the same time
open one story, not two (the generation check of storage.record_assignment), and a worker killed
with -9 while its in-memory story queue holds articles loses none of them: the next worker's sweep
(services.stories.sweep_unassigned) assigns them, each exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from farm import ROOT, Farm, start_worker, stop_workers, wait_until_collected

from newsdesk.models import NewArticle, NewSource
from newsdesk.services import stories as story_service
from newsdesk.storage.schema import articles
from newsdesk.storage.sql import SqlStorage
from newsdesk.storage.stories import stories, story_articles

EVENT = [
    "Dock workers strike shuts the port of Rotterdam",
    "Port of Rotterdam shut as dock workers strike over pay",
    "Rotterdam dock workers strike: container ships wait outside the port",
    "Strike by dock workers halts the port of Rotterdam for a second day",
    "Dock workers in Rotterdam extend port strike",
    "Port of Rotterdam: dock workers strike, ships diverted to Antwerp",
]
BODY = ("Dock workers at the port of Rotterdam stopped work on Monday in a dispute over pay, the union "
        "said. Container ships waited outside the harbour and some were sent to Antwerp. The port "
        "authority said talks with the union would resume on Tuesday. Outlet {n} reports that the "
        "strike is the longest at the port in twenty years, and that shippers warned of delays.")

# Each child process assigns its share of the articles as soon as both are ready.
RACER = """
import sys, time
from pathlib import Path
from newsdesk.services.stories import assign_article
from newsdesk.storage.sql import SqlStorage
url, go, ids = sys.argv[1], Path(sys.argv[2]), [int(a) for a in sys.argv[3:]]
storage = SqlStorage(url)
storage.story_generation()
while not go.exists():
    time.sleep(0.005)
for article_id in ids:
    assign_article(storage, article_id)
storage.close()
"""


def _event_articles(storage: SqlStorage, outlets: range = range(len(EVENT))) -> list[int]:
    now = datetime.now(UTC)
    ids = []
    for n in outlets:
        title = EVENT[n]
        source = storage.add_source(NewSource(url=f"https://outlet{n}.example/feed", title=f"Outlet {n}"), now).id
        article_id = storage.add_article(NewArticle(
            source_id=source, url=f"https://outlet{n}.example/strike", title=title, language="en",
            fetched_at=now + timedelta(seconds=n), published_at=now + timedelta(seconds=n),
            text=BODY.format(n=n)))
        assert article_id is not None
        ids.append(article_id)
    return ids


def test_two_processes_racing_on_one_event_open_one_story(db_url: str, tmp_path: Path) -> None:
    storage = SqlStorage(db_url)
    storage.migrate()
    try:
        ids = _event_articles(storage)
        go = tmp_path / "go"
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
        racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url, str(go), *map(str, ids[n::2])], env=env)
                  for n in range(2)]
        time.sleep(1.5)  # both have connected and wait
        go.touch()
        assert [r.wait(120) for r in racers] == [0, 0]
        members = {storage.story_of_article(a).story_id for a in ids}  # type: ignore[union-attr]
        assert len(members) == 1, f"one event, {len(members)} stories"
        with storage._read() as conn:
            live = conn.execute(sa.select(sa.func.count()).select_from(stories)
                                .where(stories.c.merged_into.is_(None), stories.c.size > 0)).scalar_one()
        assert live == 1
    finally:
        storage.close()


def test_sweep_assigns_what_is_in_no_story_once(storage: SqlStorage) -> None:
    ids = _event_articles(storage)
    old = storage.add_article(NewArticle(
        source_id=1, url="https://outlet0.example/old", title="Old news", language="en",
        fetched_at=datetime.now(UTC) - timedelta(days=30), text="An old article, outside the window."))
    story_service.forget_engines()
    assert storage.unassigned_articles(datetime.now(UTC) - timedelta(days=3), 100) == ids
    assert story_service.sweep_unassigned(storage) == len(ids)
    assert story_service.sweep_unassigned(storage) == 0  # idempotent
    assert storage.unassigned_articles(datetime.now(UTC) - timedelta(days=3), 100) == []
    assert storage.story_of_article(old) is None  # outside the window: left alone
    assert len({storage.story_of_article(a).story_id for a in ids}) == 1  # type: ignore[union-attr]


def test_story_lease_is_held_by_one_worker(storage: SqlStorage) -> None:
    now = datetime.now(UTC)
    assert storage.take_story_lease("a", now, 10)
    assert storage.take_story_lease("a", now + timedelta(seconds=5), 10)  # renewed
    assert not storage.take_story_lease("b", now + timedelta(seconds=14), 10)
    assert storage.take_story_lease("b", now + timedelta(seconds=16), 10)  # a's ran out
    storage.release_story_lease("a")  # not a's any more: nothing changes
    assert not storage.take_story_lease("a", now + timedelta(seconds=17), 10)
    storage.release_story_lease("b")
    assert storage.take_story_lease("a", now + timedelta(seconds=17), 10)


def _unassigned(storage: SqlStorage) -> int:
    with storage._read() as conn:
        return int(conn.execute(
            sa.select(sa.func.count()).select_from(articles.outerjoin(
                story_articles, story_articles.c.article_id == articles.c.id))
            .where(story_articles.c.article_id.is_(None))).scalar_one())


@pytest.mark.slow
def test_worker_killed_with_a_full_story_queue_loses_no_assignment(db_url: str, tmp_path: Path) -> None:
    # 500 articles: stored in bursts (a feed's pages at once) faster than they are clustered one by one
    farm = Farm([f"127.0.0.{n}" for n in range(11, 21)], feeds_per_host=10, articles_per_feed=5)
    storage = SqlStorage(db_url)
    storage.migrate()
    workers = []
    try:
        farm.add_sources(storage)
        victim = start_worker(db_url, tmp_path / "victim.log", lease_seconds=3, lease_batch=20, per_host=4)
        workers.append(victim)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _unassigned(storage) < 3:
            time.sleep(0.005)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        held = _unassigned(storage)
        assert held >= 1, "the victim's story queue was not holding articles when it was killed"
        workers.append(start_worker(db_url, tmp_path / "next.log", lease_seconds=3, lease_batch=20, per_host=4))
        wait_until_collected(storage, farm, timeout=150)
        deadline = time.monotonic() + 150
        while _unassigned(storage) and time.monotonic() < deadline:
            time.sleep(0.2)
        with storage._read() as conn:
            rows = conn.execute(sa.select(story_articles.c.article_id)).scalars().all()
            urls = conn.execute(sa.select(articles.c.url)).scalars().all()
    finally:
        stop_workers(workers)
        farm.close()
        storage.close()
    assert sorted(urls) == sorted(farm.article_urls)  # no article lost or stored twice
    assert sorted(rows) == sorted(set(rows)) and len(rows) == len(urls)  # each in exactly one story
    assert "story sweep" in (tmp_path / "next.log").read_text()


def test_only_the_lease_holder_assigns_and_its_sweep_takes_the_others_articles(storage: SqlStorage) -> None:
    from newsdesk.services.storyqueue import StoryAssigner

    story_service.forget_engines()
    holder = StoryAssigner(storage, worker_id="holder", lease_seconds=60, sweep_seconds=3600)
    other = StoryAssigner(SqlStorage(storage.url), worker_id="other", lease_seconds=60, sweep_seconds=3600)
    try:
        assert holder.holds_lease() and not other.holds_lease()
        ids = _event_articles(storage, range(3))
        for article_id in ids:
            holder.submit(article_id)
        holder.wait()
        ids += _event_articles(storage, range(3, 6))
        for article_id in ids[3:]:
            other.submit(article_id)
        other.wait()
        assert [storage.story_of_article(a) is not None for a in ids] == [True] * 3 + [False] * 3
        assert other.sweep() == 0  # not its turn
        assert holder.sweep() == 3
        assert len({storage.story_of_article(a).story_id for a in ids}) == 1  # type: ignore[union-attr]
    finally:
        other.close()
        other.storage.close()
        holder.close()
    # a clean stop hands the lease on at once
    assert StoryAssigner(storage, worker_id="next").holds_lease()
