"""The demo site collected through the real ingest: its four outlets' articles about the same events
(Dutch and English) end up grouped in stories, each event in exactly one story."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsdesk.demo import DemoSite
from newsdesk.demo.build import OUTLETS, load_stories
from newsdesk.demo.server import SITE_DIR
from newsdesk.ingest.fetch import Fetcher, FetchPolicy
from newsdesk.services import sources as source_service
from newsdesk.services import stories as story_service
from newsdesk.services.refresh import RefreshContext, refresh_pass
from newsdesk.storage import open_storage
from newsdesk.storage.sql import SqlStorage
from newsdesk.stories.cluster import ClusterConfig, ClusterItem, StoryClusterer, item_features
from newsdesk.stories.embedding import HeadlineEncoder

CONTENT = SITE_DIR.parent / "content"


def _gold_events() -> dict[str, str]:
    """title -> event, from the demo's source texts."""
    events: dict[str, str] = {}
    for path in CONTENT.glob("*.txt"):
        for block in path.read_text(encoding="utf-8").split("%%%"):
            title = re.search(r"^title: (.+)$", block, re.M)
            event = re.search(r"^event: (.+)$", block, re.M)
            if title and event:
                events[title.group(1).strip()] = event.group(1).strip()
    return events


async def _collect(storage: SqlStorage, site: DemoSite) -> None:
    policy = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    async with Fetcher(policy) as fetcher:
        for url in site.homepage_urls():
            await source_service.add_source(storage, fetcher, url)
        await refresh_pass(RefreshContext(storage=storage, fetcher=fetcher), due_only=False)


@pytest.fixture(scope="module")
def demo_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStorage]:
    story_service.forget_engines()
    path: Path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    storage = open_storage(f"sqlite:///{path}")
    assert isinstance(storage, SqlStorage)
    storage.migrate()
    with DemoSite() as site:
        asyncio.run(_collect(storage, site))
    try:
        yield storage
    finally:
        storage.close()
        story_service.forget_engines()


def test_every_stored_article_is_in_a_story(demo_storage: SqlStorage) -> None:
    items = demo_storage.list_articles(limit=1000)
    assert len(items) >= 20
    for item in items:
        assert demo_storage.story_of_article(item.id) is not None, item.title


def test_each_event_is_grouped_across_outlets_and_languages(demo_storage: SqlStorage) -> None:
    # The arrival order of a concurrent pass varies from run to run, and the clusterer is online, so
    # the exact grouping can vary a little (the tariffs and Greenland events share most names; before
    # headline embeddings two events ended up in one story in about one random order in six, and this
    # test failed about one run in 22). Asserted here is what holds in every order we measured (the
    # next test tries 80 orders); exact figures are in docs/benchmarks.md.
    gold = _gold_events()
    story_of: dict[int, int] = {}
    language: dict[int, str | None] = {}
    events: dict[int, str] = {}
    for item in demo_storage.list_articles(limit=1000):
        event = gold.get(item.title)
        member = demo_storage.story_of_article(item.id)
        assert member is not None
        if event is not None:
            story_of[item.id], language[item.id], events[item.id] = member.story_id, item.language, event
    multi = {"greenland", "storm", "tariffs", "ai-vote"}
    assert multi <= set(events.values())
    for event in multi:
        ids = [i for i, e in events.items() if e == event]
        counts = Counter(story_of[i] for i in ids)
        story_id, held = counts.most_common(1)[0]
        assert held >= 3, f"{event}: {counts}"
        assert {language[i] for i in ids if story_of[i] == story_id} >= {"nl", "en"}, event
    # the one-outlet local news never joins an event told by every outlet
    for article_id, event in events.items():
        if event not in multi:
            together = {events[i] for i, s in story_of.items() if s == story_of[article_id]}
            assert together == {event}, together
    pairs = [(a, b) for a in events for b in events if a < b]
    tp = sum(1 for a, b in pairs if story_of[a] == story_of[b] and events[a] == events[b])
    pred = sum(1 for a, b in pairs if story_of[a] == story_of[b])
    gold_pairs = sum(1 for a, b in pairs if events[a] == events[b])
    precision, recall = tp / pred, tp / gold_pairs
    assert 2 * precision * recall / (precision + recall) >= 0.7


def test_greenland_story_has_dutch_and_english_with_explanations(demo_storage: SqlStorage) -> None:
    gold = _gold_events()
    items = [i for i in demo_storage.list_articles(limit=1000) if gold.get(i.title) == "greenland"]
    by_story = Counter(demo_storage.story_of_article(i.id).story_id for i in items)  # type: ignore[union-attr]
    story_id = by_story.most_common(1)[0][0]
    members = demo_storage.story_members(story_id)
    assert len([m for m in members if gold.get(m.title) == "greenland"]) >= 3
    assert {m.language for m in members} >= {"nl", "en"}
    joined = [m for m in members if m.how == "cluster"]
    assert joined and all(m.score > 0 for m in joined)
    shared = {e for m in joined for e in m.shared_entities}
    assert shared & {"Greenland", "Mark Rutte", "NATO", "Donald Trump"}
    story = demo_storage.get_story(story_id)
    assert story.size == len(members) and story.outlets >= 3
    assert story.first_seen == min(m.sort_at for m in members)


def test_entities_are_stored_and_list_their_articles(demo_storage: SqlStorage) -> None:
    greenland = demo_storage.find_entity("place:greenland")
    assert greenland is not None
    titles = {a.title for a in demo_storage.entity_articles(greenland.id)}
    assert "Trump belt met NAVO-chef Rutte over Groenland" in titles
    assert "Trump and NATO chief Rutte discuss Greenland in late-night call" in titles
    assert len(demo_storage.entity_stories(greenland.id)) >= 1


def test_each_event_is_one_story_in_many_arrival_orders() -> None:
    # The ingest test above sees one arrival order per run; the clusterer is online, so the grouping
    # may depend on the order. Here the pure clusterer gets the demo's 24 articles in 80 seeded orders
    # with the features the ingest computes (prepare_article: entities, headline embedding), and every
    # order must keep most of each multi-outlet event together in Dutch and English, and never mix
    # two events.
    # Before headline embeddings the tariffs and Greenland events mixed in 16 orders of 100 (their
    # bodies share Trump, NATO, the Netherlands; bench/demo_stories.py).
    stories = [s for outlet in OUTLETS for s in load_stories(outlet)]
    vectors = HeadlineEncoder().encode([s.title for s in stories])
    config = ClusterConfig()
    prepared = []
    for s, vector in zip(stories, vectors, strict=True):
        text = " ".join([s.summary, *(t for _, t in s.blocks)])
        item = ClusterItem(s.url, s.title, s.published, text, s.outlet.lang, s.outlet.slug,
                           url=s.url.replace("{{BASE}}", "http://127.0.0.1:8000"), embedding=vector)
        prepared.append((item, item_features(item, config), s.event, s.outlet.lang.split("-")[0]))
    multi = {e for e, n in Counter(p[2] for p in prepared).items() if n > 1}
    assert multi == {"greenland", "storm", "tariffs", "ai-vote"}
    for seed in range(80):
        order = prepared[:]
        random.Random(seed).shuffle(order)
        clusterer = StoryClusterer(config)
        story_of: dict[str, int] = {}
        for item, feats, _, _ in order:
            a = clusterer.assign(item, feats)
            story_of[str(item.id)] = a.story_id
            for old in a.merged:
                story_of.update({k: a.story_id for k, v in story_of.items() if v == old})
        events: dict[int, set[str]] = {}
        for item, _, event, _ in prepared:
            events.setdefault(story_of[str(item.id)], set()).add(event)
        assert all(len(e) == 1 for e in events.values()), f"order {seed}: {sorted(map(sorted, events.values()))}"
        for event in multi:
            # what the ingest test asks: most of the event in one story, in both languages (the
            # Dutch "Amerikaanse heffing ... treft Nederlandse exporteurs" sometimes stays apart)
            places = [(story_of[str(item.id)], lang) for item, _, e, lang in prepared if e == event]
            story_id, held = Counter(sid for sid, _ in places).most_common(1)[0]
            assert held >= 3, f"order {seed}: {event} split over {places}"
            assert {lang for sid, lang in places if sid == story_id} == {"nl", "en"}, f"order {seed}: {event}"
