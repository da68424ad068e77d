"""Initial schema: sources, articles, raw pages, and full-text search per dialect.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Migrations are append-only: this file is a frozen snapshot, so it spells the tables out instead of
importing storage/schema.py (which describes the latest state).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("site_url", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_fetched_at", _TIME),
        sa.Column("last_success_at", _TIME),
        sa.Column("next_fetch_at", _TIME),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_kind", sa.String(64)),
        sa.Column("interval_seconds", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
        sa.UniqueConstraint("url", name="uq_sources_url"),
    )
    op.create_index("ix_sources_next_fetch_at", "sources", ["next_fetch_at"])

    article_columns: list[sa.Column[object]] = [
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("source_id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.Text),
        sa.Column("guid", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("published_at", _TIME),
        sa.Column("fetched_at", _TIME, nullable=False),
        sa.Column("sort_at", _TIME, nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("image_url", sa.Text),
        sa.Column("image_caption", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
    ]
    if dialect == "postgresql":
        # Weighted lexemes (title 'A', body 'B') in the article's own language; written by
        # storage/postgres.py in the same INSERT as the article.
        article_columns.append(sa.Column("search", postgresql.TSVECTOR))
    op.create_table(
        "articles",
        *article_columns,
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("url", name="uq_articles_url"),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_articles_source_id_sources", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_articles_sort_at_id", "articles", ["sort_at", "id"])
    op.create_index("ix_articles_source_id_sort_at_id", "articles", ["source_id", "sort_at", "id"])
    op.create_index("ix_articles_canonical_url", "articles", ["canonical_url"])

    op.create_table(
        "pages",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("html_zlib", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("article_id", name="pk_pages"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_pages_article_id_articles", ondelete="CASCADE"
        ),
    )

    if dialect == "postgresql":
        op.create_index("ix_articles_search", "articles", ["search"], postgresql_using="gin")
    elif dialect == "sqlite":
        # Pre-stemmed terms (newsdesk.stemming), rowid = articles.id. unicode61 folds case and
        # diacritics the same way at index and query time; stemming already happened in Python.
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        # Any deletion of an article (including the cascade from its source) drops its search
        # row in the same transaction, whatever code path deleted it.
        op.execute(
            "CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN "
            "DELETE FROM article_search WHERE rowid = old.id; END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS articles_search_delete")
        op.execute("DROP TABLE IF EXISTS article_search")
    op.drop_table("pages")
    op.drop_table("articles")
    op.drop_table("sources")
