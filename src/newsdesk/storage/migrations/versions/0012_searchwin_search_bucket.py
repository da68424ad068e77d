"""PostgreSQL: the search index holds each article's id bucket (id >> 10) instead of its id, so
that a wide window of newest ids is a few GIN entries instead of one per id.

storage/postgres.py looks for a query's newest matches among the newest ids first
(SEARCH_WINDOWS). Migration 0011 put the id into the GIN index as a second key (btree_gin), and a
window became a range of that key; but GIN reads a range entry by entry into a bitmap before it
intersects it with the word, and with one entry per id a 250,000-id window (a Dutch word after
weeks of mostly English articles at 1M) cost 34-77 ms in entries alone. With 1,024 ids per entry
the same window is ~250 entries. A window's bound becomes a bucket boundary, which keeps it "every
id above a bound", all the search needs (SEARCH_BUCKET_BITS there must equal the shift here).
The new index replaces 0011's: a query without a window uses it as it used that one.
SQLite: nothing (FTS5 walks a match in rowid order already).

Rebuilding the GIN index reads every article: 3-5 minutes for the 1M archive on a shared 2-core
machine.

Revision ID: 0012_searchwin_search_bucket
Revises: 0011_pgpages_search_id
"""

from __future__ import annotations

from alembic import op

revision: str = "0012_searchwin_search_bucket"
# after 0011, not beside it on "0001": it replaces the index 0011 makes
down_revision: str | None = "0011_pgpages_search_id"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # IF NOT EXISTS: bench/archive.py builds the index it finds in pg_indexes (a deferred load)
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search_bucket ON articles USING gin (search, (id >> 10))")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search_id ON articles USING gin (search, id)")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_bucket")
