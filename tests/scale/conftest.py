"""Fixtures for the scale tests: a fresh database per backend (a PostgreSQL schema of its own,
dropped afterwards), as a URL that other processes can open too."""

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


def postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0]}")


def with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL schema, as a database URL."""
    schema = f"newsdesk_scale_{uuid.uuid4().hex[:12]}"
    with postgres_admin() as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(PG_URL, schema)
    finally:
        with postgres_admin() as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/newsdesk.sqlite"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def storage(db_url: str) -> Iterator[SqlStorage]:
    opened = SqlStorage(db_url)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()
