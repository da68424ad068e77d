"""UsersStorage contract, on SQLite and PostgreSQL: users, API keys, per-user state and labels,
the entry queries the APIs page with, and the migrated schema matching storage/users.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.errors import NotFoundError
from newsdesk.errors_accounts import UserExistsError
from newsdesk.models import ArticleCursor, NewArticle, NewSource
from newsdesk.models_accounts import EntryOrder, ReadFilter, UserEntry
from newsdesk.storage.sql import SqlStorage
from newsdesk.storage.users import EntryQuery
from newsdesk.stories.records import AssignmentRecord

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


def _seed(storage: SqlStorage) -> tuple[list[int], int, int]:
    a = storage.add_source(NewSource(url="https://a.example.org/feed", title="A", category="News"), NOW)
    b = storage.add_source(NewSource(url="https://b.example.org/feed", title="B"), NOW)
    ids = []
    for i in range(12):
        source = a if i % 2 == 0 else b
        article_id = storage.add_article(NewArticle(source_id=source.id, url=f"https://x.example.org/{i}",
                                                    title=f"T{i}", fetched_at=NOW,
                                                    published_at=NOW - timedelta(hours=12 - i), html=f"<p>{i}</p>"))
        assert article_id
        ids.append(article_id)
    return ids[::-1], a.id, b.id  # newest first


def test_users_and_keys(storage: SqlStorage) -> None:
    alice = storage.add_user("alice", "hash-a", True, NOW)
    assert storage.get_user(alice.id) == alice and alice.is_admin and "hash-a" not in repr(alice)
    with pytest.raises(UserExistsError):
        storage.add_user("alice", "other", False, NOW)
    bob = storage.add_user("bob", "hash-b", False, NOW)
    assert [u.name for u in storage.list_users()] == ["alice", "bob"]
    assert storage.find_user("carol") is None and storage.find_user("x" * 500) is None
    storage.set_password_hash(bob.id, "hash-b2")
    assert storage.get_user(bob.id).password_hash == "hash-b2"
    with pytest.raises(NotFoundError):
        storage.set_password_hash(9999, "x")

    key = storage.add_api_key(bob.id, "phone", "f" * 64, "nd_abc", NOW)
    found = storage.find_api_key("f" * 64)
    assert found is not None and found[0] == key and found[1].name == "bob"
    assert storage.find_api_key("0" * 64) is None
    with pytest.raises(NotFoundError):
        storage.revoke_api_key(key.id, NOW, user_id=alice.id)  # not alice's key
    storage.revoke_api_key(key.id, NOW, user_id=bob.id)
    revoked = storage.list_api_keys(bob.id)[0]
    assert revoked.revoked_at == NOW and not revoked.active
    storage.revoke_api_key(key.id, NOW + timedelta(hours=1))  # revoking twice keeps the first time
    assert storage.list_api_keys()[0].revoked_at == NOW
    storage.touch_api_key(key.id, NOW)
    assert storage.list_api_keys(bob.id)[0].last_used_at == NOW


def test_state_is_per_user_and_queries_filter_and_page(storage: SqlStorage) -> None:
    ids, a, b = _seed(storage)
    alice = storage.add_user("alice", "h", True, NOW)
    bob = storage.add_user("bob", "h", False, NOW)
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, read=ReadFilter.UNREAD)) == 12
    assert storage.set_article_state(bob.id, [ids[0], ids[1], 10**9], NOW, read=True) == 2
    storage.set_article_state(bob.id, [ids[1]], NOW, starred=True)  # keeps read
    storage.set_article_state(bob.id, [ids[1], ids[1]], NOW, read=True)  # idempotent
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, read=ReadFilter.READ)) == 2
    assert storage.count_user_articles(EntryQuery(user_id=alice.id, read=ReadFilter.READ)) == 0
    starred = storage.query_user_articles(EntryQuery(user_id=bob.id, starred=True))
    assert [(e.id, e.read, e.starred) for e in starred] == [(ids[1], True, True)]
    assert storage.query_user_articles(EntryQuery(user_id=alice.id, starred=True)) == []

    # Keyset paging in both directions, and the filters.
    first = storage.query_user_articles(EntryQuery(user_id=bob.id, limit=5), with_body=False)
    assert [e.id for e in first] == ids[:5] and first[0].html == ""
    after_first = ArticleCursor(first[-1].sort_at, first[-1].id)
    nxt = storage.query_user_articles(EntryQuery(user_id=bob.id, limit=5, cursor=after_first))
    assert [e.id for e in nxt] == ids[5:10] and nxt[0].html.startswith("<p>")
    asc = storage.query_user_articles(EntryQuery(user_id=bob.id, order=EntryOrder.OLDEST_FIRST, limit=3))
    assert [e.id for e in asc] == ids[::-1][:3]
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, source_ids=(a,))) == 6
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, category="News")) == 6
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, newer_than=NOW - timedelta(hours=3))) == 3
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, older_than=NOW - timedelta(hours=3))) == 9
    offset = storage.query_user_articles(EntryQuery(user_id=bob.id, limit=2, offset=10))
    assert [e.id for e in offset] == ids[10:]
    # A whole list of ids (sorted outside the database) comes in the same order as any page, and a
    # list longer than the limit is still cut by the order
    shuffled = (ids[7], ids[2], ids[11], ids[0], ids[2])
    by_ids = storage.query_user_articles(EntryQuery(user_id=bob.id, article_ids=shuffled, limit=5))
    assert [e.id for e in by_ids] == [ids[0], ids[2], ids[7], ids[11]]
    assert by_ids[0].read and not by_ids[1].read and by_ids[0].html.startswith("<p>")
    oldest = EntryQuery(user_id=bob.id, article_ids=shuffled, order=EntryOrder.OLDEST_FIRST, limit=5)
    assert [e.id for e in storage.query_user_articles(oldest)] == [ids[11], ids[7], ids[2], ids[0]]
    cut = storage.query_user_articles(EntryQuery(user_id=bob.id, article_ids=shuffled, limit=2))
    assert [e.id for e in cut] == [ids[0], ids[2]]

    # Mark read by filter; unread counts per source.
    assert storage.mark_read(EntryQuery(user_id=bob.id, source_ids=(b,)), NOW) == 6 - 1  # ids[1] was read already
    counts = {c.source_id: c.count for c in storage.unread_counts(bob.id)}
    assert counts == {a: 5}
    assert {c.source_id: c.count for c in storage.unread_counts(alice.id)} == {a: 6, b: 6}


def test_labels(storage: SqlStorage) -> None:
    ids, _, _ = _seed(storage)
    bob = storage.add_user("bob", "h", False, NOW)
    alice = storage.add_user("alice", "h", False, NOW)
    storage.change_labels(bob.id, ids[:3], add=["later", "work"])
    storage.change_labels(bob.id, [ids[0]], remove=["work"])
    storage.change_labels(bob.id, [ids[0]], add=["later"])  # twice is once
    assert storage.list_labels(bob.id) == ["later", "work"] and storage.list_labels(alice.id) == []
    later = storage.query_user_articles(EntryQuery(user_id=bob.id, label="later"))
    assert [e.id for e in later] == ids[:3]
    assert later[0].labels == ("later",) and later[1].labels == ("later", "work")
    assert storage.count_user_articles(EntryQuery(user_id=alice.id, label="later")) == 0


def test_deleting_a_source_or_user_cascades(storage: SqlStorage) -> None:
    ids, a, _ = _seed(storage)
    bob = storage.add_user("bob", "h", False, NOW)
    storage.set_article_state(bob.id, ids, NOW, read=True)
    storage.change_labels(bob.id, ids, add=["x"])
    storage.delete_source(a)
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, read=ReadFilter.READ)) == 6
    assert storage.count_user_articles(EntryQuery(user_id=bob.id, label="x")) == 6


def test_id_lists_are_exact_with_labels_and_unknown_ids(storage: SqlStorage) -> None:
    """Article ids are bound as one JSON array (users._in_ids): every listed id and only those, an id
    past 32 bits (a client's invention) is simply unknown, and labels come back per article."""
    ids, _, _ = _seed(storage)
    user = storage.add_user("dora", "hash", False, NOW)
    storage.change_labels(user.id, ids[:2], add=["later"])
    wanted = (ids[5], ids[0], 2**63 - 1, 2**40, ids[5], ids[1])
    found = storage.query_user_articles(EntryQuery(user_id=user.id, article_ids=wanted, limit=10))
    assert [e.id for e in found] == [ids[0], ids[1], ids[5]]  # newest first
    assert [e.labels for e in found] == [("later",), ("later",), ()]
    assert storage.query_user_articles(EntryQuery(user_id=user.id, article_ids=(), limit=10)) == []
    assert storage.set_article_state(user.id, [ids[0], 2**62], NOW, read=True) == 1
    assert storage.count_user_articles(EntryQuery(user_id=user.id, article_ids=wanted, read=ReadFilter.UNREAD)) == 2


def test_entries_carry_what_the_apis_send(storage: SqlStorage) -> None:
    """A UserEntry is read straight from its row (users._entry_columns): every field from its own
    column, read/starred real booleans with or without a state row, times aware UTC."""
    source = storage.add_source(NewSource(url="https://c.example.org/feed", title="", site_url="https://c.example.org"),
                                NOW)
    article_id = storage.add_article(NewArticle(
        source_id=source.id, url="https://c.example.org/1", canonical_url="https://c.example.org/one",
        title="One", author="Ann", fetched_at=NOW, published_at=NOW - timedelta(hours=1), image_url="https://c.example.org/i.png",
        summary="sum", html="<p>one</p>", text="one"))
    assert article_id
    user = storage.add_user("erin", "h", False, NOW)
    [fresh] = storage.query_user_articles(EntryQuery(user_id=user.id))
    assert fresh == (article_id, source.id, "https://c.example.org", "https://c.example.org/1",
                     "https://c.example.org/one", "One", "Ann", NOW - timedelta(hours=1), NOW, NOW - timedelta(hours=1),
                     "https://c.example.org/i.png", "sum", "<p>one</p>", False, False, None, ())
    assert fresh.read is False and fresh.starred is False and fresh.sort_at.tzinfo is not None
    storage.set_article_state(user.id, [article_id], NOW + timedelta(minutes=5), starred=True)
    storage.change_labels(user.id, [article_id], add=["b", "a"])
    [touched] = storage.query_user_articles(EntryQuery(user_id=user.id))
    assert (touched.read, touched.starred, touched.changed_at, touched.labels) == (
        False, True, NOW + timedelta(minutes=5), ("a", "b"))
    [bare] = storage.query_user_articles(EntryQuery(user_id=user.id), with_body=False)
    assert (bare.html, bare.labels, bare.starred) == ("", (), True)


def test_entry_times_in_another_shape_are_still_read(storage: SqlStorage) -> None:
    """On SQLite, entries parse the stored time text themselves (users._entries); a time in a shape
    that SQLAlchemy reads and the fast parse does not (written by hand, with its UTC offset) is still
    read, and as the same time."""
    if storage.url.startswith("postgresql"):
        pytest.skip("the text form of a time is SQLite's")
    ids, _, _ = _seed(storage)
    user = storage.add_user("hal", "h", False, NOW)
    with storage._write() as conn:
        conn.exec_driver_sql("UPDATE articles SET fetched_at = '2026-01-02 03:04:05+01:00' WHERE id = ?", (ids[0],))
    entries = storage.query_user_articles(EntryQuery(user_id=user.id, article_ids=tuple(ids), limit=len(ids)))
    assert [e.id for e in entries] == ids
    assert entries[0].fetched_at == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert all(e.sort_at.tzinfo is not None and e.fetched_at.utcoffset() == timedelta(0) for e in entries)


@pytest.mark.parametrize("read", list(ReadFilter))
@pytest.mark.parametrize("starred", [None, True, False])
def test_counts_and_lists_agree_for_every_state_filter(storage: SqlStorage, read: ReadFilter,
                                                       starred: bool | None) -> None:
    """Whichever way a query is driven (from the articles, or from the user's state rows when it
    needs one: read, starred), it finds the articles a plain filter over every entry finds, and its
    count is their number; with another filter (a source) too."""
    ids, a, _ = _seed(storage)
    bob = storage.add_user("bob", "h", False, NOW)
    other = storage.add_user("other", "h", False, NOW)
    storage.set_article_state(bob.id, ids[:6], NOW, read=True)
    storage.set_article_state(bob.id, ids[4:9], NOW, starred=True)
    storage.set_article_state(bob.id, ids[5:6], NOW, read=False)  # a state row that is neither read...
    storage.set_article_state(bob.id, ids[8:9], NOW, starred=False)  # ... nor starred
    storage.set_article_state(other.id, ids, NOW, read=True, starred=True)
    every = storage.query_user_articles(EntryQuery(user_id=bob.id, limit=100), with_body=False)

    def wanted(e: UserEntry, source: int | None) -> bool:
        ok_read = read is ReadFilter.ALL or (e.read if read is ReadFilter.READ else not e.read)
        return ok_read and (starred is None or e.starred is starred) and (source is None or e.source_id == source)

    for source in (None, a):
        query = EntryQuery(user_id=bob.id, read=read, starred=starred, limit=100,
                           source_ids=(source,) if source is not None else None)
        expected = [e.id for e in every if wanted(e, source)]
        assert [e.id for e in storage.query_user_articles(query)] == expected
        assert [p.id for p in storage.query_user_article_positions(query)] == expected
        assert storage.count_user_articles(query) == len(expected)


def test_unread_among_a_topics_articles(storage: SqlStorage) -> None:
    """count_unread_among: the user's unread articles of those naming an entity, from a source or
    listed (a topic's three parts, each counted once), with the newest one's time."""
    ids, a, _ = _seed(storage)  # newest first; sources alternate a, b
    bob = storage.add_user("bob", "h", False, NOW)
    generation = storage.story_generation()
    assert storage.record_assignment(AssignmentRecord(
        ids[1], None, "T", NOW, "new", entities=(("place:greenland", "Greenland", "place", 2),)), generation)
    entity = storage.find_entity("place:greenland")
    assert entity is not None
    storage.set_article_state(bob.id, [ids[0], ids[3]], NOW, read=True)
    storage.set_article_state(bob.id, [ids[5]], NOW, starred=True)  # a state row, unread
    entries = storage.query_user_articles(EntryQuery(user_id=bob.id, limit=20))
    times = {e.id: e.sort_at for e in entries}

    def expect(members: set[int]) -> tuple[int, datetime | None]:
        unread = members - {ids[0], ids[3]}
        return len(unread), max((times[i] for i in unread), default=None)

    from_a = {e.id for e in entries if e.source_id == a}
    assert storage.count_unread_among(bob.id, source_ids=[a]) == expect(from_a)
    assert storage.count_unread_among(bob.id, entity_ids=[entity.id]) == expect({ids[1]})
    assert storage.count_unread_among(bob.id, article_ids=[ids[3], ids[7], ids[7], 2**40]) == expect({ids[7]})
    everything = storage.count_unread_among(bob.id, entity_ids=[entity.id], source_ids=[a],
                                            article_ids=[ids[1], ids[7]])
    assert everything == expect(from_a | {ids[1], ids[7]})
    assert storage.count_unread_among(bob.id) == (0, None)
    assert storage.count_unread_among(bob.id, article_ids=[ids[0]]) == (0, None)
