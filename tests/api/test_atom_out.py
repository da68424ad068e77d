"""Atom out: home, each source, each search. Checked against RFC 4287's required elements, and read
back by feedparser (which reports the version it recognised) with the full text intact."""

from __future__ import annotations

import feedparser
import httpx
from api_fixtures import Server
from lxml import etree

A = "{http://www.w3.org/2005/Atom}"


def _check_atom(body: bytes) -> etree._Element:
    feed = etree.fromstring(body)
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{A}{required}") is not None, required
    assert feed.find(f"{A}link[@rel='self']") is not None
    ids = set()
    for entry in feed.findall(f"{A}entry"):
        for required in ("id", "title", "updated", "content"):
            assert entry.find(f"{A}{required}") is not None, required
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        ids.add(entry.findtext(f"{A}id"))
    assert len(ids) == len(feed.findall(f"{A}entry"))
    return feed


def test_home_source_and_search_feeds(http: httpx.Client, server: Server) -> None:
    home = http.get("/atom")
    assert home.status_code == 200 and home.headers["content-type"].startswith("application/atom+xml")
    feed = _check_atom(home.content)
    assert len(feed.findall(f"{A}entry")) == len(server.articles)
    parsed = feedparser.parse(home.content)
    assert parsed.version == "atom10" and not parsed.bozo
    first = parsed.entries[0]
    assert first.title == "Story 29 <&> title"  # escaped in XML, intact after parsing
    assert first.content[0].value == "<p>Body of story 29 about harbours &amp; ferries.</p>"
    assert first.id == f"{server.url}/articles/{server.articles[0]}"

    source = server.sources[1]
    one = feedparser.parse(http.get(f"/sources/{source.id}/atom").content)
    assert one.feed.title.startswith("Tech Daily") and len(one.entries) == 10
    _check_atom(http.get(f"/sources/{source.id}/atom").content)

    found = http.get("/search/atom", params={"q": "harbours"})
    _check_atom(found.content)
    assert len(feedparser.parse(found.content).entries) == 30
    assert feedparser.parse(http.get("/search/atom", params={"q": "nothingmatches"}).content).entries == []


def test_bad_feed_requests(http: httpx.Client) -> None:
    assert http.get("/sources/999999/atom").status_code == 404
    assert http.get("/sources/abc/atom").status_code == 400
    assert http.get("/search/atom", params={"q": "x" * 600}).status_code == 400
