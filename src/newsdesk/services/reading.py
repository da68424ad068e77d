"""Reading use cases: what the web reader's pages show.

Pages call one function each and get a frozen view back; they never compose storage calls
themselves. A reader walks a *list context* (the home page, one source, a search), carried from
list to article as an opaque string (`home`, `source:3`, `search:heffingen`), so an article's
Previous/Next follow the list the reader came from.

Date lists are paged by keyset (ArticleCursor, serialised as `<iso-time>_<id>`); search results
by page number, because search ranks by relevance, not by time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ..models import Article, ArticleCursor, ArticleListItem, Source
from ..storage.base import SEARCH_COUNT_LIMIT, ArticleFilter, Storage

__all__ = [
    "PAGE_SIZE",
    "ArticleView",
    "BadListParameterError",
    "ListContext",
    "Listing",
    "MAX_QUERY_LENGTH",
    "article_page",
    "decode_cursor",
    "encode_cursor",
    "home_page",
    "search_page",
    "source_page",
]

#: items per list page
PAGE_SIZE = 30
#: longer queries are cut: they only cost the database time
MAX_QUERY_LENGTH = 200
#: how deep into search results an article's neighbours are looked for
MAX_SEARCH_WALK = 1000
#: search pages beyond this are refused (an offset that large is just load)
MAX_SEARCH_PAGE = MAX_SEARCH_WALK // PAGE_SIZE + 1


class BadListParameterError(ValueError):
    """A cursor or page number in a URL that does not parse; the web answers 400."""


def encode_cursor(cursor: ArticleCursor) -> str:
    """`<iso-time>_<id>`: readable in a URL, opaque to the reader."""
    return f"{cursor.sort_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}_{cursor.id}"


def decode_cursor(token: str) -> ArticleCursor:
    time_part, sep, id_part = token[:80].rpartition("_")
    if not sep or not id_part.isdigit() or len(id_part) > 18:
        raise BadListParameterError(f"not a list position: {token[:80]!r}")
    try:
        when = datetime.fromisoformat(time_part.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadListParameterError(f"not a list position: {token[:80]!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ArticleCursor(when.astimezone(UTC), int(id_part))


@dataclass(frozen=True)
class ListContext:
    """The list an article was opened from."""

    #: "home", "source", "search", "story" or "topic"
    kind: Literal["home", "source", "search", "story", "topic"] = "home"
    #: the source of a "source" list
    source_id: int | None = None
    #: the query of a "search" list; the slug of a "topic"
    query: str = ""
    #: the story of a "story" list
    story_id: int | None = None

    @classmethod
    def home(cls) -> ListContext:
        return cls("home")

    @classmethod
    def for_source(cls, source_id: int) -> ListContext:
        return cls("source", source_id=source_id)

    @classmethod
    def for_search(cls, query: str) -> ListContext:
        return cls("search", query=normalise_query(query))

    @classmethod
    def parse(cls, raw: str | None) -> ListContext:
        """Read a context from a URL parameter; anything unreadable means the home list, since a
        mangled link should still show the article."""
        if not raw:
            return cls.home()
        kind, _, rest = raw.partition(":")
        if kind == "source" and rest.isdigit() and len(rest) <= 18:
            return cls.for_source(int(rest))
        if kind == "search" and normalise_query(rest):
            return cls.for_search(rest)
        if kind == "story" and rest.isdigit() and len(rest) <= 18:
            return cls("story", story_id=int(rest))
        if kind == "topic" and 0 < len(rest) <= 80 and rest.replace("-", "").isalnum():
            return cls("topic", query=rest)
        return cls.home()

    def serialise(self) -> str:
        if self.kind == "source":
            return f"source:{self.source_id}"
        if self.kind == "search":
            return f"search:{self.query}"
        if self.kind == "story":
            return f"story:{self.story_id}"
        if self.kind == "topic":
            return f"topic:{self.query}"
        return "home"

    @property
    def filter(self) -> ArticleFilter:
        return ArticleFilter(source_id=self.source_id if self.kind == "source" else None)


def normalise_query(query: str) -> str:
    return " ".join(query.split())[:MAX_QUERY_LENGTH]


@dataclass(frozen=True)
class Listing:
    """One page of a list. `older`/`newer` are the tokens of the neighbouring pages, None at an end:
    cursors for date lists, page numbers for search."""

    context: ListContext
    items: tuple[ArticleListItem, ...]
    older: str | None = None
    newer: str | None = None
    #: the number of search results (None for date lists, which are not counted)
    total: int | None = None
    #: True when there are more results than `total`: search counts up to SEARCH_COUNT_LIMIT
    total_is_bound: bool = False
    #: the source of a source page
    source: Source | None = None


@dataclass(frozen=True)
class ArticleView:
    article: Article
    context: ListContext
    #: the neighbours in the context's list; None at an end (the page links back to the list)
    previous_id: int | None
    next_id: int | None


def _date_listing(storage: Storage, context: ListContext, before: str | None, after: str | None,
                  source: Source | None = None) -> Listing:
    flt = context.filter
    # One item more than a page, fetched on the far side, says whether there is a further page
    # without another statement: on PostgreSQL each statement is a round trip (and a pool
    # pre-ping), and on a busy machine each waits for the server process to get a core.
    if before:
        cursor: ArticleCursor | None = decode_cursor(before)
        fetched = storage.list_articles(flt, before=cursor, limit=PAGE_SIZE + 1)
        items, has_older = fetched[:PAGE_SIZE], len(fetched) > PAGE_SIZE
    elif after:
        cursor = decode_cursor(after)
        fetched = storage.list_articles(flt, after=cursor, limit=PAGE_SIZE + 1)  # newest first
        items, has_newer = fetched[-PAGE_SIZE:], len(fetched) > PAGE_SIZE
    else:
        cursor = None
        fetched = storage.list_articles(flt, limit=PAGE_SIZE + 1)
        items, has_older = fetched[:PAGE_SIZE], len(fetched) > PAGE_SIZE
    if not items:
        # Past an end (a stale link): offer the way back rather than a dead end.
        token = encode_cursor(cursor) if cursor else None
        return Listing(context, (), older=token if after else None, newer=token if before else None,
                       source=source)
    first, last = ArticleCursor.of(items[0]), ArticleCursor.of(items[-1])
    if after:
        has_older = bool(storage.list_articles(flt, before=last, limit=1))
    elif before:
        has_newer = bool(storage.list_articles(flt, after=first, limit=1))
    else:
        # the newest items, read in one statement: nothing is newer in what that statement saw
        has_newer = False
    return Listing(
        context,
        tuple(items),
        older=encode_cursor(last) if has_older else None,
        newer=encode_cursor(first) if has_newer else None,
        source=source,
    )


def home_page(storage: Storage, *, before: str | None = None, after: str | None = None) -> Listing:
    """The latest articles of all sources, newest first."""
    return _date_listing(storage, ListContext.home(), before, after)


def source_page(storage: Storage, source_id: int, *, before: str | None = None,
                after: str | None = None) -> Listing:
    """One outlet's articles. Raises NotFoundError for an unknown source."""
    source = storage.get_source(source_id)
    return _date_listing(storage, ListContext.for_source(source_id), before, after, source=source)


def parse_page_number(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_SEARCH_PAGE:
        raise BadListParameterError(f"not a page number: {raw[:20]!r}")
    return int(raw)


def search_page(storage: Storage, query: str, *, page: str | None = None) -> Listing:
    """Search results, best match first. An empty query gives an empty listing (the form)."""
    context = ListContext.for_search(query)
    number = parse_page_number(page)
    if not context.query:
        return Listing(context, (), total=0)
    items, counted = storage.search_and_count(context.query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    total = min(counted, SEARCH_COUNT_LIMIT)
    more = number * PAGE_SIZE < counted and number < MAX_SEARCH_PAGE and len(items) == PAGE_SIZE
    return Listing(
        context,
        tuple(items),
        older=str(number + 1) if more else None,
        newer=str(number - 1) if number > 1 else None,
        total=total,
        total_is_bound=counted > SEARCH_COUNT_LIMIT,
    )


def search_neighbours(ids: list[int], article_id: int) -> tuple[int | None, int | None]:
    """Previous and next of `article_id` in a result list; (None, None) if it is not there."""
    try:
        index = ids.index(article_id)
    except ValueError:
        return None, None
    previous = ids[index - 1] if index > 0 else None
    following = ids[index + 1] if index + 1 < len(ids) else None
    return previous, following


def article_page(storage: Storage, article_id: int, context: ListContext) -> ArticleView:
    """An article and its neighbours in `context`. Raises NotFoundError."""
    article = storage.get_article(article_id)
    if context.kind == "search":
        # Results are ranked, not keyed by time, so the article's position is found by walking
        # the (bounded) result list once; one extra item past it gives Next.
        ids: list[int] = []
        chunk = 200
        while len(ids) < MAX_SEARCH_WALK:
            batch = storage.search_articles(context.query, limit=chunk, offset=len(ids))
            ids.extend(item.id for item in batch)
            if article_id in ids[:-1] or len(batch) < chunk:
                break
        previous_id, next_id = search_neighbours(ids, article_id)
    elif context.kind in ("story", "topic"):
        # a story reads earliest first (how it unfolded); a topic newest first, like its page
        from .stories import context_article_ids

        previous_id, next_id = search_neighbours(context_article_ids(storage, context), article_id)
    else:
        cursor = ArticleCursor.of(article)
        newer = storage.list_articles(context.filter, after=cursor, limit=1)
        older = storage.list_articles(context.filter, before=cursor, limit=1)
        previous_id = newer[0].id if newer else None
        next_id = older[0].id if older else None
    return ArticleView(article, context, previous_id, next_id)
