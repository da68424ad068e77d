"""Use cases that the feed-reader APIs (Google Reader, Miniflux, the own API) share.

Subscriptions are the operator's sources; a category is a source's category. Per-user state (read,
starred, labels) goes through storage's UsersStorage. Each API module translates its protocol to
these calls and back; none of them composes storage calls itself.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..errors import NotFoundError
from ..models import ArticleCursor, NewSource, Source
from ..models_accounts import EntryOrder, User, UserEntry
from ..settings import Settings
from ..storage.base import Storage
from ..storage.users import EntryQuery, UnreadCount
from ..stories.records import Topic
from . import stories as story_service

__all__ = [
    "Category",
    "SourceDirectory",
    "TotalsCache",
    "category_id",
    "change_labels",
    "count_entries",
    "discover",
    "entries",
    "entry_positions",
    "mark_read",
    "refresh_soon",
    "set_state",
    "TopicUnread",
    "topic_entries",
    "topic_unread_counts",
    "unread_counts",
]

#: how long the directory of sources is reused; the list changes rarely, and apps ask for it often
DIRECTORY_TTL = 5.0
#: sources that SourceDirectory.some() remembers at most (expired ones go first when it is full)
MAX_SOME_SOURCES = 100_000
#: how long a listing's total is reused: apps page through a list (offset 0, 100, 200...) and every
#: page carries the same total, which costs two index walks of the archive to count afresh
TOTALS_TTL = 5.0
#: totals remembered at most (users x filters); the oldest go first
MAX_TOTALS = 2000


@dataclass(frozen=True)
class Category:
    #: stable across restarts and machines: derived from the title (see category_id)
    id: int
    title: str


def category_id(title: str) -> int:
    """A stable positive id for a category title. Categories are sources' text field, not a table;
    CRC-32 keeps the id the same wherever the title is (collisions among a few dozen are
    negligible, and would only merge two folders in an app's view). Never 0: apps read 0 as none."""
    return (zlib.crc32(title.encode("utf-8")) & 0x7FFFFFFF) or 1


class SourceDirectory:
    """The sources by id and the categories, cached for a few seconds (the APIs ask on every
    request)."""

    def __init__(self, storage: Storage, ttl: float = DIRECTORY_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at = -1e18
        self._sources: dict[int, Source] = {}
        #: sources read one page at a time by some(), each with when it was read
        self._some: dict[int, tuple[float, Source]] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = -1e18
            self._some.clear()

    def sources(self) -> dict[int, Source]:
        now = self._clock()
        with self._lock:
            if now - self._loaded_at < self.ttl:
                return self._sources
        loaded = {source.id: source for source in self.storage.list_sources_uncounted()}
        with self._lock:
            self._sources, self._loaded_at = loaded, now
        return loaded

    def some(self, ids: Iterable[int]) -> dict[int, Source]:
        """The sources of `ids` (unknown ids left out): from the directory while it is fresh, else
        each from when some() last read it, if within the TTL, and only the others from the
        database. A page of entries needs a few sources; reloading all of them cost ~340 ms of CPU
        at 20,000 sources, and reading a 1,000-item page's sources afresh each time a third of
        that page's CPU time (bench/api.py)."""
        wanted = set(ids)
        now = self._clock()
        found: dict[int, Source] = {}
        with self._lock:
            if now - self._loaded_at < self.ttl:
                return {i: self._sources[i] for i in wanted if i in self._sources}
            for i in wanted:
                seen = self._some.get(i)
                if seen is not None and now - seen[0] < self.ttl:
                    found[i] = seen[1]
        missing = wanted - found.keys()
        if missing:
            loaded = self.storage.list_sources_uncounted(sorted(missing))
            with self._lock:
                if len(self._some) + len(loaded) > MAX_SOME_SOURCES:
                    self._some = {i: seen for i, seen in self._some.items() if now - seen[0] < self.ttl}
                    if len(self._some) + len(loaded) > MAX_SOME_SOURCES:
                        self._some.clear()
                for source in loaded:
                    self._some[source.id] = (now, source)
                    found[source.id] = source
        return found

    def get(self, source_id: int) -> Source:
        source = self.sources().get(source_id)
        if source is None:
            raise NotFoundError(f"no source with id {source_id}")
        return source

    def find_url(self, url: str) -> Source | None:
        return next((s for s in self.sources().values() if s.url == url), None)

    def categories(self) -> list[Category]:
        titles = sorted({s.category for s in self.sources().values() if s.category}, key=str.lower)
        return [Category(category_id(title), title) for title in titles]

    def category_by_id(self, cat_id: int) -> Category:
        for category in self.categories():
            if category.id == cat_id:
                return category
        raise NotFoundError(f"no category with id {cat_id}")


class TotalsCache:
    """Entry totals per (user, filters), reused for TOTALS_TTL seconds, under the user's state
    version (User.state_version). Every change of the user's read, starred or labels moves that
    version in the database, whichever process made it, so a total counted before the change is
    never reused after it; articles the ingest adds show in the total within the TTL."""

    def __init__(self, ttl: float = TOTALS_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._totals: dict[tuple[EntryQuery, int], tuple[float, int]] = {}

    @staticmethod
    def _key(query: EntryQuery, version: int) -> tuple[EntryQuery, int]:
        # the paging does not change the total
        return replace(query, cursor=None, limit=0, offset=0, order=EntryOrder.NEWEST_FIRST), version

    def get(self, query: EntryQuery, version: int) -> int | None:
        now = self._clock()
        with self._lock:
            found = self._totals.get(self._key(query, version))
        return found[1] if found is not None and now - found[0] < self.ttl else None

    def put(self, query: EntryQuery, version: int, total: int) -> None:
        with self._lock:
            if len(self._totals) >= MAX_TOTALS:
                for key in list(self._totals)[:MAX_TOTALS // 4]:  # dicts keep insertion order: oldest first
                    del self._totals[key]
            self._totals[self._key(query, version)] = (self._clock(), total)

    def forget(self, user_id: int) -> None:
        """Drop the user's totals: after the user's own change they are dead weight (their version
        has passed), so this is housekeeping, not what keeps the totals right."""
        with self._lock:
            for key in [k for k in self._totals if k[0].user_id == user_id]:
                del self._totals[key]


def entries(storage: Storage, query: EntryQuery, *, with_body: bool = True) -> list[UserEntry]:
    return storage.query_user_articles(query, with_body=with_body)


def topic_entries(storage: Storage, topic: Topic, query: EntryQuery, *,
                  with_body: bool = True) -> tuple[list[UserEntry], ArticleCursor | None]:
    """A topic's articles as the user's entries, newest first, through the query's read, starred
    and time filters, paged by its cursor and limit (its order and source filters do not apply: a
    topic is ordered by time and spans sources). The topic is paged first and filtered after, so a
    page may hold fewer than `limit` entries; the returned cursor (the last article looked at) is
    None only at the end of the topic."""
    limit = min(query.limit, story_service.MAX_TOPIC_PAGE)
    candidates = story_service.topic_articles(storage, topic, limit, query.cursor)
    if not candidates:
        return [], None
    ids = tuple(item.id for item in candidates)
    found = storage.query_user_articles(
        replace(query, article_ids=ids, source_ids=None, category=None, cursor=None, limit=len(ids), offset=0,
                order=EntryOrder.NEWEST_FIRST), with_body=with_body)
    more = len(candidates) == limit
    return found, ArticleCursor(candidates[-1].sort_at, candidates[-1].id) if more else None


def entry_positions(storage: Storage, query: EntryQuery) -> list[ArticleCursor]:
    """Only the (time, id) of the matching entries: what id listings page with."""
    return storage.query_user_article_positions(query)


def count_entries(storage: Storage, user: User, query: EntryQuery, totals: TotalsCache | None = None) -> int:
    """How many of `user`'s entries match `query` (paging aside); from `totals` when it counted them
    lately under the user's current state version (`user` as read for this request)."""
    if query.user_id != user.id:
        raise ValueError("the query is another user's")
    cached = totals.get(query, user.state_version) if totals is not None else None
    if cached is not None:
        return cached
    counted = storage.count_user_articles(query)
    if totals is not None:
        totals.put(query, user.state_version, counted)
    return counted


def set_state(storage: Storage, user: User, article_ids: Iterable[int], *, read: bool | None = None,
              starred: bool | None = None, now: datetime | None = None, totals: TotalsCache | None = None) -> int:
    """Set read/starred for the user; ids that are not articles are skipped (another user's state
    is never touched: the user is part of every row's key)."""
    changed = storage.set_article_state(user.id, article_ids, now or datetime.now(UTC), read=read, starred=starred)
    if totals is not None:
        totals.forget(user.id)
    return changed


def mark_read(storage: Storage, query: EntryQuery, now: datetime | None = None,
              totals: TotalsCache | None = None) -> int:
    changed = storage.mark_read(query, now or datetime.now(UTC))
    if totals is not None:
        totals.forget(query.user_id)
    return changed


def change_labels(storage: Storage, user: User, article_ids: Iterable[int], *, add: Sequence[str] = (),
                  remove: Sequence[str] = (), totals: TotalsCache | None = None) -> None:
    storage.change_labels(user.id, article_ids, add=add, remove=remove)
    if totals is not None:
        totals.forget(user.id)


def unread_counts(storage: Storage, user: User) -> list[UnreadCount]:
    return storage.unread_counts(user.id)


@dataclass(frozen=True)
class TopicUnread:
    topic: Topic
    count: int
    #: the newest unread article's time (None when count is 0)
    newest: datetime | None


def topic_unread_counts(storage: Storage, user: User) -> list[TopicUnread]:
    """Per topic (by name), the user's unread articles in it: the same articles its stream pages
    through (services.stories.topic_articles), counted in the database. A topic costs one query,
    and one search per keyword or query it has."""
    counts = []
    for topic in story_service.list_topics(storage):
        d = topic.definition
        searched = [item.id for item in story_service.topic_search_matches(storage, topic)]
        count, newest = storage.count_unread_among(user.id, entity_ids=d.entity_ids, source_ids=d.source_ids,
                                                   article_ids=searched)
        counts.append(TopicUnread(topic, count, newest))
    return counts


def discover(settings: Settings, url: str) -> NewSource:
    """What newsdesk would follow at `url` (feed, sitemap or home page), without storing it. Runs
    its own event loop: the web calls it from a worker thread. Raises DiscoveryError/FetchError."""
    from ..ingest.discover import discover_source
    from ..ingest.fetch import Fetcher, FetchPolicy

    async def find() -> NewSource:
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            return await discover_source(fetcher, url)

    return asyncio.run(find())


def refresh_soon(storage: Storage, source: Source, now: datetime | None = None) -> None:
    """Make a source due at once; the scheduler (`newsdesk run`/`worker`) polls it on its next tick.
    The API answers right away instead of holding a request open for a whole poll."""
    storage.update_fetch_state(source.id, replace(source.state, next_fetch_at=now or datetime.now(UTC)))
