"""Builders shared by the newsletter tests (fixtures are in conftest.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from newsdesk.mail.send import SmtpSettings
from newsdesk.models import NewArticle, NewSource, Source
from newsdesk.services.newsletters import NewsletterContext
from newsdesk.storage.base import Storage

T0 = datetime(2026, 1, 20, 5, 0, tzinfo=UTC)  # 06:00 in Amsterdam: the 07:00 digest is an hour away


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def smtp_for(sink_port: int, **changes: Any) -> SmtpSettings:
    base = SmtpSettings(host="127.0.0.1", port=sink_port, from_address="nieuwsbrief@newsdesk.example",
                        timeout=5.0, max_attempts=2, backoff=0.01)
    return dataclasses.replace(base, **changes)


def make_ctx(storage: Storage, port: int, clock: Callable[[], datetime], public_url: str = "http://reader.example",
             **smtp_changes: Any) -> NewsletterContext:
    return NewsletterContext(storage=storage, secret="newsletter-test-secret", public_url=public_url,
                             smtp=smtp_for(port, **smtp_changes), clock=clock)


@dataclass
class World:
    nrc: Source
    other: Source
    #: article ids by name
    ids: dict[str, int] = field(default_factory=dict)


def add_article(storage: Storage, source: Source, slug: str, title: str, fetched: datetime,
                published: datetime | None = None, text: str = "") -> int:
    article_id = storage.add_article(NewArticle(
        source_id=source.id, url=f"{source.site_url}{slug}", title=title, fetched_at=fetched,
        published_at=published or fetched - timedelta(minutes=5), language="nl",
        summary=f"Samenvatting: {title}", html=f"<p>{text or title}</p>", text=text or title))
    assert article_id is not None
    return article_id


def seed(storage: Storage) -> World:
    nrc = storage.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC", site_url="https://www.nrc.nl/"),
                             T0 - timedelta(days=3))
    other = storage.add_source(NewSource(url="https://dagkrant.example/feed", title="De Dagkrant",
                                         site_url="https://dagkrant.example/"), T0 - timedelta(days=3))
    world = World(nrc, other)
    # inside yesterday 07:00 - today 07:00 Amsterdam (06:00 UTC)
    day = T0 - timedelta(hours=12)
    world.ids["greenland_nrc"] = add_article(storage, nrc, "groenland", "Trump belt met Rutte over Groenland",
                                             day, text="Groenland en de NAVO.")
    world.ids["greenland_dagkrant"] = add_article(storage, other, "groenland-2", "Rutte en Trump over Groenland",
                                                  day + timedelta(hours=1), text="Over Groenland.")
    world.ids["davos"] = add_article(storage, nrc, "davos", "Europese leiders in Davos", day + timedelta(hours=2),
                                     text="Davos en de economie.")
    # long before: in no current period
    world.ids["old"] = add_article(storage, nrc, "oud", "Oud nieuws over Groenland", T0 - timedelta(days=3),
                                   text="Groenland vroeger.")
    return world


def mails_to(sink: Any, address: str) -> list[Any]:
    """The EmailMessages the sink received for `address`."""
    return [m.message() for m in sink.messages() if address in m.recipients]


def link_in(message: Any, path: str) -> str:
    """The first link under `path` in the text part of a mail."""
    import re

    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+" + re.escape(path) + r"[A-Za-z0-9_.\-]+", text)
    assert found, f"no {path} link in:\n{text}"
    return found.group(0)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
