"""The story thread behind the poll: an article stored while the database blinks still gets its
story, and a failure that waiting does not fix is logged without stopping the thread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.errors import DatabaseUnavailableError, NewsdeskError
from newsdesk.models import NewArticle, NewSource
from newsdesk.services import storyqueue
from newsdesk.services.storyqueue import StoryAssigner
from newsdesk.storage.sql import SqlStorage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEXT = ("The harbour authority said on Tuesday that the new quay would open in the spring, after two years "
        "of work that cost more than planned. Fishermen welcomed the news but asked for more berths.")


class Blinking(SqlStorage):
    """The real SQLite storage, whose story lookups (assignment's first read) fail `failures` times
    first, as they do while PostgreSQL restarts or the disk is full (the driver's OperationalError)."""

    failures = 0
    error: type[NewsdeskError] = DatabaseUnavailableError

    def assignment_lookup(self, article_id: int, canonical_url: str, content_hash: str | None):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise self.error("database error (sqlite): database or disk is full")
        return super().assignment_lookup(article_id, canonical_url, content_hash)


@pytest.fixture
def storage(tmp_path) -> Blinking:  # type: ignore[no-untyped-def]
    opened = Blinking(f"sqlite:///{tmp_path}/n.sqlite")
    opened.migrate()
    return opened


def _article(storage: SqlStorage, n: int) -> int:
    source = storage.find_source("http://quay.example/feed") or storage.add_source(
        NewSource(url="http://quay.example/feed"), NOW)
    [article_id] = storage.add_articles([NewArticle(source_id=source.id, url=f"http://quay.example/{n}",
                                                    title=f"New quay opens, part {n}", fetched_at=NOW,
                                                    text=TEXT, language="en")])
    assert article_id is not None
    return article_id


def test_an_article_waits_for_the_database_and_gets_its_story(storage: Blinking, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(storyqueue, "RETRY_SECONDS", 0.01)
    article_id = _article(storage, 1)
    storage.failures = 3
    assigner = StoryAssigner(storage)
    assigner.submit(article_id)
    assigner.wait()
    assigner.close()
    assert storage.story_of_article(article_id) is not None
    assert caplog.text.count(f"article {article_id} waits for its story, the database is unavailable") == 3


def test_other_failures_are_logged_and_the_thread_goes_on(storage: Blinking, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(storyqueue, "CONFLICT_RETRIES", 1)
    first, second = _article(storage, 1), _article(storage, 2)
    storage.error = NewsdeskError
    storage.failures = 2  # the first article fails twice: more than CONFLICT_RETRIES allows
    assigner = StoryAssigner(storage)
    assigner.submit(first)
    assigner.submit(second)
    assigner.wait()
    assigner.close()
    assert storage.story_of_article(first) is None
    assert f"could not put article {first} into a story" in caplog.text
    assert storage.story_of_article(second) is not None  # the thread lived on
