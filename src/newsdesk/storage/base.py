"""The one Storage interface. Every backend (SQLite, PostgreSQL) implements it and passes the same
contract suite (tests/storage/test_contract.py).

Split by entity like reader's storage mixins. All times are aware UTC datetimes. Listings are
newest first by (sort_at, id) and paged by keyset (ArticleCursor), never by OFFSET, so they stay
fast as the archive grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..models import (
    Article,
    ArticleCursor,
    ArticleListItem,
    FetchState,
    NewArticle,
    NewSource,
    Source,
)
from .leases import LeasesStorage
from .logins import LoginsStorage
from .maintenance import MaintenanceStorage
from .newsletters import NewslettersStorage
from .profiles import ProfilesStorage
from .stories import StoriesStorage
from .users import UsersStorage

__all__ = [
    "SEARCH_CANDIDATES",
    "SEARCH_COUNT_LIMIT",
    "ArticleFilter",
    "ArticlesStorage",
    "SearchStorage",
    "SourcesStorage",
    "Storage",
]


@dataclass(frozen=True)
class ArticleFilter:
    """Which articles a listing shows. None means all."""

    source_id: int | None = None


class SourcesStorage(Protocol):
    def add_source(self, new: NewSource, now: datetime) -> Source:
        """Store a new source, due at once. Raises SourceExistsError if its URL is followed already."""

    def get_source(self, source_id: int) -> Source:
        """Raises NotFoundError."""

    def find_source(self, url: str) -> Source | None: ...

    def list_sources(self) -> list[Source]:
        """All sources by title, with article_count filled in."""

    def due_sources(self, now: datetime, limit: int | None = None) -> list[Source]:
        """Unpaused sources whose next_fetch_at is null or not after now, the most overdue first."""

    def update_fetch_state(self, source_id: int, state: FetchState, title: str | None = None,
                           site_url: str | None = None) -> None:
        """Record a poll's outcome; title/site_url fill in what the feed says about itself when given."""

    def update_fetch_states(self, states: Sequence[tuple[int, FetchState]]) -> None:
        """update_fetch_state for many sources, in one statement run over all rows (a pass's 304
        answers). A source deleted meanwhile is skipped."""

    def set_source_paused(self, source_id: int, paused: bool) -> None: ...

    def update_source(self, source_id: int, *, title: str | None = None, category: str | None = None) -> None: ...

    def delete_source(self, source_id: int) -> None:
        """Remove a source and its articles."""


class ArticlesStorage(Protocol):
    def unknown_urls(self, urls: Iterable[str]) -> set[str]:
        """The URLs among `urls` that no stored article has (as url or canonical_url)."""

    def add_article(self, new: NewArticle) -> int | None:
        """Store an article and index it for search in one transaction. Returns its id, or None if an
        article with that URL is stored already (adding is idempotent, so a resumed pass is safe)."""

    def add_articles(self, news: Sequence[NewArticle]) -> list[int | None]:
        """add_article for many in one transaction; ids (or None) in the same order."""

    def get_article(self, article_id: int) -> Article:
        """Raises NotFoundError."""

    def list_articles(self, filter: ArticleFilter = ArticleFilter(), *, before: ArticleCursor | None = None,
                      after: ArticleCursor | None = None, limit: int = 50) -> list[ArticleListItem]:
        """Newest first. `before` gives the items older than a cursor (the next page); `after` the items
        newer than it, still returned newest first."""

    def count_articles(self, filter: ArticleFilter = ArticleFilter()) -> int: ...

    def get_raw_html(self, article_id: int) -> bytes | None:
        """The page as fetched, for re-extraction; None if not kept."""


#: search ranks only this many matches, the most recently stored: a common word matches a large
#: part of a big archive, and ranking all of them grew with it (~0.7 s at 100,000 articles). A query
#: with fewer matches is ranked whole.
SEARCH_CANDIDATES = 1000
#: count_search counts up to this; more is reported as SEARCH_COUNT_LIMIT + 1 ("more than 1,000")
SEARCH_COUNT_LIMIT = 1000


class SearchStorage(Protocol):
    def search_articles(self, query: str, *, limit: int = 50, offset: int = 0) -> list[ArticleListItem]:
        """Articles matching every word of `query` in title or body, with language-aware stemming (a
        Dutch `heffingen` finds `heffing`), best match first, newest first among equals. Of a query
        with more than SEARCH_CANDIDATES matches, only the SEARCH_CANDIDATES newest (by id, i.e.
        the most recently stored) are ranked and returned."""

    def count_search(self, query: str) -> int:
        """The number of matches, up to SEARCH_COUNT_LIMIT; SEARCH_COUNT_LIMIT + 1 means more."""

    def search_and_count(self, query: str, *, limit: int = 50,
                         offset: int = 0) -> tuple[list[ArticleListItem], int]:
        """search_articles and count_search of one query, as a search page shows them, with the
        same results; a backend may find both with one look-up of the matches."""


class Storage(SourcesStorage, ArticlesStorage, SearchStorage, ProfilesStorage, NewslettersStorage, UsersStorage,
              LoginsStorage, LeasesStorage, MaintenanceStorage, StoriesStorage, Protocol):
    """Open with storage.open_storage(url); migrate() brings the schema up to date."""

    url: str

    def migrate(self) -> None: ...

    def close(self) -> None: ...


def as_sequence(items: Iterable[str]) -> Sequence[str]:
    return items if isinstance(items, Sequence) else list(items)
