"""The stories feature's domain types: stories, their members, entities and topics as stored.

Frozen dataclasses with no IO, like models.py; kept here (not in the shared models.py) so the
stories feature adds its types without editing the shared contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "MERGE_HOPS",
    "AssignmentLookup",
    "AssignmentRecord",
    "EntityRecord",
    "Placement",
    "StoredStory",
    "StoryMember",
    "Topic",
    "TopicDefinition",
    "WindowArticle",
    "slugify",
]

#: how an article came into its story
HOW_NEW, HOW_CLUSTER, HOW_DUPLICATE, HOW_OPERATOR = "new", "cluster", "duplicate", "operator"
#: merged_into links followed from a story to the one it ended in (merges are not repointed)
MERGE_HOPS = 50


@dataclass(frozen=True)
class StoredStory:
    id: int
    #: the headline of the article that started it
    title: str
    first_seen: datetime
    last_seen: datetime
    #: articles in it, duplicates included
    size: int
    #: distinct outlets
    outlets: int = 0
    #: set when an operator or the clusterer merged this story into another
    merged_into: int | None = None
    #: an operator touched it: the clusterer never merges it away
    locked: bool = False


@dataclass(frozen=True)
class StoryMember:
    """One article of a story, with why it is there."""

    article_id: int
    story_id: int
    source_id: int
    source_title: str
    title: str
    url: str
    sort_at: datetime
    language: str | None
    #: "new", "cluster", "duplicate" or "operator"
    how: str
    score: float
    shared_entities: tuple[str, ...] = ()
    shared_terms: tuple[str, ...] = ()
    #: for a duplicate: the article it repeats, and how it was recognised ("url", "hash", "near")
    duplicate_of: int | None = None
    duplicate_how: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where an article is: its story_articles row, as assignment reads it (no article columns)."""

    article_id: int
    story_id: int
    how: str
    score: float
    duplicate_of: int | None = None
    duplicate_how: str | None = None


@dataclass(frozen=True)
class AssignmentLookup:
    """What assignment reads before it scores an article, in one statement (assignment_lookup)."""

    #: the article's own placement: it is assigned already (assignment is idempotent)
    done: Placement | None
    #: the first earlier article with the same canonical URL ("url"), else the same content hash
    #: ("hash"): (article id, how)
    duplicate: tuple[int, str] | None = None
    #: where that duplicate is (None when it is in no story)
    duplicate_placement: Placement | None = None


@dataclass(frozen=True)
class EntityRecord:
    id: int
    #: the stable key across spellings and languages: "place:greenland"
    key: str
    name: str
    type: str


@dataclass(frozen=True)
class WindowArticle:
    """An article of the active window, as the clusterer is rebuilt from it."""

    article_id: int
    story_id: int
    title: str
    text: str
    language: str | None
    source_id: int
    sort_at: datetime
    duplicate_of: int | None
    canonical_url: str | None
    #: the article's own URL (its slug words are clustering features)
    url: str | None = None


@dataclass(frozen=True)
class AssignmentRecord:
    """What assigning one article decided, stored in one transaction."""

    article_id: int
    #: the stored story to join (or the one it was merged into: record_assignment follows
    #: merged_into, at most MERGE_HOPS links); None starts a new story titled `title`
    story_id: int | None
    title: str
    at: datetime
    how: str
    score: float = 0.0
    shared_entities: tuple[str, ...] = ()
    shared_terms: tuple[str, ...] = ()
    duplicate_of: int | None = None
    duplicate_how: str | None = None
    #: stored stories the clusterer folded into this one just now
    merged: tuple[int, ...] = ()
    canonical_url: str = ""
    content_hash: str | None = None
    #: (key, name, type, count) per entity
    entities: tuple[tuple[str, str, str, int], ...] = ()


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    return _SLUG.sub("-", name.casefold()).strip("-")[:80] or "topic"


@dataclass(frozen=True)
class TopicDefinition:
    """What a topic follows: an article matches if it matches any part."""

    entity_ids: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()
    source_ids: tuple[int, ...] = ()
    query: str = ""

    def to_json(self) -> str:
        return json.dumps({"entity_ids": list(self.entity_ids), "keywords": list(self.keywords),
                           "source_ids": list(self.source_ids), "query": self.query}, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> TopicDefinition:
        data: dict[str, Any] = json.loads(raw or "{}")
        return cls(
            entity_ids=tuple(int(i) for i in data.get("entity_ids", ())[:100]),
            keywords=tuple(str(k)[:100] for k in data.get("keywords", ())[:50]),
            source_ids=tuple(int(i) for i in data.get("source_ids", ())[:100]),
            query=str(data.get("query", ""))[:200],
        )


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    name: str
    definition: TopicDefinition = field(default_factory=TopicDefinition)
    created_at: datetime | None = None
