"""The Miniflux-compatible API against the official `miniflux` Python client: feeds, entries,
status updates, bookmarks, categories and an OPML round trip; Basic auth and API keys."""

from __future__ import annotations

import miniflux
import pytest
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, Server

from newsdesk.models_accounts import ReadFilter
from newsdesk.services.feedreader import category_id
from newsdesk.storage.users import EntryQuery


def test_feeds_entries_and_status(server: Server) -> None:
    client = miniflux.Client(server.url, username=READER, password=READER_PASSWORD)
    me = client.me()
    assert me["username"] == READER and me["is_admin"] is False

    feeds = client.get_feeds()
    assert [f["id"] for f in feeds] == sorted(s.id for s in server.sources)
    assert {f["category"]["title"] for f in feeds} == {"News", "Tech", "All"}
    assert all(f["category"]["id"] > 0 for f in feeds)
    categories = client.get_categories()
    assert {c["id"] for c in categories} == {category_id(t) for t in ("News", "Tech", "All")}

    page = client.get_entries(status="unread", limit=10, order="published_at", direction="desc")
    assert page["total"] == len(server.articles)
    assert [e["id"] for e in page["entries"]] == server.articles[:10]
    second = client.get_entries(status="unread", limit=10, offset=10)
    assert [e["id"] for e in second["entries"]] == server.articles[10:20]
    oldest = client.get_entries(direction="asc", limit=3)
    assert [e["id"] for e in oldest["entries"]] == server.articles[::-1][:3]

    entry = client.get_entry(server.articles[0])
    assert entry["status"] == "unread" and "Body of story" in entry["content"] and entry["feed"]["id"] > 0

    client.update_entries(server.articles[:4], status="read")
    unread = client.get_entries(status="unread", limit=100)
    assert unread["total"] == len(server.articles) - 4
    assert server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.READ)) == 4
    assert server.storage.count_user_articles(EntryQuery(user_id=server.admin.id, read=ReadFilter.READ)) == 0
    client.update_entries([server.articles[0]], status="unread")
    assert client.get_entry(server.articles[0])["status"] == "unread"

    client.toggle_bookmark(server.articles[5])
    assert client.get_entries(starred=True)["entries"][0]["id"] == server.articles[5]

    feed_id = server.sources[1].id
    feed_entries = client.get_feed_entries(feed_id, limit=100)
    assert feed_entries["total"] == 10 and all(e["feed_id"] == feed_id for e in feed_entries["entries"])
    client.mark_feed_entries_as_read(feed_id)
    assert client.get_feed_entries(feed_id, status="unread")["total"] == 0
    counters = client.get_feed_counters()
    assert str(feed_id) not in counters["unreads"]

    news = client.get_category_entries(category_id("News"), limit=100)
    assert news["total"] == 10


def test_api_key_auth_and_admin_only_feed_management(server: Server) -> None:
    reader = miniflux.Client(server.url, api_key=server.reader_key)
    assert reader.me()["username"] == READER
    with pytest.raises(miniflux.AccessForbidden):
        reader.create_feed("https://blocked.example.org/feed")

    admin = miniflux.Client(server.url, username=ADMIN, password=ADMIN_PASSWORD)
    feed_id = admin.create_feed("https://new.example.org/feed.xml", category_id=category_id("Tech"))
    assert admin.get_feed(feed_id)["category"]["title"] == "Tech"
    assert admin.refresh_feed(feed_id)

    # OPML round trip: export, delete, import, and the feed is back.
    opml = admin.export_feeds()
    assert "https://new.example.org/feed.xml" in opml
    admin.delete_feed(feed_id)
    with pytest.raises(miniflux.ResourceNotFound):
        admin.get_feed(feed_id)
    admin.import_feeds(opml)
    urls = {f["feed_url"] for f in admin.get_feeds()}
    assert "https://new.example.org/feed.xml" in urls


def test_bad_credentials_and_input(server: Server) -> None:
    with pytest.raises(miniflux.AccessUnauthorized):
        miniflux.Client(server.url, username=READER, password="wrong-password").me()
    with pytest.raises(miniflux.AccessUnauthorized):
        miniflux.Client(server.url, api_key="nd_not-a-key").me()
    client = miniflux.Client(server.url, api_key=server.reader_key)
    with pytest.raises(miniflux.BadRequest):
        client.get_entries(status="bogus")
    with pytest.raises(miniflux.BadRequest):
        client.get_entries(limit="lots")
    with pytest.raises(miniflux.ResourceNotFound):
        client.get_entry(10**12)
    with pytest.raises(miniflux.ResourceNotFound):
        client.get_feed_entries(987654)
