"""Stories: stories and their articles, dedupe fingerprints, entities, topics, operator overrides.

Revision ID: 0004_stories
Revises: 0001
Create Date: 2026-11-27

A frozen snapshot like 0001: the tables are spelled out, not imported from storage/stories.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_stories"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_seen", _TIME, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("merged_into", sa.Integer),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_index("ix_stories_last_seen_id", "stories", ["last_seen", "id"])
    op.create_table(
        "story_articles",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("shared_entities", sa.Text, nullable=False),
        sa.Column("shared_terms", sa.Text, nullable=False),
        sa.Column("duplicate_of", sa.Integer),
        sa.Column("duplicate_how", sa.String(16)),
        sa.Column("assigned_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("article_id", name="pk_story_articles"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE",
                                name="fk_story_articles_article_id_articles"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE",
                                name="fk_story_articles_story_id_stories"),
    )
    op.create_index("ix_story_articles_story_id", "story_articles", ["story_id"])
    op.create_index("ix_story_articles_assigned_at", "story_articles", ["assigned_at"])
    op.create_table(
        "article_fingerprints",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("canonical_url", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.PrimaryKeyConstraint("article_id", name="pk_article_fingerprints"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE",
                                name="fk_article_fingerprints_article_id_articles"),
    )
    op.create_index("ix_article_fingerprints_canonical_url", "article_fingerprints", ["canonical_url"])
    op.create_index("ix_article_fingerprints_content_hash", "article_fingerprints", ["content_hash"])
    op.create_table(
        "entities",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entities"),
        sa.UniqueConstraint("key", name="uq_entities_key"),
    )
    op.create_table(
        "article_entities",
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("entity_id", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "entity_id", name="pk_article_entities"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE",
                                name="fk_article_entities_article_id_articles"),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"], ondelete="CASCADE",
                                name="fk_article_entities_entity_id_entities"),
    )
    op.create_index("ix_article_entities_entity_id_article_id", "article_entities", ["entity_id", "article_id"])
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("slug", sa.String(80), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
        sa.UniqueConstraint("slug", name="uq_topics_slug"),
    )
    op.create_table(
        "story_overrides",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("article_id", sa.Integer),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("target_story_id", sa.Integer),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_overrides"),
    )
    op.create_table(
        "story_state",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_state"),
    )


def downgrade() -> None:
    for table in ("story_state", "story_overrides", "topics", "article_entities", "entities",
                  "article_fingerprints", "story_articles", "stories"):
        op.drop_table(table)
