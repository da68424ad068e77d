"""Story assignment stays index-only as the archive grows: every statement that putting one new
article into a story runs (dedupe lookups, the generation check, the assignment's writes, the
window rebuild) and the sweep for articles in no story is checked with EXPLAIN QUERY PLAN, as in
test_query_plans.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_query_plans import assert_indexed, plans

from newsdesk.models import NewArticle, NewSource
from newsdesk.services import stories as story_service
from newsdesk.storage.sql import SqlStorage

NOW = datetime.now(UTC)
TEXT = ("De haven van Rotterdam groeit weer, meldt het havenbedrijf. Er kwamen meer containers binnen "
        "dan vorig jaar, vooral uit Azie. De gemeente wil de kades verlengen en de vakbond vraagt om "
        "meer personeel voor de nachtploeg. Artikel {n} over schepen, kranen en de sluizen van de haven.")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStorage]:
    path: Path = tmp_path_factory.mktemp("storyplans") / "n.sqlite"
    storage = SqlStorage(f"sqlite:///{path}")
    storage.migrate()
    for s in range(20):
        storage.add_source(NewSource(url=f"http://s{s}.example/feed", title=f"S{s}"), NOW)
    for n in range(1500):  # the archive: older than the window, in no story
        storage.add_article(NewArticle(source_id=1 + n % 20, url=f"http://s{n % 20}.example/old/{n}",
                                       title=f"Haven nieuws {n}", text=TEXT.format(n=n), language="nl",
                                       fetched_at=NOW - timedelta(days=10, minutes=n)))
    story_service.forget_engines()
    for n in range(40):  # the window
        article_id = storage.add_article(NewArticle(
            source_id=1 + n % 20, url=f"http://s{n % 20}.example/new/{n}", title=f"Haven van Rotterdam groeit {n}",
            text=TEXT.format(n=n), language="nl", fetched_at=NOW - timedelta(hours=n)))
        assert article_id is not None
        story_service.assign_article(storage, article_id)
    with storage._write() as conn:
        conn.exec_driver_sql("ANALYZE")
    yield storage
    storage.close()


def _new(storage: SqlStorage, n: int) -> int:
    article_id = storage.add_article(NewArticle(
        source_id=3, url=f"http://s3.example/stream/{n}", title=f"Rotterdamse haven groeit verder {n}",
        text=TEXT.format(n=1000 + n), language="nl", fetched_at=datetime.now(UTC)))
    assert article_id is not None
    return article_id


def test_assigning_an_article_uses_indexes(archive: SqlStorage) -> None:
    article_id = _new(archive, 1)
    assert_indexed(archive, lambda: story_service.assign_article(archive, article_id))
    assert archive.story_of_article(article_id) is not None


def test_rebuilding_the_window_uses_indexes(archive: SqlStorage) -> None:
    article_id = _new(archive, 2)
    story_service.forget_engines()
    found = plans(archive, lambda: story_service.assign_article(archive, article_id))
    assert any("ix_story_articles_assigned_at" in line for _, plan in found for line in plan)
    assert_indexed(archive, lambda: story_service.rebuild_window(archive))


def test_sweep_for_articles_in_no_story_uses_indexes(archive: SqlStorage) -> None:
    since = datetime.now(UTC) - timedelta(days=3)
    found = plans(archive, lambda: archive.unassigned_articles(since, 500))
    assert any("ix_articles_fetched_at" in line for _, plan in found for line in plan)
    assert_indexed(archive, lambda: archive.unassigned_articles(since, 500))
