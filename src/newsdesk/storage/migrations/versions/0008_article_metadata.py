"""Article metadata beyond the first schema: update time, section and the lead image's credit.

Revision ID: 0008_article_metadata
Revises: 0001

All three are nullable: articles stored before this migration simply do not have them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_article_metadata"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both dialects: no table rebuild of the biggest table.
    op.add_column("articles", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("articles", sa.Column("section", sa.Text, nullable=True))
    op.add_column("articles", sa.Column("image_credit", sa.Text, nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops unindexed columns in place, as PostgreSQL does.
    op.drop_column("articles", "image_credit")
    op.drop_column("articles", "section")
    op.drop_column("articles", "updated_at")
