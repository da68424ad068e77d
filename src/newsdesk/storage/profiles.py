"""Storage of per-site extraction profiles (extract/sitelearn.py) and the operator's overrides.

The learned profile and the override are kept apart, so relearning a site (after a layout change)
never loses what the operator decided.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from ..extract.sitelearn import site_key
from .schema import UTCDateTime, articles, metadata, pages

__all__ = ["ProfilesMixin", "ProfilesStorage", "StoredProfile", "site_profiles"]

site_profiles = sa.Table(
    "site_profiles",
    metadata,
    sa.Column("host", sa.Text, primary_key=True),
    #: SiteProfile.to_json() of the last learning; null until a site has enough pages
    sa.Column("profile_json", sa.Text),
    sa.Column("learned_at", UTCDateTime),
    #: {"keep_texts": [...], "remove_texts": [...], "remove_selectors": [...]} set by the operator
    sa.Column("override_json", sa.Text),
)


@dataclass(frozen=True)
class StoredProfile:
    host: str
    profile_json: str | None
    learned_at: datetime | None
    override_json: str | None


class ProfilesStorage(Protocol):
    def get_site_profile(self, host: str) -> StoredProfile | None: ...

    def list_site_profiles(self) -> list[StoredProfile]: ...

    def save_site_profile(self, host: str, profile_json: str, learned_at: datetime) -> None:
        """Store a newly learned profile; the override stays as it was."""

    def set_site_override(self, host: str, override_json: str | None) -> None: ...

    def recent_pages(self, source_id: int, host: str, limit: int) -> list[tuple[str, bytes]]:
        """(url, raw page) of the source's newest stored pages on `host`, newest first."""


class _Plumbing(Protocol):
    def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def _write(self) -> AbstractContextManager[sa.Connection]: ...

    @property
    def _backend(self) -> Any: ...


def _row(row: Any) -> StoredProfile:
    return StoredProfile(row.host, row.profile_json, row.learned_at, row.override_json)


class ProfilesMixin:
    """ProfilesStorage for SqlStorage (uses its _read/_write plumbing)."""

    def get_site_profile(self: _Plumbing, host: str) -> StoredProfile | None:
        with self._read() as conn:
            row = conn.execute(sa.select(site_profiles).where(site_profiles.c.host == host)).one_or_none()
        return None if row is None else _row(row)

    def list_site_profiles(self: _Plumbing) -> list[StoredProfile]:
        with self._read() as conn:
            rows = conn.execute(sa.select(site_profiles).order_by(site_profiles.c.host)).all()
        return [_row(r) for r in rows]

    def save_site_profile(self: _Plumbing, host: str, profile_json: str, learned_at: datetime) -> None:
        stmt = self._backend.insert(site_profiles).values(host=host, profile_json=profile_json, learned_at=learned_at)
        stmt = stmt.on_conflict_do_update(index_elements=["host"],
                                          set_={"profile_json": profile_json, "learned_at": learned_at})
        with self._write() as conn:
            conn.execute(stmt)

    def set_site_override(self: _Plumbing, host: str, override_json: str | None) -> None:
        stmt = self._backend.insert(site_profiles).values(host=host, override_json=override_json)
        stmt = stmt.on_conflict_do_update(index_elements=["host"], set_={"override_json": override_json})
        with self._write() as conn:
            conn.execute(stmt)

    def recent_pages(self: _Plumbing, source_id: int, host: str, limit: int) -> list[tuple[str, bytes]]:
        # Newest first by id (the insertion order) through the source index; the host is checked in
        # Python because a feed may link to more than one site.
        stmt = (
            sa.select(articles.c.url, pages.c.html_zlib)
            .select_from(articles.join(pages, pages.c.article_id == articles.c.id))
            .where(articles.c.source_id == source_id)
            .order_by(articles.c.id.desc())
            .limit(limit * 4)
        )
        found: list[tuple[str, bytes]] = []
        with self._read() as conn:
            for url, packed in _iter(conn.execute(stmt)):
                if site_key(url) == host:
                    found.append((url, zlib.decompress(packed)))
                    if len(found) >= limit:
                        break
        return found


def _iter(result: Any) -> Iterator[tuple[str, bytes]]:
    for row in result:
        yield row[0], row[1]

