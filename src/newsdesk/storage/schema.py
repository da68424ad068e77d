"""The tables, as SQLAlchemy Core objects shared by both backends.

This is the schema the code queries; the migrations in migrations/versions create it (and the
per-dialect search structures, which are not here: an FTS5 table on SQLite, a tsvector column on
PostgreSQL). A test compares the migrated database with these tables, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["ArticleRow", "UTCDateTime", "articles", "metadata", "pages", "sources"]


class ArticleRow(NamedTuple):
    """What a backend inserts for one article: its row, and the title and body search indexes."""

    values: dict[str, Any]
    title: str
    body: str
    language: str | None


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL stores timestamptz and hands back the session's zone; SQLite has no time zone at
    all, so it gets naive UTC in a fixed-width text format (which also sorts chronologically).
    A naive datetime is refused: its zone would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; newsdesk stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fallback = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            # SQLite's text is naive UTC: one fromisoformat with the zone appended is several times
            # cheaper than the generic parse followed by replace(tzinfo=...), and a page of entries
            # has four times per row (one of them, the state's change time, mostly NULL).
            if value is None:
                return None
            if isinstance(value, str):
                try:
                    return datetime.fromisoformat(value + "+00:00")
                except ValueError:
                    pass
            return fallback(value) if fallback is not None else self.process_result_value(value, dialect)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Named constraints keep migrations deterministic across backends.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("site_url", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # FetchState, flattened: the scheduler reads and writes it on every poll.
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_fetched_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("next_fetch_at", UTCDateTime),
    sa.Column("error_count", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_kind", sa.String(64)),
    sa.Column("interval_seconds", sa.Integer),
    # Which worker holds the source, and until when (storage/leases.py; added by migration 0005_scale).
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
    # due_sources: "next_fetch_at is null or <= now", the most overdue first.
    sa.Index(None, "next_fetch_at"),
    # a worker's heartbeat and release find its leases without scanning every source
    sa.Index(None, "lease_owner"),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("canonical_url", sa.Text),
    sa.Column("guid", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("author", sa.Text),
    sa.Column("published_at", UTCDateTime),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    # What listings order by: published_at when plausible, else fetched_at (see sql._sort_at).
    sa.Column("sort_at", UTCDateTime, nullable=False),
    sa.Column("language", sa.String(16)),
    sa.Column("image_url", sa.Text),
    sa.Column("image_caption", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    # article metadata beyond the first schema (migration 0008)
    sa.Column("updated_at", UTCDateTime),
    sa.Column("section", sa.Text),
    sa.Column("image_credit", sa.Text),
    # Keyset paging: the home page walks (sort_at, id), a source page (source_id, sort_at, id).
    # The latter also serves the foreign key (cascade deletes) and per-source counts.
    sa.Index(None, "sort_at", "id"),
    sa.Index(None, "source_id", "sort_at", "id"),
    # unknown_urls matches canonical URLs as well as URLs.
    sa.Index(None, "canonical_url"),
    # digests select the articles stored in a period (migration 0007)
    sa.Index(None, "fetched_at"),
)

pages = sa.Table(
    "pages",
    metadata,
    sa.Column(
        "article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    # The page as fetched, zlib-compressed (HTML shrinks ~5x): kept so that a better extractor can
    # re-extract old articles without fetching them again. In its own table so that listings and
    # article reads never drag it along.
    sa.Column("html_zlib", sa.LargeBinary, nullable=False),
)
