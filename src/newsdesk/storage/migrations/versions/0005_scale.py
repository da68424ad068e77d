"""Scale: source leases for several workers, per-host leases, maintenance checkpoints.

Revision ID: 0005_scale
Revises: 0001
Create Date: 2026-11-27

A branch of its own off 0001 (see SqlStorage.migrate: upgrades go to "heads").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_scale"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Nullable columns: ALTER TABLE ADD COLUMN on both backends, no table rewrite.
    op.add_column("sources", sa.Column("lease_owner", sa.Text))
    op.add_column("sources", sa.Column("lease_until", _TIME))
    op.create_index("ix_sources_lease_owner", "sources", ["lease_owner"])
    op.create_table(
        "host_leases",
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("lease_until", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("host", name="pk_host_leases"),
    )
    op.create_table(
        "maintenance_checkpoints",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_maintenance_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_checkpoints")
    op.drop_table("host_leases")
    op.drop_index("ix_sources_lease_owner", table_name="sources")
    op.drop_column("sources", "lease_until")
    op.drop_column("sources", "lease_owner")
