"""The reader's pages: home, source, search, article. Each handler calls one reading use case and
renders one template; the Renderer holds what every page shares (templates, language, labels)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..services import reading
from ..services.reading import ListContext, Listing
from ..settings import Settings
from ..storage.base import Storage
from .i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language, format_count, format_time, labels_for
from .security import RowId, safe_url

__all__ = ["Renderer", "context_url", "article_url", "reader_router"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def context_url(context: ListContext) -> str:
    """The list page a context stands for."""
    if context.kind == "source":
        return f"/sources/{context.source_id}"
    if context.kind == "search":
        return "/search?" + urlencode({"q": context.query})
    if context.kind == "story":
        return f"/stories/{context.story_id}"
    if context.kind == "topic":
        return f"/topics/{context.query}"
    return "/"


def article_url(article_id: int, context: ListContext) -> str:
    return f"/articles/{article_id}?" + urlencode({"from": context.serialise()})


def _asset_versions() -> dict[str, str]:
    """A short content hash per static file, appended to its URL so long caching is safe."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


class Renderer:
    """Renders templates with the request's language, labels and shared helpers."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        versions = _asset_versions()
        self.env.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
        self.env.globals["article_url"] = article_url
        self.env.globals["context_url"] = context_url
        self.env.filters["safe_url"] = safe_url
        self.env.filters["iso"] = lambda when: when.astimezone(UTC).isoformat()

    def language(self, request: Request) -> str:
        return choose_language(
            request.query_params.get("lang"),
            request.cookies.get(LANGUAGE_COOKIE),
            request.headers.get("accept-language"),
            str(self.settings.language),
        )

    def labels(self, request: Request) -> Mapping[str, str]:
        return labels_for(self.language(request))

    def render(self, request: Request, template: str, status: int = 200,
               headers: Mapping[str, str] | None = None, **values: Any) -> HTMLResponse:
        lang = self.language(request)
        now = self.clock()
        labels = labels_for(lang)
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        switch = {code: request.url.path + "?" + urlencode([*params, ("lang", code)]) for code in LANGUAGES}
        html = self.env.get_template(template).render(
            request=request,
            lang=lang,
            t=labels,
            language_links=switch,
            when=lambda moment: format_time(moment, now, lang),
            number=lambda count: format_count(count, lang),
            **{"search_query": "", **values},
        )
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        chosen = request.query_params.get("lang")
        if chosen in LANGUAGES and chosen != request.cookies.get(LANGUAGE_COOKIE):
            response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, httponly=True,
                                samesite="lax", secure=request.url.scheme == "https")
        return response


def _pager_links(listing: Listing, base: str) -> dict[str, Any]:
    """Older/Newer hrefs: cursors for date lists, page numbers for search."""
    if listing.context.kind == "search":
        q = {"q": listing.context.query}
        older = f"{base}?" + urlencode({**q, "page": listing.older}) if listing.older else None
        newer = f"{base}?" + urlencode({**q, "page": listing.newer}) if listing.newer else None
    else:
        older = f"{base}?" + urlencode({"before": listing.older}) if listing.older else None
        newer = f"{base}?" + urlencode({"after": listing.newer}) if listing.newer else None
    return {"older_href": older, "newer_href": newer}


def reader_router(storage: Storage, renderer: Renderer) -> APIRouter:
    router = APIRouter()

    # Handlers are plain functions: storage calls block, so FastAPI runs them in its thread pool.

    @router.get("/", response_class=HTMLResponse, name="home")
    def home(request: Request, before: str | None = None, after: str | None = None) -> Response:
        from .stories import home_stories  # the stories view of the home page (?view=stories)

        if (stories_home := home_stories(request, storage, renderer)) is not None:
            return stories_home
        listing = reading.home_page(storage, before=before, after=after)
        return renderer.render(request, "list.html", listing=listing, heading=None,
                               **_pager_links(listing, "/"))

    @router.get("/sources/{source_id}", response_class=HTMLResponse, name="source")
    def source(request: Request, source_id: RowId, before: str | None = None,
               after: str | None = None) -> HTMLResponse:
        listing = reading.source_page(storage, source_id, before=before, after=after)
        return renderer.render(request, "list.html", listing=listing,
                               heading=listing.source.display_name if listing.source else None,
                               **_pager_links(listing, f"/sources/{source_id}"))

    @router.get("/search", response_class=HTMLResponse, name="search")
    def search(request: Request, q: str = "", page: str | None = None) -> HTMLResponse:
        listing = reading.search_page(storage, q, page=page)
        return renderer.render(request, "list.html", listing=listing, heading=None,
                               search_query=listing.context.query, **_pager_links(listing, "/search"))

    @router.get("/articles/{article_id}", response_class=HTMLResponse, name="article")
    def article(request: Request, article_id: RowId) -> HTMLResponse:
        context = ListContext.parse(request.query_params.get("from"))
        view = reading.article_page(storage, article_id, context)
        list_href = context_url(context)
        previous_href = article_url(view.previous_id, context) if view.previous_id else list_href
        next_href = article_url(view.next_id, context) if view.next_id else list_href
        return renderer.render(request, "article.html", view=view, a=view.article,
                               previous_href=previous_href, next_href=next_href, list_href=list_href)

    return router
