"""Several web processes: failed logins in the database, and a per-user state version.

Revision ID: 0010_apiscale
Revises: 0001
Depends on: 0002_users
Create Date: 2026-11-27

A branch of its own off 0001 (see SqlStorage.migrate: upgrades go to "heads"). What one web
process kept in memory and several must share:
- `login_failures`: one row per failed login and key (storage/logins.py), so the login rate limits
  count every process's failures;
- `users.state_version`: bumped with every change of the user's read/starred/labels
  (storage/users.py), so a listing total cached in one process is not reused after the user changed
  something through another.
Frozen: spells the table out rather than importing storage/logins.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_apiscale"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = "0002_users"

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_key_failed_at", "login_failures", ["key", "failed_at"])
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"])
    op.add_column("users", sa.Column("state_version", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("state_version")
    op.drop_table("login_failures")
