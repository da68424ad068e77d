"""Storage of stories, duplicates, entities and topics: tables and the StoriesMixin of SqlStorage.

Every assignment is written in one transaction that first checks and bumps a generation counter
(`story_state`): a process whose in-memory clusterer is behind the database (another worker
assigned meanwhile, or an operator split/merged) gets None back and rebuilds before retrying, so
two workers never start two stories for one event. The write itself is serialised by the backend:
BEGIN IMMEDIATE on SQLite, an advisory transaction lock on PostgreSQL.

The story lease (`story_assigner`, take_story_lease) names the one worker that assigns stories
while several share the database (services/storyqueue.py): not for correctness, which the
generation check gives, but so that the others' assignments do not keep moving the generation
under it and make it rebuild its clusterer over and over.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from ..errors import NotFoundError, StorageError
from ..models import ArticleListItem
from ..stories.records import (
    HOW_OPERATOR,
    MERGE_HOPS,
    AssignmentLookup,
    AssignmentRecord,
    EntityRecord,
    Placement,
    StoredStory,
    StoryMember,
    Topic,
    TopicDefinition,
    WindowArticle,
)
from .schema import UTCDateTime, articles, metadata, sources

__all__ = ["StoriesMixin", "StoriesStorage"]

#: the advisory lock key that serialises story assignment on PostgreSQL ("news" in ASCII)
_PG_STORY_LOCK = 0x6E657773
#: body characters read per article when the clusterer is rebuilt
REBUILD_TEXT_CHARS = 4000
_MAX_LIST = 500

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("merged_into", sa.Integer),
    sa.Column("locked", sa.Boolean, nullable=False),
    # the home page's story view: most recent activity first
    sa.Index(None, "last_seen", "id"),
)

story_articles = sa.Table(
    "story_articles",
    metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    sa.Column("how", sa.String(16), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("shared_entities", sa.Text, nullable=False),
    sa.Column("shared_terms", sa.Text, nullable=False),
    sa.Column("duplicate_of", sa.Integer),
    sa.Column("duplicate_how", sa.String(16)),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.Index(None, "story_id"),
    sa.Index(None, "assigned_at"),
)

article_fingerprints = sa.Table(
    "article_fingerprints",
    metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("canonical_url", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64)),
    sa.Index(None, "canonical_url"),
    sa.Index(None, "content_hash"),
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
)

article_entities = sa.Table(
    "article_entities",
    metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index(None, "entity_id", "article_id"),
)
#: an article's names, the most mentioned first; the id settles ties, so every read agrees
_ENTITY_ORDER = (article_entities.c.count.desc(), entities.c.name, entities.c.id)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

story_overrides = sa.Table(
    "story_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("article_id", sa.Integer),
    sa.Column("story_id", sa.Integer, nullable=False),
    sa.Column("target_story_id", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

story_state = sa.Table(
    "story_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
)

#: one row (id 1): the worker that assigns stories now, and until when (a lease; see take_story_lease)
story_assigner = sa.Table(
    "story_assigner",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
)

# -- the statements of one assignment, built once: assignment runs them under the story lock, and
# building a Core statement (and its cache key) per call costs more than SQLite takes to run it.
# Values are bound at execution; bind names start with p_ (a name equal to a column of the
# updated table is reserved for its SET clause).

_fp = article_fingerprints
_PLACEMENT_COLUMNS = (story_articles.c.story_id, story_articles.c.how, story_articles.c.score,
                      story_articles.c.duplicate_of, story_articles.c.duplicate_how)


def _first_two(kind: str, column: sa.Column[Any], param: str) -> sa.Select[Any]:
    # the first two in id order (`exclude` is skipped in Python: an `article_id != ?` in SQL makes
    # SQLite read the index as two rowid ranges and sort them in a temporary B-tree), with their
    # story; as `IN (... LIMIT 2)`: a FROM subquery would be scanned (bounded, but a SCAN in the plan)
    first = sa.select(_fp.c.article_id).where(column == sa.bindparam(param)).order_by(_fp.c.article_id).limit(2)
    return (sa.select(sa.literal_column(kind).label("kind"), _fp.c.article_id, *_PLACEMENT_COLUMNS)
            .select_from(_fp.outerjoin(story_articles, story_articles.c.article_id == _fp.c.article_id))
            .where(_fp.c.article_id.in_(first.scalar_subquery())))


#: the article's own placement (kind 0), and the first two articles with its canonical URL (1) and
#: with its content hash (2), each with its placement: the idempotency check and the duplicate lookups
_LOOKUP = sa.union_all(
    sa.select(sa.literal_column("0").label("kind"), story_articles.c.article_id, *_PLACEMENT_COLUMNS)
    .where(story_articles.c.article_id == sa.bindparam("p_article")),
    _first_two("1", _fp.c.canonical_url, "p_url"),
    _first_two("2", _fp.c.content_hash, "p_hash"),
)
_GENERATION_BUMP = (sa.update(story_state)
                    .where(story_state.c.id == 1, story_state.c.generation == sa.bindparam("p_expected"))
                    .values(generation=sa.bindparam("p_next")))
_PG_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_PG_STORY_LOCK))
_PLACED = sa.select(story_articles.c.story_id).where(story_articles.c.article_id == sa.bindparam("p_article"))
_STORY_LINK = sa.select(stories.c.merged_into).where(stories.c.id == sa.bindparam("p_story"))
#: the article's time as stored (rec.at if the row were gone)
_ARTICLE_AT = sa.func.coalesce(
    sa.select(articles.c.sort_at).where(articles.c.id == sa.bindparam("p_article")).scalar_subquery(),
    sa.bindparam("p_at", type_=UTCDateTime()))
_NEW_STORY_OF_ONE = sa.insert(stories).values(
    title=sa.bindparam("p_title"), first_seen=_ARTICLE_AT, last_seen=_ARTICLE_AT, size=1, merged_into=None,
    locked=False).returning(stories.c.id)
_NEW_STORY_EMPTY = sa.insert(stories).values(
    title=sa.bindparam("p_title"), first_seen=sa.bindparam("p_at", type_=UTCDateTime()),
    last_seen=sa.bindparam("p_at", type_=UTCDateTime()), size=0, merged_into=None,
    locked=False).returning(stories.c.id)
_JOIN_STORY = sa.update(stories).where(stories.c.id == sa.bindparam("p_story")).values(
    size=stories.c.size + 1,
    first_seen=sa.case((stories.c.first_seen > _ARTICLE_AT, _ARTICLE_AT), else_=stories.c.first_seen),
    last_seen=sa.case((stories.c.last_seen < _ARTICLE_AT, _ARTICLE_AT), else_=stories.c.last_seen))
_INSERT_PLACEMENT = sa.insert(story_articles)
_INSERT_FINGERPRINT = sa.insert(article_fingerprints)
_ENTITY_IDS = sa.select(entities.c.key, entities.c.id).where(entities.c.key.in_(sa.bindparam("p_keys", expanding=True)))
_INSERT_ENTITY = sa.insert(entities).returning(entities.c.id)
_INSERT_ARTICLE_ENTITIES = sa.insert(article_entities)

_SOURCE_NAME = sa.func.coalesce(sa.func.nullif(sources.c.title, ""), sources.c.site_url, sources.c.url)
_MEMBER_COLUMNS = (
    story_articles.c.article_id,
    story_articles.c.story_id,
    articles.c.source_id,
    _SOURCE_NAME.label("source_title"),
    articles.c.title,
    articles.c.url,
    articles.c.sort_at,
    articles.c.language,
    story_articles.c.how,
    story_articles.c.score,
    story_articles.c.shared_entities,
    story_articles.c.shared_terms,
    story_articles.c.duplicate_of,
    story_articles.c.duplicate_how,
)
_MEMBER_FROM = story_articles.join(articles, articles.c.id == story_articles.c.article_id).join(
    sources, sources.c.id == articles.c.source_id)
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


def _json_list(raw: str | None) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _member(row: Any) -> StoryMember:
    return StoryMember(
        article_id=row.article_id, story_id=row.story_id, source_id=row.source_id, source_title=row.source_title,
        title=row.title, url=row.url, sort_at=row.sort_at, language=row.language, how=row.how,
        score=float(row.score), shared_entities=_json_list(row.shared_entities),
        shared_terms=_json_list(row.shared_terms), duplicate_of=row.duplicate_of, duplicate_how=row.duplicate_how)


def _placement(row: Any) -> Placement:
    return Placement(int(row.article_id), int(row.story_id), row.how, float(row.score), row.duplicate_of,
                     row.duplicate_how)


def _item(row: Any) -> ArticleListItem:
    return ArticleListItem(id=row.id, source_id=row.source_id, source_title=row.source_title, url=row.url,
                           title=row.title, sort_at=row.sort_at, language=row.language, image_url=row.image_url,
                           summary=row.summary)


def _story(row: sa.Row[Any], outlets: int = 0) -> StoredStory:
    return StoredStory(id=row.id, title=row.title, first_seen=row.first_seen, last_seen=row.last_seen,
                       size=row.size, outlets=outlets, merged_into=row.merged_into, locked=bool(row.locked))


def _key(cursor: tuple[datetime, int]) -> sa.Tuple:
    """A (time, id) keyset position as bound parameters (the time in the column's own type)."""
    return sa.tuple_(sa.bindparam(None, cursor[0], UTCDateTime()), sa.bindparam(None, cursor[1], sa.Integer()))


def _clamp(limit: int) -> int:
    return max(0, min(limit, _MAX_LIST))


class StoriesStorage(Protocol):
    def story_generation(self) -> int:
        """A counter bumped by every assignment and operator change."""

    def record_assignment(self, rec: AssignmentRecord, expected_generation: int) -> tuple[int, int] | None:
        """Store an assignment if the generation is still `expected_generation`: (new generation,
        story id). None when another writer got there first (rebuild and retry). A `rec.story_id`
        merged into another story joins the one its merged_into links end in; NotFoundError (and
        nothing stored) when that story is gone or the chain is longer than MERGE_HOPS."""

    def find_duplicate(self, canonical_url: str, content_hash: str | None, exclude: int) -> tuple[int, str] | None:
        """An earlier article with the same canonical URL ("url") or content hash ("hash")."""

    def assignment_lookup(self, article_id: int, canonical_url: str, content_hash: str | None) -> AssignmentLookup:
        """In one statement, what assignment reads first: the article's own placement (it is
        assigned already), and what find_duplicate(canonical_url, content_hash, article_id) finds,
        with that article's placement."""

    def window_articles(self, since: datetime, limit: int) -> list[WindowArticle]:
        """Assigned articles listed at or after `since`, in assignment order (oldest first)."""

    def unassigned_articles(self, since: datetime, limit: int) -> list[int]:
        """Articles stored (fetched_at) at or after `since` that are in no story, oldest first."""

    def take_story_lease(self, worker_id: str, now: datetime, seconds: int) -> bool:
        """Become (or stay) the one worker that assigns stories, until now + seconds; False while
        another worker's lease runs."""

    def release_story_lease(self, worker_id: str) -> None: ...

    def get_story(self, story_id: int, *, outlets: bool = True) -> StoredStory:
        """Raises NotFoundError. `outlets=False` leaves StoredStory.outlets 0 and skips counting
        them over the story's articles (assignment only follows merged_into and reads locked)."""

    def story_members(self, story_id: int) -> list[StoryMember]:
        """A story's articles, earliest first."""

    def story_of_article(self, article_id: int) -> StoryMember | None: ...

    def list_stories(self, *, limit: int = 30, before: datetime | None = None,
                     cursor: tuple[datetime, int] | None = None) -> list[StoredStory]:
        """Live (unmerged) stories by latest activity, newest first; `before` pages by last_seen,
        `cursor` (last_seen, id) by keyset: the stories after that one."""

    def story_ids_of_articles(self, article_ids: Sequence[int]) -> dict[int, int]:
        """article id -> the id of its story, for those of the ids that are in one."""

    def list_entities(self, *, kind: str | None = None, name: str | None = None, limit: int = 50,
                      after: tuple[str, int] | None = None) -> list[EntityRecord]:
        """Entities by name (then id); `kind` is an exact type, `name` a case-insensitive prefix;
        `after` (name, id) pages by keyset."""

    def split_article(self, article_id: int, at: datetime) -> int:
        """Move an article into a story of its own, kept (locked). Returns the new story id."""

    def merge_stories(self, story_id: int, into_id: int, at: datetime) -> None:
        """Move every article of `story_id` into `into_id`, kept (locked)."""

    def get_entity(self, entity_id: int) -> EntityRecord: ...

    def find_entity(self, key: str) -> EntityRecord | None: ...

    def article_entities(self, article_id: int) -> list[EntityRecord]: ...

    def entities_of_articles(self, article_ids: Sequence[int], per_article: int = 50) -> dict[int, list[EntityRecord]]:
        """article_entities of many articles at once (the first `per_article` of each, in the same
        order); articles without entities are left out."""

    def entity_articles(self, entity_id: int, limit: int = 50,
                        cursor: tuple[datetime, int] | None = None) -> list[ArticleListItem]: ...

    def entity_stories(self, entity_id: int, limit: int = 50,
                       cursor: tuple[datetime, int] | None = None) -> list[StoredStory]:
        """Live stories naming the entity, newest activity first; `cursor` (last_seen, id) as in
        list_stories."""

    def articles_matching(self, entity_ids: Sequence[int], source_ids: Sequence[int],
                          limit: int = 50, cursor: tuple[datetime, int] | None = None) -> list[ArticleListItem]:
        """Newest articles that mention any of the entities or come from any of the sources;
        `cursor` (sort_at, id): only those after it (keyset)."""

    def add_topic(self, slug: str, name: str, definition: TopicDefinition, at: datetime) -> Topic: ...

    def get_topic(self, slug: str) -> Topic:
        """Raises NotFoundError."""

    def list_topics(self) -> list[Topic]: ...

    def remove_topic(self, slug: str) -> None:
        """Raises NotFoundError."""


class _Named(Protocol):
    name: str


class StoriesMixin:
    """The StoriesStorage methods, on SqlStorage's plumbing."""

    _backend: _Named

    if TYPE_CHECKING:  # SqlStorage provides the plumbing
        def _read(self) -> AbstractContextManager[sa.Connection]: ...
        def _write(self) -> AbstractContextManager[sa.Connection]: ...

    def _story_lock(self, conn: sa.Connection) -> None:
        if self._backend.name == "postgresql":
            conn.execute(_PG_LOCK)

    def _bump(self, conn: sa.Connection, expected: int | None) -> int | None:
        self._story_lock(conn)
        if expected is not None:
            # the common case in one statement: the generation is the one expected
            moved = conn.execute(_GENERATION_BUMP, {"p_expected": expected, "p_next": expected + 1})
            if moved.rowcount == 1:
                return expected + 1
        current = conn.execute(sa.select(story_state.c.generation).where(story_state.c.id == 1)).scalar()
        if current is None:
            conn.execute(sa.insert(story_state).values(id=1, generation=0))
            current = 0
        if expected is not None and current != expected:
            return None
        conn.execute(sa.update(story_state).where(story_state.c.id == 1).values(generation=current + 1))
        return int(current) + 1

    def story_generation(self) -> int:
        with self._read() as conn:
            current = conn.execute(sa.select(story_state.c.generation).where(story_state.c.id == 1)).scalar()
        return int(current or 0)

    def record_assignment(self, rec: AssignmentRecord, expected_generation: int) -> tuple[int, int] | None:
        with self._write() as conn:
            generation = self._bump(conn, expected_generation)
            if generation is None:
                return None
            if conn.execute(_PLACED, {"p_article": rec.article_id}).scalar() is not None:
                raise StorageError(f"article {rec.article_id} is in a story already")
            # a new story holds this article alone: stored with its size and times (what
            # _refresh_story would count) at once; most assignments start a story
            fresh = rec.story_id is None and not rec.merged
            article = {"p_article": rec.article_id, "p_at": rec.at}
            if rec.story_id is None:
                title = (rec.title or "")[:1000]
                story_id = int(conn.execute(_NEW_STORY_OF_ONE, {**article, "p_title": title}).scalar_one() if fresh
                               else conn.execute(_NEW_STORY_EMPTY, {"p_at": rec.at, "p_title": title}).scalar_one())
            else:
                # read here, in the transaction the generation check serialises, not before it
                story_id = self._live_story(conn, rec.story_id)
            for other in rec.merged:
                if other != story_id:
                    self._move_story(conn, other, story_id)
            conn.execute(_INSERT_PLACEMENT, {
                "article_id": rec.article_id, "story_id": story_id, "how": rec.how, "score": float(rec.score),
                "shared_entities": json.dumps(list(rec.shared_entities)),
                "shared_terms": json.dumps(list(rec.shared_terms)),
                "duplicate_of": rec.duplicate_of, "duplicate_how": rec.duplicate_how,
                # wall-clock time: the clusterer is rebuilt from what was assigned lately
                "assigned_at": datetime.now(UTC)})
            if rec.merged:
                self._refresh_story(conn, story_id)
            elif not fresh:
                # one more article: counted on, not recounted over the story's rows (bounded by its
                # size, up to 1,000). Articles leave stories only with their source (delete_source
                # recounts what it touched), by split and merge (both recount).
                conn.execute(_JOIN_STORY, {**article, "p_story": story_id})
            conn.execute(_INSERT_FINGERPRINT, {"article_id": rec.article_id, "canonical_url": rec.canonical_url[:2048],
                                               "content_hash": rec.content_hash})
            if rec.entities:
                ids = self._entity_ids(conn, rec.entities)
                counts: dict[int, int] = {}
                for key, _name, _type, count in rec.entities:
                    counts.setdefault(ids[key[:200]], count)
                conn.execute(_INSERT_ARTICLE_ENTITIES, [
                    {"article_id": rec.article_id, "entity_id": entity_id, "count": count}
                    for entity_id, count in counts.items()])
            return generation, story_id

    def _live_story(self, conn: sa.Connection, story_id: int) -> int:
        """The story `story_id` ended in, following merged_into (merges are not repointed);
        NotFoundError when it is gone or the chain is longer than MERGE_HOPS."""
        current = story_id
        for _ in range(MERGE_HOPS + 1):
            row = conn.execute(_STORY_LINK, {"p_story": current}).one_or_none()
            if row is None:
                raise NotFoundError(f"no story with id {current}")
            if row.merged_into is None:
                return current
            current = int(row.merged_into)
        raise NotFoundError(f"story {story_id} was merged more than {MERGE_HOPS} times over")

    def _entity_ids(self, conn: sa.Connection, rows: Sequence[tuple[str, str, str, int]]) -> dict[str, int]:
        """Entity key -> id, adding the unknown ones: one lookup for all, not one per entity."""
        keys = list(dict.fromkeys(key[:200] for key, _, _, _ in rows))
        found = {str(k): int(i) for k, i in conn.execute(_ENTITY_IDS, {"p_keys": keys})}
        for key, name, type_, _count in rows:
            key = key[:200]
            if key not in found:
                found[key] = int(conn.execute(_INSERT_ENTITY, {"key": key, "name": name[:300], "type": type_[:16]})
                                 .scalar_one())
        return found

    def _refresh_story(self, conn: sa.Connection, story_id: int) -> None:
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.min(articles.c.sort_at), sa.func.max(articles.c.sort_at))
            .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
            .where(story_articles.c.story_id == story_id)).one()
        values: dict[str, Any] = {"size": int(row[0])}
        if row[1] is not None:  # min/max keep the column's type: aware datetimes on every backend
            values.update(first_seen=row[1], last_seen=row[2])
        conn.execute(sa.update(stories).where(stories.c.id == story_id).values(**values))

    def _source_stories(self, conn: sa.Connection, source_id: int) -> list[int]:
        """The stories holding articles of a source: what deleting it changes (delete_source)."""
        return [int(i) for i in conn.execute(
            sa.select(story_articles.c.story_id).distinct()
            .select_from(articles.join(story_articles, story_articles.c.article_id == articles.c.id))
            .where(articles.c.source_id == source_id)).scalars()]

    def _recount_stories(self, conn: sa.Connection, story_ids: Sequence[int]) -> None:
        """_refresh_story of many stories, in statements of 500: size, first and last article time
        over their rows now (times kept where no row is left, as _refresh_story keeps them)."""
        members = story_articles.join(articles, articles.c.id == story_articles.c.article_id)

        def over_rows(column: Any) -> Any:
            return (sa.select(column).select_from(members).where(story_articles.c.story_id == stories.c.id)
                    .scalar_subquery())

        for start in range(0, len(story_ids), 500):
            chunk = list(story_ids[start:start + 500])
            conn.execute(sa.update(stories).where(stories.c.id.in_(chunk)).values(
                size=over_rows(sa.func.count()),
                first_seen=sa.func.coalesce(over_rows(sa.func.min(articles.c.sort_at)), stories.c.first_seen),
                last_seen=sa.func.coalesce(over_rows(sa.func.max(articles.c.sort_at)), stories.c.last_seen)))

    def _move_story(self, conn: sa.Connection, story_id: int, into_id: int) -> None:
        conn.execute(sa.update(story_articles).where(story_articles.c.story_id == story_id)
                     .values(story_id=into_id))
        # Stories merged into `story_id` earlier keep pointing at it: readers follow the chain
        # (services.stories). Repointing them here would scan the whole stories table (merged_into
        # has no index), once per merge, on an archive of any size.
        conn.execute(sa.update(stories).where(stories.c.id == story_id).values(merged_into=into_id, size=0))

    def find_duplicate(self, canonical_url: str, content_hash: str | None, exclude: int) -> tuple[int, str] | None:
        fp = article_fingerprints

        def first(conn: sa.Connection, column: sa.Column[Any], value: str) -> int | None:
            # the first two in id order, `exclude` skipped here: an `article_id != ?` in SQL makes
            # SQLite read the index as two rowid ranges and sort them in a temporary B-tree
            found = conn.execute(sa.select(fp.c.article_id).where(column == value)
                                 .order_by(fp.c.article_id).limit(2)).scalars()
            return next((int(i) for i in found if i != exclude), None)

        with self._read() as conn:
            found = first(conn, fp.c.canonical_url, canonical_url[:2048])
            if found is not None:
                return found, "url"
            if content_hash:
                found = first(conn, fp.c.content_hash, content_hash)
                if found is not None:
                    return found, "hash"
        return None

    def assignment_lookup(self, article_id: int, canonical_url: str, content_hash: str | None) -> AssignmentLookup:
        with self._read() as conn:
            rows = conn.execute(_LOOKUP, {"p_article": article_id, "p_url": canonical_url[:2048],
                                          "p_hash": content_hash or None}).all()
        done = None
        found: dict[int, list[Any]] = {1: [], 2: []}
        for row in rows:
            if int(row.kind) == 0:
                done = _placement(row)
            else:
                found[int(row.kind)].append(row)
        # as find_duplicate: by URL first, then by hash, the first in id order that is not this one
        for kind, how in ((1, "url"), (2, "hash")):
            for row in sorted(found[kind], key=lambda r: int(r.article_id)):
                if row.article_id != article_id:
                    placed = _placement(row) if row.story_id is not None else None
                    return AssignmentLookup(done, (int(row.article_id), how), placed)
        return AssignmentLookup(done)

    def window_articles(self, since: datetime, limit: int) -> list[WindowArticle]:
        stmt = (
            sa.select(story_articles.c.article_id, story_articles.c.story_id, story_articles.c.duplicate_of,
                      articles.c.title, sa.func.substr(articles.c.text, 1, REBUILD_TEXT_CHARS).label("text"),
                      articles.c.language, articles.c.source_id, articles.c.sort_at, articles.c.canonical_url,
                      articles.c.url)
            .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
            .where(story_articles.c.assigned_at >= since)
            .order_by(story_articles.c.assigned_at.desc(), story_articles.c.article_id.desc())
            .limit(max(0, limit))
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        out = [WindowArticle(r.article_id, r.story_id, r.title, r.text or "", r.language, r.source_id, r.sort_at,
                             r.duplicate_of, r.canonical_url, r.url) for r in rows]
        out.reverse()
        return out

    def unassigned_articles(self, since: datetime, limit: int) -> list[int]:
        assigned = sa.select(story_articles.c.article_id).where(story_articles.c.article_id == articles.c.id)
        # in fetched_at order: the range of ix_articles_fetched_at, read in index order, no sort
        stmt = (sa.select(articles.c.id).where(articles.c.fetched_at >= since, ~assigned.exists())
                .order_by(articles.c.fetched_at, articles.c.id).limit(max(0, limit)))
        with self._read() as conn:
            return [int(r[0]) for r in conn.execute(stmt)]

    def take_story_lease(self, worker_id: str, now: datetime, seconds: int) -> bool:
        with self._write() as conn:
            self._story_lock(conn)
            row = conn.execute(sa.select(story_assigner).where(story_assigner.c.id == 1)).one_or_none()
            until = now + timedelta(seconds=max(1, seconds))
            if row is None:
                conn.execute(sa.insert(story_assigner).values(id=1, owner=worker_id, lease_until=until))
                return True
            if row.owner not in (None, worker_id) and row.lease_until is not None and row.lease_until > now:
                return False
            conn.execute(sa.update(story_assigner).where(story_assigner.c.id == 1)
                         .values(owner=worker_id, lease_until=until))
            return True

    def release_story_lease(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute(sa.update(story_assigner).where(story_assigner.c.owner == worker_id)
                         .values(owner=None, lease_until=None))

    def get_story(self, story_id: int, *, outlets: bool = True) -> StoredStory:
        with self._read() as conn:
            row = conn.execute(sa.select(stories).where(stories.c.id == story_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"no story with id {story_id}")
            if not outlets:
                return _story(row)
            count = conn.execute(
                sa.select(sa.func.count(sa.distinct(articles.c.source_id)))
                .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
                .where(story_articles.c.story_id == story_id)).scalar_one()
        return _story(row, int(count))

    def story_members(self, story_id: int) -> list[StoryMember]:
        stmt = (sa.select(*_MEMBER_COLUMNS).select_from(_MEMBER_FROM).where(story_articles.c.story_id == story_id)
                .order_by(articles.c.sort_at, articles.c.id).limit(1000))
        with self._read() as conn:
            return [_member(r) for r in conn.execute(stmt)]

    def story_of_article(self, article_id: int) -> StoryMember | None:
        stmt = sa.select(*_MEMBER_COLUMNS).select_from(_MEMBER_FROM).where(story_articles.c.article_id == article_id)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return _member(row) if row is not None else None

    def list_stories(self, *, limit: int = 30, before: datetime | None = None,
                     cursor: tuple[datetime, int] | None = None) -> list[StoredStory]:
        stmt = sa.select(stories).where(stories.c.merged_into.is_(None), stories.c.size > 0)
        if before is not None:
            stmt = stmt.where(stories.c.last_seen < before)
        if cursor is not None:
            stmt = stmt.where(sa.tuple_(stories.c.last_seen, stories.c.id) < _key(cursor))
        stmt = stmt.order_by(stories.c.last_seen.desc(), stories.c.id.desc()).limit(_clamp(limit))
        with self._read() as conn:
            rows = conn.execute(stmt).all()
            counts: dict[int, int] = {}
            if rows:
                counts = {int(sid): int(n) for sid, n in conn.execute(
                    sa.select(story_articles.c.story_id, sa.func.count(sa.distinct(articles.c.source_id)))
                    .select_from(story_articles.join(articles, articles.c.id == story_articles.c.article_id))
                    .where(story_articles.c.story_id.in_([r.id for r in rows]))
                    .group_by(story_articles.c.story_id))}
        return [_story(r, counts.get(r.id, 0)) for r in rows]

    def story_ids_of_articles(self, article_ids: Sequence[int]) -> dict[int, int]:
        unique = sorted({int(i) for i in article_ids})
        found: dict[int, int] = {}
        with self._read() as conn:
            for start in range(0, len(unique), _MAX_LIST):
                chunk = unique[start:start + _MAX_LIST]
                found.update((int(a), int(s)) for a, s in conn.execute(
                    sa.select(story_articles.c.article_id, story_articles.c.story_id)
                    .where(story_articles.c.article_id.in_(chunk))))
        return found

    def split_article(self, article_id: int, at: datetime) -> int:
        with self._write() as conn:
            self._bump(conn, None)
            row = conn.execute(sa.select(story_articles.c.story_id).where(
                story_articles.c.article_id == article_id)).one_or_none()
            if row is None:
                raise NotFoundError(f"article {article_id} is in no story")
            old = int(row.story_id)
            title = conn.execute(sa.select(articles.c.title).where(articles.c.id == article_id)).scalar_one()
            new_id = int(conn.execute(sa.insert(stories).values(
                title=title, first_seen=at, last_seen=at, size=0, merged_into=None, locked=True)
                .returning(stories.c.id)).scalar_one())
            # its duplicates follow it: they are the same article
            conn.execute(sa.update(story_articles).where(
                sa.or_(story_articles.c.article_id == article_id, story_articles.c.duplicate_of == article_id))
                .values(story_id=new_id, how=HOW_OPERATOR, score=1.0))
            conn.execute(sa.update(story_articles).where(story_articles.c.article_id == article_id)
                         .values(how=HOW_OPERATOR))
            conn.execute(sa.update(stories).where(stories.c.id == old).values(locked=True))
            self._refresh_story(conn, new_id)
            self._refresh_story(conn, old)
            conn.execute(sa.insert(story_overrides).values(kind="split", article_id=article_id, story_id=old,
                                                           target_story_id=new_id, created_at=at))
            return new_id

    def merge_stories(self, story_id: int, into_id: int, at: datetime) -> None:
        if story_id == into_id:
            raise StorageError("a story cannot be merged into itself")
        with self._write() as conn:
            self._bump(conn, None)
            for sid in (story_id, into_id):
                if conn.execute(sa.select(stories.c.id).where(stories.c.id == sid)).scalar() is None:
                    raise NotFoundError(f"no story with id {sid}")
            self._move_story(conn, story_id, into_id)
            conn.execute(sa.update(stories).where(stories.c.id.in_([story_id, into_id])).values(locked=True))
            self._refresh_story(conn, into_id)
            conn.execute(sa.insert(story_overrides).values(kind="merge", article_id=None, story_id=story_id,
                                                           target_story_id=into_id, created_at=at))

    def story_overrides(self) -> list[tuple[str, int | None, int, int | None]]:
        with self._read() as conn:
            return [(r.kind, r.article_id, r.story_id, r.target_story_id) for r in conn.execute(
                sa.select(story_overrides).order_by(story_overrides.c.id))]

    # -- entities ---------------------------------------------------------------------------

    def get_entity(self, entity_id: int) -> EntityRecord:
        with self._read() as conn:
            row = conn.execute(sa.select(entities).where(entities.c.id == entity_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no entity with id {entity_id}")
        return EntityRecord(row.id, row.key, row.name, row.type)

    def find_entity(self, key: str) -> EntityRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(entities).where(entities.c.key == key)).one_or_none()
        return EntityRecord(row.id, row.key, row.name, row.type) if row is not None else None

    def article_entities(self, article_id: int) -> list[EntityRecord]:
        stmt = (sa.select(entities).select_from(article_entities.join(entities))
                .where(article_entities.c.article_id == article_id)
                .order_by(*_ENTITY_ORDER).limit(50))
        with self._read() as conn:
            return [EntityRecord(r.id, r.key, r.name, r.type) for r in conn.execute(stmt)]

    def entities_of_articles(self, article_ids: Sequence[int], per_article: int = 50) -> dict[int, list[EntityRecord]]:
        # one statement where a story page made one per member: on PostgreSQL each was a round trip
        # (and a pool pre-ping), and on a busy machine each one waits for the server to be scheduled
        unique = sorted({int(i) for i in article_ids})
        found: dict[int, list[EntityRecord]] = {}
        with self._read() as conn:
            for start in range(0, len(unique), _MAX_LIST):
                stmt = (sa.select(article_entities.c.article_id, entities).select_from(article_entities.join(entities))
                        .where(article_entities.c.article_id.in_(unique[start:start + _MAX_LIST]))
                        .order_by(article_entities.c.article_id, *_ENTITY_ORDER))
                for r in conn.execute(stmt):
                    listed = found.setdefault(int(r.article_id), [])
                    if len(listed) < per_article:
                        listed.append(EntityRecord(r.id, r.key, r.name, r.type))
        return found

    def list_entities(self, *, kind: str | None = None, name: str | None = None, limit: int = 50,
                      after: tuple[str, int] | None = None) -> list[EntityRecord]:
        stmt = sa.select(entities)
        if kind is not None:
            stmt = stmt.where(entities.c.type == kind)
        if name:
            stmt = stmt.where(sa.func.lower(entities.c.name).startswith(name.lower(), autoescape=True))
        if after is not None:
            stmt = stmt.where(sa.tuple_(entities.c.name, entities.c.id) > sa.tuple_(
                sa.bindparam(None, after[0], sa.Text()), sa.bindparam(None, after[1], sa.Integer())))
        stmt = stmt.order_by(entities.c.name, entities.c.id).limit(_clamp(limit))
        with self._read() as conn:
            return [EntityRecord(r.id, r.key, r.name, r.type) for r in conn.execute(stmt)]

    def entity_articles(self, entity_id: int, limit: int = 50,
                        cursor: tuple[datetime, int] | None = None) -> list[ArticleListItem]:
        return self.articles_matching([entity_id], [], limit, cursor)

    def entity_stories(self, entity_id: int, limit: int = 50,
                       cursor: tuple[datetime, int] | None = None) -> list[StoredStory]:
        ids = (sa.select(story_articles.c.story_id)
               .select_from(article_entities.join(story_articles,
                                                  story_articles.c.article_id == article_entities.c.article_id))
               .where(article_entities.c.entity_id == entity_id))
        stmt = sa.select(stories).where(stories.c.id.in_(ids), stories.c.merged_into.is_(None))
        if cursor is not None:
            stmt = stmt.where(sa.tuple_(stories.c.last_seen, stories.c.id) < _key(cursor))
        stmt = (stmt.order_by(stories.c.last_seen.desc(), stories.c.id.desc()).limit(_clamp(limit)))
        with self._read() as conn:
            return [_story(r) for r in conn.execute(stmt)]

    def articles_matching(self, entity_ids: Sequence[int], source_ids: Sequence[int],
                          limit: int = 50, cursor: tuple[datetime, int] | None = None) -> list[ArticleListItem]:
        conds = []
        if entity_ids:
            conds.append(articles.c.id.in_(sa.select(article_entities.c.article_id).where(
                article_entities.c.entity_id.in_(list(entity_ids)[:100]))))
        if source_ids:
            conds.append(articles.c.source_id.in_(list(source_ids)[:100]))
        if not conds:
            return []
        stmt = sa.select(*_LIST_COLUMNS).select_from(_FROM).where(sa.or_(*conds))
        if cursor is not None:
            stmt = stmt.where(sa.tuple_(articles.c.sort_at, articles.c.id) < _key(cursor))
        stmt = (stmt.order_by(articles.c.sort_at.desc(), articles.c.id.desc()).limit(_clamp(limit)))
        with self._read() as conn:
            return [_item(r) for r in conn.execute(stmt)]

    # -- topics -----------------------------------------------------------------------------

    def add_topic(self, slug: str, name: str, definition: TopicDefinition, at: datetime) -> Topic:
        with self._write() as conn:
            if conn.execute(sa.select(topics.c.id).where(topics.c.slug == slug)).scalar() is not None:
                raise StorageError(f"a topic {slug!r} exists already")
            topic_id = conn.execute(sa.insert(topics).values(slug=slug, name=name[:200],
                                                             definition=definition.to_json(), created_at=at)
                                    .returning(topics.c.id)).scalar_one()
        return Topic(int(topic_id), slug, name[:200], definition, at)

    def get_topic(self, slug: str) -> Topic:
        with self._read() as conn:
            row = conn.execute(sa.select(topics).where(topics.c.slug == slug)).one_or_none()
        if row is None:
            raise NotFoundError(f"no topic {slug!r}")
        return Topic(row.id, row.slug, row.name, TopicDefinition.from_json(row.definition), row.created_at)

    def list_topics(self) -> list[Topic]:
        with self._read() as conn:
            return [Topic(r.id, r.slug, r.name, TopicDefinition.from_json(r.definition), r.created_at)
                    for r in conn.execute(sa.select(topics).order_by(topics.c.name))]

    def remove_topic(self, slug: str) -> None:
        with self._write() as conn:
            if conn.execute(sa.delete(topics).where(topics.c.slug == slug)).rowcount == 0:
                raise NotFoundError(f"no topic {slug!r}")


