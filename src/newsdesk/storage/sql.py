"""SqlStorage: the Storage interface over SQLAlchemy Core, for SQLite and PostgreSQL.

The SQL here is shared; what differs per dialect (connection set-up, the write lock, search) lives
in sqlite.py and postgres.py behind the small _Backend shape below.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.engine import Engine, make_url

from ..errors import DatabaseUnavailableError, NotFoundError, SourceExistsError, StorageError
from ..models import (
    Article,
    ArticleCursor,
    ArticleListItem,
    ArticleStatus,
    FetchState,
    NewArticle,
    NewSource,
    Source,
    SourceKind,
)
from ..stemming import words
from .base import SEARCH_CANDIDATES, SEARCH_COUNT_LIMIT, ArticleFilter
from .leases import UPDATE_STATE, LeasesMixin, state_params
from .logins import LoginsMixin
from .maintenance import MaintenanceMixin
from .newsletters import NewslettersMixin
from .profiles import ProfilesMixin
from .schema import ArticleRow, UTCDateTime, articles, pages, sources
from .stories import StoriesMixin
from .users import UsersMixin

__all__ = ["MAX_PAGE", "MAX_URL_LENGTH", "PUBLISHED_SLACK", "SqlStorage", "sort_time"]

#: a published time up to this far past the fetch time is trusted (clocks differ); later is a lie
PUBLISHED_SLACK = timedelta(minutes=10)
#: the most items one listing or search call returns
MAX_PAGE = 1000
#: URLs longer than this (in UTF-8 bytes) are refused on every backend: no real article needs one,
#: and PostgreSQL's unique btree index fails on entries over ~2.7 kB
MAX_URL_LENGTH = 2048
#: search reads this much of an article's body; the rest adds little and costs index space
MAX_INDEXED_CHARS = 100_000
#: query bounds: characters read, and words kept
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 16
#: URLs per IN (...) in unknown_urls, well under every driver's parameter limit
_URL_CHUNK = 500

_MIGRATIONS = Path(__file__).with_name("migrations")

# The name a reader sees for a source: Source.display_name, in SQL.
_SOURCE_NAME = sa.func.coalesce(sa.func.nullif(sources.c.title, ""), sources.c.site_url, sources.c.url)

_LIST_COLUMNS = (
    articles.c.id,
    articles.c.source_id,
    _SOURCE_NAME.label("source_title"),
    articles.c.url,
    articles.c.title,
    articles.c.sort_at,
    articles.c.language,
    articles.c.image_url,
    articles.c.summary,
)
_FROM = articles.join(sources, sources.c.id == articles.c.source_id)
_NEWEST_FIRST = (articles.c.sort_at.desc(), articles.c.id.desc())
_OLDEST_FIRST = (articles.c.sort_at.asc(), articles.c.id.asc())
_ALL = ArticleFilter()


class _Backend(Protocol):
    name: str
    @property
    def engine(self) -> Engine: ...
    #: the engine writes go through (on SQLite it begins IMMEDIATE)
    @property
    def write_engine(self) -> Engine: ...

    def write_lock(self) -> Any: ...
    def before_migrate(self, conn: sa.Connection) -> None: ...
    def insert(self, table: sa.Table) -> Any: ...
    def insert_articles(self, conn: sa.Connection, rows: Sequence[ArticleRow]) -> list[int | None]:
        """Insert the rows (skipping URLs stored already) and index them; ids in order, None if skipped."""
    def matches(self, query_words: Sequence[str]) -> sa.Select[Any]: ...
    def search(self, base: sa.Select[Any], query_words: Sequence[str],
               candidates: int) -> tuple[sa.Select[Any], Any]: ...
    def counted_search(self, base: sa.Select[Any], query_words: Sequence[str], candidates: int,
                       counted: int) -> tuple[sa.Select[Any], Any, Any] | None:
        """search(), plus a column of the number of matches up to `counted`, from one look-up of the
        matches; None where counting apart is as cheap (search_and_count then runs both)."""


def sort_time(published_at: datetime | None, fetched_at: datetime) -> datetime:
    """The time an article is listed by: its publication time, unless missing or in the future
    (beyond PUBLISHED_SLACK of the fetch), which would pin it to the top of every listing."""
    if published_at is not None and published_at <= fetched_at + PUBLISHED_SLACK:
        return published_at
    return fetched_at


def _backend_for(url: str) -> _Backend:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    backend, _, _driver = parsed.drivername.partition("+")
    if backend == "sqlite":
        from .sqlite import SqliteBackend

        return SqliteBackend(parsed)
    if backend in ("postgresql", "postgres"):
        from .postgres import PostgresBackend

        # psycopg 3 is the driver we ship, whatever the URL names.
        return PostgresBackend(parsed.set(drivername="postgresql+psycopg"))
    raise StorageError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://...")


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    # The driver's own message, first line only: the full text repeats the SQL and its parameters.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return (lines[0] if lines else type(cause).__name__)[:300]


def _clean(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; strip it on both backends so they store the same thing.
    return value.replace("\x00", "") if value else value


def _check_url(url: str) -> None:
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL_LENGTH:
        raise StorageError(f"URL longer than {MAX_URL_LENGTH} bytes: {url[:80]}...")


def _clamp(limit: int) -> int:
    return max(0, min(limit, MAX_PAGE))


def _cursor_key(cursor: ArticleCursor) -> sa.Tuple:
    return sa.tuple_(
        sa.bindparam(None, cursor.sort_at, UTCDateTime()), sa.bindparam(None, cursor.id, sa.Integer)
    )


def _filtered(stmt: sa.Select[Any], filter: ArticleFilter) -> sa.Select[Any]:
    if filter.source_id is not None:
        stmt = stmt.where(articles.c.source_id == filter.source_id)
    return stmt


def _to_source(row: sa.Row[Any], article_count: int | None = None) -> Source:
    return Source(
        id=row.id,
        url=row.url,
        kind=SourceKind(row.kind),
        title=row.title,
        site_url=row.site_url,
        category=row.category,
        paused=bool(row.paused),
        created_at=row.created_at,
        state=FetchState(
            etag=row.etag,
            last_modified=row.last_modified,
            last_fetched_at=row.last_fetched_at,
            last_success_at=row.last_success_at,
            next_fetch_at=row.next_fetch_at,
            error_count=row.error_count,
            last_error=row.last_error,
            last_error_kind=row.last_error_kind,
            interval_seconds=row.interval_seconds,
        ),
        article_count=article_count,
    )


def _to_item(row: sa.Row[Any]) -> ArticleListItem:
    return ArticleListItem(
        id=row.id,
        source_id=row.source_id,
        source_title=row.source_title,
        url=row.url,
        title=row.title,
        sort_at=row.sort_at,
        language=row.language,
        image_url=row.image_url,
        summary=row.summary,
    )


def _state_values(state: FetchState) -> dict[str, Any]:
    return {
        "etag": state.etag,
        "last_modified": state.last_modified,
        "last_fetched_at": state.last_fetched_at,
        "last_success_at": state.last_success_at,
        "next_fetch_at": state.next_fetch_at,
        "error_count": state.error_count,
        "last_error": _clean(state.last_error),
        "last_error_kind": state.last_error_kind,
        "interval_seconds": state.interval_seconds,
    }


def _article_values(new: NewArticle) -> dict[str, Any]:
    """An article's row, cleaned (no NULs, bounded language code)."""
    return {
        "source_id": new.source_id,
        "url": new.url,
        "canonical_url": new.canonical_url,
        "guid": _clean(new.guid),
        "title": _clean(new.title) or "",
        "author": _clean(new.author),
        "published_at": new.published_at,
        "fetched_at": new.fetched_at,
        "sort_at": sort_time(new.published_at, new.fetched_at),
        "language": (new.language or None) and new.language[:16],
        "image_url": new.image_url,
        "image_caption": _clean(new.image_caption),
        "summary": _clean(new.summary),
        "html": _clean(new.html) or "",
        "text": _clean(new.text) or "",
        "status": ArticleStatus(new.status).value,
        "error": _clean(new.error),
        "updated_at": new.updated_at,
        "section": _clean(new.section),
        "image_credit": _clean(new.image_credit),
    }


def _search_document(new: NewArticle) -> tuple[str, str]:
    """What search indexes of an article: its title, and a bounded body of summary and text (the
    summary alone when the page could not be extracted)."""
    body = "\n".join(part for part in (new.summary, new.text) if part)
    return _clean(new.title) or "", _clean(body[:MAX_INDEXED_CHARS]) or ""


def _query_words(query: str) -> list[str]:
    return words(query[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]


# Built once: constructing a Core statement per row costs more than executing it.
_INSERT_PAGE = sa.insert(pages)


class SqlStorage(ProfilesMixin, NewslettersMixin, UsersMixin, LoginsMixin, LeasesMixin, MaintenanceMixin,
                 StoriesMixin):
    """The Storage interface (storage.base) for `sqlite:///path` and `postgresql://...` URLs."""

    _backend: _Backend

    def __init__(self, url: str) -> None:
        self.url = url
        self._backend = _backend_for(url)

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            message = f"database error ({self._backend.name}): {_reason(exc)}"
            # OperationalError: the database's situation (server away, connection dropped, disk
            # full, locked), not a statement or the data in it.
            if isinstance(exc, sa.exc.OperationalError) or getattr(exc, "connection_invalidated", False):
                raise DatabaseUnavailableError(message) from exc
            raise StorageError(message) from exc

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._errors(), self._backend.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction. On SQLite, under the process-wide writer lock."""
        with self._errors(), self._backend.write_lock(), self._backend.write_engine.begin() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema up to date (from an empty database too), in one transaction."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self._write() as conn:
                self._backend.before_migrate(conn)
                config.attributes["connection"] = conn
                # "heads": each feature adds its tables as its own branch off 0001 (users, stories,
                # newsletters, ...), so parallel work never fights over one linear revision chain.
                command.upgrade(config, "heads")
        except CommandError as exc:
            raise StorageError(f"cannot migrate the database: {exc}") from exc

    def close(self) -> None:
        self._backend.engine.dispose()

    # -- sources ------------------------------------------------------------------------------

    def add_source(self, new: NewSource, now: datetime) -> Source:
        _check_url(new.url)
        values = {
            "url": new.url,
            "kind": SourceKind(new.kind).value,
            "title": _clean(new.title) or "",
            "site_url": new.site_url,
            "category": _clean(new.category) or None,
            "paused": False,
            "created_at": now,
            **_state_values(FetchState(next_fetch_at=now)),  # due at once
        }
        # ON CONFLICT DO NOTHING rather than catching IntegrityError: a failed statement would
        # abort the whole transaction on PostgreSQL, and the driver's message differs per backend.
        stmt = self._backend.insert(sources).values(values).on_conflict_do_nothing(index_elements=["url"])
        with self._write() as conn:
            source_id = conn.execute(stmt.returning(sources.c.id)).scalar_one_or_none()
            if source_id is None:
                raise SourceExistsError(f"{new.url} is followed already")
            row = conn.execute(sa.select(sources).where(sources.c.id == source_id)).one()
        return _to_source(row)

    def get_source(self, source_id: int) -> Source:
        with self._read() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.id == source_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return _to_source(row)

    def find_source(self, url: str) -> Source | None:
        with self._read() as conn:
            row = conn.execute(sa.select(sources).where(sources.c.url == url)).one_or_none()
        return None if row is None else _to_source(row)

    def list_sources(self) -> list[Source]:
        """All sources by display name (case-insensitive), with article_count filled in."""
        counts = (
            sa.select(articles.c.source_id, sa.func.count().label("n"))
            .group_by(articles.c.source_id)
            .subquery()
        )
        stmt = (
            sa.select(sources, sa.func.coalesce(counts.c.n, 0).label("article_count"))
            .outerjoin(counts, counts.c.source_id == sources.c.id)
            .order_by(sa.func.lower(_SOURCE_NAME), sources.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [_to_source(row, row.article_count) for row in rows]

    def due_sources(self, now: datetime, limit: int | None = None) -> list[Source]:
        """Unpaused sources whose next_fetch_at is null or not after now; never-scheduled ones
        first, then the most overdue, ties by id."""
        stmt = (
            sa.select(sources)
            .where(
                sources.c.paused.is_(False),
                sa.or_(sources.c.next_fetch_at.is_(None), sources.c.next_fetch_at <= now),
            )
            .order_by(sources.c.next_fetch_at.asc().nulls_first(), sources.c.id)
        )
        if limit is not None:
            stmt = stmt.limit(max(0, limit))
        with self._read() as conn:
            return [_to_source(row) for row in conn.execute(stmt)]

    def _update_source_row(self, source_id: int, values: dict[str, Any]) -> None:
        with self._write() as conn:
            if values:
                update = sa.update(sources).where(sources.c.id == source_id).values(values)
                found = conn.execute(update).rowcount > 0
            else:
                exists = sa.select(sources.c.id).where(sources.c.id == source_id)
                found = conn.execute(exists).first() is not None
        if not found:
            raise NotFoundError(f"no source with id {source_id}")

    def update_fetch_state(
        self, source_id: int, state: FetchState, title: str | None = None, site_url: str | None = None
    ) -> None:
        """Record a poll's outcome. `title` and `site_url` fill in what the source lacks: a title
        the user gave (update_source) is never overwritten by what the feed says of itself."""
        values: dict[str, Any] = _state_values(state)
        if title:
            values["title"] = sa.case((sources.c.title == "", _clean(title)), else_=sources.c.title)
        if site_url:
            values["site_url"] = sa.func.coalesce(sources.c.site_url, site_url)
        self._update_source_row(source_id, values)

    def update_fetch_states(self, states: Sequence[tuple[int, FetchState]]) -> None:
        if not states:
            return
        with self._write() as conn:
            conn.execute(UPDATE_STATE, [{"w_id": source_id, **state_params(state)} for source_id, state in states])

    def set_source_paused(self, source_id: int, paused: bool) -> None:
        self._update_source_row(source_id, {"paused": paused})

    def update_source(self, source_id: int, *, title: str | None = None, category: str | None = None) -> None:
        """Change what is given; None leaves a field as it is, and an empty category clears it."""
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = _clean(title)
        if category is not None:
            values["category"] = _clean(category) or None
        self._update_source_row(source_id, values)

    def delete_source(self, source_id: int) -> None:
        """Remove a source; its articles, pages and search entries go with it (ON DELETE CASCADE,
        and on SQLite a trigger for the FTS rows), in one transaction."""
        with self._write() as conn:
            # story sizes and times are counted on as articles join (record_assignment): the stories
            # that lose articles here are recounted
            touched = self._source_stories(conn, source_id)
            deleted = conn.execute(sa.delete(sources).where(sources.c.id == source_id)).rowcount
            self._recount_stories(conn, touched)
        if not deleted:
            raise NotFoundError(f"no source with id {source_id}")

    # -- articles -----------------------------------------------------------------------------

    def unknown_urls(self, urls: Iterable[str]) -> set[str]:
        wanted = set(urls)
        known: set[str] = set()
        pending = sorted(wanted)
        with self._read() as conn:
            for start in range(0, len(pending), _URL_CHUNK):
                chunk = pending[start : start + _URL_CHUNK]
                stmt = sa.union(
                    sa.select(articles.c.url.label("u")).where(articles.c.url.in_(chunk)),
                    sa.select(articles.c.canonical_url.label("u")).where(articles.c.canonical_url.in_(chunk)),
                )
                known.update(conn.execute(stmt).scalars())
        return wanted - known

    def add_article(self, new: NewArticle) -> int | None:
        """Store an article, its raw page and its search entry in one transaction. Returns the new
        id, or None when an article with that URL exists (also when a concurrent add won the race:
        INSERT ... ON CONFLICT DO NOTHING)."""
        return self.add_articles([new])[0]

    def add_articles(self, news: Sequence[NewArticle]) -> list[int | None]:
        """add_article for many, in one transaction: a feed's entries cost one commit, not one each."""
        for new in news:
            _check_url(new.url)
        rows = [ArticleRow(_article_values(new), *_search_document(new), new.language) for new in news]
        with self._write() as conn:
            ids = self._backend.insert_articles(conn, rows)
            stored_pages = [{"article_id": article_id, "html_zlib": zlib.compress(new.raw_html)}
                            for article_id, new in zip(ids, news, strict=True)
                            if article_id is not None and new.raw_html is not None]
            if stored_pages:
                conn.execute(_INSERT_PAGE, stored_pages)
        return ids

    def get_article(self, article_id: int) -> Article:
        stmt = (
            sa.select(articles, _SOURCE_NAME.label("source_title"))
            .select_from(_FROM)
            .where(articles.c.id == article_id)
        )
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None:
            raise NotFoundError(f"no article with id {article_id}")
        return Article(
            id=row.id,
            source_id=row.source_id,
            source_title=row.source_title,
            url=row.url,
            title=row.title,
            fetched_at=row.fetched_at,
            sort_at=row.sort_at,
            status=ArticleStatus(row.status),
            guid=row.guid,
            canonical_url=row.canonical_url,
            published_at=row.published_at,
            author=row.author,
            language=row.language,
            image_url=row.image_url,
            image_caption=row.image_caption,
            summary=row.summary,
            html=row.html,
            text=row.text,
            error=row.error,
            updated_at=row.updated_at,
            section=row.section,
            image_credit=row.image_credit,
        )

    def list_articles(
        self,
        filter: ArticleFilter = _ALL,
        *,
        before: ArticleCursor | None = None,
        after: ArticleCursor | None = None,
        limit: int = 50,
    ) -> list[ArticleListItem]:
        """Newest first by (sort_at, id), at most `limit` (capped at MAX_PAGE) items.

        - no cursor: the newest items.
        - before=X: the items immediately older than X (the next page).
        - after=X: the items immediately newer than X (the previous page), still newest first: the
          item just newer than X is the LAST element. Walking back with after=first-item-of-page
          gives exactly the page before it, without gaps or repeats.
        Giving both is an error.
        """
        if before is not None and after is not None:
            raise ValueError("list_articles takes before or after, not both")
        key = sa.tuple_(articles.c.sort_at, articles.c.id)
        stmt = _filtered(sa.select(*_LIST_COLUMNS).select_from(_FROM), filter)
        if after is not None:
            # Walk up from the cursor (nearest first) so LIMIT keeps the nearest items, then flip.
            stmt = stmt.where(key > _cursor_key(after)).order_by(*_OLDEST_FIRST)
        else:
            if before is not None:
                stmt = stmt.where(key < _cursor_key(before))
            stmt = stmt.order_by(*_NEWEST_FIRST)
        with self._read() as conn:
            items = [_to_item(row) for row in conn.execute(stmt.limit(_clamp(limit)))]
        if after is not None:
            items.reverse()
        return items

    def count_articles(self, filter: ArticleFilter = _ALL) -> int:
        stmt = _filtered(sa.select(sa.func.count()).select_from(articles), filter)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get_raw_html(self, article_id: int) -> bytes | None:
        with self._read() as conn:
            data = conn.execute(
                sa.select(pages.c.html_zlib).where(pages.c.article_id == article_id)
            ).scalar_one_or_none()
        return None if data is None else zlib.decompress(data)

    # -- search -------------------------------------------------------------------------------

    def search_articles(self, query: str, *, limit: int = 50, offset: int = 0) -> list[ArticleListItem]:
        """Articles holding every word of `query` (each in any of its stemmed forms) in title or
        body; best match first (title above body), newest first among equals. Only the words of
        the query count: quotes, operators and other syntax are ignored. A query without words
        finds nothing. Only the SEARCH_CANDIDATES newest matches are ranked (see storage.base)."""
        query_words = _query_words(query)
        if not query_words:
            return []
        base = sa.select(*_LIST_COLUMNS).select_from(_FROM)
        stmt, best_first = self._backend.search(base, query_words, SEARCH_CANDIDATES)
        stmt = stmt.order_by(best_first, *_NEWEST_FIRST).limit(_clamp(limit)).offset(max(0, offset))
        with self._read() as conn:
            return [_to_item(row) for row in conn.execute(stmt)]

    def count_search(self, query: str) -> int:
        """The number of matches, counted up to SEARCH_COUNT_LIMIT: a larger count is returned as
        SEARCH_COUNT_LIMIT + 1, "more than SEARCH_COUNT_LIMIT"."""
        query_words = _query_words(query)
        if not query_words:
            return 0
        bounded = self._backend.matches(query_words).limit(SEARCH_COUNT_LIMIT + 1).subquery()
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(bounded)).scalar_one())

    def search_and_count(self, query: str, *, limit: int = 50,
                         offset: int = 0) -> tuple[list[ArticleListItem], int]:
        """search_articles and count_search at once. On PostgreSQL one statement finds the newest
        SEARCH_COUNT_LIMIT + 1 matches once (each look-up of a common word's matches in the GIN
        index costs the same, a search page paid it twice), counts them and ranks the newest
        SEARCH_CANDIDATES of them; on SQLite the two calls (the count reads FTS5 rowids only)."""
        query_words = _query_words(query)
        if not query_words:
            return [], 0
        base = sa.select(*_LIST_COLUMNS).select_from(_FROM)
        counted = self._backend.counted_search(base, query_words, SEARCH_CANDIDATES, SEARCH_COUNT_LIMIT + 1)
        if counted is None or _clamp(limit) == 0:
            return self.search_articles(query, limit=limit, offset=offset), self.count_search(query)
        stmt, best_first, matches = counted
        stmt = (stmt.add_columns(matches.label("matches")).order_by(best_first, *_NEWEST_FIRST)
                .limit(_clamp(limit)).offset(max(0, offset)))
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        if rows:
            return [_to_item(row) for row in rows], min(int(rows[0].matches), SEARCH_COUNT_LIMIT + 1)
        # no row carries the count: none matched, or the page is past the last result
        return [], (self.count_search(query) if offset > 0 else 0)
