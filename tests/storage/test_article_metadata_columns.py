"""updated_at, section and image_credit round-trip on SQLite and PostgreSQL (migration 0008)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from newsdesk.models import NewArticle, NewSource
from newsdesk.storage.sql import SqlStorage

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


def test_new_metadata_round_trips(storage: SqlStorage) -> None:
    source = storage.add_source(NewSource(url="https://krant.example/feed"), NOW)
    cet = timezone(timedelta(hours=1))
    with_all = storage.add_article(NewArticle(
        source_id=source.id, url="https://krant.example/a/1", title="Een", fetched_at=NOW,
        published_at=NOW - timedelta(hours=3), updated_at=datetime(2026, 1, 20, 11, 30, tzinfo=cet),
        section="Binnenland\x00", image_credit="Jan de Vries/ANP", text="Tekst.", html="<p>Tekst.</p>"))
    without = storage.add_article(NewArticle(
        source_id=source.id, url="https://krant.example/a/2", title="Twee", fetched_at=NOW))
    assert with_all is not None and without is not None
    article = storage.get_article(with_all)
    assert article.updated_at == datetime(2026, 1, 20, 10, 30, tzinfo=UTC)
    assert article.updated_at.utcoffset() == timedelta(0)
    assert (article.section, article.image_credit) == ("Binnenland", "Jan de Vries/ANP")
    bare = storage.get_article(without)
    assert (bare.updated_at, bare.section, bare.image_credit) == (None, None, None)
