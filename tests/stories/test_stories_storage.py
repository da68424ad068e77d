"""Contract tests of the stories storage on SQLite and PostgreSQL (the `storage` fixture of
tests/storage), including the generation check that keeps two writers from racing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.errors import NotFoundError, StorageError
from newsdesk.models import NewArticle, NewSource
from newsdesk.storage.sql import SqlStorage
from newsdesk.stories.records import AssignmentLookup, AssignmentRecord, Placement, StoredStory, TopicDefinition
from storage.conftest import storage, storage_url  # noqa: F401 - the shared backend fixtures

T0 = datetime(2026, 1, 20, 18, 0, tzinfo=UTC)


def _articles(storage: SqlStorage, n: int) -> list[int]:  # noqa: F811
    source = storage.add_source(NewSource(url="https://a.example/feed", title="A"), T0).id
    ids = []
    for i in range(n):
        new = NewArticle(source_id=source, url=f"https://a.example/{i}", title=f"Title {i}",
                         fetched_at=T0 + timedelta(hours=i), published_at=T0 + timedelta(hours=i), text=f"text {i}")
        article_id = storage.add_article(new)
        assert article_id is not None
        ids.append(article_id)
    return ids


def test_record_assignment_checks_the_generation(storage: SqlStorage) -> None:  # noqa: F811
    a, b, c = _articles(storage, 3)
    g0 = storage.story_generation()
    first = storage.record_assignment(AssignmentRecord(
        a, None, "Title 0", T0, "new", canonical_url="https://a.example/0", content_hash="h0",
        entities=(("place:greenland", "Greenland", "place", 2),)), g0)
    assert first is not None
    g1, sid = first
    assert g1 == g0 + 1
    # a new story is stored with its one article's size and time (the article's, not the record's)
    fresh = storage.get_story(sid)
    assert (fresh.size, fresh.first_seen, fresh.last_seen, fresh.outlets) == (1, T0, T0, 1)
    # a writer that did not see g1 is refused, and stores nothing
    assert storage.record_assignment(AssignmentRecord(b, None, "Title 1", T0, "new"), g0) is None
    assert storage.story_of_article(b) is None
    joined = storage.record_assignment(AssignmentRecord(
        b, sid, "Title 1", T0, "cluster", 0.4, ("Greenland",), ("call",), canonical_url="https://a.example/1"), g1)
    assert joined is not None and joined[1] == sid
    member = storage.story_of_article(b)
    assert member is not None and member.shared_entities == ("Greenland",) and member.score == pytest.approx(0.4)
    story = storage.get_story(sid)
    assert story.size == 2 and story.first_seen == T0 and story.last_seen == T0 + timedelta(hours=1)
    # without the outlet count (what assignment reads), the rest is the same
    assert storage.get_story(sid, outlets=False) == StoredStory(**{**vars(story), "outlets": 0})
    assert storage.find_duplicate("https://a.example/0", None, c) == (a, "url")
    assert storage.find_duplicate("https://other.example/", "h0", c) == (a, "hash")
    assert storage.find_duplicate("https://other.example/", "zz", c) is None
    ent = storage.find_entity("place:greenland")
    assert ent is not None and [x.id for x in storage.entity_articles(ent.id)] == [a]
    assert [s.id for s in storage.entity_stories(ent.id)] == [sid]
    with pytest.raises(StorageError):
        storage.record_assignment(AssignmentRecord(a, sid, "again", T0, "cluster"), joined[0])


def test_assignment_lookup_answers_as_its_three_reads(storage: SqlStorage) -> None:  # noqa: F811
    """assignment_lookup: the article's own placement, and what find_duplicate finds (URL before
    hash, the article itself skipped), with that article's placement, in one statement."""
    a, b, c = _articles(storage, 3)
    g, sid = storage.record_assignment(AssignmentRecord(
        a, None, "Title 0", T0, "new", canonical_url="https://a.example/0", content_hash="h0"), 0) or (0, 0)
    g, _ = storage.record_assignment(AssignmentRecord(
        b, sid, "Title 1", T0, "duplicate", 1.0, duplicate_of=a, duplicate_how="hash",
        canonical_url="https://a.example/1", content_hash="h0"), g) or (0, 0)
    placed_a = Placement(a, sid, "new", 0.0)
    placed_b = Placement(b, sid, "duplicate", 1.0, a, "hash")
    # assigned already: its own placement; its URL is its own alone, its hash is b's too
    assert storage.assignment_lookup(a, "https://a.example/0", "h0") == AssignmentLookup(
        placed_a, (b, "hash"), placed_b)
    assert storage.assignment_lookup(b, "https://a.example/1", None) == AssignmentLookup(placed_b)
    # a new article: by URL first, then by hash (the first in id order), as find_duplicate says
    for url, digest in [("https://a.example/0", "h0"), ("https://a.example/1", "h0"), ("https://x.example/", "h0"),
                        ("https://x.example/", None), ("https://x.example/", ""), ("https://a.example/0", None)]:
        lookup = storage.assignment_lookup(c, url, digest)
        assert lookup.done is None
        assert lookup.duplicate == storage.find_duplicate(url, digest, c)
        assert lookup.duplicate_placement == (None if lookup.duplicate is None else
                                              {a: placed_a, b: placed_b}[lookup.duplicate[0]])
    assert storage.assignment_lookup(c, "https://x.example/", "h0").duplicate == (a, "hash")


def test_record_assignment_follows_merges_to_the_live_story(storage: SqlStorage) -> None:  # noqa: F811
    a, b, c, d = _articles(storage, 4)
    g, s1 = storage.record_assignment(AssignmentRecord(a, None, "Title 0", T0, "new"), 0) or (0, 0)
    g, s2 = storage.record_assignment(AssignmentRecord(b, None, "Title 1", T0, "new"), g) or (0, 0)
    storage.merge_stories(s1, s2, T0)
    g = storage.story_generation()
    # the clusterer still knows s1: the article joins the story s1 went into
    g, joined = storage.record_assignment(AssignmentRecord(c, s1, "Title 2", T0, "cluster", 0.3), g) or (0, 0)
    assert joined == s2 and storage.story_of_article(c).story_id == s2  # type: ignore[union-attr]
    assert storage.get_story(s2).size == 3
    # a story that is gone: NotFoundError, and nothing is stored, the generation included
    with pytest.raises(NotFoundError):
        storage.record_assignment(AssignmentRecord(d, 12345, "Title 3", T0, "cluster", 0.3), g)
    assert storage.story_of_article(d) is None and storage.story_generation() == g


def test_story_counts_follow_joins_and_deleted_sources(storage: SqlStorage) -> None:  # noqa: F811
    """A join counts the story on (size + 1, times widened to the article's); deleting a source
    recounts the stories that lose its articles."""
    a, b = _articles(storage, 2)  # source A: T0, T0 + 1h
    other = storage.add_source(NewSource(url="https://b.example/feed", title="B"), T0).id
    early = storage.add_article(NewArticle(source_id=other, url="https://b.example/early", title="Early",
                                           fetched_at=T0, published_at=T0 - timedelta(hours=5), text="x"))
    late = storage.add_article(NewArticle(source_id=other, url="https://b.example/late", title="Late",
                                          fetched_at=T0 + timedelta(hours=9),
                                          published_at=T0 + timedelta(hours=9), text="y"))
    assert early is not None and late is not None
    g, sid = storage.record_assignment(AssignmentRecord(a, None, "Title 0", T0, "new"), 0) or (0, 0)
    # the record's time is a fallback: the article's own time counts (as for a new story)
    g, _ = storage.record_assignment(AssignmentRecord(early, sid, "Early", T0, "cluster"), g) or (0, 0)
    g, _ = storage.record_assignment(AssignmentRecord(b, sid, "Title 1", T0, "cluster"), g) or (0, 0)
    g, _ = storage.record_assignment(AssignmentRecord(
        late, sid, "Late", T0, "duplicate", duplicate_of=b, duplicate_how="url"), g) or (0, 0)
    lone = storage.add_article(NewArticle(source_id=other, url="https://b.example/lone", title="Lone",
                                          fetched_at=T0 + timedelta(hours=2),
                                          published_at=T0 + timedelta(hours=2), text="z"))
    assert lone is not None
    g, lone_story = storage.record_assignment(AssignmentRecord(lone, None, "Lone", T0, "new"), g) or (0, 0)
    story = storage.get_story(sid)
    assert (story.size, story.first_seen, story.last_seen) == (4, T0 - timedelta(hours=5), T0 + timedelta(hours=9))
    storage.delete_source(other)
    story = storage.get_story(sid)
    assert (story.size, story.first_seen, story.last_seen) == (2, T0, T0 + timedelta(hours=1))
    assert [m.article_id for m in storage.story_members(sid)] == [a, b]
    # a story left without articles keeps its times, at size 0 (listed nowhere)
    gone = storage.get_story(lone_story)
    assert (gone.size, gone.first_seen) == (0, T0 + timedelta(hours=2))
    assert lone_story not in [s.id for s in storage.list_stories()]


def test_concurrent_writers_never_both_win(storage: SqlStorage) -> None:  # noqa: F811
    ids = _articles(storage, 8)
    g = storage.story_generation()
    wins: list[int] = []

    def write(article_id: int) -> None:
        other = SqlStorage(storage.url)
        try:
            if other.record_assignment(AssignmentRecord(article_id, None, "t", T0, "new"), g) is not None:
                wins.append(article_id)
        finally:
            other.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert storage.story_generation() == g + 1


def test_split_merge_and_listing(storage: SqlStorage) -> None:  # noqa: F811
    a, b, c = _articles(storage, 3)
    g, s1 = storage.record_assignment(AssignmentRecord(a, None, "Title 0", T0, "new"), 0) or (0, 0)
    g, _ = storage.record_assignment(AssignmentRecord(b, s1, "Title 1", T0, "cluster"), g) or (0, 0)
    g, s2 = storage.record_assignment(AssignmentRecord(c, None, "Title 2", T0, "new"), g) or (0, 0)
    assert [s.id for s in storage.list_stories()] == [s2, s1]
    s3 = storage.split_article(b, T0)
    assert storage.story_of_article(b).story_id == s3  # type: ignore[union-attr]
    assert storage.get_story(s1).size == 1 and storage.get_story(s3).locked
    storage.merge_stories(s2, s1, T0)
    assert storage.get_story(s2).merged_into == s1
    assert {m.article_id for m in storage.story_members(s1)} == {a, c}
    assert s2 not in [s.id for s in storage.list_stories()]
    assert storage.story_generation() == g + 2
    with pytest.raises(NotFoundError):
        storage.merge_stories(s1, 999, T0)
    with pytest.raises(NotFoundError):
        storage.get_story(12345)


def test_topics(storage: SqlStorage) -> None:  # noqa: F811
    d = TopicDefinition(entity_ids=(1,), keywords=("storm",), source_ids=(2,), query="rutte navo")
    storage.add_topic("storms", "Storms", d, T0)
    assert storage.get_topic("storms").definition == d
    with pytest.raises(StorageError):
        storage.add_topic("storms", "Again", d, T0)
    assert [t.slug for t in storage.list_topics()] == ["storms"]
    storage.remove_topic("storms")
    with pytest.raises(NotFoundError):
        storage.get_topic("storms")


def test_keyset_pages_of_stories_entities_and_articles(storage: SqlStorage) -> None:  # noqa: F811
    ids = _articles(storage, 5)
    g = storage.story_generation()
    story_ids = []
    names = ("Greenland", "greenpeace", "Oslo", "Greenland Sea", "Ghent")
    for n, article_id in enumerate(ids):
        ents = (("place:" + names[n].lower(), names[n], "place" if n % 2 == 0 else "org", 1),
                ("person:ann", "Ann", "person", 1))
        g, sid = storage.record_assignment(AssignmentRecord(
            article_id, None, f"Title {n}", T0 + timedelta(hours=n), "new", entities=ents), g) or (0, 0)
        story_ids.append(sid)
    newest_first = list(reversed(story_ids))
    first = storage.list_stories(limit=2)
    assert [s.id for s in first] == newest_first[:2]
    rest = storage.list_stories(limit=10, cursor=(first[-1].last_seen, first[-1].id))
    assert [s.id for s in rest] == newest_first[2:]
    assert storage.story_ids_of_articles([ids[0], ids[3], 99_999]) == {ids[0]: story_ids[0], ids[3]: story_ids[3]}
    assert storage.story_ids_of_articles([]) == {}
    # entities by name then id; kind exact, name a case-insensitive prefix, `after` a keyset
    everyone = storage.list_entities()
    assert [e.name for e in everyone] == sorted(e.name for e in everyone)
    green = storage.list_entities(name="GREEN")
    assert [e.name for e in green] == ["Greenland", "Greenland Sea", "greenpeace"]
    assert [e.name for e in storage.list_entities(name="green", limit=1, after=(green[0].name, green[0].id))] \
        == ["Greenland Sea"]
    assert [e.name for e in storage.list_entities(kind="org")] == ["Greenland Sea", "greenpeace"]
    assert storage.list_entities(name="%") == []
    ann = storage.find_entity("person:ann")
    assert ann is not None
    page = storage.entity_articles(ann.id, limit=3)
    assert [a.id for a in page] == list(reversed(ids))[:3]
    assert [a.id for a in storage.entity_articles(ann.id, limit=3, cursor=(page[-1].sort_at, page[-1].id))] \
        == list(reversed(ids))[3:]
    stories_page = storage.entity_stories(ann.id, limit=4)
    assert [s.id for s in stories_page] == newest_first[:4]
    assert [s.id for s in storage.entity_stories(ann.id, cursor=(stories_page[-1].last_seen, stories_page[-1].id))] \
        == newest_first[4:]
    # the names of many articles in one read: each article's list as article_entities gives it
    many = storage.entities_of_articles([*ids, ids[0], 99_999])
    assert many == {a: storage.article_entities(a) for a in ids}
    assert [e.name for e in many[ids[0]]] == ["Ann", "Greenland"]  # equal counts: by name
    assert storage.entities_of_articles(ids, per_article=1) == {a: storage.article_entities(a)[:1] for a in ids}
    assert storage.entities_of_articles([]) == {}
    # ties on time are ordered by id: a keyset on (time, id) neither skips nor repeats them
    tied = storage.articles_matching([], [storage.get_article(ids[0]).source_id], limit=10)
    assert len({a.id for a in tied}) == 5
