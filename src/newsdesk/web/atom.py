"""Atom 1.0 feeds out: the home page (`/atom`), each source (`/sources/{id}/atom`) and each search
(`/search/atom?q=...`), with each article's clean full text as `content type="html"`.

Built with lxml so every string is escaped and control characters that XML cannot hold are dropped.
Ids are the reader's article URLs under settings.public_url (stable, dereferenceable). Public, like
the reader pages; Stories and topics get their feeds the same way once they exist.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations at runtime.

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from lxml import etree

from ..models import Article, ArticleListItem
from ..services.reading import normalise_query
from ..storage.base import ArticleFilter
from .api_common import ApiContext

__all__ = ["ATOM_TYPE", "atom_router", "render_atom"]

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
#: entries per feed (each carries its full text)
FEED_SIZE = 30
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def render_atom(*, base_url: str, feed_id: str, title: str, self_href: str, alternate_href: str,
                articles: Sequence[Article], now: datetime) -> bytes:
    """An Atom 1.0 document (RFC 4287) of `articles`, newest first."""
    base = base_url.rstrip("/")
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _sub(feed, "id", base + feed_id)
    _sub(feed, "title", title)
    updated = max((a.fetched_at for a in articles), default=now)
    _sub(feed, "updated", _time(updated))
    author = _sub(feed, "author")
    _sub(author, "name", "newsdesk")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=base + self_href)
    _sub(feed, "link", rel="alternate", type="text/html", href=base + alternate_href)
    _sub(feed, "generator", "newsdesk")
    for a in articles:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"{base}/articles/{a.id}")
        _sub(entry, "title", a.title or a.url)
        _sub(entry, "updated", _time(a.fetched_at))
        _sub(entry, "published", _time(a.published_at or a.sort_at))
        if a.author:
            entry_author = _sub(entry, "author")
            _sub(entry_author, "name", a.author)
        _sub(entry, "link", rel="alternate", type="text/html", href=a.url)
        _sub(entry, "link", rel="via", type="text/html", href=f"{base}/articles/{a.id}")
        source = _sub(entry, "source")
        _sub(source, "id", f"{base}/sources/{a.source_id}")
        _sub(source, "title", a.source_title)
        _sub(source, "updated", _time(a.fetched_at))
        if a.summary:
            _sub(entry, "summary", a.summary)
        # The body was sanitized (nh3) when stored; as type="html" it is escaped text here.
        _sub(entry, "content", a.html or a.summary or "", type="html")
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="utf-8"))


def atom_router(ctx: ApiContext) -> APIRouter:
    storage = ctx.storage
    router = APIRouter()

    def full(items: Sequence[ArticleListItem]) -> list[Article]:
        return [storage.get_article(item.id) for item in items]

    def answer(request: Request, body: bytes) -> Response:
        return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=300"})

    @router.get("/atom", include_in_schema=False)
    def home_feed(request: Request) -> Response:
        items = storage.list_articles(limit=FEED_SIZE)
        return answer(request, render_atom(base_url=ctx.public_url, feed_id="/", title="newsdesk",
                                           self_href="/atom", alternate_href="/", articles=full(items),
                                           now=datetime.now(UTC)))

    @router.get("/sources/{source_id}/atom", include_in_schema=False)
    def source_feed(request: Request, source_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
        source = storage.get_source(source_id)
        items = storage.list_articles(ArticleFilter(source_id=source_id), limit=FEED_SIZE)
        return answer(request, render_atom(
            base_url=ctx.public_url, feed_id=f"/sources/{source_id}", title=f"{source.display_name} · newsdesk",
            self_href=f"/sources/{source_id}/atom", alternate_href=f"/sources/{source_id}", articles=full(items),
            now=datetime.now(UTC)))

    @router.get("/search/atom", include_in_schema=False)
    def search_feed(request: Request, q: Annotated[str, Query(max_length=500)] = "") -> Response:
        query = normalise_query(q)
        items = storage.search_articles(query, limit=FEED_SIZE) if query else []
        # A search feed is newest first, like every feed: readers show entries by time anyway.
        items = sorted(items, key=lambda i: (i.sort_at, i.id), reverse=True)
        encoded = urlencode({"q": query})
        return answer(request, render_atom(
            base_url=ctx.public_url, feed_id=f"/search?{encoded}", title=f"{query} · newsdesk",
            self_href=f"/search/atom?{encoded}", alternate_href=f"/search?{encoded}", articles=full(items),
            now=datetime.now(UTC)))

    return router
