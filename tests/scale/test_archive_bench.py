"""bench/archive.py's PostgreSQL bulk load: it drops the secondary indexes while it loads, so it must
end with exactly the indexes the migrations make, also when an interrupted load is resumed, and the
search vectors its builders have the server compute must be the backend's own."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest
import sqlalchemy as sa

from newsdesk.storage.sql import SqlStorage

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_archive", ROOT / "bench/archive.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_archive"] = module  # the builder processes unpickle its functions by module name
    spec.loader.exec_module(module)
    return module


archive = _bench()


def _indexes(url: str) -> set[tuple[str, str]]:
    """(name, definition) of every index in the URL's schema, the schema name left out."""
    with psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False)) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        rows = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        return {(name, definition.replace(f"{schema}.", "")) for name, definition in rows}


def _load(url: str, articles: int, jobs: int) -> None:
    english, dutch = archive.load_texts()
    storage = SqlStorage(url)
    storage.migrate()
    source_ids = archive.add_sources(storage, 40)
    storage.close()
    args = argparse.Namespace(database_url=url, articles=articles, seed=7, batch=60, jobs=jobs, defer=True)
    archive.build_archive(args, storage, english + dutch, len(english), source_ids)


@pytest.fixture
def migrated(pg_url: str, tmp_path: Path) -> set[tuple[str, str]]:
    if not archive.BBC.is_file():
        pytest.skip(f"no BBC corpus at {archive.BBC}")
    storage = SqlStorage(pg_url)
    storage.migrate()
    storage.close()
    made = _indexes(pg_url)
    assert ("ix_articles_search_band",
            "CREATE INDEX ix_articles_search_band ON articles USING gin (search, ((id >> 13)))"
            " WITH (gin_pending_list_limit='128')") in made
    assert "ix_articles_search_bucket" not in {name for name, _ in made}  # 0011's, replaced by 0012
    return made


def test_a_fresh_load_ends_with_the_migrations_indexes(pg_url: str, migrated: set[tuple[str, str]]) -> None:
    _load(pg_url, 150, jobs=2)
    assert _indexes(pg_url) == migrated
    writer = archive.PostgresWriter(pg_url)
    assert writer.count() == 150
    assert not writer.deferring()
    writer.conn.close()
    assert archive.verify_search(pg_url, 40) == 0


def test_a_resumed_load_ends_with_every_index(pg_url: str, migrated: set[tuple[str, str]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # a load that stopped after its rows were written, before it built the indexes again
    with monkeypatch.context() as patch:
        patch.setattr(archive.PostgresWriter, "close", lambda self: self.conn.close())
        _load(pg_url, 60, jobs=1)
    missing = {name for name, _ in migrated - _indexes(pg_url)}
    assert {"ix_articles_search_band", "ix_articles_sort_at_id", "ix_story_articles_story_id"} <= missing
    # the only index more: the primary key of the table that remembers what to build
    assert {name for name, _ in _indexes(pg_url) - migrated} == {"archive_deferred_indexes_pkey"}
    _load(pg_url, 90, jobs=1)  # resumed; deferral is remembered in the database, not in the process
    assert _indexes(pg_url) == migrated
    # a load that grows a finished archive by less than it holds keeps the indexes up to date instead
    _load(pg_url, 120, jobs=1)
    assert _indexes(pg_url) == migrated
    assert archive.verify_search(pg_url, 120) == 0


def test_verify_search_sees_a_vector_that_is_not_the_backends(pg_url: str, migrated: set[tuple[str, str]]) -> None:
    _load(pg_url, 30, jobs=1)
    with psycopg.connect(sa.make_url(pg_url).set(drivername="postgresql").render_as_string(False)) as conn:
        conn.execute("UPDATE articles SET search = to_tsvector('simple', title) WHERE id = 1")
    assert archive.verify_search(pg_url, 30) == 1
