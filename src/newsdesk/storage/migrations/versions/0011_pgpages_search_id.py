"""PostgreSQL: the search index also holds each article's id bucket (id >> 10), so a search among
the newest ids intersects the two inside one GIN scan.

storage/postgres.py looks for a query's newest matches among the newest ids first
(SEARCH_WINDOWS). Over a GIN index of the search vector alone, that scan built the bitmap of every
match of the word before the id range was ANDed with it: 171,894 matches for "government" at
1,000,000 articles, paid on every search page. With a second key in the same GIN index (the
btree_gin extension gives GIN an operator class for integers), the scan walks the word's posting
tree only from the window's first row on. The key is the id's bucket of 1,024 ids, not the id: GIN
reads a range entry by entry into a bitmap before it intersects it with the word, and with one
entry per id a 250,000-id window cost 34-77 ms in entries alone (~250 entries now). A window's
bound becomes a bucket boundary, which keeps it "every id above a bound", all the search needs
(SEARCH_BUCKET_BITS in storage/postgres.py must equal the shift here). The index replaces the
search-only one: a query without a window uses it as it used that one. SQLite: nothing (FTS5 walks
a match in rowid order already).

btree_gin ships with PostgreSQL's contrib (Debian: postgresql-15 itself) and is a trusted
extension: a user with CREATE on the database may create it, no superuser needed. It goes into a
schema of its own, not the tables' one: an extension belongs to one schema and is dropped with it,
and the index (in whatever schema the tables are) depends on its operator class. Two newsdesk
databases in two schemas of one PostgreSQL database (the tests' per-test schemas, say) would
otherwise share one extension that the first schema dropped took away from the other ("referenced
operator class was concurrently dropped"). GIN finds the default operator class of a type in any
schema, so the schema need not be on the search path.

Rebuilding the GIN index reads every article: 3-5 minutes for the 1M archive on a shared 2-core
machine. (A first version of this migration indexed (search, id); it never shipped, and the
branch that measured the bucket folded its own migration into this one, so the index is built once.)

Revision ID: 0011_pgpages_search_id
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0011_pgpages_search_id"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

#: where btree_gin lives (see the docstring)
EXTENSION_SCHEMA = "newsdesk_extensions"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {EXTENSION_SCHEMA}")
    op.execute(f"CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA {EXTENSION_SCHEMA}")
    # IF NOT EXISTS: bench/archive.py builds the index it finds in pg_indexes (a deferred load)
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search_bucket ON articles USING gin (search, (id >> 10))")
    op.execute("DROP INDEX IF EXISTS ix_articles_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search ON articles USING gin (search)")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_bucket")
