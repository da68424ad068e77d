"""Per-site learning in the collection pass: once a site has enough stored pages, its repeated
template blocks are learned, stored, shown to the operator, and stripped from its new pages."""

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest

from newsdesk.ingest.fetch import Fetcher, FetchPolicy
from newsdesk.models import NewSource
from newsdesk.services.refresh import RefreshContext, refresh_pass
from newsdesk.services.siteprofiles import SiteOverride, learned_profile, set_override
from newsdesk.storage import ArticleFilter, open_storage

SITE = Path(__file__).resolve().parents[1] / "data" / "sites" / "nl_waterkant"
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def storage(tmp_path):
    s = open_storage(f"sqlite:///{tmp_path / 'n.sqlite'}")
    yield s
    s.close()


def serve(site, numbers):
    """Feed of pages /p/N.html; page N (N > 6) repeats fixture page N - 6 under a new URL."""
    items = ""
    for n in numbers:
        html = (SITE / f"page{(n - 1) % 6 + 1}.html").read_text()
        site.add(f"/p/{n}.html", html)
        date = (NOW - timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items += (f"<item><title>Bericht {n}</title><link>{site.base}/p/{n}.html</link>"
                  f"<pubDate>{date}</pubDate></item>")
    site.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape("De Waterkant")}'
                          f"</title><link>{site.base}/</link>{items}</channel></rss>",
             content_type="application/rss+xml")


def run_pass(storage):
    async def go():
        policy = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout=10.0,
                             max_bytes=2_000_000, max_redirects=3, per_host_connections=2, concurrency=8,
                             user_agent="newsdesk-test")
        async with Fetcher(policy) as fetcher:
            return await refresh_pass(RefreshContext(storage=storage, fetcher=fetcher), due_only=False)

    return asyncio.run(go())


def body_of(storage, source_id, title):
    [item] = [a for a in storage.list_articles(ArticleFilter(source_id), limit=100) if a.title == title]
    return storage.get_article(item.id).text


def test_a_site_is_learned_from_its_pages_and_new_pages_lose_its_template(site, storage):
    serve(site, range(1, 7))
    source = storage.add_source(NewSource(site.url("/feed.xml")), NOW)
    assert run_pass(storage).new_articles == 6
    before = body_of(storage, source.id, "Bericht 1")
    assert "Meer over dit onderwerp" in before  # no site extractor removes it on one page alone

    serve(site, range(1, 8))  # page 7 is a new article with the same template
    assert run_pass(storage).new_articles == 1
    after = body_of(storage, source.id, "Bericht 7")
    assert "Meer over dit onderwerp" not in after
    assert after.split("\n")[0] in before  # the article itself is kept

    stored = storage.get_site_profile("127.0.0.1")
    profile = learned_profile(stored)
    assert profile.pages_seen >= 6
    assert any("meer over dit onderwerp" in block.key for block in profile.blocks)
    assert all(block.reason for block in profile.blocks)


def test_the_operators_override_survives_relearning(storage):
    set_override(storage, "example.org", SiteOverride(keep_texts=("Lees ook",), remove_selectors=(".promo",)))
    storage.save_site_profile("example.org", '{"host": "example.org", "pages_seen": 9}', NOW)
    profile = learned_profile(storage.get_site_profile("example.org"))
    assert profile.pages_seen == 9 and profile.remove_selectors == (".promo",)
    assert profile.keep_texts == ("lees ook",)
    with pytest.raises(ValueError):
        set_override(storage, "example.org", SiteOverride(remove_selectors=("p[[",)))
