"""The Google Reader API against the PyPI `google-reader` client (tested by its authors against
Miniflux and FreshRSS): log in, subscriptions, item ids and contents, read and starred."""

from __future__ import annotations

import google_reader
import httpx
import pytest
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, Server

from newsdesk.models_accounts import ReadFilter
from newsdesk.storage.users import EntryQuery

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"


def test_client_walks_the_api(server: Server) -> None:
    client = google_reader.Client(server.url)
    auth = client.login(READER, READER_PASSWORD)
    token = client.get_token(auth)
    assert token
    info = client.get_user_info(auth)
    assert info.user_name == READER and info.user_id == str(server.reader.id)

    subs = client.list_subscriptions(auth)
    assert {s.id for s in subs} == {f"feed/{s.id}" for s in server.sources}
    world = next(s for s in subs if s.title == "World Wire")
    assert world.url == "https://world.example.org/feed" and world.html_url == "https://world.example.org/"
    assert [c.id for c in world.categories] == ["user/-/label/News"]

    tags = client.list_tags(auth)
    assert {t.id for t in tags} >= {STARRED, "user/-/label/News", "user/-/label/Tech"}

    # Paging through the reading list with continuations returns every item once, newest first.
    seen: list[str] = []
    continuation = None
    while True:
        page = client.get_stream_items_ids(auth, READING_LIST, limit=7, continuation=continuation)
        seen += [ref.id for ref in page.item_refs]
        continuation = page.continuation
        if not continuation:
            break
    assert seen == [str(i) for i in server.articles]

    first_three = [int(i) for i in seen[:3]]
    contents = client.get_stream_items_contents(auth, token, [google_reader.get_long_item_id(i) for i in first_three])
    assert [item.id for item in contents.items] == [google_reader.get_long_item_id(i) for i in first_three]
    item = contents.items[0]
    assert "Body of story" in item.summary.content and item.title.startswith("Story")
    assert READING_LIST in item.categories and READ not in item.categories
    assert item.origin.stream_id.startswith("feed/")

    # Mark two read and one starred, by long and short ids; the server's state follows, for bob only.
    client.edit_tags(auth, token, [google_reader.get_long_item_id(first_three[0]), seen[1]], add_tags=[READ])
    client.edit_tags(auth, token, [seen[2]], add_tags=[STARRED])
    bob_read = server.storage.query_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.READ))
    assert {e.id for e in bob_read} == set(first_three[:2])
    bob_starred = server.storage.query_user_articles(EntryQuery(user_id=server.reader.id, starred=True))
    assert [e.id for e in bob_starred] == [first_three[2]]
    alice_read = server.storage.count_user_articles(EntryQuery(user_id=server.admin.id, read=ReadFilter.READ))
    assert alice_read == 0

    unread = client.get_stream_items_ids(auth, READING_LIST, limit=1000, exclude_target=READ)
    assert len(unread.item_refs) == len(server.articles) - 2
    starred = client.get_stream_items_ids(auth, STARRED, limit=1000)
    assert [r.id for r in starred.item_refs] == [str(first_three[2])]

    # Unread again.
    client.edit_tags(auth, token, [seen[1]], remove_tags=[READ])
    assert server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.READ)) == 1

    # Mark all of one feed read.
    feed = f"feed/{server.sources[0].id}"
    client.mark_all_as_read(auth, token, feed)
    left = client.get_stream_items_ids(auth, feed, limit=1000, exclude_target=READ)
    assert left.item_refs == []


def test_wrong_password_is_refused(server: Server) -> None:
    client = google_reader.Client(server.url)
    with pytest.raises(google_reader.AuthenticationError):
        client.login(ADMIN, "not-the-password")
    auth = client.login(ADMIN, ADMIN_PASSWORD)
    assert client.get_user_info(auth).user_name == ADMIN


def test_topics_are_tag_streams(server: Server) -> None:
    """A topic is a tag: listed by tag/list, its items paged by ids and contents, marked read as a
    whole; its `topic:` name is the topic's alone."""
    assert server.topic is not None
    topic = f"user/-/label/topic:{server.topic.slug}"
    client = google_reader.Client(server.url)
    auth = client.login(READER, READER_PASSWORD)
    token = client.get_token(auth)
    tags = {t.id: t for t in client.list_tags(auth)}
    assert topic in tags and "user/-/label/News" in tags

    seen: list[str] = []
    continuation = None
    for _ in range(20):
        page = client.get_stream_items_ids(auth, topic, limit=8, continuation=continuation)
        seen += [ref.id for ref in page.item_refs]
        continuation = page.continuation
        if not continuation:
            break
    assert seen == [str(i) for i in server.articles]  # the topic follows "harbours": every article

    # stream/contents of the topic, as apps that read a tag ask for it (the client has no call for it)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"GoogleLogin auth={auth.AccessToken}"}) as http:
        body = http.get(f"/reader/api/0/stream/contents/{topic}", params={"n": 5}).json()
        assert [int(i["id"].rsplit("/", 1)[1], 16) for i in body["items"]] == server.articles[:5]
        assert body["id"] == topic and body["continuation"]
        rest = http.get(f"/reader/api/0/stream/contents/{topic}", params={"n": 100, "c": body["continuation"]}).json()
        assert [int(i["id"].rsplit("/", 1)[1], 16) for i in rest["items"]] == server.articles[5:]
        assert "continuation" not in rest
        assert http.get("/reader/api/0/stream/contents/user/-/label/topic:no-such-topic").status_code == 404

    headers = {"Authorization": f"GoogleLogin auth={auth.AccessToken}"}

    def topic_count() -> dict[str, object] | None:
        """The topic's row of unread-count: as a feed's or a folder's, there while it has unread items."""
        rows = httpx.get(f"{server.url}/reader/api/0/unread-count", headers=headers).json()["unreadcounts"]
        return next((row for row in rows if row["id"] == topic), None)

    def unread_newest() -> str:
        refs = httpx.get(f"{server.url}/reader/api/0/stream/items/ids", headers=headers,
                         params={"s": topic, "n": 1000, "xt": READ}).json()["itemRefs"]
        return str(max(int(ref["timestampUsec"]) for ref in refs))

    assert topic_count() == {"id": topic, "count": len(seen), "newestItemTimestampUsec": unread_newest()}
    client.edit_tags(auth, token, [seen[0]], add_tags=[READ])
    unread = client.get_stream_items_ids(auth, topic, limit=1000, exclude_target=READ)
    assert [r.id for r in unread.item_refs] == seen[1:]
    assert topic_count() == {"id": topic, "count": len(seen) - 1, "newestItemTimestampUsec": unread_newest()}
    client.mark_all_as_read(auth, token, topic)
    assert client.get_stream_items_ids(auth, topic, limit=1000, exclude_target=READ).item_refs == []
    assert topic_count() is None
    # a user label may not take a topic's name
    with pytest.raises(google_reader.ClientError):
        client.edit_tags(auth, token, [seen[0]], add_tags=[topic])
