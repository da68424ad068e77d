"""Stories at scale: one story assigner at a time among several workers.

Revision ID: 0009_storyscale
Revises: 0001
Create Date: 2026-11-27

A branch of its own off 0001 (see SqlStorage.migrate: upgrades go to "heads"). `story_assigner`
holds one row: the worker that assigns stories now and until when (a lease, storage/stories.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_storyscale"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "story_assigner",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("lease_until", _TIME),
        sa.PrimaryKeyConstraint("id", name="pk_story_assigner"),
    )


def downgrade() -> None:
    op.drop_table("story_assigner")
