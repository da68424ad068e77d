"""The API tests' server: the real app over a real SQLite file, served by uvicorn on a free
loopback port in a thread (the clients under test speak real HTTP), seeded through
storage.add_article, with two users (an admin and a reader) and an API key each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from appserver import free_port, serve_app
from newsdesk.models import NewArticle, NewSource, Source
from newsdesk.models_accounts import User
from newsdesk.services import stories as story_service
from newsdesk.services.accounts import Accounts
from newsdesk.settings import load_settings
from newsdesk.storage import open_storage
from newsdesk.storage.base import Storage
from newsdesk.stories.records import Topic
from newsdesk.web.app import create_app

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
ADMIN, ADMIN_PASSWORD = "alice", "alice-password-1"
READER, READER_PASSWORD = "bob", "bob-password-22"


class StubAdd:
    """The admin's add-source use case minus discovery (a network step tested in tests/ingest):
    the URL given is the feed."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add_source(self, url: str, category: str | None = None) -> Source:
        return self.storage.add_source(NewSource(url=url, title="Added " + url.split("/")[2], category=category),
                                       datetime.now(UTC))


@dataclass
class Server:
    url: str
    storage: Storage
    admin: User
    reader: User
    admin_key: str
    reader_key: str
    sources: list[Source]
    #: article ids newest first
    articles: list[int] = field(default_factory=list)
    #: the one topic, following "harbours" (every seeded article)
    topic: Topic | None = None


_PLACES = ("Greenland's harbour authority in Nuuk spoke to Mette Frederiksen on Monday.",
           "The ferry from Rotterdam to Hull was cancelled by Stena Line again.", "")


def seed_stories(storage: Storage, article_ids: list[int]) -> Topic:
    """Put every seeded article into a story in the order they came, as the ingest does, and
    follow one topic (its name has a space: a label name, not a slug)."""
    for article_id in sorted(article_ids):
        story_service.assign_article(storage, article_id)
    return story_service.add_topic(storage, "Harbour news", keywords=("harbours",))


def seed(storage: Storage, count: int = 30) -> tuple[list[Source], list[int]]:
    world = storage.add_source(NewSource(url="https://world.example.org/feed", title="World Wire",
                                         site_url="https://world.example.org/", category="News"), NOW)
    tech = storage.add_source(NewSource(url="https://tech.example.net/rss", title="Tech Daily", category="Tech"), NOW)
    local = storage.add_source(NewSource(url="https://local.example.com/atom", title="Lokaal"), NOW)
    sources = [world, tech, local]
    created = []
    for i in range(count):
        source = sources[i % 3]
        published = NOW - timedelta(hours=count - i)
        article_id = storage.add_article(NewArticle(
            source_id=source.id, url=f"https://{source.url.split('/')[2]}/a/{i}", title=f"Story {i} <&> title",
            fetched_at=NOW, published_at=published, author="Desk" if i % 2 else None, language="en",
            summary=f"Summary {i}.", html=f"<p>Body of story {i} about harbours &amp; ferries.</p>",
            text=f"Body of story {i} about harbours & ferries. {_PLACES[i % len(_PLACES)]}",
        ))
        assert article_id is not None
        created.append((published, article_id))
    return sources, [a for _, a in sorted(created, reverse=True)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    storage = open_storage("sqlite:///" + str(tmp_path / "api.sqlite"))
    port = free_port()
    settings = load_settings({}, secret_key="api-test-secret", public_url=f"http://127.0.0.1:{port}",
                             login_attempts="5", login_window="60", allowed_networks="127.0.0.0/8")
    story_service.forget_engines()
    sources, article_ids = seed(storage)
    topic = seed_stories(storage, article_ids)
    accounts = Accounts(storage, "api-test-secret")
    admin = accounts.create_user(ADMIN, ADMIN_PASSWORD, is_admin=True)
    reader = accounts.create_user(READER, READER_PASSWORD)
    _, admin_key = accounts.create_api_key(admin.id, "tests")
    _, reader_key = accounts.create_api_key(reader.id, "tests")
    try:
        with serve_app(create_app(storage, settings, StubAdd(storage)), port=port) as url:
            yield Server(url, storage, admin, reader, admin_key, reader_key, sources, article_ids, topic)
    finally:
        storage.close()
        story_service.forget_engines()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
