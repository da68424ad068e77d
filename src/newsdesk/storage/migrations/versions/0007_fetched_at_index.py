"""Index articles by the time they were stored: digest periods select on it.

Revision ID: 0007_fetched_at_index
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0007_fetched_at_index"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_fetched_at", table_name="articles")
