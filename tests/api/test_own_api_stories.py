"""The own API's stories, entities and topics over real HTTP: list and detail, keyset cursors that
neither skip nor repeat, ETags answering 304, the API key required, and articles carrying their
story id."""

from __future__ import annotations

from typing import Any

import httpx
from api_fixtures import Server

from newsdesk.services import stories as story_service


def _walk(http: httpx.Client, key: str, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        got = http.get(path, params={**params, **({"cursor": cursor} if cursor else {})},
                       headers={"Authorization": f"Bearer {key}"})
        assert got.status_code == 200, got.text
        body = got.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def test_stories_list_and_detail(server: Server, http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {server.reader_key}"}
    # an editor splits two articles out: three stories, the split ones newest by their own time
    newest, second = server.articles[0], server.articles[1]
    split_a = story_service.split_article(server.storage, newest)
    split_b = story_service.split_article(server.storage, second)
    stories = _walk(http, server.reader_key, "/api/v1/stories", limit=1)
    assert len(stories) == 3 and len({s["id"] for s in stories}) == 3
    assert stories[0]["id"] == split_a and stories[1]["id"] == split_b
    big = stories[2]
    assert big["size"] == 28 and big["outlets"] == 3 and big["links"]["self"] == f"/api/v1/stories/{big['id']}"

    detail = http.get(f"/api/v1/stories/{big['id']}", headers=auth)
    assert detail.status_code == 200
    story = detail.json()
    articles = story["articles"]
    assert story["first_reported"]["article_id"] == articles[0]["article_id"] == min(server.articles)
    assert articles[0]["minutes_after_first"] == 0 and articles[1]["minutes_after_first"] == 60
    assert {a["source_title"] for a in articles} == {"World Wire", "Tech Daily", "Lokaal"}
    assert "Greenland" in {e["name"] for e in story["entities"]}
    assert all(e["links"]["self"].startswith("/api/v1/entities/") for e in story["entities"])
    # the ETag answers 304 to a client that has the body
    again = http.get(f"/api/v1/stories/{big['id']}", headers={**auth, "If-None-Match": detail.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert http.get("/api/v1/stories/999999", headers=auth).json()["error"] == "not_found"
    assert http.get("/api/v1/stories").status_code == 401
    assert http.get("/api/v1/stories", params={"cursor": "nonsense"}, headers=auth).status_code == 400
    # articles carry their story
    page = http.get("/api/v1/articles", params={"limit": 3}, headers=auth).json()["items"]
    assert [a["story_id"] for a in page] == [split_a, split_b, big["id"]]
    assert http.get(f"/api/v1/articles/{newest}", headers=auth).json()["story_id"] == split_a


def test_entities_by_kind_and_name_with_their_stories_and_articles(server: Server, http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {server.reader_key}"}
    everyone = _walk(http, server.reader_key, "/api/v1/entities", limit=2)
    names = [e["name"] for e in everyone]
    assert "Greenland" in names and "Mette Frederiksen" in names and len(set(names)) == len(names)
    assert [e["name"] for e in _walk(http, server.reader_key, "/api/v1/entities", kind="place")] \
        == ["Greenland", "Nuuk", "Rotterdam"]
    found = http.get("/api/v1/entities", params={"name": "green"}, headers=auth).json()["items"]
    assert [e["key"] for e in found] == ["place:greenland"]
    greenland = found[0]
    detail = http.get(greenland["links"]["self"], headers=auth).json()
    # every third seeded article names Greenland
    assert len(detail["articles"]) == 10 and len(detail["stories"]) == 1
    assert all(a["story_id"] == detail["stories"][0]["id"] for a in detail["articles"])
    paged = _walk(http, server.reader_key, greenland["links"]["articles"], limit=3)
    assert [a["id"] for a in paged] == [a["id"] for a in detail["articles"]]
    assert [s["id"] for s in _walk(http, server.reader_key, greenland["links"]["stories"], limit=1)] \
        == [detail["stories"][0]["id"]]
    assert http.get("/api/v1/entities/999999/articles", headers=auth).status_code == 404
    # a made-up cursor, or one of another list's shape, is a 400, never a 500
    for cursor in ("bm90LWpzb24", "WzEsMl0", "WyJhIiwtMV0", "2026-01-01T00:00:00.000000Z_1"):
        assert http.get("/api/v1/entities", params={"cursor": cursor}, headers=auth).status_code == 400
    assert http.get("/api/v1/entities", params={"kind": "galaxy"}, headers=auth).status_code == 400
    assert http.get("/api/v1/entities", params={"knd": "place"}, headers=auth).status_code == 400


def test_topics_list_detail_and_articles(server: Server, http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {server.reader_key}"}
    story_service.add_topic(server.storage, "Greenland watch", entities=("place:greenland",))
    topics = _walk(http, server.reader_key, "/api/v1/topics", limit=1)
    assert [t["slug"] for t in topics] == ["greenland-watch", "harbour-news"]
    watch = http.get("/api/v1/topics/greenland-watch", headers=auth).json()
    assert [e["key"] for e in watch["definition"]["entities"]] == ["place:greenland"]
    assert len(watch["articles"]) == 10
    harbour = _walk(http, server.reader_key, "/api/v1/topics/harbour-news/articles", limit=7)
    assert [a["id"] for a in harbour] == server.articles
    first = http.get("/api/v1/topics/harbour-news", headers=auth)
    assert first.json()["definition"]["keywords"] == ["harbours"]
    assert http.get("/api/v1/topics/harbour-news",
                    headers={**auth, "If-None-Match": f'W/{first.headers["etag"]}'}).status_code == 304
    assert http.get("/api/v1/topics/no-such-topic", headers=auth).status_code == 404
    assert http.get("/api/v1/topics/Bad Slug", headers=auth).status_code == 400
