"""Domain types: frozen dataclasses, no IO.

Rows and JSON are converted to and from these at the edges (storage, web, CLI); nothing passes
dicts around. Times are always timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Article",
    "Cadence",
    "DigestArticle",
    "DigestEntry",
    "DigestOutlet",
    "DigestPeriod",
    "Newsletter",
    "Subscription",
    "SubscriptionStatus",
    "TopicKind",
    "ArticleCursor",
    "ArticleListItem",
    "ArticleStatus",
    "ExtractedArticle",
    "FeedEntry",
    "FetchOutcome",
    "FetchState",
    "HTTPResponse",
    "NewArticle",
    "NewSource",
    "ParsedFeed",
    "Source",
    "SourceKind",
]


class SourceKind(enum.StrEnum):
    """How a source is followed."""

    #: an RSS, Atom or JSON feed
    FEED = "feed"
    #: a news sitemap or sitemap.xml, for sites without a feed
    SITEMAP = "sitemap"
    #: new article links on the site's home page, the last resort
    HOMEPAGE = "homepage"


class ArticleStatus(enum.StrEnum):
    """What became of an article page. Anything but OK still keeps the feed's title and summary."""

    OK = "ok"
    #: the page was fetched but held no article text
    NO_TEXT = "no_text"
    #: the page could not be fetched (the error says why)
    FETCH_FAILED = "fetch_failed"
    #: robots.txt disallows fetching the page
    ROBOTS = "robots"
    #: the page is a subscriber wall: only the feed's teaser is kept
    PAYWALL = "paywall"
    #: the page is a consent wall instead of the article
    COOKIE_WALL = "cookie_wall"


@dataclass(frozen=True)
class FetchState:
    """A source's polling state; a failure is data here, never a silent None."""

    #: validators for the next conditional GET
    etag: str | None = None
    last_modified: str | None = None
    #: when it was last polled, successfully or not
    last_fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    #: when the scheduler polls it next
    next_fetch_at: datetime | None = None
    #: consecutive failures; drives the backoff, reset by a success
    error_count: int = 0
    #: the last failure in plain words, and its machine-readable kind (errors.NewsdeskError.kind)
    last_error: str | None = None
    last_error_kind: str | None = None
    #: the adaptive polling interval learned from the posting rate
    interval_seconds: int | None = None


@dataclass(frozen=True)
class NewSource:
    url: str
    kind: SourceKind = SourceKind.FEED
    title: str = ""
    site_url: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Source:
    id: int
    #: what is polled: the feed, the sitemap or the home page
    url: str
    kind: SourceKind
    #: the outlet's name as shown to readers ("NRC")
    title: str
    site_url: str | None
    category: str | None
    paused: bool
    created_at: datetime
    state: FetchState = field(default_factory=FetchState)
    #: filled by listings that count; None where not counted
    article_count: int | None = None

    @property
    def display_name(self) -> str:
        return self.title or self.site_url or self.url


@dataclass(frozen=True)
class HTTPResponse:
    """A fetched response whose body is complete and within the size cap."""

    url: str  #: the final URL after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes
    #: the charset the server declared, if any
    charset: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, sitemap or home page, before its article page is fetched."""

    url: str
    title: str = ""
    guid: str | None = None
    summary: str | None = None
    #: full content the feed carries, unsanitized (sanitized before storage)
    content_html: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    site_url: str | None
    entries: tuple[FeedEntry, ...]
    #: "rss", "atom", "rdf", "json", "sitemap", "homepage"
    format: str
    #: a recoverable problem the parser met (feedparser's bozo), in plain words
    warning: str | None = None


@dataclass(frozen=True)
class ExtractedArticle:
    """What extraction found in an article page. `html` is sanitized; `text` is plain."""

    title: str
    text: str
    html: str
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    language: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    #: when the page says it was last updated (only if it says so)
    updated: datetime | None = None
    #: the site's section the article is filed under ("Binnenland", "Sport")
    section: str | None = None
    #: who made the lead image, split off its caption
    image_credit: str | None = None


@dataclass(frozen=True)
class NewArticle:
    source_id: int
    url: str
    title: str
    fetched_at: datetime
    status: ArticleStatus = ArticleStatus.OK
    guid: str | None = None
    canonical_url: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    language: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    summary: str | None = None
    #: sanitized HTML body and its plain text
    html: str = ""
    text: str = ""
    error: str | None = None
    #: the raw page as fetched, kept for re-extraction
    raw_html: bytes | None = None
    updated_at: datetime | None = None
    section: str | None = None
    image_credit: str | None = None


@dataclass(frozen=True)
class Article:
    id: int
    source_id: int
    source_title: str
    url: str
    title: str
    fetched_at: datetime
    #: the time the article is listed by: its publication time, or when it was fetched
    sort_at: datetime
    status: ArticleStatus
    guid: str | None = None
    canonical_url: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    language: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    summary: str | None = None
    html: str = ""
    text: str = ""
    error: str | None = None
    updated_at: datetime | None = None
    section: str | None = None
    image_credit: str | None = None


@dataclass(frozen=True)
class ArticleListItem:
    """An article as a listing shows it: no body."""

    id: int
    source_id: int
    source_title: str
    url: str
    title: str
    sort_at: datetime
    language: str | None = None
    image_url: str | None = None
    summary: str | None = None


@dataclass(frozen=True, order=True)
class ArticleCursor:
    """A keyset position in a newest-first listing."""

    sort_at: datetime
    id: int

    @classmethod
    def of(cls, item: Article | ArticleListItem) -> ArticleCursor:
        return cls(item.sort_at, item.id)


@dataclass(frozen=True)
class FetchOutcome:
    """What one poll of one source did; summed into a pass summary."""

    source_id: int
    not_modified: bool = False
    new_articles: int = 0
    failed_pages: int = 0
    #: errors.NewsdeskError.kind of the feed failure, if the poll failed
    error_kind: str | None = None
    error: str | None = None


# --- Newsletters -------------------------------------------------------------------------------


class Cadence(enum.StrEnum):
    """How often a newsletter's digest goes out."""

    #: as soon as new articles arrive (checked on a short fixed grid, see mail.digest)
    IMMEDIATE = "immediate"
    #: once a day at `Newsletter.hour` local time
    DAILY = "daily"
    #: once a week on `Newsletter.weekday` at `Newsletter.hour` local time
    WEEKLY = "weekly"


class TopicKind(enum.StrEnum):
    """What a newsletter follows."""

    #: every article of one source; `Newsletter.topic` is the source id as text
    SOURCE = "source"
    #: the articles matching a saved search; `Newsletter.topic` is the query
    SEARCH = "search"


@dataclass(frozen=True)
class Newsletter:
    """A topic newsletter an operator defined."""

    id: int
    name: str
    #: one line under the name
    tagline: str
    topic_kind: TopicKind
    topic: str
    #: "nl" or "en": the language of the mails' labels
    language: str = "en"
    cadence: Cadence = Cadence.DAILY
    #: local hour (0-23) of daily and weekly digests
    hour: int = 7
    #: day of weekly digests, 0 = Monday ... 6 = Sunday (datetime.weekday())
    weekday: int = 0
    #: IANA time zone of `hour` and `weekday`, e.g. "Europe/Amsterdam"
    timezone: str = "Europe/Amsterdam"
    created_at: datetime | None = None


class SubscriptionStatus(enum.StrEnum):
    #: signed up, confirmation mail sent, not yet confirmed (double opt-in)
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class Subscription:
    id: int
    newsletter_id: int
    #: normalized with mail.addresses.normalize_address
    address: str
    status: SubscriptionStatus
    created_at: datetime
    #: bumped on every unsubscribe and re-subscribe; a confirm token carries the version it was made
    #: for, so a confirm link replayed after an unsubscribe no longer re-activates anything
    token_version: int = 0
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None


@dataclass(frozen=True)
class DigestArticle:
    """An article as digest selection sees it."""

    id: int
    #: the story it belongs to; None means the article is a story of its own
    story_id: int | None
    title: str
    #: the original article on the outlet's site
    url: str
    #: the article in newsdesk's reader
    reader_url: str
    #: the outlet's name ("NRC")
    source_title: str
    #: aware UTC; the time the article is listed by
    published: datetime
    summary: str | None = None


@dataclass(frozen=True)
class DigestOutlet:
    """One outlet that carried a story, with its own article."""

    source_title: str
    url: str
    reader_url: str
    published: datetime


@dataclass(frozen=True)
class DigestEntry:
    """One story in a digest: its lead article and every outlet that carried it."""

    #: the story id, or None for an article that is its own story
    story_id: int | None
    #: the first-published article's id, title, links and summary
    article_id: int
    title: str
    url: str
    reader_url: str
    summary: str | None
    #: first and latest publication within the period
    first_published: datetime
    last_published: datetime
    #: deduplicated by outlet name, in order of first publication
    outlets: tuple[DigestOutlet, ...]


@dataclass(frozen=True)
class DigestPeriod:
    """The half-open interval [start, end) a digest covers, and its exactly-once key."""

    start: datetime
    end: datetime
    #: "2026-01-20" (daily), "2026-W04" (weekly), "2026-01-20T10:15Z" (immediate); record
    #: (subscription, key) when sending so a period is mailed once per subscriber
    key: str
