"""Incremental story clustering, pure: one call per new article, no database, no IO.

`StoryClusterer.assign(item)` puts an article into the story it belongs to (one event, every outlet,
every language) or starts a new one, and says why: the entities and words it shares with the story.

How an article is compared, and why:

* **Features**: Snowball-stemmed title words (weight 1), opening body words (lighter, sub-linear tf),
  adjacent title word pairs, the words of the URL slug (lighter: ".../mt-gox-files-us-bankruptcy"
  often says more than the headline), and entity ids from `entities.extract_entities`. Entity ids are the
  bridge between languages: "Trump belt Rutte over Groenland" and "Trump calls Rutte about
  Greenland" share person:donald-trump, person:mark-rutte and place:greenland.
* **Weights**: idf from document frequencies kept *incrementally over the window*, so rare words
  and names count more than "says" or "new", and the vocabulary forgets what went cold.
* **Headline embeddings** (when the item carries one, stories.embedding): a multilingual sentence
  encoder's cosine to the story's mean vector is blended into the score, and a join or merge needs
  the headlines to agree at all (the gate): shared event words ("files for bankruptcy") or body
  words (a tariffs article's body names Greenland) no longer carry one event into another, and a
  Dutch and an English headline meet without two shared names.
* **Two similarities**: cosine to the story's centroid (what the story is about) and cosine to the
  best-matching recent member (single link: a new angle that closely repeats one earlier headline).
  The member match needs to be strict on its own, since single link alone chains unrelated stories.
* **Time**: stories go cold after `window`; only warm stories are candidates, and a story's score
  fades mildly with its age. Everything kept (postings, members, df) is bounded by the window.
* **Candidates** come from an inverted index feature -> recent members (postings capped per
  feature, very common features skipped), so assignment cost depends on the item, not the archive.
* **Bounded growth**: the threshold rises with a story's size and a story closes at `max_size`, so
  a burst of near-identical items cannot grow one giant story or make assignment quadratic.
* **Merges**: after an assignment, a story whose centroid has become very close to another warm
  story's absorbs it; `Assignment.merged` lists the absorbed story ids so storage can follow. A
  grown story also absorbs small stories at a lower bar (regrouping): their items arrived before it
  had the words to take them in. Across languages only the headline's names count (body-only names
  are context: a tariffs article's body names Greenland).

Deterministic for a given input order: no randomness, ties broken by story id.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import mul
from typing import Any

import numpy as np
import numpy.typing as npt
import Stemmer

from .entities import Entity, extract_entities, load_gazetteer, stopwords
from .postings import Postings

__all__ = [
    "Assignment",
    "ClusterConfig",
    "ClusterItem",
    "Features",
    "StoryClusterer",
    "StorySummary",
    "item_features",
    "slug_words",
]

_STEMMERS = {"en": "english", "nl": "dutch", "de": "german", "fr": "french"}
_WORD = re.compile(r"\w+", re.UNICODE)
_STATE_VERSION = 1


@dataclass(frozen=True)
class ClusterItem:
    """One article as the clusterer sees it."""

    id: str | int
    title: str
    #: aware datetime; the clock of the stream (naive times are taken as UTC)
    published: datetime
    #: plain body text, if any; only its opening is read (ClusterConfig.body_words)
    text: str | None = None
    #: "nl", "en", "de", "fr"; None or anything else works, with generic rules
    language: str | None = None
    #: the outlet, for the story page (not used to score)
    source: str | None = None
    #: precomputed entities; extracted from title and text when None
    entities: tuple[Entity, ...] | None = None
    #: the article's URL: the words of its slug (".../us-bitcoin-mtgox-bankruptcy-idUS...") often say
    #: more than the headline; read as lighter features
    url: str | None = None
    #: a sentence embedding of the headline (stories.embedding), or None: scored beside the words
    embedding: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True)
class Assignment:
    """Where an item went and why."""

    item_id: str | int
    story_id: int
    #: True when the item started the story
    new_story: bool
    #: the similarity that tied it to the story (0.0 for a new story)
    score: float
    #: the story member it resembled most, if any
    matched_item_id: str | int | None = None
    #: names of the entities it shares with the story, most telling first
    shared_entities: tuple[str, ...] = ()
    #: words it shares with the story (its own spelling), rarest first
    shared_terms: tuple[str, ...] = ()
    #: stories merged into story_id just now; storage should move their items to story_id
    merged: tuple[int, ...] = ()
    #: the story is at max_size and accepts no more items (a continuation starts a new story)
    story_closed: bool = False

    @property
    def explanation(self) -> str:
        if self.new_story:
            return "new story"
        parts = []
        if self.shared_entities:
            parts.append("shares " + ", ".join(self.shared_entities))
        if self.shared_terms:
            parts.append("words: " + ", ".join(self.shared_terms))
        why = "; ".join(parts) or "similar wording"
        return f"joined story {self.story_id} (score {self.score:.2f}): {why}"


@dataclass(frozen=True)
class StorySummary:
    id: int
    size: int
    first_seen: datetime
    last_seen: datetime
    #: the most weighty entity names and terms of the story
    top_entities: tuple[str, ...]
    top_terms: tuple[str, ...]
    closed: bool


@dataclass(frozen=True)
class ClusterConfig:
    """Tuning knobs; the defaults were chosen on the UCI dev set (see docs/benchmarks.md)."""

    #: stories go cold this long after their last item
    window: timedelta = timedelta(days=3)
    #: memory is kept this much longer than the window, so that an article that arrives late (a feed
    #: polled after a pause, a sitemap read days later) still meets the stories of its own time
    late_arrival: timedelta = timedelta(days=2)
    #: join threshold on the combined score
    threshold: float = 0.17
    #: weight of the centroid similarity in the combined score (the rest is the best member's)
    centroid_weight: float = 0.85
    #: a best-member similarity this high joins on its own (single link)
    member_link: float = 0.6
    #: score fades linearly by up to this fraction over the window
    time_decay: float = 0.1
    #: the threshold rises by this much per doubling of size past growth_start
    growth_penalty: float = 0.03
    growth_start: int = 100
    #: a story takes no more items at this size
    max_size: int = 1000
    #: merge two warm stories whose centroids are at least this similar
    merge_threshold: float = 0.2
    merge_probe_features: int = 20
    merge_candidates: int = 5
    #: regrouping: a story of at most regroup_size members is absorbed by a growing story of at least
    #: regroup_min_story members at this lower bar: its items came before the big story had the words
    #: to take them in (a singleton "Chris Harrison: no chubby Bachelor" before the finale story says
    #: "Harrison" often); regroup_size 0 turns it off
    regroup_size: int = 5
    regroup_threshold: float = 0.12
    regroup_min_story: int = 10
    #: feature weights
    title_weight: float = 1.0
    body_weight: float = 0.1
    bigram_weight: float = 0.5
    entity_weight: float = 0.5
    #: across languages only names carry over: an item whose language differs from the story's
    #: also scores this fraction of its cosine over entity features alone (needs two shared entities)
    cross_language_weight: float = 0.5
    #: entities named only in the body, not the title: related context more than the event itself
    #: (a tariffs story's body mentions Greenland; its headline does not)
    body_entity_weight: float = 0.2
    #: body words read per item
    body_words: int = 300
    #: words of the URL slug (ids, dates and hex left out) not already in the title; 0 turns them off
    slug_weight: float = 0.5
    slug_words: int = 30
    #: headline embeddings (stories.embedding; only when items carry one, else words alone): the
    #: score is (1 - w) * words + w * embedding, the embedding's cosine to the story's mean vector
    #: rescaled so that embedding_floor counts as 0 (unrelated UCI headlines: median cosine 0.11)
    embedding_weight: float = 0.35
    embedding_floor: float = 0.35
    #: and a join or merge needs at least this cosine: the headlines must agree, not only the bodies
    #: or the event words (a tariffs article's body names Greenland, NATO and the Netherlands; "Sbarro
    #: files for bankruptcy" is not the Mt. Gox story, cosine 0.25 to it, 0.71 to its own)
    embedding_gate: float = 0.3
    #: bounds that keep assignment cost independent of the archive
    postings_cap: int = 100
    common_feature_skip: float = 0.1
    members_kept: int = 200
    candidate_stories: int = 30
    centroid_features: int = 400
    #: entries of the word -> stem cache
    stem_cache: int = 100_000


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Any:
    return Stemmer.Stemmer(_STEMMERS[language])


def _lang(language: str | None) -> str:
    lang = (language or "").split("-")[0].split("_")[0].lower()
    return lang if lang in _STEMMERS else ""


def _fold(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def _tokens(text: str, lang: str, stop: frozenset[str]) -> list[tuple[str, str]]:
    """(stem, surface) of the content words of a text."""
    out = []
    stemmer = _stemmer(lang) if lang else None
    for m in _WORD.finditer(text.casefold().replace("'s ", " ").replace("’s ", " ")):
        word = m.group(0)
        if len(word) < 2 or word.isdigit() and len(word) < 3:
            continue
        folded = _fold(word)
        if folded in stop or word in stop:
            continue
        stem = stemmer.stemWord(word) if stemmer is not None else word
        out.append((_fold(stem), word))
    return out


#: path words that name the page type or section, not the story
_URL_NOISE = frozenset(
    [
        *("html", "htm", "shtml", "php", "asp", "aspx", "jsp", "cfm", "cms", "www", "com", "amp"),
        *("story", "stories", "article", "articles", "news", "index", "print", "default", "view"),
        *("detail", "id"),
    ]
)
_SLUG_SPLIT = re.compile(r"[^0-9a-zA-Z\u00c0-\uffff]+")


def slug_words(url: str) -> list[str]:
    """The words of a URL's slug: path segments that read as phrases ("mt-gox-files-bankruptcy"),
    split on punctuation; tokens holding digits (ids, dates, hex) and page-type words dropped."""
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].split("#", 1)[0]
    path = re.sub(r"%[0-9a-fA-F]{2}", "-", path)
    out: list[str] = []
    for segment in path.split("/"):
        parts = [p for p in _SLUG_SPLIT.split(segment) if p]
        if len(parts) < 3:
            continue  # "business", "2014", "article.html": sections and ids, not a slug
        for part in parts:
            low = part.lower()
            if any(ch.isdigit() for ch in low) or low in _URL_NOISE:
                continue
            out.append(low)
    return out


@dataclass
class _Features:
    weights: dict[str, float]
    #: feature -> the item's own spelling, for explanations
    surface: dict[str, str]
    #: entity features named in the body only (not the title)
    body_only: frozenset[str] = frozenset()
    #: the item's unit sentence embedding, if it has one
    embedding: npt.NDArray[np.float32] | None = None


#: what item_features returns (StoryClusterer.assign takes it precomputed)
Features = _Features


def item_features(item: ClusterItem, config: ClusterConfig | None = None) -> _Features:
    """The weighted features of an item (before idf): stems, title bigrams and entity ids."""
    cfg = config or ClusterConfig()
    lang = _lang(item.language)
    stop = stopwords(lang or None) | stopwords("en")
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    title_toks = _tokens((item.title or "")[:1000], lang, stop)
    for stem, word in title_toks:
        weights[stem] = cfg.title_weight
        surface.setdefault(stem, word)
    for (a, wa), (b, wb) in zip(title_toks, title_toks[1:], strict=False):
        if a != b:
            key = f"b:{a} {b}"
            weights[key] = cfg.bigram_weight
            surface.setdefault(key, f"{wa} {wb}")
    if item.url and cfg.slug_weight > 0:
        for stem, word in _tokens(" ".join(slug_words(item.url)[: cfg.slug_words]), lang, stop):
            if stem not in weights:
                weights[stem] = cfg.slug_weight
                surface.setdefault(stem, word)
    if item.text:
        counts: dict[str, int] = {}
        for stem, word in _tokens(item.text[: cfg.body_words * 12], lang, stop)[: cfg.body_words]:
            counts[stem] = counts.get(stem, 0) + 1
            surface.setdefault(stem, word)
        for stem, n in counts.items():
            weights[stem] = max(weights.get(stem, 0.0), 0.0) + cfg.body_weight * (1.0 + math.log(n))
    ents = item.entities
    if ents is None:
        ents = tuple(extract_entities(item.title or "", item.text, item.language))
    names = load_gazetteer().names
    in_title = {e.id for e in extract_entities(item.title or "", None, item.language)} if item.text else None
    body_only = set()
    for ent in ents[:40]:
        key = "e:" + ent.id
        base = cfg.entity_weight if in_title is None or ent.id in in_title else cfg.body_entity_weight
        if in_title is not None and ent.id not in in_title:
            body_only.add(key)
        weights[key] = base * (1.0 + 0.5 * math.log(max(ent.count, 1)))
        surface[key] = names.get(ent.id, ent.name)
    emb = None
    if item.embedding is not None:
        emb = np.asarray(item.embedding, dtype=np.float32).ravel()
        length = float(np.linalg.norm(emb))
        emb = emb / length if length > 0 and math.isfinite(length) else None
    return _Features(weights, surface, frozenset(body_only), emb)


@dataclass
class _Member:
    item_id: str | int
    story_id: int
    at: datetime
    weights: dict[str, float]
    norm: float
    seq: int
    #: the document count the norm was computed at (idf drifts as the window fills)
    norm_n: int = 0


@dataclass
class _Story:
    id: int
    first_seen: datetime
    last_seen: datetime
    size: int = 0
    centroid: dict[str, float] = field(default_factory=dict)
    centroid_norm: float = 1.0
    members: deque[_Member] = field(default_factory=deque)
    surface: dict[str, str] = field(default_factory=dict)
    closed: bool = False
    norm_n: int = 0
    #: norm of the centroid's entity part, for cross-language matching
    entity_norm: float = 1.0
    #: members per language
    languages: dict[str, int] = field(default_factory=dict)
    #: sum of the members' unit embeddings (None until a member brings one)
    emb: npt.NDArray[np.float32] | None = None
    #: np.linalg.norm(emb), kept beside it (_set_emb): every candidate's cosine reads it
    emb_norm: np.float32 | None = None


def _set_emb(story: _Story, emb: npt.NDArray[np.float32] | None) -> None:
    story.emb = emb
    story.emb_norm = np.linalg.norm(emb) if emb is not None else None


class _IdfTable(dict[int, float]):
    """idf by document frequency at one window size: log((N + 2) / (df + 1)) + 1, computed once per
    df value met (a few hundred distinct values) instead of once per feature read (thousands per
    assignment: the member and centroid norms). The same expression, so the same floats."""

    __slots__ = ("n2",)

    def __init__(self, n2: int) -> None:
        super().__init__()
        #: N + 2, N the documents in the window when the table was made
        self.n2 = n2

    def __missing__(self, df: int) -> float:
        value = self[df] = math.log(self.n2 / (df + 1)) + 1.0
        return value


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


class StoryClusterer:
    """Assigns items to stories one at a time. See the module docstring for the method."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self._stories: dict[int, _Story] = {}
        self._next_story = 1
        self._seq = 0
        self._clock: datetime | None = None
        #: document frequencies over the members in the window
        self._df: dict[str, int] = {}
        self._n_docs = 0
        #: feature -> recent members (capped), in numpy arrays: the candidate loop sums them in C
        self._postings = Postings(self.config.postings_cap)
        #: members in arrival order, for expiry
        self._window: deque[_Member] = deque()
        #: (last_seen, story id) of warm stories; lazily cleaned
        self._cold_heap: list[tuple[datetime, int]] = []
        self._item_story: dict[str | int, int] = {}
        self._idf_by_df = _IdfTable(2)

    # -- public ---------------------------------------------------------------------------------

    def assign(self, item: ClusterItem, features: _Features | None = None) -> Assignment:
        """Put `item` into a story. `features` are item_features(item, self.config) computed
        beforehand (they depend on the item alone, so a caller can compute them outside its lock)."""
        cfg = self.config
        at = _aware(item.published)
        if self._clock is None or at > self._clock:
            self._clock = at
        self._expire()
        if item.id in self._item_story:
            # the same item again (a re-fetch): its story, unchanged
            sid = self._item_story[item.id]
            return Assignment(item.id, sid, False, 1.0, item.id)
        feats = features if features is not None else item_features(item, cfg)
        tab, df_of = self._idfs(), self._df.get  # self._idf, inlined
        idfs = {f: tab[df_of(f, 0)] for f in feats.weights}
        vec = {f: w * idfs[f] for f, w in feats.weights.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0

        best: tuple[float, int, _Member | None, float] | None = None  # (score, story, member, raw)
        lang = _lang(item.language)
        # across languages the headline's names carry the match: names only in the body are context
        # (a tariffs article's body names Greenland, Rutte and Trump; its headline names none)
        ents = {f: v for f, v in vec.items() if f.startswith("e:") and f not in feats.body_only}
        ent_norm = math.sqrt(sum(v * v for v in ents.values())) or 1.0
        item_norm = np.linalg.norm(feats.embedding) if feats.embedding is not None else None
        for sid, member, member_sim in self._candidates(vec, norm, idfs):
            story = self._stories[sid]
            centroid_sim = self._dot_centroid(vec, story, idfs) / (norm * story.centroid_norm)
            combined = cfg.centroid_weight * centroid_sim + (1 - cfg.centroid_weight) * member_sim
            cos = self._cosine(feats.embedding, item_norm, story.emb, story.emb_norm)
            if self._gated(cos):
                continue
            combined = self._blend(combined, cos)
            combined = max(combined, member_sim if member_sim >= cfg.member_link else 0.0)
            if lang and len(ents) >= 2 and story.languages and lang not in story.languages:
                combined = max(combined, cfg.cross_language_weight * self._entity_sim(ents, ent_norm, story, idfs))
            if at - story.last_seen > cfg.window or story.first_seen - at > cfg.window:
                continue  # cold for this item: a late arrival is compared with the stories of its own days
            age = (at - story.last_seen).total_seconds() if at > story.last_seen else 0.0
            decay = 1.0 - cfg.time_decay * min(1.0, age / cfg.window.total_seconds())
            score = combined * decay
            if score < self._threshold(story.size):
                continue
            if best is None or score > best[0] or (score == best[0] and sid < best[1]):
                best = (score, sid, member, combined)

        if best is None:
            story = self._new_story(at)
            self._add_member(story, item, feats, at)
            return Assignment(item.id, story.id, True, 0.0)

        score, sid, member, _ = best
        story = self._stories[sid]
        shared_e, shared_t = self._explain(feats, vec, story)
        self._add_member(story, item, feats, at)
        merged = self._maybe_merge(story)
        return Assignment(
            item.id,
            story.id,
            False,
            round(score, 4),
            member.item_id if member is not None else None,
            shared_e,
            shared_t,
            merged,
            story.closed,
        )

    def story_of(self, item_id: str | int) -> int | None:
        """The story an item was put in (or merged into), while the clusterer remembers it."""
        sid = self._item_story.get(item_id)
        return sid

    def stories(self) -> list[StorySummary]:
        """The warm stories, newest activity first."""
        out = []
        for story in self._stories.values():
            ranked = sorted(story.centroid.items(), key=lambda kv: (-kv[1] * self._idf(kv[0]), kv[0]))
            ents = tuple(story.surface.get(f, f) for f, _ in ranked if f.startswith("e:"))[:5]
            terms = tuple(story.surface.get(f, f) for f, _ in ranked if not f.startswith(("e:", "b:")))[:8]
            out.append(
                StorySummary(
                    story.id, story.size, story.first_seen, story.last_seen, ents, terms, story.closed
                )
            )
        out.sort(key=lambda s: (s.last_seen, s.id), reverse=True)
        return out

    # -- state ----------------------------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of everything in the window, for persisting and rebuilding.

        Its size is bounded by the window, like the clusterer's memory."""

        def member(m: _Member) -> dict[str, Any]:
            return {
                "item_id": m.item_id,
                "story_id": m.story_id,
                "at": m.at.isoformat(),
                "weights": m.weights,
                "norm": m.norm,
                "norm_n": m.norm_n,
                "seq": m.seq,
            }

        stories = [
            {
                "id": story.id,
                "first_seen": story.first_seen.isoformat(),
                "last_seen": story.last_seen.isoformat(),
                "size": story.size,
                "centroid": story.centroid,
                "surface": story.surface,
                "closed": story.closed,
                "centroid_norm": story.centroid_norm,
                "norm_n": story.norm_n,
                "members": [m.seq for m in story.members],
                "entity_norm": story.entity_norm,
                "languages": story.languages,
                "emb": story.emb.tolist() if story.emb is not None else None,
            }
            for story in self._stories.values()
        ]
        return {
            "version": _STATE_VERSION,
            "next_story": self._next_story,
            "seq": self._seq,
            "clock": self._clock.isoformat() if self._clock else None,
            "stories": stories,
            "window": [member(m) for m in self._window],
            "df": self._df,
            "n_docs": self._n_docs,
            "item_story": [[k, v] for k, v in self._item_story.items()],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], config: ClusterConfig | None = None) -> StoryClusterer:
        """Rebuild a clusterer from export_state(); it continues exactly as the original would."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported clusterer state version {state.get('version')!r}")
        self = cls(config)
        self._next_story = int(state["next_story"])
        self._seq = int(state["seq"])
        self._clock = datetime.fromisoformat(state["clock"]) if state.get("clock") else None
        by_seq: dict[int, _Member] = {}
        for m in state["window"]:
            mem = _Member(
                m["item_id"],
                int(m["story_id"]),
                datetime.fromisoformat(m["at"]),
                {k: float(v) for k, v in m["weights"].items()},
                float(m["norm"]),
                int(m["seq"]),
                int(m.get("norm_n", 0)),
            )
            by_seq[mem.seq] = mem
            self._window.append(mem)
        for raw in state["stories"]:
            story = _Story(
                int(raw["id"]),
                datetime.fromisoformat(raw["first_seen"]),
                datetime.fromisoformat(raw["last_seen"]),
                int(raw["size"]),
                {k: float(v) for k, v in raw["centroid"].items()},
                float(raw["centroid_norm"]),
                deque(by_seq[int(q)] for q in raw["members"] if int(q) in by_seq),
                dict(raw["surface"]),
                bool(raw["closed"]),
                int(raw["norm_n"]),
                float(raw.get("entity_norm", 1.0)),
                {str(k): int(v) for k, v in raw.get("languages", {}).items()},
            )
            _set_emb(story, np.asarray(raw["emb"], dtype=np.float32) if raw.get("emb") is not None else None)
            self._stories[story.id] = story
            heapq.heappush(self._cold_heap, (story.last_seen, story.id))
        self._df = {k: int(v) for k, v in state["df"].items()}
        self._n_docs = int(state["n_docs"])
        self._item_story = {k: int(v) for k, v in state["item_story"]}
        for mem in self._window:  # arrival order rebuilds the capped postings as they were
            self._postings.add_member(mem)
        return self

    # -- internals ------------------------------------------------------------------------------

    def _idfs(self) -> _IdfTable:
        """The idf table of the window as it is now (a new one whenever the window's size moved)."""
        tab = self._idf_by_df
        if tab.n2 != self._n_docs + 2:
            tab = self._idf_by_df = _IdfTable(self._n_docs + 2)
        return tab

    def _idf(self, feature: str) -> float:
        return self._idfs()[self._df.get(feature, 0)]

    def _threshold(self, size: int) -> float:
        cfg = self.config
        if size >= cfg.max_size:
            return math.inf
        extra = (
            cfg.growth_penalty * max(0.0, math.log2(size / cfg.growth_start))
            if size > cfg.growth_start
            else 0.0
        )
        return cfg.threshold + extra

    def _candidates(
        self, vec: dict[str, float], norm: float, idfs: dict[str, float]
    ) -> Iterable[tuple[int, _Member | None, float]]:
        """Warm, open stories sharing a feature with the item: (story id, best member, its cosine)."""
        cfg = self.config
        skip_df = max(50, cfg.common_feature_skip * self._n_docs)
        df_of = self._df.get
        # "says", "new": shared by everything, tell nothing, cost the most
        slots, dots = self._postings.dots([(f, w * idfs[f]) for f, w in vec.items() if df_of(f, 0) <= skip_df])
        if not len(slots):
            return []
        post = self._postings
        story_ids = post.story[slots]
        # members of stories that are gone (merged, cold) or closed are no candidates
        stories = self._stories
        unique, where = np.unique(story_ids, return_inverse=True)
        open_ = np.array([(s := stories.get(sid)) is not None and not s.closed for sid in unique.tolist()], dtype=bool)
        keep = open_[where]
        if not keep.all():
            slots, dots, story_ids = slots[keep], dots[keep], story_ids[keep]
            if not len(slots):
                return []
        n_docs = self._n_docs
        stale = np.flatnonzero(np.abs(n_docs - post.norm_n[slots]) > 0.1 * n_docs + 5)  # self._stale
        if len(stale):
            # self._idf, inlined: stale norms are many as the window fills (and after a rebuild)
            tab = self._idfs()
            for slot in slots[stale].tolist():
                m = post.members[slot]
                m.norm = math.sqrt(sum((w * tab[df_of(f, 0)]) ** 2 for f, w in m.weights.items())) or 1.0
                m.norm_n = n_docs
                post.set_norm(m)
        sims = dots / (norm * post.norm[slots])
        seqs = post.seq[slots]
        # each story's best member: the highest cosine, ties to the earlier member
        order = np.lexsort((seqs, -sims, story_ids))
        first = np.ones(len(order), dtype=bool)
        first[1:] = story_ids[order[1:]] != story_ids[order[:-1]]
        best = order[first]
        ranked = best[np.lexsort((story_ids[best], -sims[best]))][: cfg.candidate_stories]
        return [(sid, post.members[slot], sim) for sid, slot, sim in
                zip(story_ids[ranked].tolist(), slots[ranked].tolist(), sims[ranked].tolist(), strict=True)]

    def _stale(self, norm_n: int) -> bool:
        # idf is log((N + 2) / (df + 1)): norms computed at a much smaller N would overrate matches
        n = self._n_docs
        return abs(n - norm_n) > 0.1 * n + 5

    def _dot_centroid(self, vec: dict[str, float], story: _Story, idfs: dict[str, float]) -> float:
        if self._stale(story.norm_n):
            self._refresh_norm(story)
        c = story.centroid
        # sum(w * c[f] * idfs[f] for f, w in vec.items() if f in c), the same products in the same
        # order, with the features skipped and looked up in C: it runs for every candidate story
        shared = list(filter(c.__contains__, vec))
        dot: float = sum(map(mul, map(mul, map(vec.__getitem__, shared), map(c.__getitem__, shared)),
                             map(idfs.__getitem__, shared)))
        return dot / max(story.size, 1)

    def _refresh_norm(self, story: _Story) -> None:
        size = max(story.size, 1)
        total = ents = 0.0
        tab, df_of = self._idfs(), self._df.get
        for f, w in story.centroid.items():
            sq = (w / size * tab[df_of(f, 0)]) ** 2  # self._idf(f), inlined
            total += sq
            if f.startswith("e:"):
                ents += sq
        story.centroid_norm = math.sqrt(total) or 1.0
        story.entity_norm = math.sqrt(ents) or 1.0
        story.norm_n = self._n_docs

    def _entity_sim(self, ents: dict[str, float], norm: float, story: _Story, idfs: dict[str, float]) -> float:
        """Cosine over entity features only; 0 unless at least two entities are shared."""
        c = story.centroid
        shared = [f for f in ents if f in c]
        if len(shared) < 2:
            return 0.0
        dot = sum(ents[f] * c[f] * idfs[f] for f in shared) / max(story.size, 1)
        return dot / (norm * story.entity_norm)

    @staticmethod
    def _cosine(a: npt.NDArray[np.float32] | None, a_norm: np.float32 | None,
                b: npt.NDArray[np.float32] | None, b_norm: np.float32 | None) -> float | None:
        """Cosine of two embeddings (unit vectors or sums of them) given their np.linalg.norm, kept
        beside them (computed once, not per candidate: the same float32s); None when either is missing."""
        if a is None or b is None or a_norm is None or b_norm is None:
            return None
        den = float(a_norm * b_norm)
        return float(a @ b) / den if den > 0 else 0.0

    def _blend(self, words: float, cos: float | None) -> float:
        """The word similarity blended with the embeddings' cosine; the words alone without one."""
        w = self.config.embedding_weight
        if w <= 0 or cos is None:
            return words
        floor = self.config.embedding_floor
        return (1 - w) * words + w * max(0.0, (cos - floor) / (1 - floor))

    def _gated(self, cos: float | None) -> bool:
        """True when the headlines' embeddings disagree too much for a join or merge."""
        return self.config.embedding_weight > 0 and cos is not None and cos < self.config.embedding_gate

    def _new_story(self, at: datetime) -> _Story:
        story = _Story(self._next_story, at, at)
        self._next_story += 1
        self._stories[story.id] = story
        return story

    def _add_member(self, story: _Story, item: ClusterItem, feats: _Features, at: datetime) -> None:
        cfg = self.config
        for f in feats.weights:
            self._df[f] = self._df.get(f, 0) + 1
        self._n_docs += 1
        tab, df_of = self._idfs(), self._df.get  # self._idf, inlined
        norm = math.sqrt(sum((w * tab[df_of(f, 0)]) ** 2 for f, w in feats.weights.items())) or 1.0
        self._seq += 1
        member = _Member(item.id, story.id, at, dict(feats.weights), norm, self._seq, self._n_docs)
        story.members.append(member)
        if len(story.members) > cfg.members_kept:
            story.members.popleft()
        story.size += 1
        story.last_seen = max(story.last_seen, at)
        lang = _lang(item.language)
        if lang:
            story.languages[lang] = story.languages.get(lang, 0) + 1
        for f, w in feats.weights.items():
            story.centroid[f] = story.centroid.get(f, 0.0) + w
            story.surface.setdefault(f, feats.surface.get(f, f))
        if feats.embedding is not None:
            _set_emb(story, feats.embedding.copy() if story.emb is None else story.emb + feats.embedding)
        if len(story.centroid) > cfg.centroid_features * 2:
            self._prune_centroid(story)
        self._refresh_norm(story)
        if story.size >= cfg.max_size:
            story.closed = True
        self._postings.add_member(member)
        self._window.append(member)
        self._item_story[item.id] = story.id
        heapq.heappush(self._cold_heap, (story.last_seen, story.id))

    def _prune_centroid(self, story: _Story) -> None:
        keep = sorted(story.centroid.items(), key=lambda kv: (-kv[1] * self._idf(kv[0]), kv[0]))
        story.centroid = dict(keep[: self.config.centroid_features])
        story.surface = {f: s for f, s in story.surface.items() if f in story.centroid}

    def _explain(
        self, feats: _Features, vec: dict[str, float], story: _Story
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        shared = [f for f in vec if f in story.centroid]
        shared.sort(key=lambda f: (-vec[f] * story.centroid[f], f))
        ents = tuple(feats.surface.get(f, f) for f in shared if f.startswith("e:"))[:6]
        terms = tuple(feats.surface.get(f, f) for f in shared if not f.startswith(("e:", "b:")))[:8]
        return ents, terms

    def _maybe_merge(self, story: _Story) -> tuple[int, ...]:
        """Absorb warm stories whose centroid is now very close to this one's."""
        cfg = self.config
        if story.closed or cfg.merge_threshold >= 1.0:
            return ()
        size = max(story.size, 1)
        # the story's most weighty features stand for it: bounded cost per assignment
        top = heapq.nlargest(cfg.merge_probe_features * 10, story.centroid.items(), key=lambda kv: kv[1])
        idfs = {f: self._idf(f) for f, _ in top}
        vec = dict(
            sorted(((f, w / size * idfs[f]) for f, w in top), key=lambda kv: (-kv[1], kv[0]))[
                : cfg.merge_probe_features * 5
            ]
        )
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        probe = dict(list(vec.items())[: cfg.merge_probe_features])
        merged: list[int] = []
        for sid, _, _ in list(self._candidates(probe, norm, idfs))[: cfg.merge_candidates]:
            if sid == story.id:
                continue
            other = self._stories[sid]
            if other.size + story.size > cfg.max_size:
                continue
            sim = self._dot_centroid(vec, other, idfs) / (norm * other.centroid_norm)
            cos = self._cosine(story.emb, story.emb_norm, other.emb, other.emb_norm)
            if self._gated(cos):
                continue
            sim = self._blend(sim, cos)
            if story.languages and other.languages and not set(story.languages) & set(other.languages):
                # one event told in two languages: the names must carry it
                ents = {f: v for f, v in vec.items() if f.startswith("e:")}
                ent_norm = math.sqrt(sum(v * v for v in ents.values())) or 1.0
                sim = max(sim, cfg.cross_language_weight * self._entity_sim(ents, ent_norm, other, idfs))
            small = other.size <= cfg.regroup_size and story.size >= cfg.regroup_min_story
            bar = cfg.regroup_threshold if small else cfg.merge_threshold
            if sim >= bar:
                merged.append(sid)
        for sid in sorted(merged):
            self._absorb(story, self._stories.pop(sid))
        if merged:
            self._refresh_norm(story)
        return tuple(sorted(merged))

    def _absorb(self, story: _Story, other: _Story) -> None:
        for f, w in other.centroid.items():
            story.centroid[f] = story.centroid.get(f, 0.0) + w
        for f, s in other.surface.items():
            story.surface.setdefault(f, s)
        story.size += other.size
        if other.emb is not None:
            _set_emb(story, other.emb.copy() if story.emb is None else story.emb + other.emb)
        for lang, n in other.languages.items():
            story.languages[lang] = story.languages.get(lang, 0) + n
        story.first_seen = min(story.first_seen, other.first_seen)
        story.last_seen = max(story.last_seen, other.last_seen)
        for m in other.members:
            m.story_id = story.id
            self._postings.set_story(m)
        story.members = deque(
            sorted([*story.members, *other.members], key=lambda m: m.seq)[-self.config.members_kept :]
        )
        for item_id, sid in self._item_story.items():
            if sid == other.id:
                self._item_story[item_id] = story.id
        if len(story.centroid) > self.config.centroid_features * 2:
            self._prune_centroid(story)
        if story.size >= self.config.max_size:
            story.closed = True

    def _expire(self) -> None:
        """Forget members and stories that went cold; keeps memory bounded by the window."""
        assert self._clock is not None
        cutoff = self._clock - self.config.window - self.config.late_arrival
        while self._window and self._window[0].at < cutoff:
            m = self._window.popleft()
            for f in m.weights:
                n = self._df.get(f, 0) - 1
                if n > 0:
                    self._df[f] = n
                else:
                    self._df.pop(f, None)
            self._postings.forget_member(m)
            self._n_docs -= 1
            self._item_story.pop(m.item_id, None)
        while self._cold_heap and self._cold_heap[0][0] < cutoff:
            last_seen, sid = heapq.heappop(self._cold_heap)
            story = self._stories.get(sid)
            if story is not None and story.last_seen == last_seen:
                del self._stories[sid]
