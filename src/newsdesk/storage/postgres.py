"""PostgreSQL specifics: a weighted tsvector per article in its own language, queried in all of them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL

from ..stemming import QUERY_LANGUAGES, snowball_language
from .schema import ArticleRow, articles

__all__ = ["PostgresBackend", "text_search_config"]

#: every configuration a query is parsed with: each indexed language, and 'simple' (no stemming)
#: for articles of other languages. Our Snowball names are PostgreSQL's configuration names.
QUERY_CONFIGS: tuple[str, ...] = (*QUERY_LANGUAGES, "simple")

# A view of `articles` that includes the dialect-only search column, so that an article and its
# search vector go in with one INSERT. Only for inserting; queries use schema.articles.
_articles_insert = sa.Table(
    "articles",
    sa.MetaData(),
    *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in articles.c),
    sa.Column("search", TSVECTOR),
)
_search = sa.literal_column("articles.search", TSVECTOR)

# Any constant key will do: it serializes concurrent migrate() calls from several processes.
_MIGRATION_LOCK = 0x6E657773  # "news"


def text_search_config(language: str | None) -> str:
    """The PostgreSQL text-search configuration for an article language ('simple' if unknown)."""
    return snowball_language(language) or "simple"


def _regconfig(name: str) -> sa.ColumnElement[Any]:
    # Inlined rather than bound so the planner sees a constant; the names come from our own table.
    if not re.fullmatch(r"[a-z]+", name):
        raise ValueError(f"not a text search configuration name: {name!r}")
    return sa.literal_column(f"'{name}'::regconfig")


def search_vector(title: str, body: str, language: str | None) -> sa.ColumnElement[Any]:
    config = _regconfig(text_search_config(language))
    weighted_title = sa.func.setweight(sa.func.to_tsvector(config, title), sa.literal_column("'A'"))
    weighted_body = sa.func.setweight(sa.func.to_tsvector(config, body), sa.literal_column("'B'"))
    return weighted_title.op("||")(weighted_body)


def _query(text: sa.BindParameter[str]) -> sa.ColumnElement[Any]:
    # plainto_tsquery ANDs the words and reads no operators, so user input is never syntax. ORing
    # one per configuration lets `heffingen` (Dutch) and `tariffs` (English) meet their stems.
    parts = [sa.func.plainto_tsquery(_regconfig(name), text) for name in QUERY_CONFIGS]
    return functools.reduce(lambda a, b: a.op("||")(b), parts)


class PostgresBackend:
    name = "postgresql"

    def __init__(self, url: URL) -> None:
        # pre_ping: a web app outlives server restarts and idle-connection reaping.
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.write_engine = self.engine

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        # PostgreSQL handles concurrent writers itself.
        yield

    def before_migrate(self, conn: sa.Connection) -> None:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))

    def insert(self, table: sa.Table) -> Any:
        return pg_insert(table)

    def insert_articles(self, conn: sa.Connection, rows: Sequence[ArticleRow]) -> list[int | None]:
        # Row by row: each row's search vector is an expression in its own language's config.
        return [self._insert_article(conn, row) for row in rows]

    def _insert_article(self, conn: sa.Connection, row: ArticleRow) -> int | None:
        stmt = (
            pg_insert(_articles_insert)
            .values({**row.values, "search": search_vector(row.title, row.body, row.language)})
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(_articles_insert.c.id)
        )
        article_id: int | None = conn.execute(stmt).scalar_one_or_none()
        return article_id

    def matches(self, query_words: Sequence[str]) -> sa.Select[Any]:
        """The ids of the articles matching every word, in no order."""
        query = _query_cte(query_words)
        return sa.select(articles.c.id).select_from(articles.join(query, sa.true())).where(_search.op("@@")(query.c.q))

    def search(self, base: sa.Select[Any], query_words: Sequence[str],
               candidates: int) -> tuple[sa.Select[Any], Any]:
        """`base` narrowed to the newest `candidates` matches, and the best-first ordering among them.

        ts_rank reads each match's tsvector: ranked over every match, a common word costs as
        many detoasted vectors as it has articles; only the newest `candidates` are ranked."""
        query = _query_cte(query_words)
        newest = _newest_matches(query, candidates).subquery("search_candidates")
        stmt = base.join(newest, newest.c.id == articles.c.id).join(query, sa.true())
        # ts_rank weighs the title's 'A' lexemes above the body's 'B' ones.
        return stmt, sa.func.ts_rank(_search, query.c.q).desc()

    def counted_search(self, base: sa.Select[Any], query_words: Sequence[str], candidates: int,
                       counted: int) -> tuple[sa.Select[Any], Any, Any]:
        """search(), and the number of matches up to `counted`, from one look-up of the newest
        matches: a GIN scan builds the bitmap of every match of a word before anything limits it
        (172,000 for 'government' at 1M), so counting apart paid that a second time per page."""
        query = _query_cte(query_words)
        # referenced twice, so PostgreSQL materializes it: the windows run once
        pool = _newest_matches(query, max(candidates, counted)).cte("search_pool")
        newest = (sa.select(pool.c.id).order_by(pool.c.id.desc()).limit(candidates)
                  .subquery("search_candidates"))
        stmt = base.join(newest, newest.c.id == articles.c.id).join(query, sa.true())
        matches = sa.select(sa.func.count()).select_from(pool).scalar_subquery()
        return stmt, sa.func.ts_rank(_search, query.c.q).desc(), matches


#: id spans below the newest article that are searched first, widening in turn, before the whole
#: archive: at 1M articles the bitmap of every match of a common word ('government', 172,000
#: matches) took 9.4-11.4 s to visit and sort for its newest 1,000, while the same matches ANDed
#: with the newest 10,000 ids took 0.23 s (load ~14). A window visits every match it holds (for
#: its id) and the whole archive every match of the word: at 1.25M a Dutch word whose newest 1,001
#: matches lay beyond 250,000 ids (below mostly English appends) took 220-315 ms there, 42-47 ms
#: with windows of 300,000 and 600,000. Steps of 2-3: a wider step overshoots into the dense
#: region below and visits thousands of matches it does not need ((10k, 40k, 160k, 640k) was 4-5
#: times slower over the 12 benchmark words), more steps read the GIN pending list more often
#: under ingest (docs/benchmarks.md, branch searchwin).
SEARCH_WINDOWS = (10_000, 50_000, 150_000, 300_000, 600_000)

#: ids per GIN entry of the window key: migration 0011 indexes (search, id >> SEARCH_BUCKET_BITS).
#: A window is a range of that key, which GIN reads entry by entry into a bitmap: one entry per
#: id (migration 0011's (search, id)) made a 250,000-id window cost 34-77 ms in entries alone.
#: Must equal the migration's shift for the index to serve the windows.
SEARCH_BUCKET_BITS = 10


def _newest_matches(query: Any, limit: int) -> sa.CompoundSelect[Any]:
    """The ids of the newest `limit` matches: the newest ids that match within the first window
    that holds `limit` matches, else within the whole archive. Exactly the newest `limit` matches
    either way (a window is every id above a bound, here the first of a bucket); one statement, each
    window gated on the previous ones coming up short (one-time filters: a window that is not
    needed is not run)."""
    top = sa.select(sa.func.coalesce(sa.func.max(articles.c.id), 0)).scalar_subquery()
    # a literal, not a bound parameter: the planner matches the index's expression as written
    shift = sa.literal_column(str(int(SEARCH_BUCKET_BITS)), sa.Integer)
    bucket = articles.c.id.op(">>")(shift)

    def newest(*bound: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return (sa.select(articles.c.id).select_from(articles.join(query, sa.true()))
                .where(_search.op("@@")(query.c.q), *bound).order_by(articles.c.id.desc()).limit(limit))

    parts: list[sa.Select[Any]] = []
    short: list[sa.ColumnElement[bool]] = []
    for n, span in enumerate(SEARCH_WINDOWS):
        # the same expression as the index's, so that GIN reads the window as a range of its key
        lowest = (top - span).op(">>")(shift)
        window = newest(bucket > lowest).cte(f"search_window_{n}").prefix_with("MATERIALIZED")
        found = sa.select(sa.func.count()).select_from(window).scalar_subquery()
        parts.append(sa.select(window.c.id).where(*short, found >= limit))
        short.append(found < limit)
    parts.append(newest(*short))
    return sa.union_all(*parts)


def _query_cte(query_words: Sequence[str]) -> Any:
    # MATERIALIZED: the planner does not see the query's value, so it assumes a few matches and
    # reads them through the GIN index. Seeing it, it walked the primary key (or the table) to
    # stop at LIMIT, testing `@@` on each row's detoasted vector: 0.8-0.9 s for a word in 2 % of
    # 100,000 articles, where the bitmap of its matches took 17 ms.
    text = sa.bindparam("q", " ".join(query_words), sa.Text)
    return sa.select(_query(text).label("q")).cte("search_query").prefix_with("MATERIALIZED")
