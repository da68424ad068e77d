"""Fixtures of the hostile-input suite; the helpers they use are in hostile_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_helpers import ConnectionCounter, drop_postgres_schema, postgres_schema_url

from newsdesk.storage import open_storage
from newsdesk.storage.base import Storage


@pytest.fixture
def counter() -> Iterator[ConnectionCounter]:
    c = ConnectionCounter()
    yield c
    c.close()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    s = open_storage(f"sqlite:///{tmp_path / 'hostile.sqlite'}")
    yield s
    s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hostile.sqlite'}"
        return
    url, schema = postgres_schema_url()
    try:
        yield url
    finally:
        drop_postgres_schema(schema)
