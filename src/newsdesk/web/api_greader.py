"""The Google Reader API, as FreshRSS and Miniflux serve it to apps (Reeder, NetNewsWire, FeedMe,
News+, the `google-reader` Python client): `/accounts/ClientLogin` and `/reader/api/0/...`, at the
root and again under `/api/greader`.

Streams: `user/-/state/com.google/reading-list|read|starred`, `user/-/label/NAME` (a source
category, else a user label), `user/-/label/topic:SLUG` (a topic), `feed/ID` or `feed/URL`.

Topics are tags, not folders: a folder holds feeds, a topic holds articles from any feed (as a tag
does). Their label is `topic:` and the topic's slug (`user/-/label/topic:harbour-news`): slugs are
unique and stable where names need not be, URL-safe (apps put stream ids in paths; a `#` would end
the path), and the `topic:` prefix keeps them apart from folders and labels: the API refuses to
create a label or folder starting with it, and such a label always means the topic (a category
given that name by hand in the admin is shadowed). A topic stream is newest first (`r=o` does not
apply), paged by its continuation; read/starred filters (`xt`, `it`) and `ot`/`nt` apply. `unread-count`
has a row per topic with unread articles, as per feed and folder.

Item ids come long (`tag:google.com,2005:reader/item/<16 hex>`) or short (signed decimal).
Read/starred/labels are the calling user's own. Parameters are read by hand, bounded, and a
malformed one is a 400.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency annotations at runtime.

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import MultiDict

from ..errors import NotFoundError
from ..errors_accounts import AuthenticationError, InvalidRequestError, PermissionDeniedError
from ..models import ArticleCursor, Source
from ..models_accounts import EntryOrder, ReadFilter, User, UserEntry
from ..services import feedreader
from ..services import stories as story_service
from ..services.accounts import API_KEY_PREFIX
from ..services.reading import BadListParameterError, decode_cursor, encode_cursor
from ..storage.users import MAX_ENTRY_PAGE, MAX_IDS_PER_CALL, EntryQuery
from ..stories.records import Topic
from .api_common import ApiContext, FastJSONResponse, client_address, int_param, json_bytes, read_form, timestamp

__all__ = ["greader_router", "item_refs_json", "long_item_id", "parse_item_id", "plain"]

STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LONG_ID_PREFIX = "tag:google.com,2005:reader/item/"
LABEL = "user/-/label/"
#: a label starting with this is a topic (then its slug); folders and user labels cannot
TOPIC_MARK = "topic:"
#: items per stream/contents page at most (each carries its full text)
MAX_CONTENTS_PAGE = 1000
#: the form of a POST: ids repeat, so allow as many fields as ids, each small
_MAX_FIELDS = MAX_IDS_PER_CALL + 50
#: ... and the whole form: 10,000 long item ids, escaped, are about 700 kB
_MAX_FORM_BYTES = 2 * 1024 * 1024
_TOKEN_PURPOSE = "greader"  # noqa: S105 - a token purpose, not a password
_HEX_ID = re.compile(r"[0-9a-fA-F]{1,16}")
_DECIMAL_ID = re.compile(r"-?[0-9]{1,20}")


def plain(text: str | None) -> str:
    """A text field for clients that render it as HTML (News+ and others do, with titles and names):
    `<` and `>` become their full-width look-alikes, so a title that is literally `<img onerror=...>`
    (a feed's escaped markup, kept as text) reads the same and builds no element. FreshRSS does the same."""
    if not text:
        return ""
    if "<" in text or ">" in text:  # rare; translate() walks every character, a test for two does not
        return text.replace("<", "\uff1c").replace(">", "\uff1e")
    return text


def long_item_id(article_id: int) -> str:
    return f"{LONG_ID_PREFIX}{article_id:016x}"


def parse_item_id(raw: str) -> int:
    """An article id from a long (hex) or short (signed decimal) item id; InvalidRequestError else."""
    text = raw.strip()
    if text.startswith(LONG_ID_PREFIX):
        hex_part = text[len(LONG_ID_PREFIX):]
        # One C match: testing each character in Python cost 1.8 ms of CPU per 1,000 ids, this 0.9.
        if _HEX_ID.fullmatch(hex_part) is None:
            raise InvalidRequestError("malformed item id")
        value = int(hex_part, 16)
    else:
        # ASCII digits only: str.isdigit() also takes digits such as "²" that int() refuses (a 500)
        if _DECIMAL_ID.fullmatch(text) is None:
            raise InvalidRequestError("malformed item id")
        value = int(text)
        if value < 0:  # a signed 64-bit rendering of the same id
            value &= 0xFFFFFFFFFFFFFFFF
    if value >= 2**63:
        raise InvalidRequestError("malformed item id")
    return value


@dataclass(frozen=True)
class Stream:
    """A stream id, resolved to filters of an EntryQuery."""

    source_ids: tuple[int, ...] | None = None
    category: str | None = None
    label: str | None = None
    read: ReadFilter = ReadFilter.ALL
    starred: bool | None = None
    topic: Topic | None = None


def topic_label(topic: Topic) -> str:
    return LABEL + TOPIC_MARK + topic.slug


async def _params(request: Request) -> MultiDict:
    """Query and form parameters together (apps send either), bounded."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        items += await read_form(request, max_fields=_MAX_FIELDS, max_field_bytes=64 * 1024, max_bytes=_MAX_FORM_BYTES)
    if len(items) > _MAX_FIELDS:
        raise InvalidRequestError("too many parameters")
    return MultiDict(items)


Params = Annotated[MultiDict, Depends(_params)]


def item_refs_json(positions: list[ArticleCursor], continuation: str | None) -> bytes:
    """The `stream/items/ids` body, written directly: the same bytes as json_bytes() of
    {"itemRefs": [{"id", "directStreamIds", "timestampUsec"}, ...], "continuation"} (tested), without
    building three objects per ref. Ids and times are digits, so nothing needs escaping; for n=1000
    the dicts and their encoding were a fifth of the call's CPU (bench/api.py, 2026-11-27 apiconc)."""
    refs = ",".join([_ITEM_REF % (pos.id, int(pos.sort_at.timestamp() * 1_000_000)) for pos in positions])
    tail = b',"continuation":' + json_bytes(continuation) if continuation else b""
    return b'{"itemRefs":[' + refs.encode() + b"]" + tail + b"}"


#: one item ref of item_refs_json (usec() inlined: a thousand calls)
_ITEM_REF = '{"id":"%d","directStreamIds":[],"timestampUsec":"%d"}'


def greader_router(ctx: ApiContext, add_source: Any = None) -> APIRouter:
    """`add_source(url, category)` is the admin use case that follows a new source (None: the API
    cannot subscribe)."""
    storage, accounts, directory = ctx.storage, ctx.accounts, ctx.directory

    def user_of(request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "googlelogin" or not rest.strip().lower().startswith("auth="):
            raise AuthenticationError("unauthorized")
        return accounts.check_token(rest.strip()[5:], _TOKEN_PURPOSE)

    CurrentUser = Annotated[User, Depends(user_of)]

    def admin_of(user: User) -> User:
        if not user.is_admin:
            raise PermissionDeniedError("only an admin manages subscriptions")
        return user

    def stream_of(raw: str | None, user: User) -> Stream:
        if not raw:
            raise InvalidRequestError("stream id missing")
        raw = raw.strip()[:2100]
        if raw.startswith("feed/"):
            ref = raw[5:]
            if ref.isdigit() and len(ref) <= 18:
                return Stream(source_ids=(directory.get(int(ref)).id,))
            source = directory.find_url(ref)
            if source is None:
                raise NotFoundError("no such feed")
            return Stream(source_ids=(source.id,))
        parts = raw.split("/", 3)
        if len(parts) == 4 and parts[0] == "user" and parts[1] in ("-", str(user.id)):
            kind, name = parts[2], parts[3]
            if kind == "state":
                if name == "com.google/reading-list":
                    return Stream()
                if name == "com.google/starred":
                    return Stream(starred=True)
                if name == "com.google/read":
                    return Stream(read=ReadFilter.READ)
                if name in ("com.google/kept-unread", "com.google/fresh"):
                    return Stream(read=ReadFilter.UNREAD)
            elif kind == "label" and name.startswith(TOPIC_MARK):
                return Stream(topic=story_service.get_topic(storage, name[len(TOPIC_MARK):]))
            elif kind == "label" and name:
                if any(c.title == name for c in directory.categories()):
                    return Stream(category=name)
                return Stream(label=name)
        raise InvalidRequestError("unknown stream id")

    def query_for(stream: Stream, user: User, p: MultiDict, limit: int) -> EntryQuery:
        q = EntryQuery(user_id=user.id, source_ids=stream.source_ids, category=stream.category,
                       label=stream.label, read=stream.read, starred=stream.starred, limit=limit)
        for target in p.getlist("xt")[:5]:
            if target == READ:
                q = replace(q, read=ReadFilter.UNREAD)
            elif target == STARRED:
                q = replace(q, starred=False)
        for target in p.getlist("it")[:5]:
            if target == READ:
                q = replace(q, read=ReadFilter.READ)
            elif target == STARRED:
                q = replace(q, starred=True)
        ot = int_param(p.get("ot"), "ot")
        nt = int_param(p.get("nt"), "nt")
        order = EntryOrder.OLDEST_FIRST if p.get("r") == "o" else EntryOrder.NEWEST_FIRST
        cursor: ArticleCursor | None = None
        if p.get("c"):
            try:
                cursor = decode_cursor(str(p.get("c")))
            except BadListParameterError as exc:
                raise InvalidRequestError("malformed continuation") from exc
        return replace(q, newer_than=timestamp(ot) if ot is not None else None,
                       older_than=timestamp(nt) if nt is not None else None, order=order, cursor=cursor)

    def page(q: EntryQuery, with_body: bool, topic: Topic | None = None) -> tuple[list[UserEntry], str | None]:
        if topic is not None:
            found, after = feedreader.topic_entries(storage, topic, q, with_body=with_body)
            return found, encode_cursor(after) if after is not None else None
        items = feedreader.entries(storage, q, with_body=with_body)
        more = len(items) == q.limit and q.limit > 0
        continuation = encode_cursor(ArticleCursor(items[-1].sort_at, items[-1].id)) if more and items else None
        return items, continuation

    def ids_of(p: MultiDict) -> list[int]:
        raw = p.getlist("i")
        if len(raw) > MAX_IDS_PER_CALL:
            raise InvalidRequestError(f"at most {MAX_IDS_PER_CALL} item ids per call")
        return [parse_item_id(str(value)) for value in raw]

    def usec(when: datetime) -> str:
        return str(int(when.timestamp() * 1_000_000))

    def item_json(a: UserEntry, sources: dict[int, Source], shared: dict[int, Any]) -> dict[str, Any]:
        # Called a thousand times for a full contents page: one timestamp() per time, usec() inlined,
        # and what depends only on the source and the state (the categories; the origin, when the
        # source has a site URL) made once per page and shared by its items (`shared`, keyed by source
        # id, and by source id, read and starred with no labels). orjson writes a shared tuple or dict
        # as it writes a fresh list or dict: the same bytes, with fewer objects to make and collect.
        source_id = a.source_id
        origin = shared.get(-1 - source_id)
        if origin is None:
            source = sources.get(source_id)
            site_url = source.site_url if source is not None else None
            origin = {"streamId": f"feed/{source_id}", "title": plain(a.source_title), "htmlUrl": site_url or a.url}
            if site_url:
                shared[-1 - source_id] = origin
        if a.labels:
            categories: Any = [*category_list(source_id, a.read, a.starred, sources),
                               *(LABEL + label for label in a.labels)]
        else:
            key = source_id * 4 + a.read * 2 + a.starred
            categories = shared.get(key)
            if categories is None:
                categories = shared[key] = category_list(source_id, a.read, a.starred, sources)
        sort_at = a.sort_at.timestamp()
        seconds = int(sort_at)
        item: dict[str, Any] = {
            "id": f"{LONG_ID_PREFIX}{a.id:016x}",
            "crawlTimeMsec": str(int(a.fetched_at.timestamp() * 1000)),
            "timestampUsec": str(int(sort_at * 1_000_000)),
            "published": seconds,
            "updated": seconds,
            "title": plain(a.title),
            "canonical": [{"href": a.canonical_url or a.url}],
            "alternate": [{"href": a.url, "type": "text/html"}],
            "categories": categories,
            "origin": origin,
            "summary": {"direction": "ltr", "content": a.html or (a.summary or "")},
            "author": plain(a.author),
        }
        if a.image_url:
            item["enclosure"] = [{"url": a.image_url, "type": "image/*"}]
        return item

    def category_list(source_id: int, read: bool, starred: bool, sources: dict[int, Source]) -> tuple[str, ...]:
        """An item's categories, but for its labels: the reading list, read, starred, the source's folder."""
        categories = [READING_LIST]
        if read:
            categories.append(READ)
        if starred:
            categories.append(STARRED)
        source = sources.get(source_id)
        if source is not None and source.category:
            categories.append(LABEL + source.category)
        return tuple(categories)

    def contents_json(stream_id: str, items: list[UserEntry], continuation: str | None) -> dict[str, Any]:
        sources = directory.some(entry.source_id for entry in items)
        shared: dict[int, Any] = {}
        body: dict[str, Any] = {
            "direction": "ltr",
            "id": stream_id,
            "title": "newsdesk",
            "self": [{"href": ctx.public_url}],
            "updated": int(datetime.now(UTC).timestamp()),
            "author": "newsdesk",
            "items": [item_json(entry, sources, shared) for entry in items],
        }
        if continuation:
            body["continuation"] = continuation
        return body

    router = APIRouter()

    # -- login ----------------------------------------------------------------------------------

    @router.post("/accounts/ClientLogin")
    @ctx.slow.endpoint
    def client_login(request: Request, p: Params) -> Response:
        name, password = str(p.get("Email", ""))[:100], str(p.get("Passwd", ""))[:1100]
        if password.startswith(API_KEY_PREFIX):
            keys = [f"addr:{client_address(request)}"]
            accounts.limiter.check(keys)
            try:
                user = accounts.authenticate_key(password)
            except AuthenticationError:
                accounts.limiter.failed(keys)
                raise
            if user.name != name:
                accounts.limiter.failed(keys)
                raise AuthenticationError("unauthorized")
        else:
            user = accounts.login(name, password, client_address(request))
        token = accounts.issue_token(user, _TOKEN_PURPOSE)
        return PlainTextResponse(f"SID={token}\nLSID=null\nAuth={token}\n", headers={"Cache-Control": "no-store"})

    @router.get("/accounts/ClientLogin")
    def client_login_get() -> Response:
        raise InvalidRequestError("use POST")

    # -- reader/api/0 -----------------------------------------------------------------------------

    api = "/reader/api/0"

    @router.get(api + "/token")
    @router.post(api + "/token")
    def token(user: CurrentUser) -> Response:
        # Write calls carry this as T; the GoogleLogin header already authenticates them (no cookie
        # is involved, so there is nothing for a forged cross-site request to ride on).
        return PlainTextResponse(accounts.issue_token(user, "greader-edit")[-57:])

    @router.get(api + "/user-info")
    def user_info(user: CurrentUser) -> Response:
        return FastJSONResponse({"userId": str(user.id), "userName": user.name, "userProfileId": str(user.id),
                                 "userEmail": ""})

    @router.get(api + "/tag/list")
    def tag_list(user: CurrentUser) -> Response:
        tags: list[dict[str, str]] = [{"id": STARRED}]
        folders = [c.title for c in directory.categories()]
        tags += [{"id": "user/-/label/" + title, "label": title, "type": "folder"} for title in folders]
        tags += [{"id": "user/-/label/" + label, "label": label, "type": "tag"}
                 for label in storage.list_labels(user.id) if label not in folders]
        tags += [{"id": topic_label(t), "label": topic_label(t)[len(LABEL):], "type": "tag"}
                 for t in story_service.list_topics(storage)]
        return FastJSONResponse({"tags": tags})

    def subscription_json(source: Source) -> dict[str, Any]:
        categories = ([{"id": "user/-/label/" + source.category, "label": source.category}]
                      if source.category else [])
        return {"id": f"feed/{source.id}", "title": plain(source.display_name), "categories": categories,
                "url": source.url, "htmlUrl": source.site_url or source.url, "iconUrl": ""}

    @router.get(api + "/subscription/list")
    def subscription_list(user: CurrentUser) -> Response:
        sources = sorted(directory.sources().values(), key=lambda s: (s.display_name.lower(), s.id))
        return FastJSONResponse({"subscriptions": [subscription_json(s) for s in sources]})

    def label_name(tag: str | None) -> str | None:
        """A folder or user label named in an edit; a topic's (`topic:...`) is refused."""
        if tag and tag.startswith(LABEL):
            name = tag[len(LABEL):][:100]
            if name.startswith(TOPIC_MARK):
                raise InvalidRequestError("labels starting with topic: are topics, which the operator defines")
            return name or None
        return None

    @router.post(api + "/subscription/edit")
    @ctx.slow.endpoint
    def subscription_edit(user: CurrentUser, p: Params) -> Response:
        admin_of(user)
        action = p.get("ac")
        streams = p.getlist("s")[:100]
        if not streams:
            raise InvalidRequestError("stream id missing")
        for stream_id in streams:
            if action == "subscribe":
                if add_source is None:
                    raise PermissionDeniedError("subscribing is not available")
                url = stream_id[5:] if stream_id.startswith("feed/") else stream_id
                add_source(url, label_name(p.get("a")))
                continue
            source_ids = stream_of(stream_id, user).source_ids
            if not source_ids:
                raise InvalidRequestError("not a feed stream")
            if action == "unsubscribe":
                storage.delete_source(source_ids[0])
            elif action == "edit":
                title = p.get("t")
                added = label_name(p.get("a"))
                removed = label_name(p.get("r"))
                category = added if added is not None else ("" if removed is not None else None)
                storage.update_source(source_ids[0], title=title[:300] if title else None, category=category)
            else:
                raise InvalidRequestError("ac must be subscribe, unsubscribe or edit")
        directory.invalidate()
        return PlainTextResponse("OK")

    @router.post(api + "/subscription/quickadd")
    @ctx.slow.endpoint
    def quickadd(user: CurrentUser, p: Params) -> Response:
        admin_of(user)
        if add_source is None:
            raise PermissionDeniedError("subscribing is not available")
        url = str(p.get("quickadd", "")).strip()[:2048]
        if url.startswith("feed/"):
            url = url[5:]
        if not url:
            raise InvalidRequestError("quickadd missing")
        source: Source = add_source(url, None)
        directory.invalidate()
        return FastJSONResponse({"numResults": 1, "query": url, "streamId": f"feed/{source.id}",
                                 "streamName": source.display_name})

    @router.get(api + "/stream/items/ids")
    @router.post(api + "/stream/items/ids")
    def stream_item_ids(user: CurrentUser, p: Params) -> Response:
        n = int_param(p.get("n"), "n", default=20, minimum=1, maximum=MAX_ENTRY_PAGE) or 20
        stream = stream_of(p.get("s"), user)
        q = query_for(stream, user, p, n)
        if stream.topic is not None:
            found, continuation = page(q, with_body=False, topic=stream.topic)
            positions = [ArticleCursor(entry.sort_at, entry.id) for entry in found]
        else:
            positions = feedreader.entry_positions(storage, q)
            more = len(positions) == q.limit
            continuation = encode_cursor(positions[-1]) if more and positions else None
        return Response(item_refs_json(positions, continuation), media_type="application/json")

    @router.get(api + "/stream/items/contents")
    @router.post(api + "/stream/items/contents")
    def stream_items_contents(user: CurrentUser, p: Params) -> Response:
        ids = ids_of(p)[:MAX_CONTENTS_PAGE]
        if not ids:
            return FastJSONResponse(contents_json(READING_LIST, [], None))
        found = feedreader.entries(storage, EntryQuery(user_id=user.id, article_ids=tuple(ids), limit=len(ids)))
        by_id = {entry.id: entry for entry in found}
        ordered = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        return FastJSONResponse(contents_json(READING_LIST, ordered, None))

    @router.get(api + "/stream/contents/{stream_id:path}")
    @router.post(api + "/stream/contents/{stream_id:path}")
    def stream_contents(user: CurrentUser, p: Params, stream_id: str) -> Response:
        stream_id = stream_id or str(p.get("s") or READING_LIST)
        n = int_param(p.get("n"), "n", default=20, minimum=1, maximum=MAX_CONTENTS_PAGE) or 20
        stream = stream_of(stream_id, user)
        items, continuation = page(query_for(stream, user, p, n), with_body=True, topic=stream.topic)
        return FastJSONResponse(contents_json(stream_id, items, continuation))

    @router.post(api + "/edit-tag")
    def edit_tag(user: CurrentUser, p: Params) -> Response:
        ids = ids_of(p)
        if not ids:
            raise InvalidRequestError("item ids missing")
        add, remove = p.getlist("a")[:20], p.getlist("r")[:20]
        read: bool | None = None
        starred: bool | None = None
        if READ in add or KEPT_UNREAD in remove:
            read = True
        if READ in remove or KEPT_UNREAD in add:
            read = False
        if STARRED in add:
            starred = True
        if STARRED in remove:
            starred = False
        if read is not None or starred is not None:
            feedreader.set_state(storage, user, ids, read=read, starred=starred, totals=ctx.totals)
        add_labels = [n for n in (label_name(t) for t in add) if n]
        remove_labels = [n for n in (label_name(t) for t in remove) if n]
        if add_labels or remove_labels:
            feedreader.change_labels(storage, user, ids, add=add_labels, remove=remove_labels, totals=ctx.totals)
        return PlainTextResponse("OK")

    @router.post(api + "/mark-all-as-read")
    def mark_all_as_read(user: CurrentUser, p: Params) -> Response:
        stream = stream_of(p.get("s"), user)
        ts = int_param(p.get("ts"), "ts")
        older_than = None
        if ts is not None:
            # ts is in microseconds (seconds from some apps: anything under 1e11 is seconds)
            older_than = timestamp(ts // 1_000_000 if ts > 10**11 else ts)
        q = EntryQuery(user_id=user.id, source_ids=stream.source_ids, category=stream.category, label=stream.label,
                       starred=stream.starred, older_than=older_than)
        if stream.topic is not None:
            # the topic's latest articles (as many as one call may name), older than ts if given
            topic_ids = [i.id for i in story_service.topic_articles(storage, stream.topic, MAX_IDS_PER_CALL)
                         if older_than is None or i.sort_at < older_than]
            q = replace(q, article_ids=tuple(topic_ids))
        feedreader.mark_read(storage, q, totals=ctx.totals)
        return PlainTextResponse("OK")

    @router.get(api + "/unread-count")
    def unread_count(user: CurrentUser) -> Response:
        counts = feedreader.unread_counts(storage, user)
        sources = directory.sources()
        rows: list[dict[str, Any]] = []
        per_category: dict[str, tuple[int, datetime]] = {}
        total, newest = 0, None
        for c in counts:
            rows.append({"id": f"feed/{c.source_id}", "count": c.count, "newestItemTimestampUsec": usec(c.newest)})
            total += c.count
            newest = c.newest if newest is None else max(newest, c.newest)
            source = sources.get(c.source_id)
            if source is not None and source.category:
                seen = per_category.get(source.category)
                per_category[source.category] = ((seen[0] if seen else 0) + c.count,
                                                  max(seen[1], c.newest) if seen else c.newest)
        for title, (count, latest) in sorted(per_category.items()):
            rows.append({"id": "user/-/label/" + title, "count": count, "newestItemTimestampUsec": usec(latest)})
        for topic in feedreader.topic_unread_counts(storage, user):
            if topic.newest is not None:  # as for feeds and folders: only those with unread items
                rows.append({"id": topic_label(topic.topic), "count": topic.count,
                             "newestItemTimestampUsec": usec(topic.newest)})
        if newest is not None:
            rows.append({"id": READING_LIST, "count": total, "newestItemTimestampUsec": usec(newest)})
        return FastJSONResponse({"max": total, "unreadcounts": rows})

    @router.post(api + "/disable-tag")
    @router.post(api + "/rename-tag")
    def tag_admin(user: CurrentUser) -> Response:
        raise PermissionDeniedError("folders are source categories; change them in the sources admin")

    return router
