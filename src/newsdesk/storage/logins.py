"""Failed logins, counted in the database: the login rate limits hold across every web process.

`newsdesk serve --web-workers N` runs N processes; a limit kept in each one's memory would let a
guesser try N times as often (and a restart forget). One row per failure and key (`user:NAME`,
`addr:IP`, `admin:IP`); the limiter (services.accounts.LoginLimiter) reads a key's failures inside
its window and decides. Rows older than the window go as the next failure is written, so the table
holds at most the failures of one window.

LoginsMixin is one of SqlStorage's bases and uses its plumbing (_read, _write).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from .schema import UTCDateTime, metadata

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

__all__ = ["MAX_LOGIN_KEY_LENGTH", "LoginsMixin", "LoginsStorage", "login_failures"]

#: a key is a kind and a name or address; longer ones are cut (names are at most 100 characters here)
MAX_LOGIN_KEY_LENGTH = 200

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(MAX_LOGIN_KEY_LENGTH), nullable=False),
    sa.Column("failed_at", UTCDateTime, nullable=False),
    # check(): a key's failures since the window's start; pruning: everything before it
    sa.Index(None, "key", "failed_at"),
    sa.Index(None, "failed_at"),
)


class LoginsStorage(Protocol):
    def add_login_failures(self, keys: Sequence[str], at: datetime, forget_before: datetime) -> None:
        """Record one failure at `at` under each key, and delete every failure (any key's) older
        than `forget_before`, in one transaction."""

    def login_failures(self, keys: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
        """Each key's failures at or after `since`, oldest first (keys without any are left out).
        A key holds few: the limiter refuses a key past its limit before it could fail again."""

    def clear_login_failures(self, key: str) -> None:
        """Forget a key's failures (a successful login clears its user name's count)."""


class _Plumbing(Protocol):
    def _read(self) -> AbstractContextManager[sa.Connection]: ...
    def _write(self) -> AbstractContextManager[sa.Connection]: ...


def _keys(keys: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(key[:MAX_LOGIN_KEY_LENGTH] for key in keys))


class LoginsMixin:
    """LoginsStorage for SqlStorage."""

    def add_login_failures(self: _Plumbing, keys: Sequence[str], at: datetime, forget_before: datetime) -> None:
        wanted = _keys(keys)
        with self._write() as conn:
            conn.execute(sa.delete(login_failures).where(login_failures.c.failed_at < forget_before))
            if wanted:
                conn.execute(sa.insert(login_failures), [{"key": key, "failed_at": at} for key in wanted])

    def login_failures(self: _Plumbing, keys: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
        wanted = _keys(keys)
        if not wanted:
            return {}
        stmt = (sa.select(login_failures.c.key, login_failures.c.failed_at)
                .where(login_failures.c.key.in_(wanted), login_failures.c.failed_at >= since)
                .order_by(login_failures.c.key, login_failures.c.failed_at))
        found: dict[str, list[datetime]] = {}
        with self._read() as conn:
            for key, failed_at in conn.execute(stmt):
                found.setdefault(key, []).append(failed_at)
        return found

    def clear_login_failures(self: _Plumbing, key: str) -> None:
        with self._write() as conn:
            conn.execute(sa.delete(login_failures).where(login_failures.c.key == key[:MAX_LOGIN_KEY_LENGTH]))
