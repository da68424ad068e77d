"""newsdesk's own JSON API, `/api/v1/...`: articles, sources and search, described by an OpenAPI
document the app serves at `/api/v1/openapi.json`.

- Auth: an API key (`Authorization: Bearer nd_...` or `X-API-Key`), created and revoked by the
  operator (`newsdesk apikeys`, or the account page). The OpenAPI document itself is public.
- Paging: opaque cursors (`next_cursor`), keyset for date lists, so deep pages stay fast.
- Caching: every 200 carries a strong ETag of its body; `If-None-Match` answers 304.
- Layout: one resource per path group; stories, entities and topics slot in as further groups
  (`/api/v1/stories`, ...) with the same list shape `{"items": [...], "next_cursor": ...}`.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations (pydantic models) at runtime.

import base64
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ..errors_accounts import AuthenticationError, InvalidRequestError
from ..models import Article, ArticleCursor, ArticleListItem, Source
from ..models_accounts import User
from ..services.reading import BadListParameterError, decode_cursor, encode_cursor, normalise_query
from ..storage.base import SEARCH_COUNT_LIMIT, ArticleFilter
from .api_common import ApiContext

__all__ = ["own_api_router"]

PREFIX = "/api/v1"
MAX_LIMIT = 200
MAX_SEARCH_OFFSET = 10_000
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


_ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match matched the ETag)."},
    400: {"model": ErrorOut, "description": "A malformed parameter."},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key."},
    404: {"model": ErrorOut, "description": "No such resource."},
    429: {"model": ErrorOut, "description": "Too many requests."},
}


def _summary(item: ArticleListItem | Article) -> dict[str, Any]:
    return {
        "id": item.id, "source_id": item.source_id, "source_title": item.source_title, "url": item.url,
        "title": item.title, "sort_at": item.sort_at.isoformat(), "language": item.language,
        "image_url": item.image_url, "summary": item.summary,
        "links": {"self": f"{PREFIX}/articles/{item.id}", "reader": f"/articles/{item.id}",
                  "atom": f"/sources/{item.source_id}/atom"},
    }


def _article(a: Article) -> dict[str, Any]:
    return {**_summary(a), "fetched_at": a.fetched_at.isoformat(),
            "published_at": a.published_at.isoformat() if a.published_at else None,
            "canonical_url": a.canonical_url, "author": a.author, "image_caption": a.image_caption,
            "status": str(a.status), "html": a.html, "text": a.text}


def _source(s: Source) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "kind": str(s.kind), "title": s.display_name, "site_url": s.site_url,
            "category": s.category, "paused": s.paused, "created_at": s.created_at.isoformat(),
            "article_count": s.article_count,
            "last_fetched_at": s.state.last_fetched_at.isoformat() if s.state.last_fetched_at else None,
            "last_error": s.state.last_error}


def _etagged(request: Request, body: Any) -> Response:
    """JSON with a strong ETag; 304 when the client has this very body already."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
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

    router = APIRouter(prefix=PREFIX, dependencies=[Depends(user_of)], responses=_ERRORS, tags=["newsdesk"])

    Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
    Cursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_.:+-]+$",
                                         description="`next_cursor` of the previous page (opaque).")]

    @router.get("/articles", response_model=ArticlePage, summary="Latest articles, newest first")
    def list_articles(request: Request, limit: Limit = 30, cursor: Cursor = None,
                      source_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None) -> Response:
        try:
            before = decode_cursor(cursor) if cursor else None
        except BadListParameterError as exc:
            raise InvalidRequestError("malformed cursor") from exc
        items = storage.list_articles(ArticleFilter(source_id=source_id), before=before, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        next_cursor = encode_cursor(ArticleCursor.of(items[-1])) if more and items else None
        return _etagged(request, {"items": [_summary(i) for i in items], "next_cursor": next_cursor})

    @router.get("/articles/{article_id}", response_model=ArticleOut, summary="One article with its clean text")
    def get_article(request: Request, article_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> Response:
        return _etagged(request, _article(storage.get_article(article_id)))

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
        counted = storage.count_search(query) if query else 0
        items = storage.search_articles(query, limit=limit, offset=offset) if query else []
        more = offset + len(items) < min(counted, MAX_SEARCH_OFFSET) and len(items) == limit
        return _etagged(request, {"items": [_summary(i) for i in items], "total": min(counted, SEARCH_COUNT_LIMIT),
                                  "total_is_bound": counted > SEARCH_COUNT_LIMIT,
                                  "next_cursor": _search_cursor(offset + limit) if more else None})

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

