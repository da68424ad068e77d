"""Users, API keys, and per-user article state (read, starred, labels).

Revision ID: 0002_users
Revises: 0001
Create Date: 2026-11-27

A branch off 0001 (migrate() upgrades to all heads). Frozen: spells the tables out rather than
importing storage/users.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_users"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_used_at", _TIME),
        sa.Column("revoked_at", _TIME),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_keys_user_id_users", ondelete="CASCADE"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "article_states",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
        sa.Column("starred", sa.Boolean, nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "article_id", name="pk_article_states"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_article_states_user_id_users",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="fk_article_states_article_id_articles",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_article_states_article_id", "article_states", ["article_id"])
    op.create_table(
        "article_labels",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("article_id", sa.Integer, nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "article_id", "label", name="pk_article_labels"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_article_labels_user_id_users",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="fk_article_labels_article_id_articles",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_article_labels_article_id", "article_labels", ["article_id"])
    op.create_index("ix_article_labels_user_id_label", "article_labels", ["user_id", "label"])


def downgrade() -> None:
    op.drop_table("article_labels")
    op.drop_table("article_states")
    op.drop_table("api_keys")
    op.drop_table("users")
