"""Users, API keys and per-user article state: tables, the UsersStorage Protocol, and its SQL.

Sources and articles are global (the operator's); what is per user is whether an article is read,
starred or labelled. An article without a state row is unread and unstarred, so a new user starts
with everything unread and no row is written until someone acts.

UsersMixin is one of SqlStorage's bases and uses its plumbing (_read, _write, _backend).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from ..errors import NotFoundError
from ..errors_accounts import UserExistsError
from ..models import ArticleCursor, Source
from ..models_accounts import ApiKey, EntryOrder, ReadFilter, User, UserEntry
from .schema import UTCDateTime, articles, metadata, sources
from .stories import article_entities

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

__all__ = [
    "MAX_ENTRY_PAGE",
    "MAX_IDS_PER_CALL",
    "MAX_LABEL_LENGTH",
    "EntryQuery",
    "UnreadCount",
    "UsersMixin",
    "UsersStorage",
    "api_keys",
    "article_labels",
    "article_states",
    "users",
]

#: the most entries one query returns (a GReader `n` or a Miniflux `limit` is capped here)
MAX_ENTRY_PAGE = 10_000
#: the most article ids one state change or contents call takes
MAX_IDS_PER_CALL = 10_000
MAX_LABEL_LENGTH = 100
MAX_NAME_LENGTH = 64
#: ids per IN (...) clause, under every driver's parameter limit
_ID_CHUNK = 500

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # bumped in the same transaction as each change of the user's article state (see User)
    sa.Column("state_version", sa.Integer, nullable=False, server_default="0"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(MAX_NAME_LENGTH), nullable=False),
    # SHA-256 of the key: keys are long random strings, so a fast hash is enough, and the lookup
    # is one indexed equality instead of a password check per request.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index(None, "user_id"),
)

article_states = sa.Table(
    "article_states",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("read", sa.Boolean, nullable=False),
    sa.Column("starred", sa.Boolean, nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    # Deleting a source cascades to its articles' states: without this each delete scans the table.
    sa.Index(None, "article_id"),
)

article_labels = sa.Table(
    "article_labels",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("label", sa.String(MAX_LABEL_LENGTH), primary_key=True),
    sa.Index(None, "article_id"),
    sa.Index(None, "user_id", "label"),
)


@dataclass(frozen=True)
class EntryQuery:
    """Which of one user's articles a listing shows, in which order. None means no restriction."""

    user_id: int
    source_ids: tuple[int, ...] | None = None
    #: a source category (Miniflux categories, GReader folder labels)
    category: str | None = None
    #: a user label (GReader `user/-/label/X` that is not a category)
    label: str | None = None
    read: ReadFilter = ReadFilter.ALL
    starred: bool | None = None
    article_ids: tuple[int, ...] | None = None
    #: sort_at >= newer_than and sort_at < older_than
    newer_than: datetime | None = None
    older_than: datetime | None = None
    order: EntryOrder = EntryOrder.NEWEST_FIRST
    #: continue after this position, in `order`'s direction (keyset paging)
    cursor: ArticleCursor | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class UnreadCount:
    source_id: int
    count: int
    newest: datetime


class UsersStorage(Protocol):
    # -- users --
    def add_user(self, name: str, password_hash: str, is_admin: bool, now: datetime) -> User:
        """Raises UserExistsError if the name is taken."""

    def get_user(self, user_id: int) -> User:
        """Raises NotFoundError."""

    def find_user(self, name: str) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Raises NotFoundError."""

    # -- API keys --
    def add_api_key(self, user_id: int, name: str, key_hash: str, prefix: str, now: datetime) -> ApiKey: ...

    def find_api_key(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """The key with that hash and its owner, revoked or not (the caller decides)."""

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKey]:
        """Newest first; every user's when user_id is None."""

    def revoke_api_key(self, key_id: int, now: datetime, user_id: int | None = None) -> None:
        """Raises NotFoundError (also for another user's key when user_id is given)."""

    def touch_api_key(self, key_id: int, now: datetime) -> None: ...

    # -- per-user article state --
    def query_user_articles(self, query: EntryQuery, *, with_body: bool = True) -> list[UserEntry]:
        """The user's view of the matching articles. With body, html and labels are filled in;
        without, they are empty."""

    def query_user_article_positions(self, query: EntryQuery) -> list[ArticleCursor]:
        """The matching articles' (sort_at, id) only, in the query's order: for id listings, which
        need neither bodies nor state."""

    def count_user_articles(self, query: EntryQuery) -> int:
        """How many match, ignoring cursor, limit and offset."""

    def set_article_state(self, user_id: int, article_ids: Iterable[int], now: datetime, *,
                          read: bool | None = None, starred: bool | None = None) -> int:
        """Set read and/or starred on existing articles (unknown ids are skipped). Returns how many
        articles exist among the ids."""

    def mark_read(self, query: EntryQuery, now: datetime) -> int:
        """Mark every article matching the query's filters (not its paging) read; returns how many
        changed."""

    def change_labels(self, user_id: int, article_ids: Iterable[int], *, add: Sequence[str] = (),
                      remove: Sequence[str] = ()) -> None: ...

    def list_labels(self, user_id: int) -> list[str]: ...

    def unread_counts(self, user_id: int) -> list[UnreadCount]:
        """Per source with unread articles: the count and the newest unread one's time."""

    def count_unread_among(self, user_id: int, *, entity_ids: Sequence[int] = (), source_ids: Sequence[int] = (),
                           article_ids: Sequence[int] = ()) -> tuple[int, datetime | None]:
        """The user's unread articles among those that mention any of the entities, come from any
        of the sources, or are one of `article_ids` (a topic's articles; at most 100 entities and
        100 sources, as StoriesStorage.articles_matching): how many, and the newest one's time."""

    def list_sources_uncounted(self, ids: Iterable[int] | None = None) -> list[Source]:
        """Every source (or those of `ids`), by id, without article_count: list_sources counts every
        article, which the APIs cannot afford on each request over a large archive."""


# The name a reader sees for a source: Source.display_name, in SQL (as storage/sql.py has it).
_SOURCE_NAME = sa.func.coalesce(sa.func.nullif(sources.c.title, ""), sources.c.site_url, sources.c.url)


def _as_driver_gives(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The column's values as the driver hands them over, with no SQLAlchemy processing (see _entries)."""
    return sa.type_coerce(column, sa.types.NullType()).label(column.key)


def _entry_columns(with_body: bool) -> tuple[sa.ColumnElement[Any], ...]:
    """UserEntry's fields but the labels, in its order, for _entries. Read and starred are false
    without a state row, in SQL; the times and flags are converted by _entries, not by SQLAlchemy."""
    return (
        articles.c.id, articles.c.source_id, _SOURCE_NAME.label("source_title"), articles.c.url,
        articles.c.canonical_url, articles.c.title, articles.c.author,
        *map(_as_driver_gives, (articles.c.published_at, articles.c.fetched_at, articles.c.sort_at)),
        articles.c.image_url, articles.c.summary,
        # The APIs send HTML; the plain text doubles what a page of full entries reads, so it stays out.
        articles.c.html if with_body else sa.literal("", sa.Text).label("html"),
        _as_driver_gives(sa.func.coalesce(article_states.c.read, sa.false()).label("read")),
        _as_driver_gives(sa.func.coalesce(article_states.c.starred, sa.false()).label("starred")),
        _as_driver_gives(article_states.c.changed_at),
    )


_ENTRY_COLUMNS = {with_body: _entry_columns(with_body) for with_body in (True, False)}
#: what _paged orders entries by, for a list sorted in Python (see query_user_articles)
_SORT_KEY = itemgetter(UserEntry._fields.index("sort_at"), UserEntry._fields.index("id"))


def _entries(rows: Sequence[Any], dialect: sa.Dialect, labels: dict[int, list[str]]) -> list[UserEntry]:
    """UserEntry objects from rows of _ENTRY_COLUMNS, in one pass that makes the times aware UTC
    datetimes and read/starred bools.

    Why not let SQLAlchemy convert: its per-value call of UTCDateTime's conversion (four times a
    row) made reading a 1,000-entry page with its bodies 7.4-10.8 ms of CPU, against 5.7-7.2 ms
    this way (docs/benchmarks.md, "entries read in one pass"). On SQLite the times are fixed-width
    naive UTC text, parsed here inline; a time in any other shape (a hand-written row) takes the
    general path, which is UTCDateTime's own conversion."""
    make, lab = UserEntry._make, labels.get
    if dialect.name == "sqlite":
        iso = datetime.fromisoformat
        try:
            return [make((i, s, st, u, cu, t, au, iso(p + "+00:00") if p is not None else None, iso(f + "+00:00"),
                          iso(so + "+00:00"), im, su, h, bool(r), bool(sr),
                          iso(c + "+00:00") if c is not None else None, tuple(lab(i, ()))))
                    for i, s, st, u, cu, t, au, p, f, so, im, su, h, r, sr, c in rows]
        except (TypeError, ValueError):
            pass
    aware = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert aware is not None  # noqa: S101 - UTCDateTime always converts
    return [make((i, s, st, u, cu, t, au, aware(p), aware(f), aware(so), im, su, h, bool(r), bool(sr), aware(c),
                  tuple(lab(i, ()))))
            for i, s, st, u, cu, t, au, p, f, so, im, su, h, r, sr, c in rows]


def _to_user(row: Any) -> User:
    return User(id=row.id, name=row.name, password_hash=row.password_hash, is_admin=bool(row.is_admin),
                created_at=row.created_at, state_version=int(row.state_version))


# The look-ups every API request makes to authenticate (a GReader token's user, a Miniflux key), built
# once: a statement built per call is also keyed for SQLAlchemy's compiled cache per call, which cost
# ~150 of the ~220 microseconds of CPU that find_api_key took on SQLite (2026-11-27, apiconc); a
# module-level statement keeps its cache key. The values come in as bound parameters, as before.
_USER_BY_ID = sa.select(users).where(users.c.id == sa.bindparam("user_id"))
_KEY_BY_HASH = (
    sa.select(api_keys, users.c.name.label("user_name"), users.c.password_hash, users.c.is_admin,
              users.c.created_at.label("user_created_at"), users.c.state_version)
    .select_from(api_keys.join(users, users.c.id == api_keys.c.user_id))
    .where(api_keys.c.key_hash == sa.bindparam("key_hash"))
)


def _to_key(row: Any) -> ApiKey:
    return ApiKey(id=row.id, user_id=row.user_id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                  last_used_at=row.last_used_at, revoked_at=row.revoked_at)


class json_ids(sa.sql.functions.GenericFunction[Any]):
    """The integers of a JSON array as a table of one column, `value`: SQLite's json_each,
    PostgreSQL's json_array_elements_text. See _in_ids."""

    name = "json_ids"
    inherit_cache = True


@compiles(json_ids, "sqlite")
def _json_ids_sqlite(element: json_ids, compiler: Any, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_ids, "postgresql")
def _json_ids_postgresql(element: json_ids, compiler: Any, **kw: Any) -> str:
    return f"json_array_elements_text(CAST({compiler.process(element.clauses, **kw)} AS json))"


def _in_ids(column: sa.ColumnElement[int], ids: Iterable[int]) -> sa.ColumnElement[bool]:
    """`column IN (the ids)` with the ids bound as one JSON array, not one parameter each: for a
    1,000-id contents call, building and binding the expanded list cost more than the database's
    lookups of the rows (bench/api.py), and one statement serves every list length."""
    text = "[" + ",".join(map(str, map(int, ids))) + "]"  # map: a generator costs a frame per id
    # BIGINT: an id a client made up may be past 32 bits (an unknown id, not an error)
    values = sa.select(sa.cast(sa.column("value"), sa.BigInteger)).select_from(
        json_ids(sa.bindparam(None, text, sa.Text)))
    return column.in_(values.scalar_subquery())


def _needs_state(q: EntryQuery) -> bool:
    """Whether only articles with one of the user's state rows can match (read, or starred)."""
    return q.read is ReadFilter.READ or q.starred is True


def _state_join(user_id: int, *, inner: bool = False) -> sa.Join:
    """Articles with their sources and the user's state rows. `inner` (for a query that
    _needs_state): the same rows, but the database may start from the user's few state rows; the
    outer join makes it walk every article and probe for a state row (a starred listing of 100,000
    articles took 250 ms of CPU for its 20 entries, bench/api.py's archive)."""
    on = sa.and_(article_states.c.article_id == articles.c.id, article_states.c.user_id == user_id)
    with_sources = articles.join(sources, sources.c.id == articles.c.source_id)
    return with_sources.join(article_states, on) if inner else with_sources.outerjoin(article_states, on)


def _is_read() -> sa.ColumnElement[bool]:
    return sa.and_(article_states.c.read.is_not(None), article_states.c.read.is_(True))


def _where(stmt: sa.Select[Any], q: EntryQuery) -> sa.Select[Any]:
    """The query's filters (not its paging) on a select over _state_join."""
    if q.source_ids is not None:
        stmt = stmt.where(articles.c.source_id.in_(list(q.source_ids)[:_ID_CHUNK]))
    if q.category is not None:
        stmt = stmt.where(sources.c.category == q.category)
    if q.label is not None:
        stmt = stmt.where(sa.exists().where(
            article_labels.c.user_id == q.user_id,
            article_labels.c.article_id == articles.c.id,
            article_labels.c.label == q.label,
        ))
    if q.read is ReadFilter.UNREAD:
        stmt = stmt.where(sa.or_(article_states.c.read.is_(None), article_states.c.read.is_(False)))
    elif q.read is ReadFilter.READ:
        stmt = stmt.where(_is_read())
    if q.starred is True:
        stmt = stmt.where(article_states.c.starred.is_(True))
    elif q.starred is False:
        stmt = stmt.where(sa.or_(article_states.c.starred.is_(None), article_states.c.starred.is_(False)))
    if q.article_ids is not None:
        stmt = stmt.where(_in_ids(articles.c.id, q.article_ids[:MAX_IDS_PER_CALL]))
    if q.newer_than is not None:
        stmt = stmt.where(articles.c.sort_at >= q.newer_than)
    if q.older_than is not None:
        stmt = stmt.where(articles.c.sort_at < q.older_than)
    return stmt


def _from_for(q: EntryQuery) -> sa.FromClause:
    """The join a query needs: without a read or starred filter, no per-user state is read at all
    (counting every article then scans one index instead of probing the state table per row)."""
    if q.read is ReadFilter.ALL and q.starred is None:
        return articles.join(sources, sources.c.id == articles.c.source_id) if q.category is not None else articles
    return _state_join(q.user_id, inner=_needs_state(q))


def _state_count(q: EntryQuery) -> sa.Select[Any]:
    """How many articles match q, for a q that _needs_state and has no negative state filter (not
    unread, not unstarred): driven from the user's state rows."""
    mine = [article_states.c.user_id == q.user_id]
    if q.read is ReadFilter.READ:
        mine.append(article_states.c.read.is_(True))
    if q.starred is True:
        mine.append(article_states.c.starred.is_(True))
    on_articles = (q.source_ids, q.category, q.article_ids, q.newer_than, q.older_than, q.label)
    if all(value is None for value in on_articles):
        # Every state row is an existing article's (ON DELETE CASCADE): no need to read articles,
        # whose rows are large.
        return sa.select(sa.func.count()).select_from(article_states).where(*mine)
    joined = article_states.join(articles, articles.c.id == article_states.c.article_id)
    if q.category is not None:
        joined = joined.join(sources, sources.c.id == articles.c.source_id)
    return _where(sa.select(sa.func.count()).select_from(joined).where(*mine),
                  replace(q, read=ReadFilter.ALL, starred=None))


def _paged(stmt: sa.Select[Any], q: EntryQuery) -> sa.Select[Any]:
    """Filters, keyset cursor, order, limit and offset."""
    stmt = _where(stmt, q)
    key = sa.tuple_(articles.c.sort_at, articles.c.id)
    if q.order is EntryOrder.OLDEST_FIRST:
        if q.cursor is not None:
            stmt = stmt.where(key > _cursor_key(q.cursor))
        stmt = stmt.order_by(articles.c.sort_at.asc(), articles.c.id.asc())
    else:
        if q.cursor is not None:
            stmt = stmt.where(key < _cursor_key(q.cursor))
        stmt = stmt.order_by(articles.c.sort_at.desc(), articles.c.id.desc())
    return stmt.limit(max(0, min(q.limit, MAX_ENTRY_PAGE))).offset(max(0, q.offset))


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted({int(i) for i in ids})[:MAX_IDS_PER_CALL]
    return [unique[i:i + _ID_CHUNK] for i in range(0, len(unique), _ID_CHUNK)]


class _Plumbing(Protocol):
    _backend: Any

    def _read(self) -> AbstractContextManager[sa.Connection]: ...
    def _write(self) -> AbstractContextManager[sa.Connection]: ...


class UsersMixin:
    """UsersStorage for SqlStorage."""

    # -- users --------------------------------------------------------------------------------

    def add_user(self: _Plumbing, name: str, password_hash: str, is_admin: bool, now: datetime) -> User:
        stmt = self._backend.insert(users).values(
            name=name[:MAX_NAME_LENGTH], password_hash=password_hash, is_admin=is_admin, created_at=now
        ).on_conflict_do_nothing(index_elements=["name"])
        with self._write() as conn:
            user_id = conn.execute(stmt.returning(users.c.id)).scalar_one_or_none()
            if user_id is None:
                raise UserExistsError(f"a user named {name!r} exists already")
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).one()
        return _to_user(row)

    def get_user(self: _Plumbing, user_id: int) -> User:
        with self._read() as conn:
            row = conn.execute(_USER_BY_ID, {"user_id": user_id}).one_or_none()
        if row is None:
            raise NotFoundError(f"no user with id {user_id}")
        return _to_user(row)

    def find_user(self: _Plumbing, name: str) -> User | None:
        if len(name) > MAX_NAME_LENGTH:
            return None
        with self._read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).one_or_none()
        return None if row is None else _to_user(row)

    def list_users(self: _Plumbing) -> list[User]:
        with self._read() as conn:
            return [_to_user(row) for row in conn.execute(sa.select(users).order_by(users.c.name))]

    def set_password_hash(self: _Plumbing, user_id: int, password_hash: str) -> None:
        with self._write() as conn:
            found = conn.execute(
                sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            ).rowcount
        if not found:
            raise NotFoundError(f"no user with id {user_id}")

    # -- API keys -----------------------------------------------------------------------------

    def add_api_key(self: _Plumbing, user_id: int, name: str, key_hash: str, prefix: str,
                    now: datetime) -> ApiKey:
        with self._write() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is None:
                raise NotFoundError(f"no user with id {user_id}")
            key_id = conn.execute(sa.insert(api_keys).values(
                user_id=user_id, name=name[:MAX_NAME_LENGTH], key_hash=key_hash, prefix=prefix[:16],
                created_at=now,
            ).returning(api_keys.c.id)).scalar_one()
            row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).one()
        return _to_key(row)

    def find_api_key(self: _Plumbing, key_hash: str) -> tuple[ApiKey, User] | None:
        with self._read() as conn:
            row = conn.execute(_KEY_BY_HASH, {"key_hash": key_hash}).one_or_none()
        if row is None:
            return None
        user = User(id=row.user_id, name=row.user_name, password_hash=row.password_hash,
                    is_admin=bool(row.is_admin), created_at=row.user_created_at,
                    state_version=int(row.state_version))
        return _to_key(row), user

    def list_api_keys(self: _Plumbing, user_id: int | None = None) -> list[ApiKey]:
        stmt = sa.select(api_keys).order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        if user_id is not None:
            stmt = stmt.where(api_keys.c.user_id == user_id)
        with self._read() as conn:
            return [_to_key(row) for row in conn.execute(stmt)]

    def revoke_api_key(self: _Plumbing, key_id: int, now: datetime, user_id: int | None = None) -> None:
        stmt = sa.update(api_keys).where(api_keys.c.id == key_id).values(
            revoked_at=sa.func.coalesce(api_keys.c.revoked_at, sa.bindparam(None, now, UTCDateTime()))
        )
        if user_id is not None:
            stmt = stmt.where(api_keys.c.user_id == user_id)
        with self._write() as conn:
            found = conn.execute(stmt).rowcount
        if not found:
            raise NotFoundError(f"no API key with id {key_id}")

    def touch_api_key(self: _Plumbing, key_id: int, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))

    # -- per-user article state ---------------------------------------------------------------

    def query_user_articles(self: _Plumbing, query: EntryQuery, *, with_body: bool = True) -> list[UserEntry]:
        joined = _state_join(query.user_id, inner=_needs_state(query))
        stmt = _paged(sa.select(*_ENTRY_COLUMNS[with_body]).select_from(joined), query)
        # Every one of a list of ids (GReader's stream/items/contents): sorting the few rows here
        # spares the database a temporary B-tree of whole rows, bodies and all.
        whole_list = (query.article_ids is not None and query.cursor is None and query.offset == 0
                      and len(set(query.article_ids)) <= min(query.limit, MAX_ENTRY_PAGE, MAX_IDS_PER_CALL))
        if whole_list:
            stmt = stmt.order_by(None)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
            dialect = conn.dialect
            labels: dict[int, list[str]] = {}
            # Most users label nothing: one probe of their label index spares the per-article lookups.
            if with_body and rows and conn.execute(
                    sa.select(article_labels.c.label).where(article_labels.c.user_id == query.user_id).limit(1)
            ).first() is not None:
                label_rows = conn.execute(
                    sa.select(article_labels.c.article_id, article_labels.c.label)
                    .where(article_labels.c.user_id == query.user_id,
                           _in_ids(article_labels.c.article_id, (row[0] for row in rows)))
                    .order_by(article_labels.c.label)
                )
                for article_id, label in label_rows:
                    labels.setdefault(article_id, []).append(label)
        found = _entries(rows, dialect, labels)
        if whole_list:  # the order _paged gives
            found.sort(key=_SORT_KEY, reverse=query.order is not EntryOrder.OLDEST_FIRST)
        return found

    def query_user_article_positions(self: _Plumbing, query: EntryQuery) -> list[ArticleCursor]:
        stmt = _paged(sa.select(articles.c.sort_at, articles.c.id).select_from(_from_for(query)), query)
        with self._read() as conn:
            # all() fetches in one call; iterating a result fetches row by row, which cost more than
            # the index walk for 1,000 positions
            rows = conn.execute(stmt).all()
        return [ArticleCursor(sort_at, id_) for sort_at, id_ in rows]

    def count_user_articles(self: _Plumbing, query: EntryQuery) -> int:
        with self._read() as conn:
            if query.read is ReadFilter.UNREAD and query.starred is None:
                # unread = all - read: both counts walk one index (all articles; the user's state
                # rows), where counting unread directly probes the state table once per article.
                everything = replace(query, read=ReadFilter.ALL)
                total = conn.execute(_where(sa.select(sa.func.count()).select_from(_from_for(everything)),
                                            everything)).scalar_one()
                return int(total) - int(conn.execute(_state_count(replace(query, read=ReadFilter.READ))).scalar_one())
            if _needs_state(query) and query.read is not ReadFilter.UNREAD and query.starred is not False:
                # read, starred: count the user's state rows (20 starred of 100,000 articles cost
                # 28 ms counted from the articles' side, a Miniflux starred listing's total)
                return int(conn.execute(_state_count(query)).scalar_one())
            stmt = _where(sa.select(sa.func.count()).select_from(_from_for(query)), query)
            return int(conn.execute(stmt).scalar_one())

    def set_article_state(self: _Plumbing, user_id: int, article_ids: Iterable[int], now: datetime, *,
                          read: bool | None = None, starred: bool | None = None) -> int:
        found = 0
        with self._write() as conn:
            _bump_state_version(conn, user_id)
            for chunk in _chunks(article_ids):
                found += _upsert_states(self._backend, conn, user_id, _in_ids(articles.c.id, chunk), now,
                                        read=read, starred=starred)
        return found

    def mark_read(self: _Plumbing, query: EntryQuery, now: datetime) -> int:
        matching = _where(sa.select(articles.c.id).select_from(_state_join(query.user_id)), query)
        matching = matching.where(sa.not_(_is_read()))
        with self._write() as conn:
            _bump_state_version(conn, query.user_id)
            return _upsert_states(self._backend, conn, query.user_id, articles.c.id.in_(matching.scalar_subquery()),
                                  now, read=True, starred=None)

    def change_labels(self: _Plumbing, user_id: int, article_ids: Iterable[int], *, add: Sequence[str] = (),
                      remove: Sequence[str] = ()) -> None:
        add = [label[:MAX_LABEL_LENGTH] for label in add if label]
        remove = [label[:MAX_LABEL_LENGTH] for label in remove if label]
        with self._write() as conn:
            _bump_state_version(conn, user_id)
            for chunk in _chunks(article_ids):
                if remove:
                    conn.execute(sa.delete(article_labels).where(
                        article_labels.c.user_id == user_id, _in_ids(article_labels.c.article_id, chunk),
                        article_labels.c.label.in_(remove)))
                for label in add:
                    select = sa.select(sa.literal(user_id), articles.c.id, sa.literal(label)).where(
                        _in_ids(articles.c.id, chunk))
                    conn.execute(self._backend.insert(article_labels).from_select(
                        ["user_id", "article_id", "label"], select).on_conflict_do_nothing())

    def list_labels(self: _Plumbing, user_id: int) -> list[str]:
        stmt = (sa.select(article_labels.c.label).where(article_labels.c.user_id == user_id).distinct()
                .order_by(article_labels.c.label))
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def list_sources_uncounted(self: _Plumbing, ids: Iterable[int] | None = None) -> list[Source]:
        from .sql import _to_source  # sql.py imports this module; the row conversion is its own

        with self._read() as conn:
            if ids is None:
                return [_to_source(row) for row in conn.execute(sa.select(sources).order_by(sources.c.id))]
            found = []
            for chunk in _chunks(ids):
                rows = conn.execute(sa.select(sources).where(sources.c.id.in_(chunk))).all()
                found += [_to_source(row) for row in rows]
            return sorted(found, key=lambda source: source.id)

    def count_unread_among(self: _Plumbing, user_id: int, *, entity_ids: Sequence[int] = (),
                           source_ids: Sequence[int] = (),
                           article_ids: Sequence[int] = ()) -> tuple[int, datetime | None]:
        among: list[sa.ColumnElement[bool]] = []
        if entity_ids:
            among.append(articles.c.id.in_(sa.select(article_entities.c.article_id).where(
                article_entities.c.entity_id.in_(list(entity_ids)[:100]))))
        if source_ids:
            among.append(articles.c.source_id.in_(list(source_ids)[:100]))
        if article_ids:
            among.append(_in_ids(articles.c.id, list(article_ids)[:MAX_IDS_PER_CALL]))
        if not among:
            return 0, None
        on = sa.and_(article_states.c.article_id == articles.c.id, article_states.c.user_id == user_id)
        stmt = (sa.select(sa.func.count(), sa.func.max(articles.c.sort_at))
                .select_from(articles.outerjoin(article_states, on))
                .where(sa.or_(*among), sa.or_(article_states.c.read.is_(None), article_states.c.read.is_(False))))
        with self._read() as conn:
            count, newest = conn.execute(stmt).one()
        return int(count), newest

    def unread_counts(self: _Plumbing, user_id: int) -> list[UnreadCount]:
        stmt = (
            sa.select(articles.c.source_id, sa.func.count().label("n"), sa.func.max(articles.c.sort_at).label("newest"))
            .select_from(_state_join(user_id))
            .where(sa.or_(article_states.c.read.is_(None), article_states.c.read.is_(False)))
            .group_by(articles.c.source_id)
            .order_by(articles.c.source_id)
        )
        with self._read() as conn:
            return [UnreadCount(row.source_id, int(row.n), row.newest) for row in conn.execute(stmt)]


def _bump_state_version(conn: sa.Connection, user_id: int) -> None:
    # First in the transaction: on PostgreSQL the user's row lock then orders concurrent changes of
    # one user (two apps marking read at once), so their state-row locks cannot deadlock.
    conn.execute(sa.update(users).where(users.c.id == user_id).values(state_version=users.c.state_version + 1))


def _cursor_key(cursor: ArticleCursor) -> sa.Tuple:
    return sa.tuple_(sa.bindparam(None, cursor.sort_at, UTCDateTime()), sa.bindparam(None, cursor.id, sa.Integer))


def _upsert_states(backend: Any, conn: sa.Connection, user_id: int, which: sa.ColumnElement[bool], now: datetime,
                   *, read: bool | None, starred: bool | None) -> int:
    """INSERT ... SELECT the chosen articles' states, updating the given fields where a row exists.
    Selecting from articles skips unknown ids (another backend's id, a deleted article) silently."""
    select = sa.select(
        sa.literal(user_id, sa.Integer),
        articles.c.id,
        sa.literal(bool(read), sa.Boolean),
        sa.literal(bool(starred), sa.Boolean),
        sa.bindparam(None, now, UTCDateTime()),
    ).where(which)
    insert = backend.insert(article_states).from_select(
        ["user_id", "article_id", "read", "starred", "changed_at"], select)
    updates: dict[str, Any] = {"changed_at": insert.excluded.changed_at}
    if read is not None:
        updates["read"] = insert.excluded.read
    if starred is not None:
        updates["starred"] = insert.excluded.starred
    stmt = insert.on_conflict_do_update(index_elements=["user_id", "article_id"], set_=updates)
    # Counted from RETURNING: rowcount of INSERT ... SELECT is -1 on some drivers (psycopg).
    return len(conn.execute(stmt.returning(article_states.c.article_id)).all())
