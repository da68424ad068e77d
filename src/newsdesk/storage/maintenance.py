"""Storage for the archive's upkeep: re-extraction over stored pages, raw-page retention, and the
checkpoints that make both resumable (services/maintenance.py holds the use cases)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from .schema import UTCDateTime, articles, metadata, pages

__all__ = ["MaintenanceMixin", "MaintenanceStorage", "ReextractedText", "maintenance_checkpoints"]

#: pages deleted per transaction when pruning: short transactions keep the writer lock short
PRUNE_BATCH = 2000

maintenance_checkpoints = sa.Table(
    "maintenance_checkpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    #: the last article id a bulk job finished; it resumes after it
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

_fts = sa.table("article_search", sa.column("rowid", sa.Integer), sa.column("title"), sa.column("body"))


@dataclass(frozen=True)
class ReextractedText:
    """What a new extraction of a stored page replaces. The title stays: it is the feed's headline."""

    html: str
    text: str
    language: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    canonical_url: str | None = None
    author: str | None = None


class MaintenanceStorage(Protocol):
    def article_ids_with_pages(self, after_id: int, limit: int) -> list[int]:
        """Ids of articles whose raw page is kept, ascending, greater than `after_id`."""

    def count_raw_pages(self, after_id: int = 0) -> int:
        """How many raw pages are kept for articles with an id greater than `after_id`."""

    def update_article_text(self, article_id: int, new: ReextractedText) -> None:
        """Replace an article's extracted body (and re-index it for search) in one transaction;
        it becomes status ok. Raises NotFoundError."""

    def drop_raw_pages(self, fetched_before: datetime) -> int:
        """Delete the raw pages of articles fetched before the given time; returns how many."""

    def get_checkpoint(self, name: str) -> int | None: ...

    def set_checkpoint(self, name: str, position: int, now: datetime) -> None: ...

    def clear_checkpoint(self, name: str) -> None: ...


class MaintenanceMixin:
    """MaintenanceStorage for SqlStorage."""

    if TYPE_CHECKING:
        _backend: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def article_ids_with_pages(self, after_id: int, limit: int) -> list[int]:
        stmt = (
            sa.select(pages.c.article_id)
            .where(pages.c.article_id > after_id)
            .order_by(pages.c.article_id)
            .limit(max(0, min(limit, 10_000)))
        )
        with self._read() as conn:
            return [int(i) for i in conn.execute(stmt).scalars()]

    def count_raw_pages(self, after_id: int = 0) -> int:
        stmt = sa.select(sa.func.count()).select_from(pages).where(pages.c.article_id > after_id)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def update_article_text(self, article_id: int, new: ReextractedText) -> None:
        from ..errors import NotFoundError
        from ..models import ArticleStatus
        from ..stemming import stem_terms
        from .sql import MAX_INDEXED_CHARS, _clean

        values = {
            "html": _clean(new.html) or "",
            "text": _clean(new.text) or "",
            "language": (new.language or None) and new.language[:16],
            "image_url": new.image_url,
            "image_caption": _clean(new.image_caption),
            "canonical_url": new.canonical_url,
            "author": _clean(new.author),
            "status": ArticleStatus.OK.value,
            "error": None,
        }
        with self._write() as conn:
            row = conn.execute(
                sa.update(articles)
                .where(articles.c.id == article_id)
                .values(values)
                .returning(articles.c.title, articles.c.summary)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no article with id {article_id}")
            title = row.title or ""
            body = "\n".join(p for p in (row.summary, values["text"]) if p)[:MAX_INDEXED_CHARS]
            if self._backend.name == "postgresql":
                from .postgres import search_vector

                searchable = sa.table("articles", sa.column("id"), sa.column("search"))
                conn.execute(
                    sa.update(searchable)
                    .where(searchable.c.id == article_id)
                    .values(search=search_vector(title, body, new.language))
                )
            else:
                conn.execute(sa.delete(_fts).where(_fts.c.rowid == article_id))
                conn.execute(
                    sa.insert(_fts).values(
                        rowid=article_id,
                        title=" ".join(stem_terms(title, new.language)),
                        body=" ".join(stem_terms(body, new.language)),
                    )
                )

    def drop_raw_pages(self, fetched_before: datetime) -> int:
        dropped = 0
        old = sa.select(articles.c.id).where(articles.c.fetched_at < fetched_before)
        while True:
            batch = sa.select(pages.c.article_id).where(pages.c.article_id.in_(old)).limit(PRUNE_BATCH)
            with self._write() as conn:
                count = conn.execute(sa.delete(pages).where(pages.c.article_id.in_(batch))).rowcount
            dropped += int(count)
            if count < PRUNE_BATCH:
                return dropped

    def get_checkpoint(self, name: str) -> int | None:
        stmt = sa.select(maintenance_checkpoints.c.position).where(maintenance_checkpoints.c.name == name)
        with self._read() as conn:
            value = conn.execute(stmt).scalar_one_or_none()
        return None if value is None else int(value)

    def set_checkpoint(self, name: str, position: int, now: datetime) -> None:
        stmt = (
            self._backend.insert(maintenance_checkpoints)
            .values(name=name, position=position, updated_at=now)
            .on_conflict_do_update(index_elements=["name"], set_={"position": position, "updated_at": now})
        )
        with self._write() as conn:
            conn.execute(stmt)

    def clear_checkpoint(self, name: str) -> None:
        with self._write() as conn:
            conn.execute(sa.delete(maintenance_checkpoints).where(maintenance_checkpoints.c.name == name))
