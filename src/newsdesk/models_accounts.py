"""Domain types of accounts: users, API keys and a user's state of an article.

Kept next to models.py rather than in it while several features land in parallel (one shared file
would conflict on every merge); nothing here does IO. Times are aware UTC datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

__all__ = ["ApiKey", "EntryOrder", "ReadFilter", "User", "UserEntry"]


@dataclass(frozen=True)
class User:
    id: int
    #: the login name, unique, case-sensitive as typed
    name: str
    #: argon2 hash (services.accounts); never shown, never logged
    password_hash: str = field(repr=False)
    #: admins manage sources (the operator); everyone else reads
    is_admin: bool
    created_at: datetime
    #: grows with every change of the user's read/starred/labels, from any process: a listing total
    #: cached under one version is not reused once it moved (services.feedreader.TotalsCache)
    state_version: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ApiKey:
    id: int
    user_id: int
    #: what the operator called it ("phone", "newsboat")
    name: str
    #: the first characters of the key, to tell keys apart in a list; the key itself is not stored
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ReadFilter(enum.StrEnum):
    ALL = "all"
    UNREAD = "unread"
    READ = "read"


class EntryOrder(enum.StrEnum):
    NEWEST_FIRST = "desc"
    OLDEST_FIRST = "asc"


class UserEntry(NamedTuple):
    """An article as one user's feed-reader apps get it: what the APIs send of the article, and the
    user's read/starred state and labels.

    A NamedTuple where the other domain types are frozen dataclasses, and flat: a contents page
    makes a thousand of these from database rows, and a tuple is made in one call where a frozen
    dataclass sets each field through object.__setattr__ (the Article + UserArticle pair this
    replaces cost a sixth of a 1,000-item contents call, bench/api.py). What no API sends (status,
    error, the plain text, guid, language) is not read at all: on SQLite, status and error sit
    behind the large text column."""

    id: int
    source_id: int
    #: the source's name as a reader sees it (Source.display_name)
    source_title: str
    url: str
    canonical_url: str | None
    title: str
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    #: the time the article is listed by (Article.sort_at)
    sort_at: datetime
    image_url: str | None
    summary: str | None
    #: the body as HTML; "" when read without bodies
    html: str
    read: bool
    starred: bool
    #: when the state last changed (None: never touched, so unread and unstarred)
    changed_at: datetime | None
    #: the user's labels on it, sorted; () when read without bodies
    labels: tuple[str, ...]
