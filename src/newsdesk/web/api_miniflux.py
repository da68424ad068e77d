"""A Miniflux-compatible REST subset under `/v1`, enough for newsboat (`urls-source "miniflux"`),
the official `miniflux` Python client and the apps built on them.

Auth: HTTP Basic (user name and password, or user name and an API key) or `X-Auth-Token: <key>`.
Feeds are the operator's sources (adding, deleting and importing need an admin); categories are
source categories with stable ids (services.feedreader.category_id); entry status and starred are
the calling user's own. Entries are ordered by publication time whatever `order` names; `status`,
`starred`, `before`/`after`, `before_entry_id`/`after_entry_id`, `feed_id`, `category_id`, `limit`,
`offset` and `direction` filter and page. Unknown parameters are ignored, malformed ones are a 400.

Topics and stories are not mapped here: a Miniflux entry has one feed and that feed one category,
and Miniflux clients list and filter by those alone (the entries API filters by no tag). A topic
spans feeds and an article can be in several, so as a category it would steal articles from their
source's folder, and as a pseudo-feed it would show every article twice. Apps reach topics through
the Google Reader API (a tag per topic) and everything through the own API.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency annotations at runtime.

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..errors import NotFoundError
from ..errors_accounts import AuthenticationError, InvalidRequestError, PermissionDeniedError
from ..models import NewSource, Source
from ..models_accounts import EntryOrder, ReadFilter, User, UserEntry
from ..services import feedreader
from ..services import sources as source_service
from ..services.feedreader import category_id
from ..storage.users import EntryQuery
from .api_common import (
    ApiContext,
    FastJSONResponse,
    UtcJSONResponse,
    basic_credentials,
    client_address,
    int_param,
    timestamp,
)

__all__ = ["miniflux_router"]

#: entries per page when no limit is given (Miniflux's default is 100 too)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_BODY = 1_000_000
#: feed objects remembered for reuse at most (users x sources); all are forgotten when full
MAX_FEED_OBJECTS = 20_000
_ORDERS = {"id", "status", "published_at", "created_at", "category_title", "category_id", "changed_at"}


def _iso(when: datetime | None) -> str:
    return (when or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _bool_param(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidRequestError(f"{name} must be true or false")


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidRequestError("request body too large")
    try:
        return json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError("the body must be JSON") from exc


async def _raw_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidRequestError("request body too large")
    return body


JsonBody = Annotated[Any, Depends(_json_body)]
RawBody = Annotated[bytes, Depends(_raw_body)]


def miniflux_router(ctx: ApiContext, *, add_source: Callable[[str, str | None], Source] | None = None,
                    discover: Callable[[str], NewSource] | None = None) -> APIRouter:
    storage, accounts, directory = ctx.storage, ctx.accounts, ctx.directory

    def find_user(request: Request) -> User:
        token = request.headers.get("x-auth-token")
        if token:
            return accounts.authenticate_key(token.strip())
        credentials = basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            raise AuthenticationError("unauthorized")
        name, password = credentials
        if password.startswith("nd_"):
            user = accounts.authenticate_key(password)
            if user.name != name:
                raise AuthenticationError("unauthorized")
            return user
        return accounts.login_basic(name, password, client_address(request))

    async def user_of(request: Request) -> User:
        # A password not remembered yet is an argon2 hash (20-40 ms): on the slow threads, not the
        # request threads (web/slowpool.py). Keys and remembered passwords are look-ups.
        credentials = None if request.headers.get("x-auth-token") else basic_credentials(
            request.headers.get("authorization"))
        if credentials is not None and not credentials[1].startswith("nd_") \
                and not accounts.remembers_basic(*credentials):
            return await ctx.slow.run(find_user, request)
        return await run_in_threadpool(find_user, request)

    CurrentUser = Annotated[User, Depends(user_of)]

    def need_admin(user: User) -> None:
        if not user.is_admin:
            raise PermissionDeniedError("only an admin manages feeds")

    def category_json(title: str | None, user: User) -> dict[str, Any]:
        # Sources without a category sit in "All", as a new Miniflux account's feeds do.
        title = title or "All"
        return {"id": category_id(title), "title": title, "user_id": user.id, "hide_globally": False}

    def feed_json(source: Source, user: User) -> dict[str, Any]:
        state = source.state
        return {
            "id": source.id, "user_id": user.id, "feed_url": source.url, "site_url": source.site_url or source.url,
            "title": source.display_name, "checked_at": _iso(state.last_fetched_at),
            "next_check_at": _iso(state.next_fetch_at), "etag_header": state.etag or "",
            "last_modified_header": state.last_modified or "", "parsing_error_message": state.last_error or "",
            "parsing_error_count": state.error_count, "scraper_rules": "", "rewrite_rules": "",
            "crawler": True, "blocklist_rules": "", "keeplist_rules": "", "user_agent": "", "username": "",
            "password": "", "disabled": source.paused, "ignore_http_cache": False, "fetch_via_proxy": False,
            "hide_globally": False, "category": category_json(source.category, user), "icon": None,
        }

    #: (user id, source id) -> (the Source it was made from, its feed object); see known_feed_json
    feed_objects: dict[tuple[int, int], tuple[Source, dict[str, Any]]] = {}

    def known_feed_json(source: Source, user: User) -> dict[str, Any]:
        """feed_json, reused while the directory hands out the same Source object (it keeps one for
        its TTL): a page of 100 entries from 100 sources built 100 feed objects of 30 fields and
        formatted 200 times, a quarter of the page's CPU time (bench/api.py)."""
        key = (user.id, source.id)
        known = feed_objects.get(key)
        if known is not None and known[0] is source:
            return known[1]
        made = feed_json(source, user)
        if len(feed_objects) >= MAX_FEED_OBJECTS:
            feed_objects.clear()
        feed_objects[key] = (source, made)
        return made

    def entry_json(a: UserEntry, user: User, sources: dict[int, Source],
                   feeds: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        source = sources.get(a.source_id)
        feeds = {} if feeds is None else feeds  # one feed object per source, shared by its entries
        if source is not None and a.source_id not in feeds:
            feeds[a.source_id] = known_feed_json(source, user)
        words = len(a.html) // 7  # about 7 characters of HTML per word; Miniflux's estimate is as rough
        return {
            "id": a.id, "user_id": user.id, "feed_id": a.source_id, "status": "read" if a.read else "unread",
            "hash": str(a.id), "title": a.title, "url": a.url, "comments_url": "",
            # datetimes, written by the response's encoder (UtcJSONResponse): as _iso() would, in C
            "published_at": a.published_at or a.sort_at, "created_at": a.fetched_at,
            "changed_at": a.changed_at or a.fetched_at, "content": a.html or (a.summary or ""),
            "author": a.author or "", "share_code": "", "starred": a.starred,
            "reading_time": max(1, words // 200) if words else 0,
            "enclosures": ([{"id": a.id, "user_id": user.id, "entry_id": a.id, "url": a.image_url,
                             "mime_type": "image/*", "size": 0, "media_progression": 0}]
                           if a.image_url else []),
            "tags": list(a.labels),
            "feed": feeds.get(a.source_id),
        }

    def entries_query(request: Request, user: User, **fixed: Any) -> EntryQuery:
        p = request.query_params
        statuses = set(p.getlist("status"))
        if statuses - {"read", "unread", "removed"}:
            raise InvalidRequestError("status must be read, unread or removed")
        read = ReadFilter.ALL
        if statuses == {"unread"}:
            read = ReadFilter.UNREAD
        elif statuses == {"read"}:
            read = ReadFilter.READ
        elif statuses == {"removed"}:
            read = ReadFilter.READ  # nothing is ever removed here; "removed" shows nothing new
        order = p.get("order")
        if order is not None and order not in _ORDERS:
            raise InvalidRequestError("unknown order")
        direction = p.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise InvalidRequestError("direction must be asc or desc")
        limit = int_param(p.get("limit"), "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        offset = int_param(p.get("offset"), "offset", default=0, maximum=MAX_OFFSET)
        before = int_param(p.get("before"), "before")
        after = int_param(p.get("after"), "after")
        starred = _bool_param(p.get("starred"), "starred")
        source_ids = fixed.get("source_ids")
        category = fixed.get("category")
        feed_param = int_param(p.get("feed_id"), "feed_id")
        if feed_param is not None and source_ids is None:
            source_ids = (directory.get(feed_param).id,)
        cat_param = int_param(p.get("category_id"), "category_id")
        if cat_param is not None and category is None:
            category = category_of(cat_param)
        query = EntryQuery(
            user_id=user.id, source_ids=source_ids, read=read, starred=starred or None,
            newer_than=timestamp(after + 1) if after is not None else None,
            older_than=timestamp(before) if before is not None else None,
            order=EntryOrder.OLDEST_FIRST if direction == "asc" else EntryOrder.NEWEST_FIRST,
            limit=limit or 0, offset=offset or 0,
        )
        if category == "All":
            # "All" holds the uncategorised sources
            query = EntryQuery(**{**query.__dict__, "source_ids": tuple(
                s.id for s in directory.sources().values() if not s.category)})
        elif category is not None:
            query = EntryQuery(**{**query.__dict__, "category": category})
        before_id = int_param(p.get("before_entry_id"), "before_entry_id")
        after_id = int_param(p.get("after_entry_id"), "after_entry_id")
        if before_id is not None or after_id is not None:
            ids = [i for i in (before_id, after_id) if i is not None]
            anchors = feedreader.entries(storage, EntryQuery(user_id=user.id, article_ids=tuple(ids), limit=2),
                                         with_body=False)
            by_id = {e.id: e for e in anchors}
            if before_id is not None and before_id in by_id:
                query = EntryQuery(**{**query.__dict__, "older_than": by_id[before_id].sort_at})
            if after_id is not None and after_id in by_id:
                query = EntryQuery(**{**query.__dict__, "newer_than": by_id[after_id].sort_at})
                query = EntryQuery(**{**query.__dict__, "article_ids": None})
        return query

    def category_of(cat_id: int) -> str:
        if cat_id == category_id("All"):
            return "All"
        return directory.category_by_id(cat_id).title

    def entries_response(request: Request, user: User, query: EntryQuery) -> Response:
        items = feedreader.entries(storage, query)
        total = feedreader.count_entries(storage, user, query, ctx.totals)
        sources = directory.some(e.source_id for e in items)
        feeds: dict[int, dict[str, Any]] = {}
        return UtcJSONResponse({"total": total, "entries": [entry_json(e, user, sources, feeds) for e in items]})

    def one_entry(user: User, entry_id: int, source_id: int | None = None) -> UserEntry:
        found = feedreader.entries(storage, EntryQuery(user_id=user.id, article_ids=(entry_id,), limit=1))
        if not found or (source_id is not None and found[0].source_id != source_id):
            raise NotFoundError("entry not found")
        return found[0]

    router = APIRouter(prefix="/v1")

    @router.get("/me")
    def me(user: CurrentUser) -> Response:
        return FastJSONResponse({"id": user.id, "username": user.name, "is_admin": user.is_admin,
                                 "theme": "system_serif", "language": "en_US", "timezone": "UTC",
                                 "entry_sorting_direction": "desc", "entries_per_page": DEFAULT_LIMIT,
                                 "last_login_at": _iso(None)})

    @router.get("/version")
    def version(user: CurrentUser) -> Response:
        return FastJSONResponse({"version": "2.0.0-newsdesk", "commit": "", "build_date": "", "go_version": "",
                                 "compiler": "", "arch": "", "os": ""})

    @router.get("/categories")
    def categories(user: CurrentUser) -> Response:
        titles = {s.category or "All" for s in directory.sources().values()} | {"All"}
        return FastJSONResponse([category_json(t, user) for t in sorted(titles, key=str.lower)])

    @router.get("/categories/{cat_id}/feeds")
    def category_feeds(user: CurrentUser, cat_id: str) -> Response:
        title = category_of(int_param(cat_id, "category_id") or 0)
        sources = [s for s in directory.sources().values() if (s.category or "All") == title]
        return FastJSONResponse([feed_json(s, user) for s in sorted(sources, key=lambda s: s.id)])

    @router.get("/categories/{cat_id}/entries")
    def category_entries(request: Request, user: CurrentUser, cat_id: str) -> Response:
        title = category_of(int_param(cat_id, "category_id") or 0)
        return entries_response(request, user, entries_query(request, user, category=title))

    @router.put("/categories/{cat_id}/mark-all-as-read")
    def category_mark_read(user: CurrentUser, cat_id: str) -> Response:
        title = category_of(int_param(cat_id, "category_id") or 0)
        if title == "All":
            ids = tuple(s.id for s in directory.sources().values() if not s.category)
            feedreader.mark_read(storage, EntryQuery(user_id=user.id, source_ids=ids), totals=ctx.totals)
        else:
            feedreader.mark_read(storage, EntryQuery(user_id=user.id, category=title), totals=ctx.totals)
        return Response(status_code=204)

    @router.get("/feeds")
    def feeds(user: CurrentUser) -> Response:
        return FastJSONResponse([feed_json(s, user) for s in sorted(directory.sources().values(), key=lambda s: s.id)])

    @router.get("/feeds/counters")
    def counters(user: CurrentUser) -> Response:
        counts = feedreader.unread_counts(storage, user)
        return FastJSONResponse({"reads": {}, "unreads": {str(c.source_id): c.count for c in counts}})

    @router.post("/feeds")
    @ctx.slow.endpoint
    def create_feed(user: CurrentUser, body: JsonBody) -> Response:
        need_admin(user)
        if add_source is None:
            raise PermissionDeniedError("adding feeds is not available")
        if not isinstance(body, dict) or not isinstance(body.get("feed_url"), str) or not body["feed_url"].strip():
            raise InvalidRequestError("feed_url is required")
        cat = body.get("category_id")
        title = None
        if cat is not None:
            if not isinstance(cat, int) or isinstance(cat, bool):
                raise InvalidRequestError("category_id must be an integer")
            title = category_of(cat)
        source = add_source(body["feed_url"].strip()[:2048], None if title == "All" else title)
        directory.invalidate()
        return FastJSONResponse({"feed_id": source.id}, status_code=201)

    @router.put("/feeds/refresh")
    def refresh_all(user: CurrentUser) -> Response:
        for source in directory.sources().values():
            if not source.paused:
                feedreader.refresh_soon(storage, source)
        return Response(status_code=204)

    @router.get("/feeds/{feed_id}")
    def feed(user: CurrentUser, feed_id: str) -> Response:
        return FastJSONResponse(feed_json(directory.get(int_param(feed_id, "feed_id") or 0), user))

    @router.delete("/feeds/{feed_id}")
    def delete_feed(user: CurrentUser, feed_id: str) -> Response:
        need_admin(user)
        source = directory.get(int_param(feed_id, "feed_id") or 0)
        source_service.remove_source(storage, source.id)
        directory.invalidate()
        return Response(status_code=204)

    @router.put("/feeds/{feed_id}/refresh")
    def refresh_feed(user: CurrentUser, feed_id: str) -> Response:
        feedreader.refresh_soon(storage, storage.get_source(int_param(feed_id, "feed_id") or 0))
        return Response(status_code=204)

    @router.put("/feeds/{feed_id}/mark-all-as-read")
    def feed_mark_read(user: CurrentUser, feed_id: str) -> Response:
        source = directory.get(int_param(feed_id, "feed_id") or 0)
        feedreader.mark_read(storage, EntryQuery(user_id=user.id, source_ids=(source.id,)), totals=ctx.totals)
        return Response(status_code=204)

    @router.get("/feeds/{feed_id}/entries")
    def feed_entries(request: Request, user: CurrentUser, feed_id: str) -> Response:
        source = directory.get(int_param(feed_id, "feed_id") or 0)
        return entries_response(request, user, entries_query(request, user, source_ids=(source.id,)))

    @router.get("/feeds/{feed_id}/entries/{entry_id}")
    def feed_entry(user: CurrentUser, feed_id: str, entry_id: str) -> Response:
        entry = one_entry(user, int_param(entry_id, "entry_id") or 0, int_param(feed_id, "feed_id") or 0)
        return UtcJSONResponse(entry_json(entry, user, directory.some([entry.source_id])))

    @router.get("/entries")
    def entries(request: Request, user: CurrentUser) -> Response:
        return entries_response(request, user, entries_query(request, user))

    @router.put("/entries")
    def update_entries(user: CurrentUser, body: JsonBody) -> Response:
        if not isinstance(body, dict):
            raise InvalidRequestError("the body must be a JSON object")
        ids, status = body.get("entry_ids"), body.get("status")
        if (not isinstance(ids, list) or not ids or len(ids) > 10_000
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids)):
            raise InvalidRequestError("entry_ids must be a list of entry ids")
        if status not in ("read", "unread", "removed"):
            raise InvalidRequestError("status must be read, unread or removed")
        feedreader.set_state(storage, user, ids, read=status != "unread", totals=ctx.totals)
        return Response(status_code=204)

    @router.get("/entries/{entry_id}")
    def entry(user: CurrentUser, entry_id: str) -> Response:
        found = one_entry(user, int_param(entry_id, "entry_id") or 0)
        return UtcJSONResponse(entry_json(found, user, directory.some([found.source_id])))

    @router.put("/entries/{entry_id}/bookmark")
    def bookmark(user: CurrentUser, entry_id: str) -> Response:
        found = one_entry(user, int_param(entry_id, "entry_id") or 0)
        feedreader.set_state(storage, user, [found.id], starred=not found.starred, totals=ctx.totals)
        return Response(status_code=204)

    @router.post("/discover")
    @ctx.slow.endpoint
    def discover_feeds(user: CurrentUser, body: JsonBody) -> Response:
        if discover is None:
            raise PermissionDeniedError("discovery is not available")
        if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"].strip():
            raise InvalidRequestError("url is required")
        found = discover(body["url"].strip()[:2048])
        return FastJSONResponse([{"url": found.url, "title": found.title or found.url,
                              "type": "atom" if found.kind == "feed" else str(found.kind)}])

    @router.get("/export")
    def export(user: CurrentUser) -> Response:
        return Response(source_service.export_opml(storage), media_type="text/xml; charset=utf-8")

    @router.post("/import")
    def import_opml(user: CurrentUser, body: RawBody) -> Response:
        need_admin(user)
        if not body.strip():
            raise InvalidRequestError("the body must be an OPML document")
        result = source_service.import_opml(storage, body)
        directory.invalidate()
        return FastJSONResponse({"message": f"Feeds imported successfully: {len(result.added)} added, "
                                        f"{len(result.skipped)} followed already"}, status_code=201)

    return router
