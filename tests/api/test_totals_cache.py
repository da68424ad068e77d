"""Listing totals are reused for a few seconds, per user and filter, and a user's own change
forgets that user's totals at once (services.feedreader.TotalsCache)."""

from __future__ import annotations

from datetime import timedelta

from api_fixtures import NOW, Server

from newsdesk.models import NewArticle
from newsdesk.models_accounts import ReadFilter
from newsdesk.services import feedreader
from newsdesk.storage.users import EntryQuery


def test_totals_are_reused_until_the_ttl_or_the_users_change(server: Server) -> None:
    storage, bob, alice = server.storage, server.reader, server.admin
    clock = [100.0]
    totals = feedreader.TotalsCache(ttl=5, clock=lambda: clock[0])
    unread = EntryQuery(user_id=bob.id, read=ReadFilter.UNREAD, limit=10)
    assert feedreader.count_entries(storage, unread, totals) == 30
    # the next page of the same listing counts nothing: the total is the same
    storage.add_article(NewArticle(source_id=server.sources[0].id, url="https://world.example.org/late",
                                   title="Late", fetched_at=NOW, published_at=NOW + timedelta(hours=1)))
    assert feedreader.count_entries(storage, EntryQuery(user_id=bob.id, read=ReadFilter.UNREAD, limit=10,
                                                        offset=10), totals) == 30
    clock[0] += 5.1  # past the TTL the new article shows
    assert feedreader.count_entries(storage, unread, totals) == 31
    alice_unread = EntryQuery(user_id=alice.id, read=ReadFilter.UNREAD)
    assert feedreader.count_entries(storage, alice_unread, totals) == 31
    # bob's change forgets bob's totals at once, not alice's
    feedreader.set_state(storage, bob, server.articles[:3], read=True, totals=totals)
    storage.set_article_state(alice.id, server.articles[:1], NOW, read=True)  # behind the cache's back
    assert feedreader.count_entries(storage, unread, totals) == 28
    assert feedreader.count_entries(storage, alice_unread, totals) == 31
    feedreader.mark_read(storage, EntryQuery(user_id=bob.id), totals=totals)
    assert feedreader.count_entries(storage, unread, totals) == 0
