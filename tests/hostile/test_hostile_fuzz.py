"""Figure 1, fuzzed: hypothesis mutates a seed corpus (our hostile feeds, a sample of the W3C corpus,
article pages) and runs each mutant through the whole feed and page pipeline (refresh_source: parse,
fetch pages, extract, sanitize, store in SQLite). Nothing may crash (no "internal" error on the source)
and nothing dangerous may be stored. The network is the one boundary replaced: a fetcher that serves
the mutant from memory."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count

from hostile_helpers import DATA, SHARED, article_page, assert_harmless
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.models import HTTPResponse, NewSource
from newsdesk.services.refresh import RefreshContext, refresh_source
from newsdesk.services.storyqueue import StoryAssigner
from newsdesk.storage import ArticleFilter, open_storage

sys.path.insert(0, str(DATA))
from make_corpus import small_documents  # noqa: E402

W3C = SHARED / "data" / "feeds" / "w3c-feedvalidator"
SEEDS: list[bytes] = list(small_documents().values()) + (
    [p.read_bytes() for p in sorted(W3C.rglob("*.xml"))[::50]] if W3C.is_dir() else [])
PAGES = [article_page("Fuzz", 1).encode(), b"<html><body><article><p>" + b"x" * 500 + b"</p></article></body></html>",
         b"", b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", b"<div>" * 5000 + b"text" + b"</div>" * 5000]
SNIPPETS = [b"<script>alert(1)</script>", b"<![CDATA[", b"]]>", b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>",
            b"&a;", b"<item><title>t</title><link>javascript:alert(1)</link></item>", b"\x00", b"\xef\xbb\xbf",
            b"<img src=x onerror=alert(1)>", b'<a href="java\tscript:x">', b"<item><link>http://x.example/",
            b"</channel>", b"<entry>", b"&#0;", b"&#x110000;", b"<!--", b"<?xml version='1.0' encoding='utf-16'?>"]


@st.composite
def mutants(draw: st.DrawFn) -> tuple[bytes, bytes]:
    doc = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["cut", "insert", "flip"]))
        at = draw(st.integers(0, len(doc)))
        if action == "cut":
            del doc[at:at + draw(st.integers(1, 200))]
        elif action == "insert":
            doc[at:at] = draw(st.sampled_from(SNIPPETS))
        elif doc:
            doc[min(at, len(doc) - 1)] = draw(st.integers(0, 255))
    page = draw(st.sampled_from(PAGES))
    if draw(st.booleans()):
        page = page.replace(b"<p>", draw(st.sampled_from(SNIPPETS)) + b"<p>", 1)
    return bytes(doc), page


class MemoryFetcher:
    def __init__(self, feed_url: str, feed: bytes, page: bytes) -> None:
        self.feed_url, self.feed, self.page = feed_url, feed, page

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  accept: str | None = None, max_bytes: int | None = None,
                  ready: Callable[[str], None] | None = None) -> HTTPResponse:
        if url == self.feed_url:
            return HTTPResponse(url, 200, {"content-type": "application/xml"}, self.feed)
        return HTTPResponse(url, 200, {"content-type": "text/html"}, self.page)

    async def robots_allowed(self, url: str) -> bool:
        return True


def test_mutated_feeds_and_pages_never_crash_the_pipeline_nor_store_anything_dangerous() -> None:
    numbers = count()
    with tempfile.TemporaryDirectory() as tmp:
        storage = open_storage(f"sqlite:///{tmp}/fuzz.sqlite")
        # One story thread for every example, closed before the directory goes: a thread per
        # RefreshContext would still be sweeping when the directory is removed, and its sweep
        # re-creates the database file there (the directory is then not empty to remove).
        stories = StoryAssigner(storage)

        @settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(mutants())
        def one(case: tuple[bytes, bytes]) -> None:
            feed, page = case
            url = f"https://fuzz.example/{next(numbers)}/feed"
            source = storage.add_source(NewSource(url), datetime.now(UTC))
            ctx = RefreshContext(storage=storage, fetcher=MemoryFetcher(url, feed, page), articles_per_feed=3,
                                 stories=stories)
            outcome = asyncio.run(refresh_source(ctx, source))
            assert outcome.error_kind != "internal", outcome.error
            for item in storage.list_articles(ArticleFilter(source_id=source.id), limit=10):
                article = storage.get_article(item.id)
                assert_harmless(article.html)
                assert article.url.startswith(("http://", "https://"))

        try:
            one()
        finally:
            stories.close()
            storage.close()
