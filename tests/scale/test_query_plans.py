"""The hot paths stay index-only as the archive grows: every statement a reader page or the worker
runs is checked with EXPLAIN QUERY PLAN (SQLite) for full scans and sorts in temporary B-trees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from newsdesk.models import ArticleCursor, NewArticle, NewSource
from newsdesk.services.stories import story_entities, story_page
from newsdesk.storage.base import ArticleFilter
from newsdesk.storage.sql import SqlStorage
from newsdesk.stories.records import HOW_CLUSTER, HOW_NEW, AssignmentRecord

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStorage]:
    path: Path = tmp_path_factory.mktemp("plans") / "n.sqlite"
    storage = SqlStorage(f"sqlite:///{path}")
    storage.migrate()
    for s in range(20):
        storage.add_source(NewSource(url=f"http://s{s}.example/feed", title=f"S{s}"), NOW)
    for n in range(1500):
        storage.add_article(NewArticle(source_id=1 + n % 20, url=f"http://s{n % 20}.example/{n}",
                                       title=f"Haven nieuws {n}", text="De haven van Rotterdam groeit.",
                                       fetched_at=NOW - timedelta(minutes=n), language="nl"))
    # stories of 5 articles each over the newest 100 (as the clusterer records them)
    story_id = None
    for n in range(1, 101):
        new_story = n % 5 == 1
        _, story_id = storage.record_assignment(AssignmentRecord(
            n, None if new_story else story_id, f"Haven nieuws {n}", NOW - timedelta(minutes=n),
            HOW_NEW if new_story else HOW_CLUSTER, canonical_url=f"https://s.example/{n}",
            entities=(("haven", "Haven", "LOC", 1), (f"e{n}", f"E{n}", "ORG", 1))), storage.story_generation())
    with storage._write() as conn:
        conn.exec_driver_sql("ANALYZE")
    yield storage
    storage.close()


def plans(storage: SqlStorage, call: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """The query plan of every statement `call` runs."""
    seen: list[tuple[str, Any]] = []
    engine = storage._backend.engine

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE")):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    out = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            out.append((statement, [str(r[-1]) for r in rows]))
    return out


def assert_indexed(storage: SqlStorage, call: Callable[[], Any]) -> None:
    for statement, plan in plans(storage, call):
        # A SCAN through an index in its order, stopped by LIMIT, reads only the rows it returns;
        # a SCAN of the table itself, or a sort of the whole result, grows with the archive.
        bad = [line for line in plan if (line.startswith("SCAN ") and "USING" not in line
                                         and "VIRTUAL TABLE" not in line and "CONSTANT" not in line)
               or "TEMP B-TREE FOR ORDER BY" in line]
        assert not bad, f"{bad} in the plan of {statement}"


CURSOR = ArticleCursor(NOW - timedelta(minutes=700), 700)


@pytest.mark.parametrize("name,call", [
    ("home page", lambda s: s.list_articles(limit=50)),
    ("next page", lambda s: s.list_articles(before=CURSOR, limit=50)),
    ("previous page / Previous link", lambda s: s.list_articles(after=CURSOR, limit=1)),
    ("source page", lambda s: s.list_articles(ArticleFilter(source_id=3), limit=50)),
    ("source page, next", lambda s: s.list_articles(ArticleFilter(source_id=3), before=CURSOR, limit=50)),
    ("article page", lambda s: s.get_article(700)),
    ("raw page", lambda s: s.get_raw_html(700)),
    ("known URLs", lambda s: s.unknown_urls([f"http://s1.example/{n}" for n in range(50)])),
    ("due sources", lambda s: s.due_sources(NOW, limit=10)),
    ("re-extraction walk", lambda s: s.article_ids_with_pages(100, 200)),
])
def test_hot_path_uses_indexes(archive: SqlStorage, name: str, call: Callable[[SqlStorage], Any]) -> None:
    assert_indexed(archive, lambda: call(archive))


def test_search_goes_through_the_full_text_index(archive: SqlStorage) -> None:
    found = plans(archive, lambda: archive.search_articles("haven", limit=20))
    assert any("VIRTUAL TABLE INDEX" in line for _, plan in found for line in plan)
    assert not [line for _, plan in found for line in plan if line.startswith("SCAN articles")]


def test_search_ranks_and_counts_a_bounded_set(archive: SqlStorage) -> None:
    # "haven" is in every article: ranking reads the newest SEARCH_CANDIDATES rowids from the FTS
    # index (ORDER BY rowid DESC LIMIT), and the count stops at SEARCH_COUNT_LIMIT + 1
    for call in (lambda: archive.search_articles("haven", limit=20), lambda: archive.count_search("haven"),
                 lambda: archive.search_articles("haven", limit=20, offset=40)):
        found = plans(archive, call)
        lines = [line for _, plan in found for line in plan]
        assert any("VIRTUAL TABLE INDEX" in line for line in lines)
        assert not [line for line in lines if line.startswith("SCAN articles") or line.startswith("SCAN sources")]
    statements = [statement for statement, _ in plans(archive, lambda: archive.search_articles("haven"))]
    assert any("ORDER BY article_search.rowid DESC" in s and "LIMIT" in s for s in statements)
    count = [statement for statement, _ in plans(archive, lambda: archive.count_search("haven"))]
    assert any("LIMIT" in s for s in count)


def test_story_page_reads_only_its_story(archive: SqlStorage) -> None:
    member = archive.story_of_article(7)
    assert member is not None

    def page() -> None:  # what GET /stories/{id} reads (web/stories.py)
        story_entities(archive, story_page(archive, member.story_id))

    for statement, plan in plans(archive, page):
        # sorting one story's members (bounded by its size) is fine; scanning a table is not
        bad = [line for line in plan if line.startswith("SCAN ") and "USING" not in line
               and "CONSTANT" not in line]
        assert not bad, f"{bad} in the plan of {statement}"
