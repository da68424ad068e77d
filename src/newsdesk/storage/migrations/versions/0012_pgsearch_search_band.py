"""PostgreSQL: the search index's id key in bands of 8,192 ids (id >> 13) instead of 1,024.

storage/postgres.py now walks down the id bands, newest first, one GIN scan of the word per band,
until it has the newest 1,001 matches (SEARCH_BUCKET_BITS there must equal the shift here). A band
whose scan finds nothing still costs its look-up (~0.08 ms at 1.31M articles), and a word with
fewer than 1,001 matches walks every band of the archive: 1,280 bands of 1,024 ids there, 160 of
8,192. Wider bands visit more matches that are not needed in the last band (at most a band's
worth: ~1,400 for a word in 17 % of the articles), which is why not wider still.

gin_pending_list_limit = 128 kB (PostgreSQL's default is 4 MB): every GIN scan reads the whole
pending list of entries not yet merged into the index, and the walk makes one scan per band. Under
the benchmark's ingest (bench/archive.py --append) the default list made "kabinet", whose newest
matches lie ~40 bands down, cost 161-234 ms instead of 30; with 128 kB 32-60 ms. The inserting
transaction merges the list each time it outgrows the limit: more often, in smaller batches. That
ingest stored 152 articles/s against 222 with 4 MB and 127-132 with no list at all (fastupdate
off), 20 s each on a shared machine (load 3), with this index the only GIN one.

Rebuilding the GIN index reads every article: 5-6 minutes for the 1.3M archive on a shared 2-core
machine (btree_gin is 0011's). The old index goes once the new one is built.

Revision ID: 0012_pgsearch_search_band
Revises: 0011_pgpages_search_id
"""

from __future__ import annotations

from alembic import op

revision: str = "0012_pgsearch_search_band"
down_revision: str | None = "0011_pgpages_search_id"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # IF NOT EXISTS: bench/archive.py builds the index it finds in pg_indexes (a deferred load)
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search_band ON articles USING gin (search, (id >> 13))"
               " WITH (gin_pending_list_limit = 128)")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_bucket")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_articles_search_bucket ON articles USING gin (search, (id >> 10))")
    op.execute("DROP INDEX IF EXISTS ix_articles_search_band")
