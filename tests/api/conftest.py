"""Fixtures of the API tests live in api_fixtures.py (tests import its constants and types too);
the `storage` fixture (SQLite and PostgreSQL) is tests/storage/conftest.py's, loaded by path."""

import importlib.util
from pathlib import Path

from api_fixtures import http, server  # noqa: F401 - pytest finds fixtures by name here

_path = Path(__file__).parents[1] / "storage" / "conftest.py"
_spec = importlib.util.spec_from_file_location("storage_fixtures", _path)
assert _spec is not None and _spec.loader is not None
_storage_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_storage_fixtures)
storage_url = _storage_fixtures.storage_url
storage = _storage_fixtures.storage
