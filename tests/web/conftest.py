"""Fixtures for the web reader tests: a storage with two outlets and a dozen articles, the app, and a
TestClient, over the real SQLite storage (tests/storage runs the same Protocol on PostgreSQL)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; the project pins httpx 0.28, which it still
    # supports, and says so once at import with a warning.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from newsdesk.errors import DiscoveryError
from newsdesk.models import NewArticle, NewSource, Source
from newsdesk.settings import Settings, load_settings
from newsdesk.storage import open_storage
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


class StorageAdminServices:
    """The admin use cases the app is given, over storage. Discovery (a network step, another
    module's concern) is replaced by one rule: a URL containing "nofeed" has no feed."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add_source(self, url: str, category: str | None = None) -> Source:
        if "nofeed" in url:
            raise DiscoveryError(f"No feed, sitemap or article links were found at {url}.")
        return self.storage.add_source(NewSource(url=url, title="Added " + url.split("/")[2],
                                                 category=category), NOW)

    def pause(self, source_id: int) -> None:
        self.storage.get_source(source_id)
        self.storage.set_source_paused(source_id, True)

    def resume(self, source_id: int) -> None:
        self.storage.get_source(source_id)
        self.storage.set_source_paused(source_id, False)

    def remove(self, source_id: int) -> None:
        self.storage.get_source(source_id)
        self.storage.delete_source(source_id)


@dataclass
class Seeded:
    storage: Storage
    nrc: Source
    other: Source
    #: article ids newest first, per list
    home: list[int] = field(default_factory=list)
    by_source: dict[int, list[int]] = field(default_factory=dict)


def seed(storage: Storage, count: int = 12) -> Seeded:
    nrc = storage.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC",
                                       site_url="https://www.nrc.nl/"), NOW)
    other = storage.add_source(NewSource(url="https://news.example.org/feed", title="Example News"), NOW)
    data = Seeded(storage, nrc, other, by_source={nrc.id: [], other.id: []})
    created: list[tuple[datetime, int, int]] = []
    for i in range(count):
        source = nrc if i % 2 == 0 else other
        published = NOW - timedelta(hours=count - i)  # i grows -> newer
        topic = "Groenland" if i % 3 == 0 else "Davos"
        article_id = storage.add_article(NewArticle(
            source_id=source.id,
            url=f"https://{'www.nrc.nl' if source is nrc else 'news.example.org'}/2026/01/20/a{i}",
            title=f"Artikel {i} over {topic}",
            fetched_at=NOW,
            published_at=published,
            author="Redactie" if i % 2 == 0 else None,
            language="nl",
            image_url=f"https://img.example.org/{i}.jpg" if i % 2 == 0 else None,
            image_caption=f"Onderschrift bij foto {i}" if i % 2 == 0 else None,
            summary=f"Samenvatting {i}.",
            html=f"<p>Tekst van artikel {i} over {topic}.</p>",
            text=f"Tekst van artikel {i} over {topic}.",
        ))
        assert article_id is not None
        created.append((published, article_id, source.id))
    for _, article_id, source_id in sorted(created, reverse=True):
        data.home.append(article_id)
        data.by_source[source_id].append(article_id)
    return data


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    """The real SQLite storage, in a fresh file per test."""
    store = open_storage("sqlite:///" + str(tmp_path / "t.sqlite"))
    yield store
    store.close()


@pytest.fixture
def settings() -> Settings:
    return load_settings({}, secret_key="test-secret", language="en")


@pytest.fixture
def seeded(storage: Storage) -> Seeded:
    return seed(storage)


@pytest.fixture
def services(storage: Storage) -> StorageAdminServices:
    return StorageAdminServices(storage)


@pytest.fixture
def app(storage: Storage, settings: Settings, seeded: Seeded, services: StorageAdminServices) -> FastAPI:
    return create_app(storage, settings, services)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # TestClient's default client address is "testclient", which is not loopback; the reader pages
    # don't care, and admin tests pick their address explicitly.
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


