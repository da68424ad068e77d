"""ingest.discover: the pure helpers, and discover_source against real local sites on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from newsdesk import errors
from newsdesk.ingest.discover import (
    COMMON_FEED_PATHS,
    FetcherLike,
    discover_source,
    find_feed_links,
    looks_like_feed,
    sitemap_urls_from_robots,
)
from newsdesk.models import HTTPResponse, NewSource, SourceKind

# -- pure helpers -----------------------------------------------------------------------------------


def test_find_feed_links_absolute_ordered_deduped() -> None:
    html = b"""<html><head>
      <link rel="stylesheet" href="/s.css">
      <link rel="alternate" type="application/rss+xml" title="All" href="/feed/">
      <link rel="alternate" type="application/atom+xml" href="https://example.com/atom.xml">
      <link rel="alternate" type="application/rss+xml" href="feed/">
      <link rel="alternate" hreflang="nl" href="/nl/">
      <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
      <link rel="alternate" type="application/feed+json" href="/feed.json">
      <link rel="Alternate Home" type="application/RSS+XML; charset=utf-8" href="/comments/feed">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head><body></body></html>"""
    assert find_feed_links(html, "https://example.com/") == [
        "https://example.com/feed/",
        "https://example.com/atom.xml",
        "https://example.com/feed.json",
        "https://example.com/comments/feed",
    ]


def test_find_feed_links_respects_base_and_str_input() -> None:
    html = (
        '<head><base href="https://cdn.example.net/blog/">'
        "<link rel=alternate type=application/atom+xml href=atom></head>"
    )
    assert find_feed_links(html, "https://example.com/x") == ["https://cdn.example.net/blog/atom"]
    assert find_feed_links("", "https://example.com/") == []


def test_common_feed_paths() -> None:
    for path in ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feeds/all.atom.xml",
                 "/?feed=rss2"):
        assert path in COMMON_FEED_PATHS
    assert len(set(COMMON_FEED_PATHS)) == len(COMMON_FEED_PATHS)


def test_sitemap_urls_from_robots() -> None:
    robots = """User-agent: *
Disallow: /admin
sitemap: /sitemap_news.xml  # the news one
Sitemap: https://example.com/sitemap.xml
SITEMAP:https://example.com/sitemap.xml
Sitemap: ftp://example.com/nope.xml
Crawl-delay: 5
"""
    assert sitemap_urls_from_robots(robots, "https://example.com/some/page") == [
        "https://example.com/sitemap_news.xml",
        "https://example.com/sitemap.xml",
    ]
    assert sitemap_urls_from_robots("", "https://example.com/") == []


@pytest.mark.parametrize(
    ("content", "ctype", "expected"),
    [
        (b'<?xml version="1.0"?>\n<!-- hi --><rss version="2.0"></rss>', "text/html", True),
        (b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'/>", None, True),
        (b"<rdf:RDF xmlns:rdf='x'/>", "application/xml", True),
        (b"<atom:feed xmlns:atom='http://www.w3.org/2005/Atom'/>", None, True),
        ('<rss version="2.0"/>'.encode("utf-16"), None, True),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json", True),
        (b'{"version": "https:\\/\\/jsonfeed.org\\/version\\/1", "items": []}', None, True),
        (b'{"name": "x"}', "application/feed+json", False),
        (b"<!DOCTYPE html><html><body>x</body></html>", "application/rss+xml", False),
        (b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'/>", "application/xml", False),
        (b"", "application/rss+xml", False),
    ],
)
def test_looks_like_feed(content: bytes, ctype: str | None, expected: bool) -> None:
    assert looks_like_feed(content, ctype) is expected


# -- a real local web server ------------------------------------------------------------------------

Route = tuple[int, str, bytes]


class Site:
    """A small site on 127.0.0.1: exact path (with query) → (status, content type, body)."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.requests.append(self.path)
                status, ctype, body = site.routes.get(
                    self.path, (404, "text/html", b"<html><body>Not found</body></html>")
                )
                if status in (301, 302):
                    self.send_response(status)
                    self.send_header("Location", body.decode())
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def make_site() -> Iterator[Callable[[dict[str, Route]], Site]]:
    sites: list[Site] = []

    def make(routes: dict[str, Route]) -> Site:
        site = Site(routes)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


class HttpxFetcher:
    """A minimal FetcherLike for tests (the real one is ingest.fetch.Fetcher)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(
        self,
        url: str,
        *,
        accept: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
    ) -> HTTPResponse:
        headers = {"Accept": accept} if accept else {}
        try:
            response = await self.client.get(url, headers=headers)
        except httpx.ConnectError as exc:
            raise errors.ConnectError(f"cannot connect to {url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise errors.FetchTimeoutError(f"{url} timed out") from exc
        if response.status_code >= 400:
            raise errors.HTTPStatusError(f"{url}: HTTP {response.status_code}", response.status_code)
        content = response.content
        if max_bytes is not None and len(content) > max_bytes:
            raise errors.TooLargeError(f"{url} is larger than {max_bytes} bytes")
        return HTTPResponse(
            url=str(response.url),
            status=response.status_code,
            headers=dict(response.headers),
            content=content,
            charset=response.charset_encoding,
        )


def discover(url: str) -> NewSource:
    async def run() -> NewSource:
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as client:
            fetcher: FetcherLike = HttpxFetcher(client)
            return await discover_source(fetcher, url)

    return asyncio.run(run())


RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Site &amp; Feed</title><link>https://www.example.com/</link>
<item><title>One</title><link>https://www.example.com/2024/05/01/one</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Site</title>
<entry><title>A</title><id>tag:a,1</id><link href="/2024/05/01/a"/>
<updated>2024-05-01T00:00:00Z</updated></entry>
</feed>"""
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "JSON Site", "items": []}'
NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>/2024/05/01/story</loc><news:news><news:title>Story</news:title>
<news:publication_date>2024-05-01T10:00:00Z</news:publication_date></news:news></url>
</urlset>"""
PLAIN_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>/about</loc><lastmod>2024-01-01</lastmod></url></urlset>"""
ARTICLE_LINKS = b"""<a href="/2024/05/01/council-approves-new-budget">Council approves new budget</a>
<a href="/nieuws/2510123/kabinet-valt">Kabinet valt</a>"""


def page(title: str, head: bytes = b"", body: bytes = b"") -> Route:
    html = b"<!DOCTYPE html><html><head><title>" + title.encode() + b"</title>" + head + b"</head><body>"
    html += b'<a href="/about">About</a><a href="/category/news">News</a>' + body + b"</body></html>"
    return (200, "text/html; charset=utf-8", html)


def test_url_that_is_a_feed(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/feed.xml": (200, "application/rss+xml", RSS)})
    found = discover(site.url + "feed.xml")
    assert found == NewSource(
        url=site.url + "feed.xml", kind=SourceKind.FEED, title="Site & Feed", site_url="https://www.example.com/"
    )


def test_redirect_to_feed_keeps_final_url(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/old": (301, "", b"/new.xml"), "/new.xml": (200, "text/xml", ATOM)})
    found = discover(site.url + "old")
    assert (found.url, found.kind, found.title) == (site.url + "new.xml", SourceKind.FEED, "Atom Site")
    assert found.site_url == site.url


def test_alternate_link_first_that_parses(make_site: Callable[[dict[str, Route]], Site]) -> None:
    head = (
        b'<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
        b'<link rel="alternate" type="application/rss+xml" href="/not-a-feed">'
        b'<link rel="alternate" type="application/feed+json" href="/feed.json">'
        b'<link rel="alternate" type="application/rss+xml" href="/news/rss">'
    )
    site = make_site({
        "/": page("The Site", head),
        "/not-a-feed": page("Oops"),
        "/feed.json": (200, "application/feed+json", JSON_FEED),
        "/news/rss": (200, "application/rss+xml", RSS),
    })
    found = discover(site.url)
    assert found == NewSource(
        url=site.url + "feed.json", kind=SourceKind.FEED, title="JSON Site", site_url=site.url
    )
    assert "/news/rss" not in site.requests


def test_common_path_when_not_announced(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({
        "/": page("Quiet Site"),
        "/feed": page("Soft 404"),  # a 200 HTML page is not a feed
        "/atom.xml": (200, "application/atom+xml", ATOM),
    })
    found = discover(site.url)
    assert (found.url, found.kind, found.title) == (site.url + "atom.xml", SourceKind.FEED, "Atom Site")
    assert site.requests.index("/feed") < site.requests.index("/atom.xml")


def test_news_sitemap_from_robots(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({
        "/": page("Sitemap News", body=ARTICLE_LINKS),
        "/robots.txt": (
            200, "text/plain", b"User-agent: *\nSitemap: /maps/plain.xml\nSitemap: /maps/news.xml\n"
        ),
        "/maps/plain.xml": (200, "application/xml", PLAIN_SITEMAP),
        "/maps/news.xml": (200, "application/xml", NEWS_SITEMAP),
    })
    found = discover(site.url)
    assert found == NewSource(
        url=site.url + "maps/news.xml", kind=SourceKind.SITEMAP, title="Sitemap News", site_url=site.url
    )


def test_sitemap_index_child_news_sitemap(make_site: Callable[[dict[str, Route]], Site]) -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>/sitemap-pages.xml</loc></sitemap><sitemap><loc>/sitemap-news.xml</loc></sitemap></sitemapindex>"""
    site = make_site({
        "/": page("Indexed"),
        "/sitemap.xml": (200, "application/xml", index),
        "/sitemap-pages.xml": (200, "application/xml", PLAIN_SITEMAP),
        "/sitemap-news.xml": (200, "application/xml", NEWS_SITEMAP),
    })
    found = discover(site.url)
    assert (found.url, found.kind) == (site.url + "sitemap-news.xml", SourceKind.SITEMAP)


def test_plain_sitemap_when_no_news_sitemap(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/": page("Plain"), "/sitemap.xml": (200, "application/xml", PLAIN_SITEMAP)})
    found = discover(site.url)
    assert (found.url, found.kind, found.title) == (site.url + "sitemap.xml", SourceKind.SITEMAP, "Plain")


def test_homepage_as_last_resort(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/": page("Links Only", body=ARTICLE_LINKS)})
    found = discover(site.url)
    assert found == NewSource(url=site.url, kind=SourceKind.HOMEPAGE, title="Links Only", site_url=site.url)


def test_nothing_found(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/": page("Empty")})
    with pytest.raises(errors.DiscoveryError) as info:
        discover(site.url)
    assert "no feed, sitemap or article links found at" in str(info.value)
    # bounded: the page, the common paths, robots.txt and the fixed sitemap paths, nothing more
    assert len(site.requests) <= 1 + len(COMMON_FEED_PATHS) + 1 + 3


def test_fetch_error_of_the_url_itself_is_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.ConnectError):
        discover(f"http://127.0.0.1:{port}/")


def test_http_error_of_the_url_itself_is_raised(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({})
    with pytest.raises(errors.HTTPStatusError):
        discover(site.url + "missing")


def test_url_that_is_a_sitemap(make_site: Callable[[dict[str, Route]], Site]) -> None:
    site = make_site({"/news.xml": (200, "application/xml", NEWS_SITEMAP)})
    found = discover(site.url + "news.xml")
    assert (found.url, found.kind, found.site_url) == (site.url + "news.xml", SourceKind.SITEMAP, site.url)


def test_broken_alternate_falls_through_to_common_path(make_site: Callable[[dict[str, Route]], Site]) -> None:
    head = b'<link rel="alternate" type="application/rss+xml" href="/broken.xml">'
    site = make_site({
        "/": page("Broken Alt", head),
        "/broken.xml": (200, "application/rss+xml", b"<?xml version='1.0'?><rss version='2.0'><channel><ti"),
        "/index.xml": (200, "application/rss+xml", RSS),
    })
    found = discover(site.url)
    assert (found.url, found.kind, found.title) == (site.url + "index.xml", SourceKind.FEED, "Site & Feed")
