"""SQLite: one writer, many readers. The web and the ingest share a process and a database file and
must never see "database is locked"."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsdesk.models import ArticleCursor, NewArticle, NewSource
from newsdesk.storage.sql import SqlStorage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.slow
def test_writers_and_readers_in_one_process_never_fail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    ingest = SqlStorage(url)
    ingest.migrate()
    # A second storage on the same file, as the web app would open: it shares the writer lock.
    web = SqlStorage(url)
    source_id = ingest.add_source(NewSource("https://nos.nl/feed", title="NOS"), T0).id
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0]

    def write_articles() -> None:
        try:
            for n in range(500):
                ingest.add_article(
                    NewArticle(source_id, f"https://nos.nl/a/{n}", f"Heffing nummer {n}", T0,
                               published_at=T0 - timedelta(minutes=n), language="nl",
                               text=f"De heffingen stijgen voor de {n}e keer.", raw_html=b"<p>x</p>" * 50)
                )
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)
        finally:
            done.set()

    def write_sources() -> None:
        # Another writer meanwhile: the web app pausing and editing sources.
        try:
            other = web.add_source(NewSource("https://nu.nl/rss"), T0).id
            while not done.is_set():
                web.set_source_paused(other, True)
                web.update_source(other, title="NU")
                web.set_source_paused(other, False)
                time.sleep(0.001)  # a person clicking, not a loop hogging the lock
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                page = web.list_articles(limit=20)
                if page:
                    web.list_articles(before=ArticleCursor.of(page[-1]), limit=20)
                    web.get_article(page[0].id)
                web.search_articles("heffing")
                web.count_search("heffingen stijgen")
                web.list_sources()
                reads[0] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write_articles), threading.Thread(target=write_sources)]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        assert not any(t.is_alive() for t in threads)
        assert reads[0] > 0
        assert ingest.count_articles() == 500
        assert web.count_search("heffingen") == 500
    finally:
        ingest.close()
        web.close()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{tmp_path}/deep/er/news.db")
    storage.migrate()
    try:
        assert (tmp_path / "deep" / "er" / "news.db").exists()
        with storage._backend.engine.connect() as conn:
            values = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "cache_size")
            }
        # synchronous NORMAL is 1; a negative cache_size is KiB: 64 MB
        assert values == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000,
                          "cache_size": -65536}
    finally:
        storage.close()


def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    storage = SqlStorage("sqlite://")
    storage.migrate()
    try:
        source_id = storage.add_source(NewSource("https://nos.nl/feed"), T0).id
        storage.add_article(NewArticle(source_id, "https://nos.nl/1", "Heffingen", T0, language="nl"))
        assert storage.count_search("heffing") == 1
    finally:
        storage.close()
