"""ingest.feeds: golden feeds, fast path == feedparser, hostile XML, caps, sitemaps, home pages.

Golden data lives in tests/data/feeds: NAME.xml (or NAME.json) next to NAME.expected.json. To
regenerate the expected files after a deliberate change, run

    NEWSDESK_REGEN_GOLDEN=1 PYTHONPATH=src python -m pytest tests/ingest/test_feeds.py -k golden

and review the diff before committing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.errors import MalformedFeedError, NotAFeedError, ParseError
from newsdesk.ingest import feeds
from newsdesk.ingest.feeds import parse_feed, parse_homepage_links, parse_sitemap
from newsdesk.models import FeedEntry, ParsedFeed

DATA = Path(__file__).resolve().parent.parent / "data" / "feeds"
FEED_URL = "https://example.com/feed"
GOLDEN = sorted(p for p in DATA.iterdir() if p.suffix in (".xml", ".json") and ".expected" not in p.name)
# Well-formed feeds the fast path must take and agree on with feedparser.
FAST_PATH_FEEDS = ["rss_full.xml", "atom_xmlbase.xml", "rdf_dc.xml", "rss_bom_dutch.xml"]
CONTENT_TYPES = {".xml": "application/xml", ".json": "application/feed+json"}


def _entry_json(entry: FeedEntry) -> dict[str, Any]:
    data = dataclasses.asdict(entry)
    data["published_at"] = entry.published_at.isoformat() if entry.published_at else None
    return data


def _describe(path: Path) -> dict[str, Any]:
    try:
        parsed = parse_feed(path.read_bytes(), FEED_URL, CONTENT_TYPES[path.suffix])
    except (NotAFeedError, MalformedFeedError) as exc:
        return {"error": type(exc).__name__}
    return {
        "format": parsed.format,
        "title": parsed.title,
        "site_url": parsed.site_url,
        "has_warning": parsed.warning is not None,
        "entries": [_entry_json(e) for e in parsed.entries],
    }


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    expected_path = path.with_name(path.stem + ".expected.json")
    actual = _describe(path)
    if os.environ.get("NEWSDESK_REGEN_GOLDEN"):
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))


def test_every_golden_input_has_an_expected_file() -> None:
    assert len(GOLDEN) >= 15
    for path in GOLDEN:
        assert path.with_name(path.stem + ".expected.json").exists(), path.name


@pytest.mark.parametrize("name", FAST_PATH_FEEDS)
def test_fast_path_agrees_with_feedparser(name: str) -> None:
    content = (DATA / name).read_bytes()
    fast = feeds._parse_fast(content, FEED_URL, None, [])
    assert fast is not None, "the fast path refused a well-formed feed"
    slow = feeds._parse_with_feedparser(content, FEED_URL, "application/xml", None, [])
    assert fast.entries, "a golden feed without entries proves nothing"
    assert fast.entries == slow.entries
    assert (fast.title, fast.site_url, fast.format) == (slow.title, slow.site_url, slow.format)


def test_fast_path_agrees_on_generated_variety() -> None:
    # Many small items mixing the features the fast path reads, compared field by field.
    items = []
    for i in range(60):
        date = [
            f"Mon, 0{i % 9 + 1} Jan 2024 1{i % 10}:00:00 +0{i % 5}30",
            f"2024-01-0{i % 9 + 1}T0{i % 10}:15:00-03:00",
            "",
            "Tue, 2 Apr 2024 07:00 EST",
            "2024-02-03",
        ][i % 5]
        pub = f"<dc:date>{date}</dc:date>" if date else ""
        if date and i % 2:
            pub = f"<pubDate>{date}</pubDate>"
        items.append(
            f"<item><title>Title {i} &amp;amp; &lt;i&gt;x&lt;/i&gt;</title>"
            f"<link>{'/rel/' if i % 3 else 'https://example.com/abs/'}{i}</link>"
            f"<guid isPermaLink='false'>g{i}</guid>{pub}"
            f"<description><![CDATA[<p>Sum {i} &eacute;</p>]]></description>"
            + (f"<content:encoded>&lt;p&gt;Body {i}&lt;/p&gt;</content:encoded>" if i % 4 else "")
            + (f"<author>a{i}@example.com (Author {i})</author>" if i % 6 == 0 else "")
            + (f"<dc:creator>Creator {i}</dc:creator>" if i % 7 == 0 else "")
            + (f"<media:content url='https://i.example.com/{i}.jpg' medium='image'/>" if i % 8 == 0 else "")
            + ('<post-id xmlns="com-wordpress:feed-additions:1">42</post-id>' if i % 5 == 0 else "")
            + ("<x:rating xmlns:x='urn:example:x'>5</x:rating>" if i % 9 == 0 else "")
            + "</item>"
        )
    doc = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        "<channel><title>Gen</title><link>https://example.com/</link>" + "".join(items) + "</channel></rss>"
    ).encode()
    fast = feeds._parse_fast(doc, FEED_URL, None, [])
    slow = feeds._parse_with_feedparser(doc, FEED_URL, "application/rss+xml", None, [])
    assert fast is not None
    assert len(fast.entries) == 60
    for a, b in zip(fast.entries, slow.entries, strict=True):
        assert a == b
    assert sum(e.published_at is not None for e in fast.entries) >= 40


def test_fast_path_skips_only_unknown_elements_feedparser_ignores() -> None:
    def item(extra: str) -> bytes:
        return _rss([f"<item><title>T</title><link>https://example.com/a</link>{extra}</item>"]).replace(
            b"<rss ", b"<rss xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd' "
            b"xmlns:media='http://search.yahoo.com/mrss/' "
        )

    assert feeds._parse_fast(item("<ext:x xmlns:ext='urn:e'>1</ext:x>"), FEED_URL, None, []) is not None
    # feedparser reads these into summary, title or author: the fast path hands them over
    for extra in (
        "<itunes:summary>S</itunes:summary>",
        "<media:title>M</media:title>",
        "<title xmlns='urn:other'>shadow</title>",
        "<ext:x xmlns:ext='urn:e'><title>nested</title></ext:x>",
    ):
        assert feeds._parse_fast(item(extra), FEED_URL, None, []) is None, extra
        assert parse_feed(item(extra), FEED_URL).entries


def test_feedparser_path_survives_fields_named_like_its_keys() -> None:
    # Unknown RSS elements land in feedparser's entry dict under their own name.
    extra = (
        "<authors>x</authors><published_parsed>y</published_parsed><media_content>z</media_content>"
        "<links>w</links><content>v</content>"
    )
    doc = _rss([f"<item><title>T</title><link>https://example.com/a</link>{extra}</item>"])
    parsed = parse_feed(doc, FEED_URL)
    assert parsed.entries[0].url == "https://example.com/a"
    assert parsed.entries[0].published_at is None


def test_fast_path_is_much_faster_than_feedparser() -> None:
    content = (DATA / "rss_full.xml").read_bytes()
    items = content.split(b"<item>", 1)[1].rsplit(b"</channel>", 1)[0]
    big = content.split(b"<item>", 1)[0] + (b"<item>" + items) * 50 + b"</channel></rss>"

    def best(fn: Any) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    fast = best(lambda: feeds._parse_fast(big, FEED_URL, None, []))
    slow = best(lambda: feeds._parse_with_feedparser(big, FEED_URL, "application/xml", None, []))
    # The goal is ~10x; the bound leaves room for a noisy CI machine.
    assert slow / fast > 4, f"fast path only {slow / fast:.1f}x faster"


def test_published_datetimes_are_utc() -> None:
    parsed = parse_feed((DATA / "rss_full.xml").read_bytes(), FEED_URL)
    first = parsed.entries[0]
    assert first.published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert all(e.published_at is None or e.published_at.tzinfo is UTC for e in parsed.entries)


def test_links_are_absolute_and_linkless_entries_skipped() -> None:
    parsed = parse_feed((DATA / "atom_xmlbase.xml").read_bytes(), FEED_URL)
    assert [e.url for e in parsed.entries] == [
        "https://blog.example.org/blog/posts/first",
        "https://blog.example.org/other/p2",
        "https://blog.example.org/blog/posts/third",
    ]
    assert parsed.site_url == "https://blog.example.org/blog/"
    assert parsed.entries[0].image_url == "https://blog.example.org/blog/img/first.png"


# -- hostile XML ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>https://example.com/</link>
<item><title>Laughs &lol9;</title><link>https://example.com/2024/01/01/laughs</link></item>
</channel></rss>
"""


def test_billion_laughs_is_not_expanded() -> None:
    start = time.perf_counter()
    parsed = parse_feed(BILLION_LAUGHS, FEED_URL)
    assert time.perf_counter() - start < 2
    assert "lollol" not in parsed.title
    assert all("lollol" not in e.title for e in parsed.entries)
    assert parsed.warning and "entities" in parsed.warning


def test_external_entity_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    for subset in (
        f'<!ENTITY xxe SYSTEM "file://{secret}">',
        f'<!ENTITY % p SYSTEM "file://{secret}"> %p;',
    ):
        doc = (
            f'<?xml version="1.0"?><!DOCTYPE rss [ {subset} ]>'
            '<rss version="2.0"><channel><title>x &xxe;</title><link>https://example.com/</link>'
            "<item><title>&xxe;</title><link>https://example.com/2024/01/01/xxe</link>"
            "<description>&xxe;</description></item></channel></rss>"
        ).encode()
        try:
            parsed = parse_feed(doc, FEED_URL)
        except MalformedFeedError:
            continue
        dumped = repr(parsed)
        assert "TOPSECRET" not in dumped
    # An external DTD is not fetched or read either (the file holds an entity the feed uses).
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "TOPSECRET-DTD">')
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{dtd}">'
        '<rss version="2.0"><channel><title>t</title><item><title>&leak;</title>'
        "<link>https://example.com/2024/01/01/dtd</link></item></channel></rss>"
    ).encode()
    parsed = parse_feed(doc, FEED_URL)
    assert "TOPSECRET" not in repr(parsed)


def test_xxe_is_not_read_by_either_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-99")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>'
        '<rss version="2.0"><channel><title>t</title><item><title>a &xxe;</title>'
        "<link>https://example.com/2024/01/01/a</link></item></channel></rss>"
    ).encode()
    # Even without the DOCTYPE cut, lxml with these options and feedparser do not read the file.
    assert feeds._parse_fast(doc, FEED_URL, None, []) is None or "TOPSECRET" not in repr(
        feeds._parse_fast(doc, FEED_URL, None, [])
    )
    with contextlib.suppress(MalformedFeedError):
        assert "TOPSECRET" not in repr(feeds._parse_with_feedparser(doc, FEED_URL, None, None, []))


# -- not feeds, broken feeds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"  \n", b"<html><body>hi</body></html>", b'{"a": 1}', b"[1, 2]", b"just some text"],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeedError) as info:
        parse_feed(body, FEED_URL)
    assert str(info.value)
    assert "Traceback" not in str(info.value)


def test_broken_json_feed_is_malformed() -> None:
    with pytest.raises(MalformedFeedError):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', FEED_URL)


def test_empty_feed_with_encoding_mismatch_is_a_feed() -> None:
    body = b'<?xml version="1.0" encoding="utf-8"?>'
    body += b'<rss version="2.0"><channel><title>Caf\xe9</title></channel></rss>'
    parsed = parse_feed(body, FEED_URL, "application/rss+xml")
    assert parsed.entries == ()
    assert parsed.title == "Café"
    assert parsed.warning


def test_http_charset_is_honoured() -> None:
    body = "<rss version='2.0'><channel><title>Caf\xe9</title><item><title>\xe9t\xe9</title>" \
        "<link>https://example.com/2024/01/01/ete</link></item></channel></rss>"
    parsed = parse_feed(body.encode("latin-1"), FEED_URL, "application/rss+xml", "iso-8859-1")
    assert parsed.title == "Café"
    assert parsed.entries[0].title == "été"


# -- bounds -----------------------------------------------------------------------------------------


def _rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>https://example.com/</link>'
        + "".join(items) + "</channel></rss>"
    ).encode()


def test_entries_are_capped_keeping_document_order() -> None:
    items = [f"<item><title>t{i}</title><link>https://example.com/a/{i}</link></item>" for i in range(1500)]
    parsed = parse_feed(_rss(items), FEED_URL)
    assert len(parsed.entries) == feeds.MAX_ENTRIES
    assert parsed.entries[0].url == "https://example.com/a/0"
    assert parsed.entries[-1].url == f"https://example.com/a/{feeds.MAX_ENTRIES - 1}"
    assert parsed.warning and "1500" in parsed.warning


def test_field_lengths_are_capped() -> None:
    long_title = "word " * 1000
    long_summary = "<p>" + "x" * 300_000 + "</p>"
    parsed = parse_feed(
        _rss([f"<item><title>{long_title}</title><link>https://example.com/a</link>"
              f"<description><![CDATA[{long_summary}]]></description></item>"]),
        FEED_URL,
    )
    entry = parsed.entries[0]
    assert len(entry.title) <= feeds.MAX_TITLE_CHARS
    assert entry.summary is not None and len(entry.summary) <= feeds.MAX_SUMMARY_CHARS


# -- JSON Feed --------------------------------------------------------------------------------------


def test_json_feed_fields() -> None:
    parsed = parse_feed((DATA / "feed.json").read_bytes(), FEED_URL)
    first, second = parsed.entries
    assert first == FeedEntry(
        url="https://json.example.com/posts/1",
        title="First JSON post",
        guid="1",
        summary="A summary",
        content_html="<p>Hi</p>",
        author="Jo",
        published_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        image_url="https://json.example.com/img/1.png",
    )
    assert second.url == "https://elsewhere.example.org/story"
    assert second.content_html == "Text &lt;only&gt;"
    assert parsed.title == "JSON <Feed>"


# -- sitemaps ---------------------------------------------------------------------------------------

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://news.example.com/2024/05/01/big-story</loc>
    <lastmod>2024-05-01T12:00:00+00:00</lastmod>
    <news:news>
      <news:publication><news:name>Example News</news:name>
        <news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-01T10:30:00+02:00</news:publication_date>
      <news:title>Big &amp; important story</news:title>
    </news:news>
    <image:image><image:loc>https://news.example.com/img/big.jpg</image:loc></image:image>
  </url>
  <url><loc>https://news.example.com/about</loc><lastmod>2023-01-01</lastmod></url>
  <url><loc>ftp://news.example.com/file</loc></url>
</urlset>
"""


def test_news_sitemap() -> None:
    parsed = parse_sitemap(NEWS_SITEMAP, "https://news.example.com/news-sitemap.xml")
    assert parsed.format == "sitemap"
    assert parsed.entries == (
        FeedEntry(
            url="https://news.example.com/2024/05/01/big-story",
            title="Big & important story",
            published_at=datetime(2024, 5, 1, 8, 30, tzinfo=UTC),
            image_url="https://news.example.com/img/big.jpg",
        ),
        FeedEntry(url="https://news.example.com/about", published_at=datetime(2023, 1, 1, tzinfo=UTC)),
    )


def test_sitemap_index_lists_children_and_gzip_is_read() -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemap-news.xml</loc><lastmod>2024-05-01T00:00:00Z</lastmod></sitemap>
      <sitemap><loc>https://news.example.com/sitemap-2024-04.xml.gz</loc></sitemap>
    </sitemapindex>"""
    parsed = parse_sitemap(gzip.compress(index), "https://news.example.com/sitemap.xml")
    assert parsed.format == "sitemapindex"
    assert [e.url for e in parsed.entries] == [
        "https://news.example.com/sitemap-news.xml",
        "https://news.example.com/sitemap-2024-04.xml.gz",
    ]
    assert parsed.entries[0].published_at == datetime(2024, 5, 1, tzinfo=UTC)


def test_sitemap_gzip_bomb_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "MAX_SITEMAP_BYTES", 1000)
    bomb = gzip.compress(b"<urlset>" + b" " * 100_000 + b"</urlset>")
    with pytest.raises(MalformedFeedError):
        parse_sitemap(bomb, "https://news.example.com/sitemap.xml.gz")


def test_sitemap_keeps_newest_when_capped() -> None:
    urls = "".join(
        f"<url><loc>https://s.example.com/p/{i}</loc><lastmod>20{10 + i % 14}-01-01</lastmod></url>"
        for i in range(1400)
    )
    doc = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    parsed = parse_sitemap(doc, "https://s.example.com/sitemap.xml")
    assert len(parsed.entries) == feeds.MAX_ENTRIES
    dates = [e.published_at for e in parsed.entries if e.published_at]
    assert min(dates) >= datetime(2013, 1, 1, tzinfo=UTC)
    assert parsed.warning


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html><body>no</body></html>", NotAFeedError),
        (b'<?xml version="1.0"?><rss version="2.0"></rss>', NotAFeedError),
        (b"", NotAFeedError),
    ],
)
def test_not_a_sitemap(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_sitemap(body, "https://s.example.com/sitemap.xml")


def test_sitemap_entities_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "s.txt"
    secret.write_text("TOPSECRET-SITEMAP")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://s.example.com/a/12345</loc>'
        "<news:news xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'><news:title>&x;</news:title>"
        "</news:news></url></urlset>"
    ).encode()
    try:
        parsed = parse_sitemap(doc, "https://s.example.com/sitemap.xml")
    except MalformedFeedError:
        return
    assert "TOPSECRET" not in repr(parsed)


# -- home pages -------------------------------------------------------------------------------------

HOMEPAGE = b"""<!DOCTYPE html><html><head><title>The  Daily Example</title></head><body>
<nav><a href="/">Home</a> <a href="/category/politics">Politics</a>
<a href="/tag/climate-change-and-more-things">Climate</a>
<a href="/login">Log in</a> <a href="/about">About us</a> <a href="/nieuws">Nieuws</a></nav>
<main>
 <a href="/2024/05/01/council-approves-new-budget"><img src="/i.jpg" alt=""></a>
 <a href="/2024/05/01/council-approves-new-budget">Council approves
    new budget</a>
 <a href="https://www.daily.example.com/nieuws/2510123/kabinet">Kabinet valt</a>
 <a href="/opinion/why-the-city-needs-more-bike-lanes-now">Why the city needs bike lanes</a>
 <a href="/sport/match-report-123456.html">Match report</a>
 <a href="https://elsewhere.example.org/2024/05/01/other-site-story">Other site</a>
 <a href="/2024/05/01/council-approves-new-budget#comments">12 comments</a>
 <a href="/files/report-2024-annual-results-final.pdf">PDF</a>
 <a href="mailto:news@daily.example.com">Mail</a>
 <a href="/author/jane-doe-the-reporter">Jane</a>
 <a href="/index.php?p=4711">Old-style story</a>
 <a href="/search?id=12345">Search</a>
</main></body></html>"""


def test_homepage_links() -> None:
    parsed = parse_homepage_links(HOMEPAGE, "https://daily.example.com/")
    assert parsed.format == "homepage"
    assert parsed.title == "The Daily Example"
    assert [(e.url, e.title) for e in parsed.entries] == [
        ("https://daily.example.com/2024/05/01/council-approves-new-budget", "Council approves new budget"),
        ("https://www.daily.example.com/nieuws/2510123/kabinet", "Kabinet valt"),
        (
            "https://daily.example.com/opinion/why-the-city-needs-more-bike-lanes-now",
            "Why the city needs bike lanes",
        ),
        ("https://daily.example.com/sport/match-report-123456.html", "Match report"),
        ("https://daily.example.com/index.php?p=4711", "Old-style story"),
    ]


def test_homepage_without_articles_is_empty() -> None:
    parsed = parse_homepage_links(b"<html><body><a href='/about'>About</a></body></html>", "https://x.example.com/")
    assert parsed.entries == ()
    assert isinstance(parsed, ParsedFeed)


# -- robustness: any bytes give a ParsedFeed or a ParseError, nothing else -----------------------

_SEEDS = [p.read_bytes() for p in GOLDEN if p.stat().st_size > 10]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    cut=st.integers(min_value=0, max_value=5000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=5000), st.integers(0, 255)), max_size=8),
)
def test_mutated_feeds_never_crash(seed: bytes, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(seed[: max(cut, 1)] if cut < len(seed) else seed)
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    for parse in (parse_feed, parse_sitemap, parse_homepage_links):
        try:
            result = parse(bytes(data), FEED_URL)
        except ParseError as exc:
            assert str(exc)
            continue
        assert isinstance(result, ParsedFeed)
        assert len(result.entries) <= feeds.MAX_ENTRIES
        for entry in result.entries:
            assert entry.url.startswith(("http://", "https://"))
            assert entry.published_at is None or entry.published_at.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    for parse in (parse_feed, parse_sitemap, parse_homepage_links):
        with contextlib.suppress(ParseError):
            parse(data, FEED_URL)


def test_doctype_only_cut_from_the_prolog() -> None:
    doc = _rss([
        "<item><title>T</title><link>https://example.com/a</link>"
        "<description><![CDATA[<!DOCTYPE html><p>embedded page</p>]]></description></item>"
    ])
    parsed = parse_feed(doc, FEED_URL)
    assert parsed.entries[0].summary == "embedded page"
    assert parsed.warning is None
    assert feeds._strip_doctype(b"<!DOCTYPE rss [<!ENTITY a 'b'>]><rss/>") == (b"<rss/>", True)
