"""A refresh stores the page's update time, section and photo credit with the article (real local
server, real fetcher, real SQLite)."""

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.ingest.fetch import Fetcher, FetchPolicy
from newsdesk.models import ArticleStatus, NewSource, SourceKind
from newsdesk.services.refresh import RefreshContext, refresh_pass
from newsdesk.storage import ArticleFilter, open_storage

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
TEXT = ("De gemeenteraad heeft dinsdagavond ingestemd met het plan om de brug over de Vliet te vervangen. "
        "De werkzaamheden beginnen na de zomer en duren naar verwachting drie maanden. ")


def page(base: str) -> str:
    return f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Brug gaat dicht | Krant</title>
<meta property="article:published_time" content="2026-01-20T08:00:00Z">
<meta property="article:modified_time" content="2026-01-20T10:15:00Z">
<meta property="article:section" content="Regio">
<meta property="og:image" content="{base}/img/brug.jpg"></head><body><article><h1>Brug gaat dicht</h1>
<figure><img src="{base}/img/brug.jpg" alt=""><figcaption>De brug over de Vliet. Foto: Jan de Vries</figcaption>
</figure><p>{TEXT * 2}</p><p>{TEXT}</p></article></body></html>"""


def rss(base: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Krant</title>'
            f"<link>{base}/</link><description>Nieuws</description><item><title>Brug gaat dicht</title>"
            f"<link>{base}/a/1.html</link><guid>{base}/a/1.html</guid>"
            f"<pubDate>{(NOW - timedelta(hours=4)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"</item></channel></rss>")


@pytest.fixture
def storage(tmp_path):
    s = open_storage(f"sqlite:///{tmp_path / 'm.sqlite'}")
    yield s
    s.close()


def test_refresh_stores_update_time_section_and_credit(site, storage):
    site.add("/a/1.html", page(site.base))
    site.add("/feed.xml", rss(site.base), content_type="application/rss+xml")
    source = storage.add_source(NewSource(site.url("/feed.xml"), SourceKind.FEED), NOW)

    async def go():
        policy = FetchPolicy(allowed_networks=LOOPBACK, timeout=5.0, max_bytes=2_000_000, max_redirects=3,
                             per_host_connections=2, concurrency=4, user_agent="newsdesk-test")
        async with Fetcher(policy) as fetcher:
            return await refresh_pass(RefreshContext(storage=storage, fetcher=fetcher, clock=lambda: NOW))

    summary = asyncio.run(go())
    assert summary.new_articles == 1
    (listed,) = storage.list_articles(ArticleFilter(source_id=source.id))
    article = storage.get_article(listed.id)
    assert article.status is ArticleStatus.OK
    assert article.updated_at == datetime(2026, 1, 20, 10, 15, tzinfo=UTC)
    assert article.section == "Regio"
    assert (article.image_caption, article.image_credit) == ("De brug over de Vliet.", "Jan de Vries")
