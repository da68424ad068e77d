"""Protocol details the clients under test do not exercise: GReader stream contents with
continuations, unread counts, labels, subscription management by an admin; Miniflux discovery;
the own API's cursors, ETags and search."""

from __future__ import annotations

import httpx
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, Server

GR = "/reader/api/0"
READING_LIST = "user/-/state/com.google/reading-list"


def _login(http: httpx.Client, name: str, password: str) -> dict[str, str]:
    response = http.post("/api/greader/accounts/ClientLogin", data={"Email": name, "Passwd": password})
    token = dict(line.split("=", 1) for line in response.text.strip().splitlines())["Auth"]
    return {"Authorization": f"GoogleLogin auth={token}"}


def test_stream_contents_pages_and_unread_counts(http: httpx.Client, server: Server) -> None:
    auth = _login(http, READER, READER_PASSWORD)
    seen: list[str] = []
    continuation = None
    while True:
        params = {"n": "8", **({"c": continuation} if continuation else {})}
        body = http.get(f"{GR}/stream/contents/{READING_LIST}", headers=auth, params=params).json()
        seen += [item["id"] for item in body["items"]]
        continuation = body.get("continuation")
        if not continuation:
            break
    assert [int(i.rsplit("/", 1)[1], 16) for i in seen] == server.articles
    oldest_first = http.get(f"{GR}/stream/contents/feed/{server.sources[0].id}", headers=auth,
                            params={"r": "o", "n": "3"}).json()["items"]
    assert [item["origin"]["streamId"] for item in oldest_first] == [f"feed/{server.sources[0].id}"] * 3
    assert oldest_first[0]["published"] <= oldest_first[1]["published"]

    counts = {row["id"]: row["count"] for row in http.get(f"{GR}/unread-count", headers=auth).json()["unreadcounts"]}
    assert counts[READING_LIST] == 30 and counts["user/-/label/News"] == 10
    assert counts[f"feed/{server.sources[2].id}"] == 10
    http.post(f"{GR}/mark-all-as-read", headers=auth, data={"s": "user/-/label/News"})
    counts = {row["id"]: row["count"] for row in http.get(f"{GR}/unread-count", headers=auth).json()["unreadcounts"]}
    assert counts[READING_LIST] == 20 and "user/-/label/News" not in counts

    # A user label: tag, list, stream, untag.
    ids = [str(i) for i in server.articles[:2]]
    http.post(f"{GR}/edit-tag", headers=auth, data={"i": ids, "a": "user/-/label/Later"})
    tags = http.get(f"{GR}/tag/list", headers=auth).json()["tags"]
    assert {"id": "user/-/label/Later", "label": "Later", "type": "tag"} in tags
    later = http.get(f"{GR}/stream/items/ids", headers=auth, params={"s": "user/-/label/Later"}).json()["itemRefs"]
    assert [ref["id"] for ref in later] == ids


def test_admin_manages_subscriptions(http: httpx.Client, server: Server) -> None:
    auth = _login(http, ADMIN, ADMIN_PASSWORD)
    added = http.post(f"{GR}/subscription/quickadd", headers=auth, data={"quickadd": "https://new.example.org/rss"})
    stream = added.json()["streamId"]
    http.post(f"{GR}/subscription/edit", headers=auth,
              data={"ac": "edit", "s": stream, "t": "Renamed", "a": "user/-/label/Tech"})
    subs = {s["id"]: s for s in http.get(f"{GR}/subscription/list", headers=auth).json()["subscriptions"]}
    assert subs[stream]["title"] == "Renamed" and subs[stream]["categories"][0]["label"] == "Tech"
    assert http.post(f"{GR}/subscription/edit", headers=auth, data={"ac": "unsubscribe", "s": stream}).text == "OK"
    assert stream not in {s["id"] for s in http.get(f"{GR}/subscription/list", headers=auth).json()["subscriptions"]}


def test_miniflux_discover(http: httpx.Client, server: Server, site) -> None:  # type: ignore[no-untyped-def]
    site.add("/feed.xml", "<?xml version='1.0'?><rss version='2.0'><channel><title>Local Paper</title>"
             "<link>http://x/</link><item><title>One</title><link>http://x/1</link></item></channel></rss>",
             content_type="application/rss+xml")
    found = http.post("/v1/discover", headers={"X-Auth-Token": server.reader_key},
                      json={"url": site.base + "/feed.xml"})
    assert found.status_code == 200 and found.json()[0]["url"] == site.base + "/feed.xml"
    assert http.post("/v1/discover", headers={"X-Auth-Token": server.reader_key}, json={}).status_code == 400


def test_own_api_cursor_etag_and_search(http: httpx.Client, server: Server) -> None:
    key = {"Authorization": f"Bearer {server.reader_key}"}
    seen: list[int] = []
    cursor = None
    while True:
        body = http.get("/api/v1/articles", headers=key, params={"limit": 7, **({"cursor": cursor} if cursor else {})})
        page = body.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == server.articles
    first = http.get(f"/api/v1/articles/{server.articles[0]}", headers=key)
    assert first.json()["html"].startswith("<p>Body of story") and first.headers["etag"]
    again = http.get(f"/api/v1/articles/{server.articles[0]}", headers={**key, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    sources = http.get("/api/v1/sources", headers={"X-API-Key": server.reader_key}).json()["items"]
    assert {s["title"] for s in sources} == {"World Wire", "Tech Daily", "Lokaal"}
    found = http.get("/api/v1/search", headers=key, params={"q": "harbour", "limit": 20}).json()
    assert found["total"] == 30 and len(found["items"]) == 20 and found["next_cursor"]
    rest = http.get("/api/v1/search", headers=key, params={"q": "harbour", "cursor": found["next_cursor"]}).json()
    assert len(rest["items"]) == 10 and rest["next_cursor"] is None
    assert {i["id"] for i in found["items"]} | {i["id"] for i in rest["items"]} == set(server.articles)
