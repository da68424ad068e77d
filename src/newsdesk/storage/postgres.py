"""PostgreSQL specifics: a weighted tsvector per article in its own language, queried in all of them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import array as pg_array
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
    """The tsquery of a search: plainto_tsquery ANDs the words and reads no operators, so user
    input is never syntax. ORing one per configuration lets `heffingen` (Dutch) and `tariffs`
    (English) meet their stems.

    Each configuration's query once, not the same one over and over: most configurations stem a
    word alike ('kabinet' in all 16), and GIN looks up every operand of a tsquery as an entry of
    its own (the operand's extra data keeps it from merging equal ones), ~7 buffers each. With the
    repeats a GIN scan of one id band cost 60 buffers and 0.8 ms, without them 11 and 0.08 ms, and
    ts_rank over 1,000 candidates 35 ms instead of 14. The matches are the same (an OR of the
    same alternatives) and so was the order of the first 100 results of 17 queries at 1.31M
    articles (ts_rank folds equal operands itself)."""
    each = (sa.func.unnest(pg_array([sa.func.plainto_tsquery(_regconfig(name), text) for name in QUERY_CONFIGS]))
            .table_valued("part").render_derived(name="search_part"))
    part = sa.cast(each.c.part, sa.Text)
    alternatives = sa.func.string_agg(sa.distinct(sa.literal_column("'('") + part + sa.literal_column("')'")),
                                      sa.literal_column("' | '"))
    # no alternative (the text held stop words only): the empty tsquery, which matches nothing
    return sa.cast(sa.select(sa.func.coalesce(alternatives, sa.literal_column("''")))
                   .select_from(each).where(part != sa.literal_column("''")).scalar_subquery(), TSQUERY)


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


#: ids per band of the search walk, as a shift: migration 0012 indexes (search, id >> 13), so that
#: a band is one entry of the index's second key and the GIN scan of a word in one band reads only
#: that band's postings. Must equal the migration's shift for the index to serve the walk. Why 13
#: (8,192 ids): the migration's docstring.
SEARCH_BUCKET_BITS = 13


def _newest_matches(query: Any, limit: int) -> sa.Select[Any]:
    """The ids of the newest `limit` matches, from a walk down the id bands (2 ** SEARCH_BUCKET_BITS
    ids each), newest first, that stops at the band where it has found `limit` matches.

    Each step is one GIN scan of the word in one band and visits only that band's matches (their
    heap rows, for the ids), so a search costs the matches above its newest `limit` plus those of
    the last band, however deep they lie: a word that was common months ago and is rare now walks
    many nearly empty bands (a GIN scan each) instead of visiting every match of a wide id window.
    Exactly the newest `limit` matches: every band above the stop is read whole (a recursive CTE,
    whose ids are then sorted; no reliance on the order a join emits rows)."""
    shift = sa.literal_column(str(int(SEARCH_BUCKET_BITS)), sa.Integer)
    top = sa.select(sa.func.coalesce(sa.func.max(articles.c.id), 0)).scalar_subquery()
    bottom = sa.select(sa.func.coalesce(sa.func.min(articles.c.id), 0)).scalar_subquery()
    empty = sa.cast(sa.literal_column("'{}'"), ARRAY(articles.c.id.type))
    # literals, not bound parameters: a recursive CTE's columns take their types from its seed
    seed = sa.select(top.op(">>")(shift).label("band"), sa.literal_column("0", sa.Integer).label("found"),
                     empty.label("ids"))
    walk = seed.cte("search_walk", recursive=True)
    # the same expression as the index's, so that GIN reads the band as one entry of its key
    band = (sa.select(sa.func.coalesce(sa.func.array_agg(articles.c.id), empty).label("ids"))
            .select_from(articles.join(query, sa.true()))
            .where(_search.op("@@")(query.c.q), articles.c.id.op(">>")(shift) == walk.c.band)
            .lateral("search_band"))
    walk = walk.union_all(
        sa.select((walk.c.band - 1).label("band"),
                  (walk.c.found + sa.func.cardinality(band.c.ids)).label("found"), band.c.ids)
        .select_from(walk.join(band, sa.true()))
        .where(walk.c.found < limit, walk.c.band >= bottom.op(">>")(shift)))
    found = sa.func.unnest(walk.c.ids).table_valued("id").render_derived(name="search_found")
    return (sa.select(found.c.id.label("id")).select_from(walk.join(found, sa.true()))
            .order_by(found.c.id.desc()).limit(limit))


def _query_cte(query_words: Sequence[str]) -> Any:
    # MATERIALIZED: the planner does not see the query's value, so it assumes a few matches and
    # reads them through the GIN index. Seeing it, it walked the primary key (or the table) to
    # stop at LIMIT, testing `@@` on each row's detoasted vector: 0.8-0.9 s for a word in 2 % of
    # 100,000 articles, where the bitmap of its matches took 17 ms.
    text = sa.bindparam("q", " ".join(query_words), sa.Text)
    return sa.select(_query(text).label("q")).cte("search_query").prefix_with("MATERIALIZED")
