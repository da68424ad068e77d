"""The collection use case: poll a source, fetch its new article pages, extract, store, index.

`refresh_source()` is the one function every entry point uses to poll one source (the CLI's
`fetch`, the scheduler of `run`/`worker`, the demo, the admin's "refresh"); `refresh_pass()` polls
every due source with it. Failures are data: a feed's failure is recorded on its source and the
pass goes on; an article page's failure either keeps the feed's own text (permanent failures) or
leaves the entry for the next poll (transient ones), so nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import (
    BlockedAddressError,
    DatabaseUnavailableError,
    FetchError,
    HTTPStatusError,
    InvalidURLError,
    LeaseLapsedError,
    NewsdeskError,
    NoArticleError,
    RobotsDisallowedError,
    TooLargeError,
    TooManyRedirectsError,
)
from ..extract import extract_article
from ..extract.language import detect_language
from ..extract.sanitize import html_to_text, sanitize_html
from ..ingest.feeds import parse_feed, parse_homepage_links, parse_sitemap
from ..ingest.schedule import SchedulePolicy, next_poll_after_failure, next_poll_after_success
from ..models import (
    ArticleStatus,
    ExtractedArticle,
    FeedEntry,
    FetchOutcome,
    FetchState,
    HTTPResponse,
    NewArticle,
    ParsedFeed,
    Source,
    SourceKind,
)
from ..storage.base import Storage
from ..storage.leases import MAX_LEASE_SECONDS
from .siteprofiles import SiteProfiles
from .storyqueue import StoryAssigner

__all__ = ["PassSummary", "ProgressHook", "RefreshContext", "refresh_pass", "refresh_source"]

log = logging.getLogger(__name__)

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
#: child sitemaps read from one sitemap index per poll (the newest are listed first by convention)
MAX_CHILD_SITEMAPS = 3
#: below this many characters of text, a feed's own content is not taken as the article body
MIN_FEED_BODY_CHARS = 200
#: walls are labelled as such, never stored as if the teaser were the article
_WALL_STATUS = {"paywall": ArticleStatus.PAYWALL, "cookie_wall": ArticleStatus.COOKIE_WALL}


class PageFetcher(Protocol):
    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str | None = None, max_bytes: int | None = None,
                  ready: Callable[[str], None] | None = None) -> HTTPResponse: ...

    async def robots_allowed(self, url: str) -> bool: ...


class ProgressHook(Protocol):
    def feeds_started(self, total: int) -> None: ...

    def pages_found(self, count: int) -> None: ...

    def page_done(self) -> None: ...

    def feed_done(self, outcome: FetchOutcome) -> None: ...


class _NoProgress:
    def feeds_started(self, total: int) -> None:
        pass

    def pages_found(self, count: int) -> None:
        pass

    def page_done(self) -> None:
        pass

    def feed_done(self, outcome: FetchOutcome) -> None:
        pass


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RefreshContext:
    """What a refresh needs, built once by the entry point and passed in."""

    storage: Storage
    fetcher: PageFetcher
    schedule: SchedulePolicy = field(default_factory=SchedulePolicy)
    articles_per_feed: int = 100
    #: False stores each entry from the feed's own content without fetching its page (feeds that carry
    #: full text, and the polling benchmark, which measures feed polling alone)
    fetch_pages: bool = True
    clock: Callable[[], datetime] = _utcnow
    rng: random.Random = field(default_factory=random.Random)
    #: extraction is CPU-bound; a small number run in threads so fetching goes on meanwhile
    extract_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    #: set by workers that share the database with others: sources are leased (storage/leases.py)
    #: and a poll's outcome is recorded only while the lease is still held
    worker_id: str | None = None
    lease_seconds: int = 120
    lease_batch: int = 50
    #: learn each site's template from its stored pages and strip it before extraction
    learn_sites: bool = True
    profiles: SiteProfiles | None = None
    #: put every stored article into a story (in a background thread, see storyqueue.py)
    assign_stories: bool = True
    stories: StoryAssigner | None = None

    def __post_init__(self) -> None:
        if self.profiles is None and self.learn_sites:
            self.profiles = SiteProfiles(self.storage, self.clock)
        if self.stories is None and self.assign_stories:
            # a worker beside others assigns only while it holds the story lease (storyqueue.py)
            self.stories = StoryAssigner(self.storage, worker_id=self.worker_id, lease_seconds=self.lease_seconds)


@dataclass
class PassSummary:
    feeds: int = 0
    not_modified: int = 0
    new_articles: int = 0
    failed_pages: int = 0
    feed_errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, outcome: FetchOutcome) -> None:
        self.feeds += 1
        self.not_modified += outcome.not_modified
        self.new_articles += outcome.new_articles
        self.failed_pages += outcome.failed_pages
        if outcome.error_kind:
            self.feed_errors[outcome.error_kind] += 1


async def refresh_pass(ctx: RefreshContext, *, due_only: bool = True, source_ids: Sequence[int] | None = None,
                       progress: ProgressHook | None = None, wait_for_stories: bool = True) -> PassSummary:
    """Poll every due source (or the given ones, or all unpaused) concurrently; never raises for a source.

    With `wait_for_stories` it returns once every new article is in a story too; the scheduler passes
    False and lets story assignment run on behind it."""
    summary = await _poll(ctx, due_only=due_only, source_ids=source_ids, progress=progress)
    if wait_for_stories and ctx.stories is not None:
        await asyncio.to_thread(ctx.stories.wait)
    return summary


async def _poll(ctx: RefreshContext, *, due_only: bool, source_ids: Sequence[int] | None,
                progress: ProgressHook | None) -> PassSummary:
    progress = progress or _NoProgress()
    if ctx.worker_id is not None and due_only and source_ids is None:
        return await _leased_pass(ctx, ctx.worker_id, progress)
    loop = asyncio.get_running_loop()
    started = loop.time()
    if source_ids is not None:
        sources = [ctx.storage.get_source(i) for i in source_ids]
    elif due_only:
        sources = ctx.storage.due_sources(ctx.clock())
    else:
        sources = [s for s in ctx.storage.list_sources() if not s.paused]
    progress.feeds_started(len(sources))
    summary = PassSummary()
    unchanged = _UnchangedStates(ctx.storage, None)

    async def one(source: Source) -> None:
        outcome = await _refresh_source(ctx, source, progress, unchanged)
        summary.add(outcome)
        progress.feed_done(outcome)

    try:
        await asyncio.gather(*(one(s) for s in sources))
    finally:
        unchanged.flush()
    summary.seconds = loop.time() - started
    return summary


async def refresh_source(ctx: RefreshContext, source: Source, progress: ProgressHook | None = None) -> FetchOutcome:
    """Poll one source and store its new articles. Every failure of the source ends up on its state;
    the database being unavailable does not (it is not the source's fault): it is logged, and the
    source stays due."""
    return await _refresh_source(ctx, source, progress or _NoProgress(), None)


async def _refresh_source(ctx: RefreshContext, source: Source, progress: ProgressHook,
                          unchanged: _UnchangedStates | None) -> FetchOutcome:
    """refresh_source; with `unchanged`, the state of a 304 answer is left to it to record (in bulk)."""
    now = ctx.clock()
    state = source.state
    try:
        response = await ctx.fetcher.get(source.url, etag=state.etag, last_modified=state.last_modified,
                                         accept=FEED_ACCEPT)
        if response.not_modified:
            next_at, interval = next_poll_after_success(now, [], response.headers, ctx.schedule,
                                                        state.interval_seconds, ctx.rng)
            new_state = _success_state(state, now, next_at, interval, response)
            if unchanged is not None:
                unchanged.add(source, new_state)
            else:
                _save_state(ctx, source, new_state)
            return FetchOutcome(source.id, not_modified=True)
        parsed = await _parse_source(ctx, source, response)
        new, failed = await _collect_entries(ctx, source, parsed.entries, progress)
        times = [e.published_at for e in parsed.entries if e.published_at is not None]
        next_at, interval = next_poll_after_success(now, times, response.headers, ctx.schedule,
                                                    state.interval_seconds, ctx.rng)
        _save_state(
            ctx, source, _success_state(state, now, next_at, interval, response),
            title=parsed.title if parsed.title and not source.title else None,
            site_url=parsed.site_url if parsed.site_url and not source.site_url else None)
        return FetchOutcome(source.id, new_articles=new, failed_pages=failed)
    except LeaseLapsedError as exc:
        # Not the feed's fault either, and the source may be another worker's by now: nothing is
        # recorded. Articles stored are kept; whoever leases the source next polls it again.
        log.warning("worker %s stopped polling source %s (%s): %s", ctx.worker_id, source.id, source.url, exc)
        return FetchOutcome(source.id, error_kind=exc.kind, error=str(exc))
    except DatabaseUnavailableError as exc:
        # Our database, not the feed: nothing is recorded against the source (it could not be, and
        # a failure would push its next poll back). Articles stored are kept; the source is still
        # due and, once its lease runs out, polled again and its remaining entries stored.
        log.error("database unavailable while refreshing source %s (%s): %s; it is polled again once the "
                  "database is back", source.id, source.url, exc)
        return FetchOutcome(source.id, error_kind=exc.kind, error=str(exc))
    except NewsdeskError as exc:
        return _record_failure(ctx, source, now, exc.kind, str(exc), getattr(exc, "retry_after", None))
    except Exception as exc:  # the per-source boundary: one broken source must never stop the pass
        log.exception("internal error while refreshing source %s (%s)", source.id, source.url)
        return _record_failure(ctx, source, now, "internal", f"internal error: {type(exc).__name__}: {exc}", None)


# -- leasing: several workers share one database (storage/leases.py, docs/scaling.md) ------------


async def _leased_pass(ctx: RefreshContext, worker_id: str, progress: ProgressHook) -> PassSummary:
    """Lease due sources in batches and poll them until none is left to lease. A heartbeat renews
    the leases while the batch runs; whatever happens, the batch's leases are given back. A batch
    whose leases lapsed (renewals fell behind) ends the pass: the database is struggling, and the
    sources it left are due again at the next tick."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    summary = PassSummary()
    leased_total = 0
    lapsed = False
    while not lapsed:
        lease = _LeaseDeadline(ctx.lease_seconds)
        batch = ctx.storage.lease_due_sources(worker_id, ctx.clock(), ctx.lease_batch, ctx.lease_seconds)
        if not batch:
            break
        leased_total += len(batch)
        progress.feeds_started(leased_total)
        heartbeat = asyncio.create_task(_heartbeat(ctx, worker_id, lease))
        unchanged = _UnchangedStates(ctx.storage, worker_id)
        batch_ctx = replace(ctx, fetcher=_LeasedFetcher(ctx.fetcher, lease))

        async def one(source: Source, unchanged: _UnchangedStates = unchanged,
                      batch_ctx: RefreshContext = batch_ctx) -> None:
            nonlocal lapsed
            outcome = await _refresh_source(batch_ctx, source, progress, unchanged)
            lapsed = lapsed or outcome.error_kind == LeaseLapsedError.kind
            summary.add(outcome)
            progress.feed_done(outcome)

        try:
            await asyncio.gather(*(one(s) for s in batch))
        finally:
            heartbeat.cancel()
            unchanged.flush()  # before the leases are given back: recording is fenced by them
            try:
                ctx.storage.release_worker_leases(worker_id)
            except NewsdeskError as exc:
                log.error("worker %s could not release its leases (they run out by themselves): %s", worker_id, exc)
    summary.seconds = loop.time() - started
    return summary


#: 304 answers whose state is written in one statement (see _UnchangedStates)
UNCHANGED_FLUSH = 100


class _UnchangedStates:
    """The fetch states of a batch's 304 answers, recorded together: in the steady state
    nearly every feed answers 304, and one transaction per feed would cost more than its poll.
    Recording stays fenced (record_fetch_states), and happens before the batch's leases are released.
    If recording fails (the database is away), the sources keep their old state: they are polled
    again once due and their leases have run out, which costs a 304 each and loses nothing."""

    def __init__(self, storage: Storage, worker_id: str | None) -> None:
        self._storage = storage
        self._worker_id = worker_id
        self._pending: list[tuple[Source, FetchState]] = []

    def add(self, source: Source, state: FetchState) -> None:
        self._pending.append((source, state))
        if len(self._pending) >= UNCHANGED_FLUSH:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        states = [(source.id, state) for source, state in pending]
        try:
            if self._worker_id is None:  # a pass without leases (`newsdesk fetch`)
                self._storage.update_fetch_states(states)
                return
            lost = set(self._storage.record_fetch_states(self._worker_id, states))
        except NewsdeskError as exc:
            log.error("could not record the 304 answers of %d sources (polled again once due): %s",
                      len(pending), exc)
            return
        for source, _ in pending:
            if source.id in lost:
                log.warning("worker %s lost its lease on source %s (%s); its outcome is dropped",
                            self._worker_id, source.id, source.url)


class _LeaseDeadline:
    """When a batch's leases may run out, by this process's monotonic clock. It is taken *before*
    each lease or renewal is asked for, so it never falls later than the end the database records
    (clock() is read at the same moment). Fencing keeps a late worker's outcomes out of the database;
    this keeps its requests off hosts another worker may have taken over (politeness)."""

    def __init__(self, lease_seconds: int) -> None:
        self.seconds = float(max(1, min(int(lease_seconds), MAX_LEASE_SECONDS)))  # as the storage grants it
        self.until = time.monotonic() + self.seconds

    def renewed(self, asked_at: float) -> None:
        self.until = max(self.until, asked_at + self.seconds)

    def check(self, url: str) -> None:
        """Raise LeaseLapsedError unless the lease still has a third of its length to run: the
        heartbeat renews every third, so this trips only when renewals fell behind by a whole period,
        and a request started now most likely ends before another worker could take the host over."""
        left = self.until - time.monotonic()
        if left < self.seconds / 3:
            state = "ran out" if left <= 0 else "is about to run out"
            raise LeaseLapsedError(f"the lease on {_host(url)} {state} (renewals fell behind); "
                                   "not fetching it")


class _LeasedFetcher:
    """A batch's PageFetcher: every request checks that the batch's leases still hold right before
    it is sent (robots.txt is fetched once per host and cached, so it is checked when asked for)."""

    def __init__(self, fetcher: PageFetcher, lease: _LeaseDeadline) -> None:
        self._fetcher = fetcher
        self._lease = lease

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str | None = None, max_bytes: int | None = None,
                  ready: Callable[[str], None] | None = None) -> HTTPResponse:
        def check(address: str) -> None:
            self._lease.check(address)
            if ready is not None:
                ready(address)

        # checked once the host's slot is ours: a request may wait there behind the host's others
        return await self._fetcher.get(url, etag=etag, last_modified=last_modified, accept=accept,
                                       max_bytes=max_bytes, ready=check)

    async def robots_allowed(self, url: str) -> bool:
        self._lease.check(url)
        return await self._fetcher.robots_allowed(url)


async def _heartbeat(ctx: RefreshContext, worker_id: str, lease: _LeaseDeadline) -> None:
    every = max(0.5, ctx.lease_seconds / 3)
    while True:
        await asyncio.sleep(every)
        asked_at = time.monotonic()
        try:
            ctx.storage.renew_leases(worker_id, ctx.clock(), ctx.lease_seconds)
        except NewsdeskError as exc:  # the database is away; leases may run out, fencing keeps us safe
            log.warning("worker %s could not renew its leases: %s", worker_id, exc)
        else:
            lease.renewed(asked_at)


def _save_state(ctx: RefreshContext, source: Source, state: FetchState, title: str | None = None,
                site_url: str | None = None) -> None:
    if ctx.worker_id is None:
        ctx.storage.update_fetch_state(source.id, state, title=title, site_url=site_url)
    elif not ctx.storage.record_fetch_state(source.id, ctx.worker_id, state, title=title, site_url=site_url):
        # Frozen or cut off past the lease end: another worker took the source over and its newer
        # state wins. Articles stored meanwhile are safe: adding is idempotent by URL.
        log.warning("worker %s lost its lease on source %s (%s); its outcome is dropped",
                    ctx.worker_id, source.id, source.url)


def _success_state(state: FetchState, now: datetime, next_at: datetime, interval: int,
                   response: HTTPResponse) -> FetchState:
    return replace(state, etag=response.headers.get("etag") or state.etag,
                   last_modified=response.headers.get("last-modified") or state.last_modified,
                   last_fetched_at=now, last_success_at=now, next_fetch_at=next_at, error_count=0,
                   last_error=None, last_error_kind=None, interval_seconds=interval)


def _record_failure(ctx: RefreshContext, source: Source, now: datetime, kind: str, message: str,
                    retry_after: float | None) -> FetchOutcome:
    count = source.state.error_count + 1
    next_at = next_poll_after_failure(now, count, ctx.schedule, retry_after, ctx.rng)
    state = replace(source.state, last_fetched_at=now, next_fetch_at=next_at, error_count=count,
                    last_error=message, last_error_kind=kind)
    try:
        _save_state(ctx, source, state)
    except NewsdeskError:
        log.exception("could not record the failure of source %s", source.id)
    return FetchOutcome(source.id, error_kind=kind, error=message)


async def _parse_source(ctx: RefreshContext, source: Source, response: HTTPResponse) -> ParsedFeed:
    # Parsing is CPU-bound (up to a second or two for a 10 MB feed): in a thread, so the event loop
    # goes on serving every other fetch of the pass meanwhile, and their deadlines are not eaten.
    content_type = response.headers.get("content-type")
    if source.kind is SourceKind.FEED:
        return await asyncio.to_thread(parse_feed, response.content, response.url, content_type, response.charset)
    if source.kind is SourceKind.HOMEPAGE:
        return await asyncio.to_thread(parse_homepage_links, response.content, response.url)
    parsed = await asyncio.to_thread(parse_sitemap, response.content, response.url)
    if parsed.format != "sitemapindex":
        return parsed
    # A sitemap index lists child sitemaps; read the first few (news sites list the newest first).
    entries: list[FeedEntry] = []
    for child in parsed.entries[:MAX_CHILD_SITEMAPS]:
        child_response = await ctx.fetcher.get(child.url, accept=FEED_ACCEPT)
        child_parsed = await asyncio.to_thread(parse_sitemap, child_response.content, child_response.url)
        if child_parsed.format != "sitemapindex":
            entries.extend(child_parsed.entries)
    return replace(parsed, entries=tuple(entries), format="sitemap")


async def _collect_entries(ctx: RefreshContext, source: Source, entries: Sequence[FeedEntry],
                           progress: ProgressHook) -> tuple[int, int]:
    """Fetch, extract and store the entries not stored yet. Returns (stored, failed)."""
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry.url not in seen:
            seen.add(entry.url)
            unique.append(entry)
    unknown = ctx.storage.unknown_urls([e.url for e in unique])
    todo = [e for e in unique if e.url in unknown][: ctx.articles_per_feed]
    progress.pages_found(len(todo))
    if not ctx.fetch_pages:
        # Nothing to wait for per entry: store the feed's entries in one transaction.
        now, language = ctx.clock(), _feed_language(todo)
        stored = ctx.storage.add_articles([_from_feed(source, e, now, ArticleStatus.NO_TEXT, "page not fetched",
                                                      language=language) for e in todo])
        for article_id in stored:
            _after_store(ctx, article_id)
        for _ in todo:
            progress.page_done()
        return sum(1 for r in stored if r is not None), 0
    # Every entry's task ends before this returns, even when one fails: a page request still
    # running after its source's outcome was recorded and its lease released would break fencing.
    results = await asyncio.gather(*(_collect_entry(ctx, source, e, progress) for e in todo),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return sum(1 for r in results if r), sum(1 for r in results if not r)


async def _collect_entry(ctx: RefreshContext, source: Source, entry: FeedEntry, progress: ProgressHook) -> bool:
    try:
        article = await _build_article(ctx, source, entry)
        if article is None:
            return False
        article_id = ctx.storage.add_article(article)
        _after_store(ctx, article_id)
        return article_id is not None
    finally:
        progress.page_done()


def _after_store(ctx: RefreshContext, article_id: int | None) -> None:
    # Every new article joins a story (or starts one) once stored, in the story thread: clustering
    # must not block the event loop (fetch deadlines) nor hold up polling. A failure there is logged
    # and never costs the article.
    if article_id is not None and ctx.stories is not None:
        ctx.stories.submit(article_id)


async def _build_article(ctx: RefreshContext, source: Source, entry: FeedEntry) -> NewArticle | None:
    """The article for an entry, or None when the page failed transiently (retried next poll)."""
    fetched_at = ctx.clock()
    try:
        if not await ctx.fetcher.robots_allowed(entry.url):
            raise RobotsDisallowedError(f"robots.txt of {_host(entry.url)} disallows this page")
        response = await ctx.fetcher.get(entry.url, accept=PAGE_ACCEPT)
    except RobotsDisallowedError as exc:
        return _from_feed(source, entry, fetched_at, ArticleStatus.ROBOTS, str(exc))
    except (HTTPStatusError, TooLargeError, BlockedAddressError, InvalidURLError, TooManyRedirectsError) as exc:
        # Permanent: kept with the feed's text. Retried each poll instead, a feed of such links would
        # take every one of the articles_per_feed slots forever and starve its real entries.
        if isinstance(exc, HTTPStatusError) and (exc.status >= 500 or exc.status == 429):
            log.info("page %s failed, retried next poll: %s", entry.url, exc)
            return None
        return _from_feed(source, entry, fetched_at, ArticleStatus.FETCH_FAILED, str(exc))
    except FetchError as exc:
        # timeouts, refused connections, DNS: the page may well work next time
        log.info("page %s failed, retried next poll: %s", entry.url, exc)
        return None
    html = response.content
    profiles = ctx.profiles

    def extract() -> ExtractedArticle:
        profile = profiles.for_page(source.id, response.url, html) if profiles else None
        return extract_article(html, response.url, charset=response.charset, profile=profile)

    async with ctx.extract_slots:
        try:
            extracted = await asyncio.to_thread(extract)
        except NoArticleError as exc:
            status = _WALL_STATUS.get(exc.kind, ArticleStatus.NO_TEXT)
            return _from_feed(source, entry, fetched_at, status, str(exc), raw=html)
    return _from_page(source, entry, extracted, fetched_at, html)


def _from_page(source: Source, entry: FeedEntry, page: ExtractedArticle, fetched_at: datetime,
               raw: bytes) -> NewArticle:
    summary = _summary(entry) or page.description
    return NewArticle(
        source_id=source.id, url=entry.url, guid=entry.guid, fetched_at=fetched_at, status=ArticleStatus.OK,
        # The feed's headline is what the outlet chose for listings; the page's is the fallback.
        title=entry.title or page.title,
        canonical_url=page.canonical_url, published_at=entry.published_at or page.published,
        author=entry.author or (", ".join(page.authors) or None), language=page.language,
        image_url=page.image_url or entry.image_url, image_caption=page.image_caption,
        summary=summary, html=page.html, text=page.text, raw_html=raw,
        updated_at=page.updated, section=page.section, image_credit=page.image_credit)


def _from_feed(source: Source, entry: FeedEntry, fetched_at: datetime, status: ArticleStatus, error: str,
               raw: bytes | None = None, language: str | None = None) -> NewArticle:
    """When the page gives no article, keep what the feed said, so nothing the reader could see is lost.

    `language` is the feed's, when known: detecting it per entry would cost more than the rest of
    storing a feed-only entry."""
    if entry.content_html:
        body_html = sanitize_html(entry.content_html, entry.url)
        text = html_to_text(body_html)
    else:
        # The summary is plain text already (feeds.py strips markup); escaping is all it needs.
        text = entry.summary or ""
        body_html = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
    if status is ArticleStatus.NO_TEXT and len(text) >= MIN_FEED_BODY_CHARS:
        status, error_text = ArticleStatus.OK, None
    else:
        error_text = error
    return NewArticle(
        source_id=source.id, url=entry.url, guid=entry.guid, fetched_at=fetched_at, status=status,
        title=entry.title or entry.url, published_at=entry.published_at, author=entry.author,
        language=language or detect_language(f"{entry.title}\n{text}"), image_url=entry.image_url,
        summary=_summary(entry), html=body_html, text=text, error=error_text, raw_html=raw)


def _summary(entry: FeedEntry) -> str | None:
    """The listing's snippet: the feed's summary, plain text already."""
    return (entry.summary or "")[:500] or None


def _feed_language(entries: Sequence[FeedEntry]) -> str | None:
    """One language for a feed's entries, from a sample of their titles and summaries."""
    sample = "\n".join(f"{e.title}. {(e.summary or '')[:300]}" for e in entries[:20])
    return detect_language(sample)


def _host(url: str) -> str:
    return urlsplit(url).hostname or url

