"""The stories use cases: put each stored article into a story, and the operator's corrections.

`assign_article(storage, article_id)` is what the ingest calls right after an article is stored
(services.refresh), and what `newsdesk stories cluster` calls for each line. It dedupes first,
cheapest test first (canonical URL, exact content hash, MinHash near-duplicate): a duplicate joins
the story of the article it repeats and is marked, never dropped. Anything else goes through the
pure StoryClusterer.

The clusterer lives in memory, one per database per process, and is rebuilt from the stories of
the active window when a process starts (or when the database moved on without it: another worker
assigned, an operator split or merged). Assignments are stored with a generation check
(storage.record_assignment), so two workers never start two stories for one event: the later one
sees the generation moved, rebuilds, and assigns again.

`sweep_unassigned` assigns the window's articles that are in no story: the ingest queues
assignments in memory (services/storyqueue.py), and a worker killed with -9 leaves its queue to
the next sweep.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from ..errors import NewsdeskError, NotFoundError
from ..models import Article, ArticleCursor, ArticleListItem
from ..storage.base import Storage
from ..stories.cluster import Assignment, ClusterConfig, ClusterItem, Features, StoryClusterer, item_features
from ..stories.embedding import HeadlineEncoder
from ..stories.entities import Entity, extract_entities
from ..stories.fingerprint import NearDuplicateIndex, canonical_url, content_hash, words
from ..stories.records import (
    HOW_CLUSTER,
    HOW_DUPLICATE,
    HOW_NEW,
    MERGE_HOPS,
    AssignmentLookup,
    AssignmentRecord,
    EntityRecord,
    Placement,
    StoredStory,
    StoryMember,
    Topic,
    TopicDefinition,
    slugify,
)
from .reading import ListContext

__all__ = [
    "AssignResult",
    "PreparedArticle",
    "add_topic",
    "assign_article",
    "assign_article_safely",
    "cluster_items",
    "context_article_ids",
    "entity_articles",
    "entity_page",
    "entity_stories",
    "forget_engines",
    "get_entity",
    "get_topic",
    "list_entities",
    "list_topics",
    "list_stories",
    "merge_stories",
    "prepare_article",
    "rebuild_window",
    "split_article",
    "story_entities",
    "story_ids",
    "story_page",
    "sweep_unassigned",
    "topic_articles",
    "topic_page",
    "topic_search_matches",
]

log = logging.getLogger(__name__)

#: texts shorter than this many words are not hashed or near-matched: short blurbs repeat by chance
MIN_DEDUPE_WORDS = 25
#: the most window articles replayed when the clusterer is rebuilt (a bound, not an expectation)
MAX_REBUILD = 200_000
#: body characters given to the clusterer and the near-duplicate index
TEXT_CHARS = 4000
#: attempts when other writers keep moving the generation
ATTEMPTS = 5
#: merged_into links followed from a story to the one it ended in (merges are not repointed)
MAX_HOPS = MERGE_HOPS


@dataclass(frozen=True)
class AssignResult:
    article_id: int
    story_id: int
    #: "new", "cluster", "duplicate" (or "operator" for an article placed by hand earlier)
    how: str
    score: float = 0.0
    duplicate_of: int | None = None
    duplicate_how: str | None = None


@dataclass
class _Engine:
    clusterer: StoryClusterer
    near: NearDuplicateIndex
    generation: int
    #: clusterer story id -> stored story id
    to_db: dict[int, int]
    #: window articles replayed by the rebuild
    replayed: int = 0


_engines: dict[str, _Engine] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _lock(url: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(url, threading.Lock())


def forget_engines() -> None:
    """Drop every in-memory clusterer (tests; a process that switches databases)."""
    with _guard:
        _engines.clear()


def _item(article_id: int, title: str, text: str, language: str | None, source_id: int, at: datetime,
          ents: tuple[Entity, ...], url: str | None,
          embedding: npt.NDArray[np.float32] | None = None) -> ClusterItem:
    return ClusterItem(article_id, title, at, text or None, language, str(source_id), ents, url or None, embedding)


#: the headline encoder, loaded on first use (~2 s of CPU, ~150 MB) by the processes that assign
_encoder = HeadlineEncoder()
#: articles encoded per batch when the window is rebuilt (batches cost a third of single headlines)
ENCODE_BATCH = 256


def _embeddings(titles: list[str]) -> list[npt.NDArray[np.float32] | None]:
    """The headlines' sentence embeddings (stories.embedding); None for an empty headline, and for
    all of them when the encoder cannot run: the clusterer then scores words alone."""
    try:
        rows = _encoder.encode(titles)
    except Exception:  # a missing or broken encoder must not stop the ingest; words still cluster
        log.exception("headline embedding failed")
        return [None] * len(titles)
    return [row if row.any() else None for row in rows]


def _entities(title: str, text: str, language: str | None) -> tuple[Entity, ...]:
    try:
        return tuple(extract_entities(title, text or None, language))
    except Exception:  # a pathological text must not stop the ingest; the story works without them
        log.exception("entity extraction failed")
        return ()


@dataclass(frozen=True)
class PreparedArticle:
    """Everything assignment needs that depends on the article alone: computed before the
    assignment lock is taken (prepare_article), so the serialised part is only the duplicate and
    candidate lookups, the scoring and the write."""

    article_id: int
    title: str
    at: datetime
    text: str
    canon: str
    #: long enough to be hashed and near-matched (MIN_DEDUPE_WORDS)
    dedupe_text: bool
    digest: str | None
    #: MinHash signature of the text (None when not deduped)
    signature: MinHash | None
    entity_rows: tuple[tuple[str, str, str, int], ...]
    item: ClusterItem
    features: Features
    #: the config the features were computed with
    config: ClusterConfig


_signer: NearDuplicateIndex | None = None


def _signature(text: str) -> MinHash | None:
    # the engines' indexes differ only in their window: a signature from one fits them all
    global _signer
    if _signer is None:
        _signer = NearDuplicateIndex()
    return _signer.signature(text)


def prepare_article(article: Article, config: ClusterConfig | None = None) -> PreparedArticle:
    """The pure part of an assignment (canonical URL, content hash, MinHash signature, entities,
    the headline embedding, the clusterer's features); no lock, no storage."""
    cfg = config or ClusterConfig()
    title = article.title or ""
    text = (article.text or article.summary or "")[:TEXT_CHARS]
    canon = canonical_url(article.canonical_url or article.url)
    dedupe_text = len(words(text)) >= MIN_DEDUPE_WORDS
    ents = _entities(title, text, article.language)
    # the headline alone, as tuned on the UCI dev set; headline and lead would cost ~1.5x the CPU
    emb = _embeddings([title])[0] if cfg.embedding_weight > 0 else None
    item = _item(article.id, title, text, article.language, article.source_id, article.sort_at, ents, canon, emb)
    return PreparedArticle(
        article.id, title, article.sort_at, text, canon, dedupe_text,
        content_hash(text) if dedupe_text else None, _signature(text) if dedupe_text else None,
        tuple((e.id, e.name, e.type, e.count) for e in ents[:60]), item, item_features(item, cfg), cfg)


def _rebuild(storage: Storage, config: ClusterConfig) -> _Engine:
    generation = storage.story_generation()
    since = datetime.now(UTC) - config.window
    clusterer = StoryClusterer(config)
    near = NearDuplicateIndex(window=config.window)
    to_db: dict[int, int] = {}
    replayed = 0
    window = [wa for wa in storage.window_articles(since, MAX_REBUILD) if wa.duplicate_of is None]
    vectors: list[npt.NDArray[np.float32] | None] = [None] * len(window)
    if config.embedding_weight > 0:
        # encoded again rather than stored: ~1.5 ms of CPU per article in batches (docs/benchmarks.md)
        for start in range(0, len(window), ENCODE_BATCH):
            batch = window[start:start + ENCODE_BATCH]
            vectors[start:start + len(batch)] = _embeddings([wa.title or "" for wa in batch])
    for wa, vector in zip(window, vectors, strict=True):
        text = wa.text[:TEXT_CHARS]
        if len(words(text)) >= MIN_DEDUPE_WORDS:
            near.add(str(wa.article_id), text, wa.sort_at)
        a = clusterer.assign(_item(wa.article_id, wa.title, text, wa.language, wa.source_id, wa.sort_at,
                                   _entities(wa.title, text, wa.language),
                                   canonical_url(wa.canonical_url or wa.url or ""), vector))
        # the stored story is the truth (operators split and merge): the latest member decides
        to_db[a.story_id] = wa.story_id
        replayed += 1
    return _Engine(clusterer, near, generation, to_db, replayed)


def _root(storage: Storage, member: StoryMember | Placement) -> int:
    return member.duplicate_of if member.duplicate_of is not None else member.article_id


def assign_article(storage: Storage, article_id: int, config: ClusterConfig | None = None, *,
                   prepared: PreparedArticle | None = None) -> AssignResult:
    """Put a stored article into a story (or start one). Idempotent: an assigned article's story is
    returned unchanged. Raises NotFoundError for an unknown article.

    The part that depends on the article alone (prepare_article) runs before the lock is taken;
    a caller may pass it computed already (`prepared`, from prepare_article of this article)."""
    cfg = config or ClusterConfig()
    if prepared is not None and (prepared.article_id != article_id or prepared.config != cfg):
        prepared = None
    if prepared is None:
        # an unknown article is answered under the lock: an assigned article's story, or NotFoundError
        with contextlib.suppress(NotFoundError):
            prepared = prepare_article(storage.get_article(article_id), cfg)
    with _lock(storage.url):
        engine = _engines.get(storage.url)
        for _ in range(ATTEMPTS + 1):  # + 1: a stale kept engine costs one attempt
            if prepared is None:
                prepared = prepare_article(storage.get_article(article_id), cfg)
            # checked on every attempt: the writer that moved the generation may have been another
            # worker assigning this very article (a sweep after a restart, say); read in one
            # statement with the duplicate lookups
            lookup = storage.assignment_lookup(article_id, prepared.canon, prepared.digest)
            if lookup.done is not None:
                done = lookup.done
                return AssignResult(article_id, done.story_id, done.how, done.score, done.duplicate_of,
                                    done.duplicate_how)
            # a kept engine is not checked against the stored generation here (a read per article,
            # under the lock): record_assignment checks it, and refuses what a stale engine computed
            # (engine = None below, rebuilt on the next attempt)
            if engine is None:
                engine = _engines[storage.url] = _rebuild(storage, cfg)
            result = _assign_once(storage, engine, prepared, lookup)
            if result is not None:
                return result
            engine = None  # someone else wrote meanwhile: what we computed is stale
        raise NewsdeskError(f"could not assign article {article_id}: the stories kept changing")


def rebuild_window(storage: Storage, config: ClusterConfig | None = None) -> int:
    """Rebuild this process's clusterer from the stories of the window now, as a restarted worker
    does on its first assignment. Returns the number of window articles replayed."""
    with _lock(storage.url):
        engine = _engines[storage.url] = _rebuild(storage, config or ClusterConfig())
        return engine.replayed


#: articles listed per sweep query
SWEEP_BATCH = 500


def sweep_unassigned(storage: Storage, config: ClusterConfig | None = None, *, now: datetime | None = None,
                     may_continue: Callable[[], bool] | None = None) -> int:
    """Assign every article stored within the window (fetched_at) that is in no story yet: what a
    killed worker's in-memory queue held. Idempotent (assign_article skips an assigned article) and
    safe beside other workers (the generation check). `may_continue` is asked before each article
    (the story lease). Returns the number of articles assigned."""
    cfg = config or ClusterConfig()
    since = (now or datetime.now(UTC)) - cfg.window
    assigned = 0
    failed: set[int] = set()
    while True:
        batch = [a for a in storage.unassigned_articles(since, SWEEP_BATCH + len(failed)) if a not in failed]
        if not batch:
            return assigned
        for article_id in batch:
            if may_continue is not None and not may_continue():
                return assigned
            if assign_article_safely(storage, article_id, cfg) is None:
                failed.add(article_id)  # logged; tried again by the next sweep, not in a loop now
            else:
                assigned += 1


def _assign_once(storage: Storage, engine: _Engine, prepared: PreparedArticle,
                 lookup: AssignmentLookup) -> AssignResult | None:
    p = prepared
    article_id, title, at, canon, digest, entity_rows = p.article_id, p.title, p.at, p.canon, p.digest, p.entity_rows

    duplicate = lookup.duplicate
    original: StoryMember | Placement | None = lookup.duplicate_placement
    if duplicate is None and p.signature is not None:
        for key, _score in engine.near.query_scored_signature(p.signature):
            if int(key) != article_id:
                duplicate = (int(key), "near")
                original = storage.story_of_article(duplicate[0])
                break
    if duplicate is not None and original is not None:
        root = _root(storage, original)
        rec = AssignmentRecord(
            article_id, original.story_id, title, at, HOW_DUPLICATE, 1.0, duplicate_of=root,
            duplicate_how=duplicate[1], canonical_url=canon, content_hash=digest, entities=entity_rows)
        stored = storage.record_assignment(rec, engine.generation)
        if stored is None:
            return None
        engine.generation = stored[0]
        return AssignResult(article_id, stored[1], HOW_DUPLICATE, 1.0, root, duplicate[1])

    same = p.config == engine.clusterer.config
    a: Assignment = engine.clusterer.assign(p.item, p.features if same else None)
    story_id = None if a.new_story else engine.to_db.get(a.story_id)
    merged = []
    for inner in a.merged:
        db_id = engine.to_db.pop(inner, None)
        if db_id is None or db_id == story_id:
            continue
        try:
            if storage.get_story(db_id, outlets=False).locked:
                continue  # an operator's choice stands
        except NotFoundError:
            continue
        merged.append(db_id)
    how = HOW_NEW if story_id is None else HOW_CLUSTER
    rec = AssignmentRecord(
        article_id, story_id, title, at, how, a.score if story_id is not None else 0.0,
        a.shared_entities, a.shared_terms, merged=tuple(merged), canonical_url=canon, content_hash=digest,
        entities=entity_rows)
    try:
        # storage follows the target's merged_into links (merged, maybe more than once) in the
        # write's own transaction
        stored = storage.record_assignment(rec, engine.generation)
    except NotFoundError:
        # the target story is gone, or merged over more than MERGE_HOPS links: start a new one
        rec = replace(rec, story_id=None, how=HOW_NEW, score=0.0)
        stored = storage.record_assignment(rec, engine.generation)
    if stored is None:
        return None
    engine.generation, db_story = stored
    engine.to_db[a.story_id] = db_story
    engine.near.add_signature(str(article_id), p.signature, at)
    return AssignResult(article_id, db_story, rec.how, rec.score)


def assign_article_safely(storage: Storage, article_id: int,
                          config: ClusterConfig | None = None) -> AssignResult | None:
    """assign_article for the ingest: a failure is logged, never stops storing articles (the
    article stays readable, only outside a story)."""
    try:
        return assign_article(storage, article_id, config)
    except Exception:
        log.exception("could not put article %s into a story", article_id)
        return None


def split_article(storage: Storage, article_id: int) -> int:
    """Move an article (and its duplicates) into a story of its own; kept. Returns the new story id."""
    with _lock(storage.url):
        return storage.split_article(article_id, datetime.now(UTC))


def merge_stories(storage: Storage, story_id: int, into_id: int) -> None:
    """Fold one story into another; kept."""
    with _lock(storage.url):
        storage.merge_stories(story_id, into_id, datetime.now(UTC))


def add_topic(storage: Storage, name: str, *, entities: tuple[str, ...] = (), keywords: tuple[str, ...] = (),
              source_ids: tuple[int, ...] = (), query: str = "", slug: str | None = None) -> Topic:
    """Save a topic. `entities` are entity keys ("place:greenland") or stored entity names."""
    entity_ids = []
    for ref in entities:
        found = storage.find_entity(ref.strip())
        if found is None:
            raise NotFoundError(f"no entity {ref!r} is known yet")
        entity_ids.append(found.id)
    definition = TopicDefinition(tuple(entity_ids), tuple(k.strip() for k in keywords if k.strip()),
                                 tuple(source_ids), " ".join(query.split())[:200])
    return storage.add_topic(slug or slugify(name), name.strip() or "topic", definition, datetime.now(UTC))


def story_window(config: ClusterConfig | None = None) -> timedelta:
    return (config or ClusterConfig()).window


# -- reading ------------------------------------------------------------------------------------

#: articles shown on a topic or entity page, and in their Atom feeds
TOPIC_PAGE = 50


@dataclass(frozen=True)
class StoryView:
    story: StoredStory
    #: the distinct articles, earliest first (duplicates are folded into `also`)
    members: tuple[StoryMember, ...]
    #: article id -> its duplicates ("also published by ...")
    also: dict[int, tuple[StoryMember, ...]]
    #: the article that reported first
    first: StoryMember | None
    #: (minutes after the first report, member), earliest first
    timeline: tuple[tuple[int, StoryMember], ...]


def story_page(storage: Storage, story_id: int) -> StoryView:
    """A story with every outlet's article; a merged story answers with the one it went into.
    Raises NotFoundError."""
    story = storage.get_story(story_id)
    hops = 0
    while story.merged_into is not None and hops < MAX_HOPS:
        story = storage.get_story(story.merged_into)
        hops += 1
    everything = storage.story_members(story.id)
    members = tuple(m for m in everything if m.duplicate_of is None)
    also: dict[int, list[StoryMember]] = {}
    for m in everything:
        if m.duplicate_of is not None:
            also.setdefault(m.duplicate_of, []).append(m)
    first = members[0] if members else (everything[0] if everything else None)
    timeline = tuple(
        (int((m.sort_at - first.sort_at).total_seconds() // 60), m) for m in members[:12]
    ) if first is not None else ()
    return StoryView(story, members, {k: tuple(v) for k, v in also.items()}, first, timeline)


def _key(cursor: ArticleCursor | None) -> tuple[datetime, int] | None:
    return (cursor.sort_at, cursor.id) if cursor is not None else None


def list_stories(storage: Storage, *, limit: int = 30, cursor: ArticleCursor | None = None) -> list[StoredStory]:
    """Live stories by latest activity, newest first; `cursor` is the (last_seen, id) of the last
    story of the previous page."""
    return storage.list_stories(limit=limit, cursor=_key(cursor))


def story_entities(storage: Storage, view: StoryView, limit: int = 20) -> list[EntityRecord]:
    """The names that tie a story together: the leading names of its first articles, each once."""
    names: dict[int, EntityRecord] = {}
    first = [m.article_id for m in view.members[:20]]
    found = storage.entities_of_articles(first, per_article=8)
    for article_id in first:
        for e in found.get(article_id, ()):
            names.setdefault(e.id, e)
    return list(names.values())[:limit]


def story_ids(storage: Storage, article_ids: list[int]) -> dict[int, int]:
    """article id -> its story id (articles outside any story are left out)."""
    return storage.story_ids_of_articles(article_ids) if article_ids else {}


def list_entities(storage: Storage, *, kind: str | None = None, name: str | None = None, limit: int = 50,
                  after: tuple[str, int] | None = None) -> list[EntityRecord]:
    """Entities by name; `kind` an exact type (person, place, org, ...), `name` a prefix."""
    return storage.list_entities(kind=kind, name=name, limit=limit, after=after)


def entity_stories(storage: Storage, entity_id: int, *, limit: int = 30,
                   cursor: ArticleCursor | None = None) -> list[StoredStory]:
    return storage.entity_stories(entity_id, limit, _key(cursor))


def entity_articles(storage: Storage, entity_id: int, *, limit: int = TOPIC_PAGE,
                    cursor: ArticleCursor | None = None) -> list[ArticleListItem]:
    return storage.entity_articles(entity_id, limit, _key(cursor))


def get_entity(storage: Storage, entity_id: int) -> EntityRecord:
    """Raises NotFoundError."""
    return storage.get_entity(entity_id)


def get_topic(storage: Storage, slug: str) -> Topic:
    """Raises NotFoundError."""
    return storage.get_topic(slug[:80])


def list_topics(storage: Storage) -> list[Topic]:
    """Every topic, by name."""
    return storage.list_topics()


@dataclass(frozen=True)
class EntityView:
    entity: EntityRecord
    #: the latest stories naming it, newest activity first
    stories: list[StoredStory]
    #: the latest articles naming it, newest first
    articles: list[ArticleListItem]


def entity_page(storage: Storage, entity_id: int, *, stories: int = 30, articles: int = TOPIC_PAGE) -> EntityView:
    """An entity with its latest stories and articles. Raises NotFoundError."""
    entity = storage.get_entity(entity_id)
    return EntityView(entity, storage.entity_stories(entity_id, stories), storage.entity_articles(entity_id, articles))


#: the best search matches of each topic keyword (and of its query) that the topic follows
TOPIC_SEARCH_DEPTH = 500
#: the most articles of a topic one call returns (storage lists at most 500 at a time)
MAX_TOPIC_PAGE = 500


def topic_articles(storage: Storage, topic: Topic, limit: int = TOPIC_PAGE,
                   cursor: ArticleCursor | None = None) -> list[ArticleListItem]:
    """A topic's articles, newest first: those naming its entities, from its sources, or among the
    TOPIC_SEARCH_DEPTH best matches of its keywords or search query. `cursor` continues after the
    (sort_at, id) of the previous page's last article (keyset: pages neither skip nor repeat)."""
    d = topic.definition
    key = _key(cursor)
    limit = max(0, min(limit, MAX_TOPIC_PAGE))
    found: dict[int, ArticleListItem] = {}
    for item in storage.articles_matching(d.entity_ids, d.source_ids, limit, key):
        found[item.id] = item
    for item in topic_search_matches(storage, topic):
        if key is None or (item.sort_at, item.id) < key:
            found.setdefault(item.id, item)
    return sorted(found.values(), key=lambda i: (i.sort_at, i.id), reverse=True)[:limit]


def topic_search_matches(storage: Storage, topic: Topic) -> list[ArticleListItem]:
    """The part of a topic that its keywords and search query find: the TOPIC_SEARCH_DEPTH best
    matches of each (the rest of the topic is what StoriesStorage.articles_matching finds)."""
    d = topic.definition
    return [item for query in (*d.keywords, d.query) if query.strip()
            for item in storage.search_articles(query, limit=TOPIC_SEARCH_DEPTH)]


def topic_page(storage: Storage, slug: str, limit: int = TOPIC_PAGE) -> tuple[Topic, list[ArticleListItem]]:
    """A topic and its latest articles. Raises NotFoundError."""
    topic = get_topic(storage, slug)
    return topic, topic_articles(storage, topic, limit)


def context_article_ids(storage: Storage, context: ListContext) -> list[int]:
    """The article ids a story or topic list walks, in reading order."""
    try:
        if context.kind == "story" and context.story_id is not None:
            return [m.article_id for m in story_page(storage, context.story_id).members]
        if context.kind == "topic":
            return [i.id for i in topic_articles(storage, storage.get_topic(context.query))]
    except NotFoundError:
        return []
    return []


# -- batch clustering (the CLI's `stories cluster`) ---------------------------------------------

#: fields of one input line longer than this are cut
MAX_FIELD_CHARS = 100_000


def _parse_time(raw: object, fallback: datetime) -> datetime:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        seconds = raw / 1000 if raw > 10_000_000_000 else raw
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return fallback
    if isinstance(raw, str) and raw.strip():
        try:
            when = datetime.fromisoformat(raw.strip()[:40].replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return fallback


def cluster_items(items: Iterable[Mapping[str, object]],
                  config: ClusterConfig | None = None) -> list[tuple[object, int]]:
    """Run items (id, title, optional text, url, publisher, timestamp, lang) in the given order
    through the same path as the ingest (store, dedupe, cluster) in a throw-away SQLite store;
    returns (id, story) per item, with the stories as they stand after the last item."""
    from ..models import NewArticle, NewSource
    from ..storage import open_storage

    with tempfile.TemporaryDirectory(prefix="newsdesk-cluster-") as folder:
        storage = open_storage(f"sqlite:///{Path(folder) / 'cluster.sqlite'}")
        try:
            storage.migrate()
            sources: dict[str, int] = {}
            by_url: dict[str, int] = {}
            order: list[tuple[object, int]] = []
            clock = datetime(2000, 1, 1, tzinfo=UTC)
            for n, item in enumerate(items):
                key = item.get("id", n)
                title = str(item.get("title") or "")[:MAX_FIELD_CHARS]
                text = str(item.get("text") or "")[:MAX_FIELD_CHARS]
                publisher = str(item.get("publisher") or "unknown")[:200]
                url = str(item.get("url") or f"https://item.invalid/{n}")[:2000]
                lang = item.get("lang")
                clock = _parse_time(item.get("timestamp", item.get("timestamp_ms")), clock)
                if publisher not in sources:
                    sources[publisher] = storage.add_source(
                        NewSource(url=f"https://{slugify(publisher)}-{len(sources)}.invalid/", title=publisher),
                        clock).id
                article_id = by_url.get(url)
                if article_id is None:
                    stored = storage.add_article(NewArticle(
                        source_id=sources[publisher], url=url, title=title, fetched_at=clock, published_at=clock,
                        language=str(lang)[:16] if lang else None, text=text))
                    if stored is None:
                        continue
                    article_id = by_url[url] = stored
                    assign_article(storage, article_id, config)
                order.append((key, article_id))
            out = []
            for key, article_id in order:
                member = storage.story_of_article(article_id)
                out.append((key, member.story_id if member is not None else 0))
            return out
        finally:
            storage.close()
            with _guard:
                _engines.pop(storage.url, None)
