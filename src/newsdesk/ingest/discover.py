"""Find how to follow a site: its feed, else a sitemap, else its home page.

The helpers are pure (bytes in, URLs out); `discover_source` is the one function that does IO,
through any fetcher with the FetcherLike shape, so it is tested against a local server and works
with the real `ingest.fetch.Fetcher`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from ..errors import DiscoveryError, FetchError, ParseError
from ..models import HTTPResponse, NewSource, ParsedFeed, SourceKind
from .feeds import (
    _absolute_http_url,
    _first_markup,
    _head_text,
    _sniff,
    parse_feed,
    parse_homepage_links,
    parse_sitemap,
)

__all__ = [
    "COMMON_FEED_PATHS",
    "FEED_ACCEPT",
    "FEED_TYPES",
    "SITEMAP_PATHS",
    "FetcherLike",
    "discover_source",
    "find_feed_links",
    "looks_like_feed",
    "sitemap_urls_from_robots",
]

#: link types that announce a feed in <link rel="alternate">
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
        "application/x.atom+xml",
        "application/x-atom+xml",
        "application/x-rss+xml",
        "text/xml",
        "application/xml",
    }
)

#: what discovery asks for: feeds first, then pages
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, */*;q=0.1"
)

#: where sites that do not announce their feed usually keep it (WordPress, Ghost, Hugo, Jekyll, Pelican...)
COMMON_FEED_PATHS = (
    "/feed",
    "/rss",
    "/feed/",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/index.xml",
    "/feed.json",
    "/feeds/all.atom.xml",
    "/?feed=rss2",
    "/rss/index.xml",
    "/feeds/posts/default",
)

#: sitemaps tried after those named in robots.txt, news sitemaps first
SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap.xml")

#: bounds on how much one discovery fetches
MAX_ALTERNATE_LINKS = 5
MAX_SITEMAPS = 6
MAX_PAGE_BYTES = 5_000_000


class FetcherLike(Protocol):
    """The shape of ingest.fetch.Fetcher that discovery needs; raises errors.FetchError subclasses."""

    async def get(
        self,
        url: str,
        *,
        accept: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
    ) -> HTTPResponse: ...


def _parse_html(html: bytes | str) -> lxml.html.HtmlElement | None:
    if isinstance(html, str):
        html = html.encode("utf-8")
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _page_base(doc: lxml.html.HtmlElement, url: str) -> str:
    base = doc.find(".//base[@href]")
    if base is not None:
        return _absolute_http_url(url, base.get("href")) or url
    return url


def find_feed_links(html: bytes | str, url: str) -> list[str]:
    """Feeds a page announces with <link rel="alternate" type=...>, absolute, in page order, deduped."""
    doc = _parse_html(html)
    if doc is None:
        return []
    base = _page_base(doc, url)
    found: list[str] = []
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        ctype = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or ctype not in FEED_TYPES:
            continue
        # application/json alternates are often oEmbed or API endpoints, not feeds
        if ctype == "application/json" and "feed" not in (link.get("title") or "").lower() + (
            link.get("href") or ""
        ).lower():
            continue
        href = _absolute_http_url(base, link.get("href"))
        if href and href not in found:
            found.append(href)
    return found


def sitemap_urls_from_robots(robots_txt: str, url: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt, absolute against `url`, in order, deduped."""
    found: list[str] = []
    for line in robots_txt.splitlines()[:10_000]:
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() != "sitemap":
            continue
        value = value.split("#", 1)[0].strip()
        absolute = _absolute_http_url(url, value)
        if absolute and absolute not in found:
            found.append(absolute)
    return found


_FEED_CONTENT_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/x-rss+xml",
    "application/x-atom+xml",
}


_PREFIXED_FEED_ROOT = re.compile(r"<[a-z][\w.-]*:(?:feed|rss)[\s>/]")


def looks_like_feed(content: bytes, content_type: str | None) -> bool:
    """Whether a response is worth handing to parse_feed: the body decides, the type breaks ties.

    HTML served as application/rss+xml is not a feed; an RSS document served as text/html (which
    happens) is.
    """
    start = _first_markup(_head_text(content, 2048)).lower()
    if start.startswith(("<rss", "<feed", "<rdf:rdf", "<rdf", "<channel")):
        return True
    if start.startswith("{"):
        return "jsonfeed.org/version" in _head_text(content, 8192).replace("\\/", "/")
    if start.startswith("<"):
        # other markup (a sitemap, an HTML page); only a prefixed feed root (<atom:feed) still counts
        return _PREFIXED_FEED_ROOT.match(start) is not None
    ctype = (content_type or "").split(";")[0].strip().lower()
    return ctype in _FEED_CONTENT_TYPES and bool(content.strip())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def _page_title(doc: lxml.html.HtmlElement | None) -> str:
    if doc is None:
        return ""
    for meta in doc.iter("meta"):
        if (meta.get("property") or "").lower() == "og:site_name" and meta.get("content"):
            return " ".join(meta.get("content", "").split())[:1000]
    title = doc.findtext(".//title") or ""
    return " ".join(title.split())[:1000]


def _content_type(response: HTTPResponse) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == "content-type":
            return value
    return None


async def _try_feed(fetcher: FetcherLike, url: str) -> tuple[str, ParsedFeed] | None:
    """The feed at `url`, or None if it cannot be fetched or is not a feed."""
    try:
        response = await fetcher.get(url, accept=FEED_ACCEPT)
    except FetchError:
        return None
    return _as_feed(response)


def _as_feed(response: HTTPResponse) -> tuple[str, ParsedFeed] | None:
    if response.status >= 300 or not looks_like_feed(response.content, _content_type(response)):
        return None
    try:
        parsed = parse_feed(response.content, response.url, _content_type(response), response.charset)
    except ParseError:
        return None
    return response.url, parsed


def _feed_source(url: str, parsed: ParsedFeed, page_title: str, page_url: str | None) -> NewSource:
    return NewSource(
        url=url,
        kind=SourceKind.FEED,
        title=parsed.title or page_title or _host(page_url or url),
        site_url=parsed.site_url or page_url or _origin(url),
    )


async def _try_sitemap(fetcher: FetcherLike, url: str) -> ParsedFeed | None:
    try:
        response = await fetcher.get(url, accept="application/xml, text/xml;q=0.9, */*;q=0.1")
    except FetchError:
        return None
    if response.status >= 300:
        return None
    try:
        return parse_sitemap(response.content, response.url)
    except ParseError:
        return None


def _is_news(parsed: ParsedFeed, url: str) -> bool:
    # Google News sitemaps carry news:title; the name is a hint for those that leave it out.
    return any(e.title for e in parsed.entries) or "news" in urlsplit(url).path.lower()


async def _find_sitemap(fetcher: FetcherLike, origin: str) -> str | None:
    """The best sitemap of a site: a news sitemap if there is one, else the first with URLs."""
    candidates: list[str] = []
    try:
        robots = await fetcher.get(urljoin(origin, "/robots.txt"), accept="text/plain")
        if robots.status < 300:
            robots_txt = robots.content[:500_000].decode("utf-8", "replace")
            candidates += sitemap_urls_from_robots(robots_txt, origin)
    except FetchError:
        pass
    candidates += [urljoin(origin, path) for path in SITEMAP_PATHS if urljoin(origin, path) not in candidates]
    fallback: str | None = None
    for candidate in candidates[:MAX_SITEMAPS]:
        parsed = await _try_sitemap(fetcher, candidate)
        if parsed is None or not parsed.entries:
            continue
        if parsed.format == "sitemapindex":
            # A news sitemap among the children is the one to follow; it keeps its URL, while
            # dated children (sitemap-2024-05.xml) come and go, so otherwise the index is followed.
            children = sorted(parsed.entries, key=lambda e: "news" not in urlsplit(e.url).path.lower())
            for child in children[:3]:
                child_map = await _try_sitemap(fetcher, child.url)
                if child_map is not None and child_map.format == "sitemap" and child_map.entries:
                    if _is_news(child_map, child.url):
                        return child.url
                    fallback = fallback or candidate
                    break
            continue
        if _is_news(parsed, candidate):
            return candidate
        fallback = fallback or candidate
    return fallback


def _unique(urls: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for url in urls:
        if url not in seen:
            seen.append(url)
    return seen


async def discover_source(fetcher: FetcherLike, url: str) -> NewSource:
    """How to follow the site at `url`: a FEED, else a SITEMAP, else its HOMEPAGE.

    In order: `url` itself is a feed; a feed the page announces (the first that parses); a feed at a
    common path of the same origin; a news sitemap or sitemap.xml (robots.txt first) with URLs; the
    page itself if it links to articles. A fetch error of `url` itself is raised as it is (the user
    should see "DNS lookup failed", not "no feed"); later fetch errors only rule a candidate out.
    Raises DiscoveryError when nothing is found.
    """
    response = await fetcher.get(url, accept=FEED_ACCEPT, max_bytes=MAX_PAGE_BYTES)
    final_url = response.url or url
    if response.status >= 300:
        raise DiscoveryError(f"{url} answered with HTTP status {response.status}")
    as_feed = _as_feed(response)
    if as_feed is not None:
        feed_url, parsed = as_feed
        return _feed_source(feed_url, parsed, "", None)

    if _sniff(response.content) == "xml":
        # the URL may be a sitemap itself
        try:
            as_sitemap: ParsedFeed | None = parse_sitemap(response.content, final_url)
        except ParseError:
            as_sitemap = None
        if as_sitemap is not None and as_sitemap.format == "sitemap" and as_sitemap.entries:
            return NewSource(url=final_url, kind=SourceKind.SITEMAP, title=_host(final_url),
                             site_url=_origin(final_url))

    doc = _parse_html(response.content)
    page_title = _page_title(doc)
    tried: set[str] = {final_url}
    for link in find_feed_links(response.content, final_url)[:MAX_ALTERNATE_LINKS]:
        tried.add(link)
        found = await _try_feed(fetcher, link)
        if found is not None:
            return _feed_source(found[0], found[1], page_title, final_url)

    origin = _origin(final_url)
    for path in COMMON_FEED_PATHS:
        candidate = urljoin(origin, path)
        if candidate in tried:
            continue
        tried.add(candidate)
        found = await _try_feed(fetcher, candidate)
        if found is not None:
            return _feed_source(found[0], found[1], page_title, final_url)

    sitemap = await _find_sitemap(fetcher, origin)
    if sitemap is not None:
        return NewSource(url=sitemap, kind=SourceKind.SITEMAP, title=page_title or _host(final_url),
                         site_url=final_url)

    if doc is not None:
        try:
            links = parse_homepage_links(response.content, final_url)
        except ParseError:
            links = None
        if links is not None and links.entries:
            return NewSource(url=final_url, kind=SourceKind.HOMEPAGE, title=page_title or _host(final_url),
                             site_url=final_url)
    raise DiscoveryError(f"no feed, sitemap or article links found at {url}")


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
