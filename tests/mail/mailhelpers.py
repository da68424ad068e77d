"""Small builders shared by the mail tests."""

from __future__ import annotations

from datetime import UTC, datetime

from newsdesk.models import DigestArticle


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def article(i: int, story: int | None, source: str, minute: int, title: str | None = None,
            url: str | None = None, summary: str | None = "Een samenvatting.") -> DigestArticle:
    return DigestArticle(
        id=i, story_id=story, title=title or f"Artikel {i}", url=url or f"https://{source.lower()}.example/a/{i}",
        reader_url=f"https://news.example/articles/{i}", source_title=source,
        published=utc(2026, 1, 20, 6, minute), summary=summary)
