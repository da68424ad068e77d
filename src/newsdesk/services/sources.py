"""Source management use cases: add (with discovery), import/export OPML, pause, resume, remove.

The CLI, the admin pages and the demo all call these; none of them talks to discovery or storage
directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ..errors import DiscoveryError, FetchError, ParseError, SourceExistsError
from ..ingest.discover import FetcherLike, discover_source
from ..ingest.opml import parse_opml, write_opml
from ..models import Source
from ..storage.base import Storage

__all__ = ["ImportResult", "add_source", "export_opml", "import_opml", "remove_source", "set_paused"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clean_url(url: str) -> str:
    url = url.strip()
    if url and "://" not in url:
        # People type "nrc.nl"; a bare host means its home page over https.
        url = "https://" + url
    return url


async def add_source(storage: Storage, fetcher: FetcherLike, url: str, *, category: str | None = None,
                     title: str | None = None, now: Callable[[], datetime] = _utcnow) -> Source:
    """Follow a feed URL or a site's home page: discovery decides feed, sitemap or home-page links.

    Raises SourceExistsError when the URL (or the feed it leads to) is followed already, and the
    FetchError/DiscoveryError that explains why nothing could be followed.
    """
    url = _clean_url(url)
    if storage.find_source(url) is not None:
        raise SourceExistsError(f"{url} is followed already")
    found = await discover_source(fetcher, url)
    if storage.find_source(found.url) is not None:
        raise SourceExistsError(f"{url} leads to {found.url}, which is followed already")
    found = replace(found, category=category or found.category, title=title or found.title)
    return storage.add_source(found, now())


@dataclass
class ImportResult:
    added: list[Source] = field(default_factory=list)
    #: URLs followed already
    skipped: list[str] = field(default_factory=list)


def import_opml(storage: Storage, content: bytes, *, now: Callable[[], datetime] = _utcnow) -> ImportResult:
    """Add every feed of an OPML file. OPML names feed URLs, so no discovery: a broken one shows up as the
    source's error on the first poll instead of failing the import."""
    result = ImportResult()
    for new in parse_opml(content):
        if storage.find_source(new.url) is not None:
            result.skipped.append(new.url)
            continue
        try:
            result.added.append(storage.add_source(new, now()))
        except SourceExistsError:
            result.skipped.append(new.url)
    return result


def export_opml(storage: Storage) -> str:
    return write_opml(storage.list_sources())


def set_paused(storage: Storage, source_id: int, paused: bool) -> Source:
    storage.set_source_paused(source_id, paused)
    return storage.get_source(source_id)


def remove_source(storage: Storage, source_id: int) -> None:
    storage.delete_source(source_id)


#: the errors add_source raises for a URL that cannot be followed; entry points show their message
AddSourceErrors = (DiscoveryError, FetchError, ParseError, SourceExistsError)
