"""Backup and restore (SQLite online backup API), re-extraction (resumable), raw-page retention."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsdesk.cli import app
from newsdesk.errors import StorageError
from newsdesk.models import ArticleStatus, NewArticle, NewSource
from newsdesk.services import maintenance
from newsdesk.storage import open_storage
from newsdesk.storage.sql import SqlStorage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BODY = ("Het kabinet heeft dinsdag nieuwe plannen gepresenteerd voor de woningmarkt. Volgens de minister "
        "moeten er de komende tien jaar honderdduizenden huizen bij komen, vooral in de grote steden. ")


def page(n: int, word: str) -> bytes:
    paragraphs = "".join(f"<p>{BODY}{word} {n}-{k}.</p>" for k in range(4))
    return (f"<!doctype html><html lang=nl><head><title>Woningen {n}</title></head><body><nav>menu</nav>"
            f"<article><h1>Woningen {n}</h1>{paragraphs}</article></body></html>").encode()


def fill(storage: SqlStorage, count: int, *, raw: bool = True, age_days: int = 0) -> list[int]:
    source = storage.find_source("http://krant.example/feed") or storage.add_source(
        NewSource(url="http://krant.example/feed"), NOW)
    ids = []
    for n in range(count):
        fetched = NOW - timedelta(days=age_days, minutes=n)
        new = NewArticle(source_id=source.id, url=f"http://krant.example/{age_days}/{n}", title=f"Woningen {n}",
                         fetched_at=fetched, status=ArticleStatus.NO_TEXT, text="", language="nl",
                         raw_html=page(n, "bouwvakkers") if raw else None)
        article_id = storage.add_article(new)
        assert article_id is not None
        ids.append(article_id)
    return ids


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/live/newsdesk.sqlite"


def test_backup_while_writing_then_restore(sqlite_url: str, tmp_path: Path) -> None:
    storage = open_storage(sqlite_url)
    fill(storage, 30)
    stop = threading.Event()

    def keep_writing() -> None:  # the online backup runs beside a live writer
        n = 0
        while not stop.is_set():
            fill_one = NewArticle(source_id=1, url=f"http://krant.example/live/{n}", title="live", fetched_at=NOW)
            storage.add_article(fill_one)
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = maintenance.backup_sqlite(sqlite_url, tmp_path / "backup.sqlite")
    finally:
        stop.set()
        writer.join()
    assert result.integrity == "ok" and result.bytes > 0
    with sqlite3.connect(tmp_path / "backup.sqlite") as conn:
        backed_up = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert backed_up >= 30
    # a backup never overwrites without force
    with pytest.raises(StorageError, match="--force"):
        maintenance.backup_sqlite(sqlite_url, tmp_path / "backup.sqlite")
    fill(storage, 5, age_days=1)  # changes after the backup
    storage.close()

    with pytest.raises(StorageError, match="--force"):
        maintenance.restore_sqlite(sqlite_url, tmp_path / "backup.sqlite")
    maintenance.restore_sqlite(sqlite_url, tmp_path / "backup.sqlite", force=True)
    restored = open_storage(sqlite_url)
    try:
        assert restored.count_articles() == backed_up
        assert len(restored.search_articles("woningen")) == 30  # the search index came along
        assert restored.get_raw_html(1) == page(0, "bouwvakkers")
    finally:
        restored.close()


def test_restore_refuses_a_damaged_or_foreign_file(sqlite_url: str, tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    with pytest.raises(StorageError, match="not a SQLite database"):
        maintenance.restore_sqlite(sqlite_url, not_sqlite)
    with pytest.raises(StorageError, match="pg_dump"):
        maintenance.backup_sqlite("postgresql://postgres@127.0.0.1/test", tmp_path / "x")


def test_cli_backup_and_restore(sqlite_url: str, tmp_path: Path) -> None:
    storage = open_storage(sqlite_url)
    fill(storage, 3)
    storage.close()
    runner = CliRunner()
    target = tmp_path / "b.sqlite"
    result = runner.invoke(app, ["backup", str(target), "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    other = f"sqlite:///{tmp_path}/other/n.sqlite"
    result = runner.invoke(app, ["restore", str(target), "--database-url", other])
    assert result.exit_code == 0, result.output
    restored = open_storage(other)
    assert restored.count_articles() == 3
    restored.close()
    result = runner.invoke(app, ["restore", str(target), "--database-url", other])
    assert result.exit_code == 1 and "--force" in result.output


def test_backup_to_a_full_disk_fails_cleanly(sqlite_url: str, tmp_path: Path) -> None:
    import subprocess

    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs to fill (needs root)")
    try:
        storage = open_storage(sqlite_url)
        fill(storage, 200)
        storage.close()
        with pytest.raises(StorageError, match="full"):
            maintenance.backup_sqlite(sqlite_url, small / "b.sqlite")
        assert list(small.iterdir()) == []  # no half-written file left behind
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:  # the source is intact
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_reextract_is_resumable(storage: SqlStorage) -> None:
    ids = fill(storage, 7)
    fill(storage, 2, raw=False, age_days=3)  # no raw page: nothing to re-extract
    assert storage.get_article(ids[0]).text == ""
    first = maintenance.reextract(storage, batch=2, limit=3)
    assert (first.done, first.updated, first.finished) == (3, 3, False)
    assert storage.get_checkpoint(maintenance.REEXTRACT_CHECKPOINT) == ids[2]
    seen: list[int] = []
    second = maintenance.reextract(storage, batch=2, on_total=seen.append)
    assert seen == [4]
    assert (second.done, second.resumed_after, second.finished) == (4, ids[2], True)
    assert storage.get_checkpoint(maintenance.REEXTRACT_CHECKPOINT) is None
    article = storage.get_article(ids[5])
    assert article.status is ArticleStatus.OK and "bouwvakkers" in article.text
    # the new text is searchable, with Dutch stemming, on both backends
    assert {a.id for a in storage.search_articles("bouwvakker")} == set(ids)
    again = maintenance.reextract(storage, restart=True)
    assert again.done == 7


def test_prune_drops_old_raw_pages_only(storage: SqlStorage) -> None:
    old = fill(storage, 3, age_days=40)
    recent = fill(storage, 2, age_days=1)
    assert maintenance.prune_raw_html(storage, 30, NOW) == 3
    assert all(storage.get_raw_html(i) is None for i in old)
    assert all(storage.get_raw_html(i) is not None for i in recent)
    assert storage.get_article(old[0]).title == "Woningen 0"  # the article stays
    assert maintenance.prune_raw_html(storage, 30, NOW) == 0


def test_cli_reextract_and_prune(sqlite_url: str) -> None:
    storage = open_storage(sqlite_url)
    fill(storage, 4, age_days=400)
    storage.close()
    runner = CliRunner()
    result = runner.invoke(app, ["reextract", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "re-extracted 4 pages" in result.output
    result = runner.invoke(app, ["prune", "--database-url", sqlite_url])
    assert result.exit_code == 2
    result = runner.invoke(app, ["prune", "--database-url", sqlite_url, "--raw-html-days", "30"])
    assert result.exit_code == 0 and "dropped the raw HTML of 4 articles" in result.output
