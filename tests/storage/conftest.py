"""The `storage` fixture: every contract test runs against SQLite and PostgreSQL.

PostgreSQL tests get a fresh schema each (search_path set through the URL), dropped afterwards;
they are skipped, saying why, only when the server cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from newsdesk.storage.sql import SqlStorage

PG_URL = os.environ.get("NEWSDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0]}")


@pytest.fixture(params=BACKENDS)
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each backend."""
    if request.param == "sqlite":
        # A missing parent folder: SqlStorage creates it.
        yield f"sqlite:///{tmp_path}/data/newsdesk.db"
        return
    schema = f"newsdesk_test_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def storage(storage_url: str) -> Iterator[SqlStorage]:
    """A migrated, empty storage."""
    opened = SqlStorage(storage_url)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()
