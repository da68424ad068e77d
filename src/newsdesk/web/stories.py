"""Story, entity and topic pages, their Atom feeds, the home page's story view, and the operator's
split/merge forms. Handlers call one use case each (services.stories) and render one template."""

# (No postponed annotations: FastAPI must see the local CsrfForm dependency.)

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from xml.sax.saxutils import escape as _xml_escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import NotFoundError, StorageError
from ..services import stories as story_service
from ..services.reading import ListContext
from ..storage.base import Storage
from .pages import Renderer
from .security import CSRF_COOKIE, CSRF_FIELD, CsrfTokens, RowId, check_admin

__all__ = ["STORIES_VIEW_COOKIE", "atom_feed", "home_stories", "stories_router"]

STORIES_VIEW_COOKIE = "newsdesk_view"
STORIES_PER_PAGE = 30
ATOM_ENTRIES = 50

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "stories": "Stories", "articles": "Articles", "story": "Story", "outlets": "{n} outlets",
        "first": "Reported first", "timeline": "Timeline", "why": "Why here",
        "new_story": "started the story", "duplicate": "same article",
        "also": "Also published by", "shares": "shares", "words": "words", "score": "score",
        "split": "Split out", "merge": "Merge this story into story #", "entity": "Entity",
        "topic": "Topic", "feed": "Atom feed", "mentioned": "Stories naming", "by_operator": "placed by an editor",
        "after": "+{h}h {m}m", "no_stories": "No stories yet.", "entities": "Names in this story",
    },
    "nl": {
        "stories": "Verhalen", "articles": "Artikelen", "story": "Verhaal", "outlets": "{n} media",
        "first": "Als eerste gemeld", "timeline": "Tijdlijn", "why": "Waarom hier",
        "new_story": "begon het verhaal", "duplicate": "hetzelfde artikel",
        "also": "Ook gepubliceerd door", "shares": "deelt", "words": "woorden", "score": "score",
        "split": "Afsplitsen", "merge": "Voeg dit verhaal samen met verhaal #", "entity": "Naam",
        "topic": "Onderwerp", "feed": "Atom-feed", "mentioned": "Verhalen over",
        "by_operator": "geplaatst door redactie",
        "after": "+{h}u {m}m", "no_stories": "Nog geen verhalen.", "entities": "Namen in dit verhaal",
    },
}


def _labels(renderer: Renderer, request: Request) -> Mapping[str, str]:
    return _LABELS.get(renderer.language(request), _LABELS["en"])


def wants_stories(request: Request) -> bool:
    view = request.query_params.get("view")
    if view in ("stories", "articles"):
        return view == "stories"
    return request.cookies.get(STORIES_VIEW_COOKIE) == "stories"


def _remember_view(request: Request, response: Response) -> Response:
    view = request.query_params.get("view")
    if view in ("stories", "articles") and view != request.cookies.get(STORIES_VIEW_COOKIE):
        response.set_cookie(STORIES_VIEW_COOKIE, view, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
    return response


def home_stories(request: Request, storage: Storage, renderer: Renderer) -> Response | None:
    """The home page as stories, when asked (?view=stories, then remembered in a cookie); None for
    the article list (which also remembers ?view=articles)."""
    if not wants_stories(request):
        if request.query_params.get("view") == "articles" and request.cookies.get(STORIES_VIEW_COOKIE):
            # the article list is rendered by pages.home; forgetting the cookie happens there via redirect
            redirect = RedirectResponse("/", status_code=303)
            redirect.delete_cookie(STORIES_VIEW_COOKIE)
            return redirect
        return None
    before_raw = request.query_params.get("before")
    before = None
    if before_raw:
        try:
            before = datetime.fromisoformat(before_raw[:40].replace("Z", "+00:00"))
            before = before if before.tzinfo else before.replace(tzinfo=UTC)
        except ValueError:
            before = None
    listed = storage.list_stories(limit=STORIES_PER_PAGE, before=before)
    views = [story_service.story_page(storage, s.id) for s in listed]
    older = (views[-1].story.last_seen.astimezone(UTC).isoformat() if len(listed) == STORIES_PER_PAGE else None)
    response = renderer.render(request, "stories_home.html", views=views, s=_labels(renderer, request),
                               older=older, ctx_for=lambda sid: ListContext("story", story_id=sid))
    return _remember_view(request, response)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(*, feed_id: str, title: str, self_url: str, alternate_url: str, updated: datetime,
              entries: list[dict[str, Any]]) -> str:
    """An Atom 1.0 document. Entry dicts: id, title, url, updated, published, author, html (sanitized
    at ingest; escaped here as type="html"), summary."""

    def esc(value: str) -> str:
        # XML 1.0 forbids most control characters even escaped
        clean = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20)
        return _xml_escape(clean, {'"': "&quot;"})

    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>{esc(feed_id)}</id>", f"<title>{esc(title)}</title>", f"<updated>{_iso(updated)}</updated>",
           f'<link rel="self" type="application/atom+xml" href="{esc(self_url)}"/>',
           f'<link rel="alternate" type="text/html" href="{esc(alternate_url)}"/>',
           "<author><name>newsdesk</name></author>", '<generator>newsdesk</generator>']
    for e in entries:
        out.append("<entry>")
        out.append(f"<id>{esc(e['id'])}</id>")
        out.append(f"<title>{esc(e['title'] or e['url'])}</title>")
        out.append(f"<updated>{_iso(e['updated'])}</updated>")
        if e.get("published"):
            out.append(f"<published>{_iso(e['published'])}</published>")
        out.append(f'<link rel="alternate" type="text/html" href="{esc(e["url"])}"/>')
        out.append(f"<author><name>{esc(e.get('author') or 'unknown')}</name></author>")
        if e.get("summary"):
            out.append(f'<summary type="text">{esc(e["summary"])}</summary>')
        out.append(f'<content type="html">{esc(e.get("html") or "")}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out) + "\n"


def _atom_response(storage: Storage, request: Request, title: str, page_path: str,
                   article_ids: list[int]) -> Response:
    base = str(request.base_url).rstrip("/")
    entries: list[dict[str, Any]] = []
    for article_id in article_ids[:ATOM_ENTRIES]:
        try:
            a = storage.get_article(article_id)
        except NotFoundError:
            continue
        entries.append({"id": f"{base}/articles/{a.id}", "title": a.title, "url": a.url,
                        "updated": a.sort_at, "published": a.published_at, "author": a.source_title,
                        "summary": a.summary, "html": a.html if a.status == "ok" else (a.summary or "")})
    updated = max((e["updated"] for e in entries), default=datetime(2000, 1, 1, tzinfo=UTC))
    body = atom_feed(feed_id=f"{base}{page_path}", title=title, self_url=f"{base}{request.url.path}",
                     alternate_url=f"{base}{page_path}", updated=updated, entries=entries)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def stories_router(storage: Storage, renderer: Renderer, csrf: CsrfTokens) -> APIRouter:
    router = APIRouter()
    admin_password = str(renderer.settings.admin_password or "")

    async def require_csrf(request: Request) -> dict[str, str]:
        check_admin(request, admin_password)
        form = await request.form(max_files=0, max_fields=10, max_part_size=16 * 1024)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not csrf.is_valid(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            from .admin import CsrfRejected

            raise CsrfRejected()
        return fields

    CsrfForm = Annotated[dict[str, str], Depends(require_csrf)]

    def is_admin(request: Request) -> bool:
        try:
            check_admin(request, admin_password)
        except Exception:
            return False
        return True

    @router.get("/stories/{story_id}", response_class=HTMLResponse, name="story")
    def story(request: Request, story_id: RowId) -> Response:
        view = story_service.story_page(storage, story_id)
        if view.story.id != story_id:
            return RedirectResponse(f"/stories/{view.story.id}", status_code=301)
        admin = is_admin(request)
        cookie_value = request.cookies.get(CSRF_COOKIE) or ""
        fresh = admin and (not cookie_value or len(cookie_value) > 100)
        if fresh:
            cookie_value = csrf.new_cookie_value()
        response = renderer.render(
            request, "story.html", view=view, s=_labels(renderer, request),
            ctx=ListContext("story", story_id=view.story.id), entities=story_service.story_entities(storage, view),
            admin=admin,
            csrf_field=CSRF_FIELD, csrf_token=csrf.token_for(cookie_value) if admin else "",
            headers={"Cache-Control": "no-store"} if admin else None)
        if fresh:
            response.set_cookie(CSRF_COOKIE, cookie_value, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

    @router.get("/stories/{story_id}/atom.xml", name="story_atom")
    def story_atom(request: Request, story_id: RowId) -> Response:
        view = story_service.story_page(storage, story_id)
        ids = [m.article_id for m in reversed(view.members)]
        return _atom_response(storage, request, view.story.title, f"/stories/{view.story.id}", ids)

    @router.get("/entities/{entity_id}", response_class=HTMLResponse, name="entity")
    def entity(request: Request, entity_id: RowId) -> Response:
        view = story_service.entity_page(storage, entity_id)
        return renderer.render(request, "entity.html", entity=view.entity, s=_labels(renderer, request),
                               stories=view.stories, items=view.articles, ctx=ListContext.home())

    @router.get("/topics/{slug}", response_class=HTMLResponse, name="topic")
    def topic(request: Request, slug: str) -> Response:
        found, items = story_service.topic_page(storage, slug)
        return renderer.render(request, "topic.html", topic=found, s=_labels(renderer, request), items=items,
                               ctx=ListContext("topic", query=found.slug))

    @router.get("/topics/{slug}/atom.xml", name="topic_atom")
    def topic_atom(request: Request, slug: str) -> Response:
        found = storage.get_topic(slug[:80])
        ids = [i.id for i in story_service.topic_articles(storage, found)]
        return _atom_response(storage, request, found.name, f"/topics/{found.slug}", ids)

    @router.post("/stories/{story_id}/split", name="story_split")
    def split(request: Request, story_id: RowId, fields: CsrfForm) -> Response:
        raw = fields.get("article_id", "")
        if not raw.isdigit() or len(raw) > 18:
            raise NotFoundError("no such article")
        member = storage.story_of_article(int(raw))
        if member is None or member.story_id != story_id:
            raise NotFoundError("that article is not in this story")
        new_id = story_service.split_article(storage, int(raw))
        return RedirectResponse(f"/stories/{new_id}", status_code=303)

    @router.post("/stories/{story_id}/merge", name="story_merge")
    def merge(request: Request, story_id: RowId, fields: CsrfForm) -> Response:
        raw = fields.get("into", "").strip().lstrip("#")
        if not raw.isdigit() or len(raw) > 18:
            raise NotFoundError("no such story")
        try:
            story_service.merge_stories(storage, story_id, int(raw))
        except StorageError as exc:
            if isinstance(exc, NotFoundError):
                raise
            raise NotFoundError(str(exc)) from exc
        return RedirectResponse(f"/stories/{int(raw)}", status_code=303)

    return router
