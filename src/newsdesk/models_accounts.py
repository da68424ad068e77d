"""Domain types of accounts: users, API keys and a user's state of an article.

Kept next to models.py rather than in it while several features land in parallel (one shared file
would conflict on every merge); nothing here does IO. Times are aware UTC datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from .models import Article

__all__ = ["ApiKey", "EntryOrder", "ReadFilter", "User", "UserArticle"]


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


@dataclass(frozen=True)
class UserArticle:
    """An article as one user sees it: with that user's read/starred state and labels."""

    article: Article
    read: bool = False
    starred: bool = False
    labels: tuple[str, ...] = ()
    #: when the state last changed (None: never touched, so unread and unstarred)
    changed_at: datetime | None = None
