"""newsdesk's own JSON API, `/api/v1/...`: articles, sources, search, stories, entities and topics,
described by an OpenAPI document the app serves at `/api/v1/openapi.json`.

- Auth: an API key (`Authorization: Bearer nd_...` or `X-API-Key`), created and revoked by the
  operator (`newsdesk apikeys`, or the account page). The OpenAPI document itself is public.
- Paging: opaque cursors (`next_cursor`), keyset everywhere but search (by rank: an offset), so
  deep pages stay fast: (time, id) for articles and stories, (name, id) for entities and topics.
- Input: parameters are bounded and typed in the document; a malformed or unknown one is a 400.
- Caching: every 200 carries a strong ETag of its body; `If-None-Match` answers 304.
- Layout: one resource per path group, every list the same shape `{"items": [...], "next_cursor": ...}`;
  handlers call the use cases the HTML pages call (services.stories), one per operation.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations (pydantic models) at runtime.

import base64
import binascii
import enum
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ..errors import NotFoundError
from ..errors_accounts import AuthenticationError, InvalidRequestError
from ..models import Article, ArticleCursor, ArticleListItem, Source
from ..models_accounts import User
from ..services import stories as story_service
from ..services.reading import BadListParameterError, decode_cursor, encode_cursor, normalise_query
from ..storage.base import SEARCH_COUNT_LIMIT, ArticleFilter
from ..stories.records import EntityRecord, StoredStory, StoryMember, Topic
from .api_common import ApiContext, json_bytes

__all__ = ["own_api_router"]

PREFIX = "/api/v1"
MAX_LIMIT = 200
MAX_SEARCH_OFFSET = 10_000
#: stories and articles inlined in an entity's or a topic's detail (the rest: their list links)
DETAIL_ITEMS = 20
_MAX_ID = 2**62


class ErrorOut(BaseModel):
    error: str = Field(description="A stable machine-readable kind, e.g. not_found, unauthenticated.")
    message: str


class ArticleSummaryOut(BaseModel):
    id: int
    source_id: int
    source_title: str
    url: str
    title: str
    sort_at: datetime = Field(description="Publication time, or fetch time when unknown or implausible (UTC).")
    language: str | None = None
    image_url: str | None = None
    summary: str | None = None
    story_id: int | None = Field(None, description="The story the article belongs to; null until it is clustered.")
    links: dict[str, str] = Field(description="self (this API), reader (web page), atom (the source's feed).")


class ArticleOut(ArticleSummaryOut):
    fetched_at: datetime
    published_at: datetime | None = None
    canonical_url: str | None = None
    author: str | None = None
    image_caption: str | None = None
    status: str = Field(description="ok, no_text, fetch_failed or robots.")
    html: str = Field(description="The clean article body, sanitized HTML.")
    text: str = Field(description="The article body as plain text.")


class ArticlePage(BaseModel):
    items: list[ArticleSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class SearchPage(ArticlePage):
    #: the number of results, counted up to 1,000
    total: int
    #: true when there are more than `total` results (only the 1,000 newest matches are ranked)
    total_is_bound: bool = False


class SourceOut(BaseModel):
    id: int
    url: str
    kind: str
    title: str
    site_url: str | None = None
    category: str | None = None
    paused: bool
    created_at: datetime
    article_count: int | None = None
    last_fetched_at: datetime | None = None
    last_error: str | None = None


class SourceList(BaseModel):
    items: list[SourceOut]


class StorySummaryOut(BaseModel):
    id: int
    title: str = Field(description="The headline of the article that started the story.")
    first_seen: datetime
    last_seen: datetime
    size: int = Field(description="Articles in the story, duplicates included.")
    outlets: int = Field(description="Distinct sources.")
    locked: bool = Field(description="An editor split or merged it: the clusterer leaves it as it is.")
    links: dict[str, str] = Field(description="self (this API), reader (web page), atom (the story's feed).")


class StoryPage(BaseModel):
    items: list[StorySummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class DuplicateOut(BaseModel):
    article_id: int
    source_id: int
    source_title: str
    url: str
    how: str | None = Field(None, description="How it was recognised as the same article: url, hash or near.")


class StoryArticleOut(BaseModel):
    article_id: int
    source_id: int
    source_title: str
    title: str
    url: str
    sort_at: datetime
    language: str | None = None
    minutes_after_first: int = Field(description="Minutes after the first report (0 for the first).")
    how: str = Field(description="How it joined: new (started it), cluster, operator.")
    score: float
    shared_entities: list[str] = Field(description="Names it shares with the story.")
    shared_terms: list[str] = Field(description="Terms it shares with the story.")
    also: list[DuplicateOut] = Field(description="The same article published elsewhere.")


class EntityKind(enum.StrEnum):
    """What the entity extractor tells apart (stories.entities)."""

    person = "person"
    organisation = "organisation"
    place = "place"
    unknown = "unknown"


class EntityOut(BaseModel):
    id: int
    key: str = Field(description="Stable across spellings and languages, e.g. place:greenland.")
    name: str
    kind: str = Field(description="person, organisation, place or unknown.")
    links: dict[str, str]


class StoryOut(StorySummaryOut):
    first_reported: StoryArticleOut | None = Field(description="The article that reported first.")
    articles: list[StoryArticleOut] = Field(description="Each distinct article, earliest first.")
    entities: list[EntityOut] = Field(description="The names that tie the story together.")
    terms: list[str] = Field(description="The terms its articles were clustered on.")


class EntityPage(BaseModel):
    items: list[EntityOut]
    next_cursor: str | None


class EntityDetailOut(EntityOut):
    stories: list[StorySummaryOut] = Field(description="The latest stories naming it (first page of links.stories).")
    articles: list[ArticleSummaryOut] = Field(description="The latest articles naming it (first page of "
                                                          "links.articles).")


class TopicDefinitionOut(BaseModel):
    entities: list[EntityOut]
    keywords: list[str]
    source_ids: list[int]
    query: str


class TopicOut(BaseModel):
    id: int
    slug: str
    name: str
    created_at: datetime | None = None
    definition: TopicDefinitionOut
    links: dict[str, str]


class TopicPage(BaseModel):
    items: list[TopicOut]
    next_cursor: str | None


class TopicDetailOut(TopicOut):
    articles: list[ArticleSummaryOut] = Field(description="The latest articles (first page of links.articles).")


_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match matched the ETag)."},
    400: {"model": ErrorOut, "description": "A malformed parameter."},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key."},
    404: {"model": ErrorOut, "description": "No such resource."},
    429: {"model": ErrorOut, "description": "Too many requests."},
}


def _summary(item: ArticleListItem | Article, story_id: int | None = None) -> dict[str, Any]:
    return {
        "id": item.id, "source_id": item.source_id, "source_title": item.source_title, "url": item.url,
        "title": item.title, "sort_at": item.sort_at.isoformat(), "language": item.language,
        "image_url": item.image_url, "summary": item.summary, "story_id": story_id,
        "links": {"self": f"{PREFIX}/articles/{item.id}", "reader": f"/articles/{item.id}",
                  "atom": f"/sources/{item.source_id}/atom"},
    }


def _article(a: Article, story_id: int | None) -> dict[str, Any]:
    return {**_summary(a, story_id), "fetched_at": a.fetched_at.isoformat(),
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "canonical_url": a.canonical_url, "author": a.author, "image_caption": a.image_caption,
            "status": str(a.status), "html": a.html, "text": a.text}


def _source(s: Source) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "kind": str(s.kind), "title": s.display_name, "site_url": s.site_url,
            "category": s.category, "paused": s.paused, "created_at": s.created_at.isoformat(),
            "article_count": s.article_count,
            "last_fetched_at": s.state.last_fetched_at.isoformat() if s.state.last_fetched_at else None,
            "last_error": s.state.last_error}


def _story_summary(s: StoredStory) -> dict[str, Any]:
    return {"id": s.id, "title": s.title, "first_seen": s.first_seen.isoformat(), "last_seen": s.last_seen.isoformat(),
            "size": s.size, "outlets": s.outlets, "locked": s.locked,
            "links": {"self": f"{PREFIX}/stories/{s.id}", "reader": f"/stories/{s.id}",
                      "atom": f"/stories/{s.id}/atom.xml"}}


def _entity(e: EntityRecord) -> dict[str, Any]:
    return {"id": e.id, "key": e.key, "name": e.name, "kind": e.type,
            "links": {"self": f"{PREFIX}/entities/{e.id}", "reader": f"/entities/{e.id}",
                      "stories": f"{PREFIX}/entities/{e.id}/stories", "articles": f"{PREFIX}/entities/{e.id}/articles"}}


def _story(view: story_service.StoryView, names: list[EntityRecord]) -> dict[str, Any]:
    first = view.first

    def member(m: StoryMember) -> dict[str, Any]:
        return {"article_id": m.article_id, "source_id": m.source_id, "source_title": m.source_title,
                "title": m.title, "url": m.url, "sort_at": m.sort_at.isoformat(), "language": m.language,
                "minutes_after_first": int((m.sort_at - first.sort_at).total_seconds() // 60) if first else 0,
                "how": m.how, "score": m.score, "shared_entities": list(m.shared_entities),
                "shared_terms": list(m.shared_terms),
                "also": [{"article_id": d.article_id, "source_id": d.source_id, "source_title": d.source_title,
                          "url": d.url, "how": d.duplicate_how} for d in view.also.get(m.article_id, ())]}

    terms = list(dict.fromkeys(t for m in view.members for t in m.shared_terms))[:30]
    return {**_story_summary(view.story), "first_reported": member(first) if first else None,
            "articles": [member(m) for m in view.members], "entities": [_entity(e) for e in names],
            "terms": terms}


def _name_cursor(name: str, item_id: int) -> str:
    raw = json.dumps([name, item_id], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _name_position(cursor: str | None) -> tuple[str, int] | None:
    """The (name, id) keyset position of an entity or topic cursor; a 400 when malformed."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidRequestError("malformed cursor") from exc
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
            or not isinstance(value[1], int) or isinstance(value[1], bool) or not 0 <= value[1] <= _MAX_ID):
        raise InvalidRequestError("malformed cursor")
    return value[0], value[1]


def _time_position(cursor: str | None) -> ArticleCursor | None:
    if not cursor:
        return None
    try:
        return decode_cursor(cursor)
    except BadListParameterError as exc:
        raise InvalidRequestError("malformed cursor") from exc


def _etagged(request: Request, body: Any) -> Response:
    """JSON with a strong ETag; 304 when the client has this very body already."""
    data = json_bytes(body)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization, X-API-Key"}
    wanted = request.headers.get("if-none-match", "")
    if wanted and len(wanted) < 2000 and any(tag.strip().removeprefix("W/") == etag for tag in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


def _search_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _search_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("malformed cursor") from exc
    kind, _, number = raw.partition(":")
    if kind != "o" or not number.isdigit() or int(number) > MAX_SEARCH_OFFSET:
        raise InvalidRequestError("malformed cursor")
    return int(number)


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def own_api_router(ctx: ApiContext) -> APIRouter:
    storage, accounts = ctx.storage, ctx.accounts

    def user_of(request: Request) -> User:
        key = request.headers.get("x-api-key")
        if not key:
            scheme, _, rest = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                key = rest.strip()
        if not key:
            raise AuthenticationError("unauthorized")
        return accounts.authenticate_key(key)

    def known_params_only(request: Request) -> None:
        """An unknown query parameter is a 400, not silently ignored: a typo (`limt=5`) would
        otherwise answer something else than asked, and the document lists every parameter."""
        route = request.scope.get("route")
        if not isinstance(route, APIRoute):
            return
        allowed = _query_names(route.dependant)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise InvalidRequestError(f"unknown parameter {unknown[0][:40]!r}")

    router = APIRouter(prefix=PREFIX, dependencies=[Depends(user_of), Depends(known_params_only)],
                       responses=_ERRORS, tags=["newsdesk"])

    Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
    Cursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$",
                                         description="`next_cursor` of the previous page (opaque).")]

    @router.get("/articles", response_model=ArticlePage, summary="Latest articles, newest first")
    def list_articles(request: Request, limit: Limit = 30, cursor: Cursor = None,
                      source_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None) -> Response:
        before = _time_position(cursor)
        items = storage.list_articles(ArticleFilter(source_id=source_id), before=before, limit=limit + 1)
        return _etagged(request, article_page(items, limit))

    def summaries(items: list[ArticleListItem]) -> list[dict[str, Any]]:
        story_of = story_service.story_ids(storage, [i.id for i in items])
        return [_summary(i, story_of.get(i.id)) for i in items]

    def article_page(items: list[ArticleListItem], limit: int) -> dict[str, Any]:
        """A page from `limit + 1` items: the extra one only says there is a next page."""
        more = len(items) > limit
        items = items[:limit]
        next_cursor = encode_cursor(ArticleCursor.of(items[-1])) if more and items else None
        return {"items": summaries(items), "next_cursor": next_cursor}

    def story_page(items: list[StoredStory], limit: int) -> dict[str, Any]:
        more = len(items) > limit
        items = items[:limit]
        last = items[-1] if more and items else None
        return {"items": [_story_summary(s) for s in items],
                "next_cursor": encode_cursor(ArticleCursor(last.last_seen, last.id)) if last else None}

    @router.get("/articles/{article_id}", response_model=ArticleOut, summary="One article with its clean text")
    def get_article(request: Request, article_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> Response:
        article = storage.get_article(article_id)
        return _etagged(request, _article(article, story_service.story_ids(storage, [article.id]).get(article.id)))

    @router.get("/sources", response_model=SourceList, summary="Every source, by name")
    def list_sources(request: Request) -> Response:
        return _etagged(request, {"items": [_source(s) for s in storage.list_sources()]})

    @router.get("/sources/{source_id}", response_model=SourceOut, summary="One source and its fetch state")
    def get_source(request: Request, source_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> Response:
        return _etagged(request, _source(storage.get_source(source_id)))

    @router.get("/search", response_model=SearchPage, summary="Full-text search, best match first")
    def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=500)], limit: Limit = 30,
               cursor: Cursor = None) -> Response:
        query = normalise_query(q)
        offset = _search_offset(cursor)
        items, counted = storage.search_and_count(query, limit=limit, offset=offset) if query else ([], 0)
        more = offset + len(items) < min(counted, MAX_SEARCH_OFFSET) and len(items) == limit
        return _etagged(request, {"items": summaries(items), "total": min(counted, SEARCH_COUNT_LIMIT),
                                  "total_is_bound": counted > SEARCH_COUNT_LIMIT,
                                  "next_cursor": _search_cursor(offset + limit) if more else None})

    # -- stories ---------------------------------------------------------------------------------

    StoryId = Annotated[int, Path(ge=1, le=_MAX_ID)]

    @router.get("/stories", response_model=StoryPage, summary="Stories by latest activity, newest first")
    def list_stories(request: Request, limit: Limit = 30, cursor: Cursor = None) -> Response:
        items = story_service.list_stories(storage, limit=limit + 1, cursor=_time_position(cursor))
        return _etagged(request, story_page(items, limit))

    @router.get("/stories/{story_id}", response_model=StoryOut,
                summary="A story: every outlet's article, who reported first, the names and terms that tie it")
    def get_story(request: Request, story_id: StoryId) -> Response:
        # a story merged into another answers with that one (its id tells)
        view = story_service.story_page(storage, story_id)
        return _etagged(request, _story(view, story_service.story_entities(storage, view)))

    # -- entities --------------------------------------------------------------------------------

    @router.get("/entities", response_model=EntityPage, summary="Named entities by name")
    def list_entities(request: Request, limit: Limit = 50, cursor: Cursor = None,
                      kind: Annotated[EntityKind | None, Query()] = None,
                      name: Annotated[str, Query(max_length=200, description="A name prefix (any case).")] = ""
                      ) -> Response:
        items = story_service.list_entities(storage, kind=kind.value if kind else None, name=name or None,
                                            limit=limit + 1,
                                            after=_name_position(cursor))
        more = len(items) > limit
        items = items[:limit]
        next_cursor = _name_cursor(items[-1].name, items[-1].id) if more and items else None
        return _etagged(request, {"items": [_entity(e) for e in items], "next_cursor": next_cursor})

    @router.get("/entities/{entity_id}", response_model=EntityDetailOut,
                summary="An entity with its latest stories and articles")
    def get_entity(request: Request, entity_id: StoryId) -> Response:
        view = story_service.entity_page(storage, entity_id, stories=DETAIL_ITEMS, articles=DETAIL_ITEMS)
        return _etagged(request, {**_entity(view.entity), "stories": [_story_summary(s) for s in view.stories],
                                  "articles": summaries(view.articles)})

    @router.get("/entities/{entity_id}/stories", response_model=StoryPage, summary="Stories naming an entity")
    def entity_stories(request: Request, entity_id: StoryId, limit: Limit = 30, cursor: Cursor = None) -> Response:
        story_service.get_entity(storage, entity_id)  # 404 for an unknown entity
        items = story_service.entity_stories(storage, entity_id, limit=limit + 1, cursor=_time_position(cursor))
        return _etagged(request, story_page(items, limit))

    @router.get("/entities/{entity_id}/articles", response_model=ArticlePage, summary="Articles naming an entity")
    def entity_articles(request: Request, entity_id: StoryId, limit: Limit = 30, cursor: Cursor = None) -> Response:
        story_service.get_entity(storage, entity_id)
        items = story_service.entity_articles(storage, entity_id, limit=limit + 1, cursor=_time_position(cursor))
        return _etagged(request, article_page(items, limit))

    # -- topics ----------------------------------------------------------------------------------

    Slug = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[a-z0-9-]+$")]

    def topic_json(t: Topic) -> dict[str, Any]:
        d = t.definition
        names = []
        for entity_id in d.entity_ids:
            try:
                names.append(_entity(story_service.get_entity(storage, entity_id)))
            except NotFoundError:
                continue
        return {"id": t.id, "slug": t.slug, "name": t.name,
                "created_at": t.created_at.isoformat() if t.created_at else None,
                "definition": {"entities": names, "keywords": list(d.keywords), "source_ids": list(d.source_ids),
                               "query": d.query},
                "links": {"self": f"{PREFIX}/topics/{t.slug}", "reader": f"/topics/{t.slug}",
                          "articles": f"{PREFIX}/topics/{t.slug}/articles", "atom": f"/topics/{t.slug}/atom.xml"}}

    @router.get("/topics", response_model=TopicPage, summary="Topics by name")
    def list_topics(request: Request, limit: Limit = 50, cursor: Cursor = None) -> Response:
        after = _name_position(cursor)
        # topics are the operator's handful: the keyset is applied to the whole (name, id) list
        ordered = sorted(story_service.list_topics(storage), key=lambda t: (t.name, t.id))
        if after is not None:
            ordered = [t for t in ordered if (t.name, t.id) > after]
        items = ordered[:limit]
        more = len(ordered) > limit
        next_cursor = _name_cursor(items[-1].name, items[-1].id) if more and items else None
        return _etagged(request, {"items": [topic_json(t) for t in items], "next_cursor": next_cursor})

    @router.get("/topics/{slug}", response_model=TopicDetailOut, summary="A topic with its latest articles")
    def get_topic(request: Request, slug: Slug) -> Response:
        topic, items = story_service.topic_page(storage, slug, DETAIL_ITEMS)
        return _etagged(request, {**topic_json(topic), "articles": summaries(items)})

    @router.get("/topics/{slug}/articles", response_model=ArticlePage, summary="A topic's articles, newest first")
    def topic_articles(request: Request, slug: Slug, limit: Limit = 30, cursor: Cursor = None) -> Response:
        topic = story_service.get_topic(storage, slug)
        items = story_service.topic_articles(storage, topic, limit + 1, _time_position(cursor))
        return _etagged(request, article_page(items, limit))

    openapi_cache: dict[str, Any] = {}

    public = APIRouter(prefix=PREFIX)

    @public.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        if not openapi_cache:
            doc = get_openapi(title="newsdesk API", version="1",
                              description="newsdesk's own JSON API. Authenticate with an API key.",
                              routes=router.routes)
            doc["components"].setdefault("securitySchemes", {})["apiKey"] = {
                "type": "http", "scheme": "bearer", "description": "An API key: `Bearer nd_...`"}
            doc["security"] = [{"apiKey": []}]
            # FastAPI documents its own 422; this API answers malformed input with 400 (ErrorOut).
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            doc.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            doc.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            openapi_cache.update(doc)
        return JSONResponse(openapi_cache)

    combined = APIRouter()
    combined.include_router(public)
    combined.include_router(router)
    return combined

