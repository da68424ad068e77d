"""Per-site extraction profiles and the operator's overrides.

Revision ID: 0006_site_profiles
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_site_profiles"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "site_profiles",
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("profile_json", sa.Text),
        sa.Column("learned_at", sa.DateTime(timezone=True)),
        sa.Column("override_json", sa.Text),
        sa.PrimaryKeyConstraint("host", name="pk_site_profiles"),
    )


def downgrade() -> None:
    op.drop_table("site_profiles")
