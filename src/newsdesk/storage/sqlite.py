"""SQLite specifics: connection set-up, the one-writer lock, and FTS5 search over pre-stemmed terms."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from ..errors import StorageError
from ..stemming import query_variants, stem_terms
from .schema import ArticleRow, articles

__all__ = ["SqliteBackend", "match_expression"]

#: seconds SQLite waits for another process's write lock before failing
BUSY_TIMEOUT_MS = 30_000
#: seconds a thread waits for this process's write lock: a bound, not an expected wait
LOCK_TIMEOUT = 60.0
#: the page cache of each connection, in KiB (SQLite's cache_size, negative for KiB)
PAGE_CACHE_KIB = 64 * 1024
#: bm25 column weights: a word in the title counts ten times a word in the body
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0

_PRAGMAS = (
    # First, so that the pragmas below already wait for another process instead of failing.
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    # Readers never block the writer and the writer never blocks readers.
    "PRAGMA journal_mode=WAL",
    # Durable at every checkpoint; a power cut may lose the last transactions, never corrupts.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # The page cache per connection, at most (it grows as pages are read). SQLite's default of 2 MB
    # holds under half of the ~5 MB of pages one 1,000-item GReader contents page reads (bodies spill
    # into overflow pages), so each call read them again from the OS; see docs/benchmarks.md
    # "SQLite page cache".
    f"PRAGMA cache_size=-{PAGE_CACHE_KIB}",
)

# One lock per database file for the whole process, shared by every SqlStorage on that file (the
# web app and the ingest worker may each open one). Writes queue here instead of racing for
# SQLite's lock, so "database is locked" never reaches a caller.
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()

# The execution option that makes the "begin" hook take the write lock at once.
_IMMEDIATE = "newsdesk_begin_immediate"

_fts = sa.table("article_search", sa.column("rowid", sa.Integer), sa.column("title"), sa.column("body"))
# The table name as a value: what MATCH and bm25() take as their first argument.
_fts_ref: sa.ColumnClause[Any] = sa.literal_column("article_search")
# Built once, values bound at execution: building a Core statement per row costs more than running it.
_INSERT_ARTICLES = (sqlite_insert(articles).on_conflict_do_nothing(index_elements=["url"])
                    .returning(articles.c.id, articles.c.url))
_INSERT_FTS = sa.insert(_fts)


def _lock_for(key: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def _quote(term: str) -> str:
    # An FTS5 string: inside double quotes nothing is syntax, and a quote is written twice.
    return '"' + term.replace('"', '""') + '"'


def match_expression(query_words: Sequence[str]) -> str:
    """An FTS5 query: per word an OR group of its variants, the groups ANDed. Every term is quoted,
    so nothing the user typed is read as FTS5 syntax (NEAR, *, column filters, parentheses)."""
    groups = []
    for word in query_words:
        variants = sorted(query_variants(word))
        groups.append("(" + " OR ".join(_quote(v) for v in variants) + ")")
    return " AND ".join(groups)


class SqliteBackend:
    name = "sqlite"

    def __init__(self, url: URL) -> None:
        database = url.database or ""
        memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
        if memory:
            # One shared connection, or every connection would see its own empty database. For tests
            # and throwaway use; it is not meant for concurrent threads.
            self.engine = sa.create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            lock_key = f"memory:{id(self)}"
        else:
            path = Path(database).expanduser().resolve()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = url.set(database=str(path))
            # SQLAlchemy pools file connections and lets them cross threads (check_same_thread off).
            # Last in, first out: the connection a thread just gave back, whose page cache is warm,
            # serves the next request, and the others' caches stay small.
            self.engine = sa.create_engine(url, pool_use_lifo=True)
            lock_key = str(path)
        self._lock = _lock_for(lock_key)
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self.write_engine = self.engine.execution_options(**{_IMMEDIATE: True})

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):
            raise StorageError(f"the database stayed busy with another write for over {LOCK_TIMEOUT:.0f} s")
        try:
            yield
        finally:
            self._lock.release()

    def before_migrate(self, conn: sa.Connection) -> None:
        """Nothing: migrate() already runs under the write lock and BEGIN IMMEDIATE."""

    def insert(self, table: sa.Table) -> Any:
        return sqlite_insert(table)

    def insert_articles(self, conn: sa.Connection, rows: Sequence[ArticleRow]) -> list[int | None]:
        if not rows:
            return []
        # One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING: rows skipped as known return
        # nothing, so ids are matched back by URL (the first of two rows with one URL wins).
        returned = conn.execute(_INSERT_ARTICLES, [row.values for row in rows])
        new_ids = {url: article_id for article_id, url in returned}
        ids: list[int | None] = []
        search_rows = []
        for row in rows:
            article_id = new_ids.pop(row.values["url"], None)
            ids.append(article_id)
            if article_id is not None:
                search_rows.append({"rowid": article_id, "title": " ".join(stem_terms(row.title, row.language)),
                                    "body": " ".join(stem_terms(row.body, row.language))})
        # Same transaction as the article rows: search never shows a missing article, nor misses a
        # stored one.
        if search_rows:
            conn.execute(_INSERT_FTS, search_rows)
        return ids

    def matches(self, query_words: Sequence[str]) -> sa.Select[Any]:
        """The ids of the articles matching every word, in no order."""
        return sa.select(_fts.c.rowid.label("id")).where(_match(query_words))

    def search(self, base: sa.Select[Any], query_words: Sequence[str],
               candidates: int) -> tuple[sa.Select[Any], Any]:
        """`base` narrowed to the newest `candidates` matches, and the best-first ordering among them.

        FTS5 walks a MATCH in rowid order, so ORDER BY rowid DESC LIMIT stops after `candidates`
        rows, and bm25 is computed for those only; ranking every match first cost ~0.5 s for a
        common word at 100,000 articles."""
        newest = (sa.select(_fts.c.rowid.label("id"),
                            # bm25 is lower for a better match.
                            sa.func.bm25(_fts_ref, TITLE_WEIGHT, BODY_WEIGHT).label("rank"))
                  .where(_match(query_words))
                  .order_by(_fts.c.rowid.desc())
                  .limit(candidates)
                  .subquery("search_candidates"))
        return base.join(newest, newest.c.id == articles.c.id), newest.c.rank.asc()

    def counted_search(self, base: sa.Select[Any], query_words: Sequence[str], candidates: int,
                       counted: int) -> None:
        """None: FTS5 counts from its rowids without reading a document (0.5 ms for a word in
        170,000 articles at 1M), so the search and its count stay two plain statements."""
        return None


def _match(query_words: Sequence[str]) -> sa.ColumnElement[bool]:
    return _fts_ref.op("MATCH")(sa.bindparam("match", match_expression(query_words), sa.Text))


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take transaction control away from the sqlite3 module (which would BEGIN lazily and only
    # before writes) so the "begin" hook below decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(conn: sa.Connection) -> None:
    # Writes take SQLite's write lock at BEGIN: a deferred transaction that reads first and then
    # writes can fail at once with "database is locked" when another writer got in between, which
    # the busy timeout cannot help. Reads begin deferred and, in WAL mode, never wait.
    if conn.get_execution_options().get(_IMMEDIATE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
