"""Fixtures for the newsletter tests: storages on both backends, a real SMTP sink, seeded articles, and
a NewsletterContext whose clock the test moves."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nlhelpers import T0, Clock, World, make_ctx, seed

from newsdesk.mail.sink import SmtpSink
from newsdesk.services.newsletters import NewsletterContext
from newsdesk.storage import open_storage
from newsdesk.storage.base import Storage

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: F401 - imported once here, under the filter


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TESTS = Path(__file__).resolve().parents[1]
# The storage contract fixtures (SQLite and PostgreSQL), reused as they are.
_storage_conftest = _load("newsletters_storage_fixtures", _TESTS / "storage" / "conftest.py")
storage_url = _storage_conftest.storage_url
backend_storage = _storage_conftest.storage
# The misbehaving raw SMTP server of the mail tests.
ScriptedSmtp = _load("newsletters_mail_fixtures", _TESTS / "mail" / "conftest.py").ScriptedSmtp

@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink(keep=500).start()
    yield s
    s.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Storage]:
    """The real SQLite storage in a fresh file."""
    s = open_storage("sqlite:///" + str(tmp_path / "n.sqlite"))
    yield s
    s.close()


@pytest.fixture
def ctx(store: Storage, sink: SmtpSink, clock: Clock) -> NewsletterContext:
    return make_ctx(store, sink.port, clock)


@pytest.fixture
def world(store: Storage) -> World:
    return seed(store)


@pytest.fixture
def scripted() -> Iterator[Any]:
    """Misbehaving SMTP servers: scripted("drop_mid_data" | "stall_mid_data" | "stall_greeting")."""
    servers: list[Any] = []

    def make(mode: str) -> Any:
        server = ScriptedSmtp(mode)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
