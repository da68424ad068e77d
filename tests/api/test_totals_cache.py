"""Listing totals are reused for a few seconds, per user and filter, and a change of the user's
state, made through any process, stops that at once (services.feedreader.TotalsCache keys them on
the user's state version, which the database keeps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_fixtures import NOW, Server

from newsdesk.models import NewArticle
from newsdesk.models_accounts import ReadFilter, User
from newsdesk.services import feedreader
from newsdesk.storage.users import EntryQuery


def test_totals_are_reused_until_the_ttl_or_the_users_change(server: Server) -> None:
    storage = server.storage
    clock = [100.0]
    totals = feedreader.TotalsCache(ttl=5, clock=lambda: clock[0])

    def count(user: User, query: EntryQuery) -> int:
        # the user as a request reads it (check_token, find_api_key): with its current state version
        return feedreader.count_entries(storage, storage.get_user(user.id), query, totals)

    bob, alice = server.reader, server.admin
    unread = EntryQuery(user_id=bob.id, read=ReadFilter.UNREAD, limit=10)
    assert count(bob, unread) == 30
    # the next page of the same listing counts nothing: the total is the same
    storage.add_article(NewArticle(source_id=server.sources[0].id, url="https://world.example.org/late",
                                   title="Late", fetched_at=NOW, published_at=NOW + timedelta(hours=1)))
    assert count(bob, EntryQuery(user_id=bob.id, read=ReadFilter.UNREAD, limit=10, offset=10)) == 30
    clock[0] += 5.1  # past the TTL the new article shows
    assert count(bob, unread) == 31
    alice_unread = EntryQuery(user_id=alice.id, read=ReadFilter.UNREAD)
    assert count(alice, alice_unread) == 31
    # bob's change shows in bob's total at once; alice's cached total stays
    feedreader.set_state(storage, bob, server.articles[:3], read=True, totals=totals)
    assert count(bob, unread) == 28
    assert count(alice, alice_unread) == 31
    # a change that this cache never heard of (another web process made it) shows at once too
    storage.set_article_state(alice.id, server.articles[:1], NOW, read=True)
    assert count(alice, alice_unread) == 30
    storage.change_labels(alice.id, server.articles[:2], add=["later"])
    assert count(alice, EntryQuery(user_id=alice.id, label="later")) == 2
    storage.change_labels(alice.id, server.articles[:1], remove=["later"])
    assert count(alice, EntryQuery(user_id=alice.id, label="later")) == 1
    storage.mark_read(EntryQuery(user_id=bob.id), NOW)
    assert count(bob, unread) == 0


def test_a_total_is_for_its_own_user(server: Server) -> None:
    with pytest.raises(ValueError):
        feedreader.count_entries(server.storage, server.admin, EntryQuery(user_id=server.reader.id))
