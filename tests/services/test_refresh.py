"""The collection use case end to end: a real HTTP server on 127.0.0.1, the real fetcher, a real
SQLite database. Failures must end up as data on the source, never as a crashed pass."""

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta
from html import escape

import pytest

from newsdesk.ingest.fetch import Fetcher, FetchPolicy
from newsdesk.models import ArticleStatus, NewSource, SourceKind
from newsdesk.services.refresh import RefreshContext, refresh_pass, refresh_source
from newsdesk.storage import ArticleFilter, open_storage

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)

PARAGRAPHS = [
    "De Amerikaanse president heeft een zeer goed telefoongesprek gevoerd met de secretaris-generaal van de NAVO "
    "over Groenland. Dat schreef hij dinsdag in een bericht op sociale media, kort voor zijn vertrek naar Davos.",
    "De afgelopen dagen liepen de spanningen tussen de Verenigde Staten en Europese landen verder op. Zaterdag "
    "kondigde de president een extra heffing aan op goederen uit Nederland en een reeks andere landen.",
    "Europese leiders vestigen hun hoop op het bezoek aan Davos om hem op andere gedachten te brengen. Een "
    "diplomaat zei dat de komende dagen beslissend zullen zijn voor de verhoudingen binnen het bondgenootschap.",
    "Of het Europese diplomatieke offensief zal slagen, blijft de vraag. Analisten wijzen erop dat eerdere "
    "dreigementen ook werden ingetrokken zodra er een gesprek op het hoogste niveau was gevoerd.",
]


def article_page(title: str, caption: str, base: str, i: int) -> str:
    body = "\n".join(f"<p>{escape(p)} ({i})</p>" for p in PARAGRAPHS)
    return f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)} | Krant</title>
<meta property="og:title" content="{escape(title)}"><meta name="author" content="Redactie">
<meta property="og:image" content="{base}/img/{i}.jpg"></head><body>
<header><nav><a href="/">Home</a> <a href="/binnenland">Binnenland</a></nav></header>
<main><article><h1>{escape(title)}</h1>
<figure><img src="{base}/img/{i}.jpg" alt=""><figcaption>{escape(caption)}</figcaption></figure>
{body}</article>
<aside class="newsletter"><h3>Schrijf je in voor de nieuwsbrief Krant Amerika</h3>
<form><input name="email"></form></aside>
<nav class="pager"><a href="/a/{i - 1}.html">Previous</a> <a href="/a/{i + 1}.html">Next</a></nav></main>
<footer><p>&copy; 2026 Krant. Alle rechten voorbehouden.</p></footer></body></html>"""


def rss(base: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>{(NOW - timedelta(hours=n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>Samenvatting van {escape(t)}</description></item>"
        for n, (t, p) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>De Testkrant</title>'
            f"<link>{base}/</link><description>Nieuws</description>{entries}</channel></rss>")


@pytest.fixture
def storage(tmp_path):
    s = open_storage(f"sqlite:///{tmp_path / 'n.sqlite'}")
    yield s
    s.close()


def run(storage, coro_fn, allowed=LOOPBACK, **ctx_args):
    async def go():
        policy = FetchPolicy(allowed_networks=allowed, timeout=5.0, max_bytes=2_000_000, max_redirects=3,
                             per_host_connections=2, concurrency=16, user_agent="newsdesk-test")
        async with Fetcher(policy) as fetcher:
            ctx = RefreshContext(storage=storage, fetcher=fetcher, clock=lambda: NOW, **ctx_args)
            return await coro_fn(ctx)

    return asyncio.run(go())


def feed_site(site, n=3):
    items = []
    for i in range(n):
        title = f"Trump belt met Rutte over Groenland, deel {i}"
        path = f"/a/{i}.html"
        site.add(path, article_page(title, f"Mark Rutte verlaat het paleis, foto {i}", site.base, i))
        items.append((title, path))
    site.add("/feed.xml", rss(site.base, items), content_type="application/rss+xml")
    return items


def test_a_pass_collects_every_article_in_full_and_a_repoll_writes_nothing(site, storage):
    items = feed_site(site)
    source = storage.add_source(NewSource(site.url("/feed.xml"), SourceKind.FEED), NOW)
    summary = run(storage, lambda ctx: refresh_pass(ctx))
    assert (summary.feeds, summary.new_articles, dict(summary.feed_errors)) == (1, 3, {})
    listed = storage.list_articles(ArticleFilter(source_id=source.id))
    assert [a.title for a in listed] == [t for t, _ in items]  # newest first, as the feed dates say
    article = storage.get_article(listed[0].id)
    assert article.status is ArticleStatus.OK
    assert "telefoongesprek" in article.text and "<p>" in article.html
    assert "Schrijf je in" not in article.text and "Alle rechten voorbehouden" not in article.text
    assert article.image_caption.startswith("Mark Rutte verlaat het paleis")
    assert article.language == "nl"
    state = storage.get_source(source.id).state
    assert state.etag and state.error_count == 0 and state.next_fetch_at > NOW
    assert storage.get_source(source.id).title == "De Testkrant"

    pages_before = sum(n for p, n in site.hits.items() if p.startswith("/a/"))
    summary = run(storage, lambda ctx: refresh_pass(ctx, due_only=False))
    assert (summary.not_modified, summary.new_articles) == (1, 0)
    assert sum(n for p, n in site.hits.items() if p.startswith("/a/")) == pages_before
    assert site.requests[-1][1].get("if-none-match") == state.etag


def test_a_broken_feed_is_recorded_and_the_pass_goes_on(site, storage):
    feed_site(site, 2)
    good = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    site.add("/down.xml", "oops", status=503, headers={"retry-after": "7200"})
    down = storage.add_source(NewSource(site.url("/down.xml")), NOW)
    site.add("/html.xml", "<html><body><p>no feed here</p></body></html>")
    not_feed = storage.add_source(NewSource(site.url("/html.xml")), NOW)
    missing = storage.add_source(NewSource(site.url("/gone.xml")), NOW)
    summary = run(storage, lambda ctx: refresh_pass(ctx))
    assert summary.new_articles == 2
    assert summary.feed_errors == {"http_status": 2, "not_a_feed": 1}
    down_state = storage.get_source(down.id).state
    assert down_state.error_count == 1 and "503" in down_state.last_error
    assert down_state.next_fetch_at >= NOW + timedelta(seconds=7200)  # Retry-After honoured
    assert storage.get_source(not_feed.id).state.last_error_kind == "not_a_feed"
    assert "404" in storage.get_source(missing.id).state.last_error
    assert storage.get_source(good.id).state.last_error is None


def test_page_failures_keep_the_feed_text_or_retry(site, storage):
    items = feed_site(site, 3)
    site.add(items[0][1], "gone", status=404)
    site.add(items[1][1], "busy", status=503)
    source = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    summary = run(storage, lambda ctx: refresh_pass(ctx))
    assert (summary.new_articles, summary.failed_pages) == (2, 1)
    stored = {a.title: storage.get_article(a.id) for a in storage.list_articles(ArticleFilter(source.id))}
    gone = stored[items[0][0]]
    assert gone.status is ArticleStatus.FETCH_FAILED and "404" in gone.error
    assert "Samenvatting" in gone.summary
    assert items[1][0] not in stored  # transient: left for the next poll
    site.add(items[1][1], article_page(items[1][0], "Foto", site.base, 1))
    site.add("/feed.xml", rss(site.base, items) + " ", content_type="application/rss+xml")  # changed: no 304
    summary = run(storage, lambda ctx: refresh_source(ctx, storage.get_source(source.id)))
    assert summary.new_articles == 1


def test_robots_txt_is_respected_for_article_pages(site, storage):
    items = feed_site(site, 2)
    site.add("/robots.txt", "User-agent: *\nDisallow: /a/1.html\n", content_type="text/plain")
    source = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    run(storage, lambda ctx: refresh_pass(ctx))
    assert site.hits["/a/1.html"] == 0 and site.hits["/a/0.html"] == 1
    statuses = {a.title: storage.get_article(a.id).status for a in storage.list_articles(ArticleFilter(source.id))}
    assert statuses == {items[0][0]: ArticleStatus.OK, items[1][0]: ArticleStatus.ROBOTS}


def test_loopback_is_refused_unless_allowed(site, storage):
    feed_site(site, 1)
    source = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    summary = run(storage, lambda ctx: refresh_pass(ctx), allowed=())
    assert summary.feed_errors == {"blocked_address": 1}
    assert site.hits["/feed.xml"] == 0
    assert storage.get_source(source.id).state.last_error_kind == "blocked_address"


def test_a_paywall_page_is_labelled_and_keeps_only_the_feed_teaser(site, storage):
    items = feed_site(site, 1)
    wall = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Alleen voor abonnees</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Trump belt met Rutte", "isAccessibleForFree": false}</script></head><body>
<article><h1>Trump belt met Rutte over Groenland</h1><p>De Amerikaanse president belde dinsdag.</p>
<div class="paywall"><p>Dit artikel is alleen beschikbaar voor abonnees. Word abonnee om verder te lezen.</p>
<a href="/abonneren">Neem een abonnement</a></div></article></body></html>"""
    site.add(items[0][1], wall)
    source = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    run(storage, lambda ctx: refresh_pass(ctx))
    [listed] = storage.list_articles(ArticleFilter(source.id))
    article = storage.get_article(listed.id)
    assert article.status is ArticleStatus.PAYWALL
    assert "Samenvatting" in article.summary and "abonnee" not in article.text


def test_leased_304_answers_are_recorded_in_one_statement_and_fenced(site, storage, caplog):
    """A worker's pass (leases): the states of the feeds answering 304 are written together, in one
    UPDATE run over their rows, and only for the sources the worker still holds. A source another
    worker took over meanwhile keeps that worker's lease and state, and the loss is logged."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from newsdesk.storage.schema import sources

    ids = []
    for i in range(6):
        site.add(f"/f{i}.xml", rss(site.base, [(f"Bericht {i}", f"/a/{i}.html")]), content_type="application/rss+xml")
        ids.append(storage.add_source(NewSource(site.url(f"/f{i}.xml"), SourceKind.FEED), NOW).id)
    run(storage, lambda ctx: refresh_pass(ctx), fetch_pages=False)  # stores the entries and the ETags
    with storage._write() as conn:
        conn.execute(sa.update(sources).values(next_fetch_at=NOW - timedelta(minutes=1)))
    stolen = ids[0]

    class TakenOverMeanwhile:
        """The real fetcher; while the first feed is being fetched, another worker takes it over."""

        def __init__(self, fetcher):
            self.fetcher = fetcher

        async def get(self, url, **kwargs):
            response = await self.fetcher.get(url, **kwargs)
            if url.endswith("/f0.xml"):
                with storage._write() as conn:
                    conn.execute(sa.update(sources).where(sources.c.id == stolen).values(lease_owner="other"))
            return response

        async def robots_allowed(self, url):
            return await self.fetcher.robots_allowed(url)

    updates = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE SOURCES") and "lease_owner" in statement:
            updates.append((executemany, len(parameters) if executemany else 1))

    engine = storage._backend.engine
    event.listen(engine, "before_cursor_execute", count)

    async def leased_pass(ctx):
        ctx.fetcher = TakenOverMeanwhile(ctx.fetcher)
        return await refresh_pass(ctx)

    try:
        with caplog.at_level("WARNING", logger="newsdesk.services.refresh"):
            summary = run(storage, leased_pass, fetch_pages=False, worker_id="w1")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (summary.feeds, summary.not_modified, summary.new_articles) == (6, 6, 0)
    assert (True, 5) in updates  # the five still held, in one executemany
    with storage._read() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(sources))}
    for source_id in ids[1:]:
        assert rows[source_id].lease_owner is None and rows[source_id].next_fetch_at > NOW
    assert rows[stolen].lease_owner == "other" and rows[stolen].next_fetch_at < NOW
    assert f"worker w1 lost its lease on source {stolen}" in caplog.text


def test_a_worker_whose_lease_renewals_fall_behind_stops_fetching_and_records_nothing(site, storage, caplog):
    """Politeness across workers rests on host leases. When a worker cannot renew them (its database
    is slow or away), another worker may take its hosts over once they run out; so it starts no
    further request for its batch, records nothing against the source, and the next pass (here with
    a healthy database) collects what it left, each page once."""
    import time as _time

    from newsdesk.errors import DatabaseUnavailableError

    n = 12
    items = feed_site(site, n)
    for _, path in items:
        page = site.routes[path]

        def slow(handler, page=page):
            _time.sleep(0.4)
            handler._send(200, page.headers, page.body)

        site.routes[path] = slow
    source = storage.add_source(NewSource(site.url("/feed.xml"), SourceKind.FEED), NOW)

    class RenewalsFail:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def renew_leases(self, *args, **kwargs):
            raise DatabaseUnavailableError("database error (sqlite): database is locked")

    with caplog.at_level("WARNING", logger="newsdesk.services.refresh"):
        summary = run(RenewalsFail(storage), lambda ctx: refresh_pass(ctx), worker_id="w1", lease_seconds=1,
                      assign_stories=False)
    pages_first = sum(site.hits[path] for _, path in items)
    assert summary.feed_errors == {"lease_lapsed": 1}
    assert pages_first < n  # 12 pages at 2 connections take 2.4 s; the lease lapses after 2/3 s
    assert f"worker w1 stopped polling source {source.id}" in caplog.text
    state = storage.get_source(source.id).state
    assert state.last_success_at is None and state.error_count == 0 and state.last_error_kind is None
    assert storage.count_articles() == pages_first  # what was fetched is stored, nothing else

    summary = run(storage, lambda ctx: refresh_pass(ctx), worker_id="w1", lease_seconds=30, assign_stories=False)
    assert (summary.feeds, dict(summary.feed_errors)) == (1, {})
    assert storage.count_articles() == n
    assert all(site.hits[path] == 1 for _, path in items)
    assert storage.get_source(source.id).state.last_success_at is not None
