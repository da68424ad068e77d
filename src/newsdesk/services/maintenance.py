"""The archive's upkeep: backup and restore, bulk re-extraction, retention of raw pages.

- backup/restore: SQLite through its online backup API (a consistent copy while workers and the
  web keep writing and reading), checked with PRAGMA integrity_check. PostgreSQL is backed up with
  its own tools (pg_dump/pg_restore, docs/scaling.md): newsdesk does not reimplement them.
- reextract: runs the current extractor over every stored raw page, in id order, saving its
  position after each batch, so an interrupted run resumes where it stopped.
- prune_raw_html: drops raw pages past the raw_html_days retention; the articles stay.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from ..errors import NewsdeskError, NoArticleError, NotFoundError, StorageError
from ..extract import extract_article
from ..storage.base import Storage
from ..storage.maintenance import ReextractedText

__all__ = [
    "REEXTRACT_CHECKPOINT",
    "BackupResult",
    "ReextractSummary",
    "backup_sqlite",
    "prune_raw_html",
    "reextract",
    "restore_sqlite",
    "sqlite_path",
]

log = logging.getLogger(__name__)

#: the checkpoint name reextract saves its position under
REEXTRACT_CHECKPOINT = "reextract"
#: pages copied per step of the online backup; between steps writers may go on
BACKUP_PAGES_PER_STEP = 4096
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    #: what PRAGMA integrity_check said of the copy ("ok")
    integrity: str


def sqlite_path(database_url: str) -> Path:
    """The file of a sqlite:/// URL; a StorageError for any other database."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise StorageError(
            f"newsdesk backup/restore handle SQLite; for {url.drivername} use pg_dump and pg_restore "
            "(see docs/scaling.md)")
    if not url.database or url.database == ":memory:":
        raise StorageError("an in-memory database cannot be backed up or restored")
    return Path(url.database).expanduser().resolve()


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows[:5])


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, what: str,
          progress: Callable[[int, int], None] | None) -> None:
    def step(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        source.backup(target, pages=BACKUP_PAGES_PER_STEP, progress=step)
    except sqlite3.Error as exc:
        reason = str(exc)
        if "full" in reason.lower():
            reason = f"{reason} — free some space and run it again; nothing was changed in the source"
        raise StorageError(f"{what} failed: {reason}") from exc


def backup_sqlite(database_url: str, destination: Path, *, force: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> BackupResult:
    """Copy the live SQLite database to `destination` with the online backup API, then check the
    copy. Refuses to overwrite an existing file unless `force`. A failed copy (e.g. a full disk)
    leaves no half-written file behind and never touches the database itself."""
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise NotFoundError(f"no database at {source_path}")
    destination = destination.expanduser().resolve()
    if destination == source_path:
        raise StorageError("the backup file must not be the database itself")
    if destination.exists() and not force:
        raise StorageError(f"{destination} exists; give --force to overwrite it")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with _connect(source_path, readonly=True) as source, _connect(partial) as target:
            _copy(source, target, "backup", progress)
            # A self-contained file: no -wal beside it to lose when it is copied elsewhere.
            target.execute("PRAGMA journal_mode=DELETE")
            integrity = _integrity(target)
        if integrity != "ok":
            raise StorageError(f"the backup copy failed its integrity check: {integrity}")
        partial.replace(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(destination, destination.stat().st_size, integrity)


def restore_sqlite(database_url: str, backup: Path, *, force: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> BackupResult:
    """Replace the SQLite database with a backup, through the backup API (so a WAL database is
    replaced consistently, -wal and -shm included). The backup is checked before anything is
    touched; an existing database is only replaced with `force`. Stop workers and the web first."""
    target_path = sqlite_path(database_url)
    backup = backup.expanduser().resolve()
    if not backup.is_file():
        raise NotFoundError(f"no backup file at {backup}")
    with backup.open("rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise StorageError(f"{backup} is not a SQLite database")
    if target_path.exists() and target_path.stat().st_size > 0 and not force:
        raise StorageError(f"{target_path} exists; give --force to replace it with the backup")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with _connect(backup, readonly=True) as source:
        integrity = _integrity(source)
        if integrity != "ok":
            raise StorageError(f"the backup {backup} is damaged: {integrity}")
        with _connect(target_path) as target:
            _copy(source, target, "restore", progress)
            integrity = _integrity(target)
    if integrity != "ok":
        raise StorageError(f"the restored database failed its integrity check: {integrity}")
    return BackupResult(target_path, target_path.stat().st_size, integrity)


class _connect:
    """A sqlite3 connection that is closed (not just committed) on exit."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self.conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


# -- re-extraction ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReextractSummary:
    #: pages re-extracted in this run
    done: int
    #: articles whose body was replaced
    updated: int
    #: pages that yielded no article this time (the stored article is kept as it was)
    no_article: int
    #: the article id this run started after (0: from the beginning)
    resumed_after: int
    #: False when stopped by `limit` before the end; the next run resumes
    finished: bool


def reextract(storage: Storage, *, restart: bool = False, batch: int = 200, limit: int | None = None,
              on_total: Callable[[int], None] | None = None, on_page: Callable[[], None] | None = None,
              clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> ReextractSummary:
    """Re-run extraction over every stored raw page (oldest id first), replacing each article's
    body and search entry. The position is saved after every batch, so a run that is interrupted
    (Ctrl-C, a crash, `limit`) resumes after the last finished batch; `restart` starts over."""
    if restart:
        storage.clear_checkpoint(REEXTRACT_CHECKPOINT)
    start = storage.get_checkpoint(REEXTRACT_CHECKPOINT) or 0
    if on_total is not None:
        total = storage.count_raw_pages(start)
        on_total(total if limit is None else min(total, limit))
    position, done, updated, no_article = start, 0, 0, 0
    while limit is None or done < limit:
        want = batch if limit is None else min(batch, limit - done)
        ids = storage.article_ids_with_pages(position, want)
        if not ids:
            storage.clear_checkpoint(REEXTRACT_CHECKPOINT)
            return ReextractSummary(done, updated, no_article, start, finished=True)
        for article_id in ids:
            if _reextract_one(storage, article_id):
                updated += 1
            else:
                no_article += 1
            done += 1
            if on_page is not None:
                on_page()
        position = ids[-1]
        storage.set_checkpoint(REEXTRACT_CHECKPOINT, position, clock())
    finished = not storage.article_ids_with_pages(position, 1)
    if finished:
        storage.clear_checkpoint(REEXTRACT_CHECKPOINT)
    return ReextractSummary(done, updated, no_article, start, finished=finished)


def _reextract_one(storage: Storage, article_id: int) -> bool:
    raw = storage.get_raw_html(article_id)
    if raw is None:  # pruned meanwhile
        return False
    try:
        article = storage.get_article(article_id)
        page = extract_article(raw, article.url)
    except NoArticleError:
        return False
    except NotFoundError:  # deleted meanwhile
        return False
    except NewsdeskError as exc:
        log.warning("re-extraction of article %s failed: %s", article_id, exc)
        return False
    storage.update_article_text(article_id, ReextractedText(
        html=page.html, text=page.text, language=page.language, image_url=page.image_url or article.image_url,
        image_caption=page.image_caption, canonical_url=page.canonical_url or article.canonical_url,
        author=article.author or (", ".join(page.authors) or None)))
    return True


# -- retention ----------------------------------------------------------------------------------


def prune_raw_html(storage: Storage, days: int, now: datetime) -> int:
    """Drop the raw pages of articles fetched more than `days` days before `now` (the articles, their
    text and search entries stay; only re-extraction of them is no longer possible)."""
    if days <= 0:
        raise ValueError("retention needs a positive number of days")
    return storage.drop_raw_pages(now - timedelta(days=days))
