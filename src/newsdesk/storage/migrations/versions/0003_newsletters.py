"""Newsletters: newsletters, subscriptions, the sign-up log, digest runs and digest sends.

Revision ID: 0003_newsletters
Revises: 0001
Create Date: 2026-11-27

A branch of its own off 0001 (migrate() upgrades to all heads). A frozen snapshot: the tables are
spelled out here, not imported from storage/newsletters.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_newsletters"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "newsletters",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("tagline", sa.Text, nullable=False),
        sa.Column("topic_kind", sa.String(16), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.Column("weekday", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_newsletters"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("newsletter_id", sa.Integer, nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("confirmed_at", _TIME),
        sa.Column("unsubscribed_at", _TIME),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("newsletter_id", "address", name="uq_subscriptions_newsletter_id"),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"],
                                name="fk_subscriptions_newsletter_id_newsletters", ondelete="CASCADE"),
    )
    op.create_index("ix_subscriptions_address", "subscriptions", ["address"])
    op.create_table(
        "newsletter_signups",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254)),
        sa.Column("client", sa.String(64)),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_newsletter_signups"),
    )
    op.create_index("ix_newsletter_signups_kind_address_at", "newsletter_signups", ["kind", "address", "at"])
    op.create_index("ix_newsletter_signups_kind_client_at", "newsletter_signups", ["kind", "client", "at"])
    op.create_index("ix_newsletter_signups_at", "newsletter_signups", ["at"])
    op.create_table(
        "digest_runs",
        sa.Column("newsletter_id", sa.Integer, nullable=False),
        sa.Column("period_key", sa.String(32), nullable=False),
        sa.Column("period_start", _TIME, nullable=False),
        sa.Column("period_end", _TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME),
        sa.Column("lock_owner", sa.String(200)),
        sa.Column("lock_until", _TIME),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TIME),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("newsletter_id", "period_key", name="pk_digest_runs"),
        sa.ForeignKeyConstraint(["newsletter_id"], ["newsletters.id"],
                                name="fk_digest_runs_newsletter_id_newsletters", ondelete="CASCADE"),
    )
    op.create_index("ix_digest_runs_newsletter_id_state", "digest_runs", ["newsletter_id", "state"])
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("newsletter_id", sa.Integer, nullable=False),
        sa.Column("period_key", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("message_id", sa.String(255)),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_digest_sends"),
        sa.UniqueConstraint("subscription_id", "period_key", name="uq_digest_sends_subscription_id"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name="fk_digest_sends_subscription_id_subscriptions", ondelete="CASCADE"),
    )
    op.create_index("ix_digest_sends_newsletter_id_period_key", "digest_sends", ["newsletter_id", "period_key"])


def downgrade() -> None:
    for table in ("digest_sends", "digest_runs", "newsletter_signups", "subscriptions", "newsletters"):
        op.drop_table(table)
