"""ingest.opml: reading OPML 1.0/2.0 safely, writing OPML 2.0, and the round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from newsdesk.errors import ParseError
from newsdesk.ingest.opml import parse_opml, write_opml
from newsdesk.models import NewSource, Source, SourceKind

OPML_2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Nieuws" title="Nieuws">
      <outline type="rss" text="NOS Nieuws" title="NOS Nieuws" xmlUrl="https://feeds.nos.nl/nosnieuwsalgemeen"
               htmlUrl="https://nos.nl/"/>
      <outline text="Regionaal">
        <outline type="rss" text="Omroep West" xmlUrl="https://www.omroepwest.nl/rss/index.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Loose &amp; Fancy" xmlurl="https://loose.example.com/feed" htmlurl="/"/>
    <outline type="rss" text="Tagged" xmlUrl="https://tagged.example.com/rss" category="/Tech/Python,/Other"/>
    <outline type="link" text="Just a link" url="https://example.com/page"/>
    <outline type="rss" text="Bad scheme" xmlUrl="javascript:alert(1)"/>
    <outline type="rss" text="Duplicate" xmlUrl="https://feeds.nos.nl/nosnieuwsalgemeen"/>
  </body>
</opml>
"""

OPML_1 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0"><head><title>old</title></head><body>
<outline title="Caf\xe9 feeds" text="ignored when title is there">
<outline text="Le Caf\xe9" title="Le Caf\xe9" type="rss" xmlUrl="http://cafe.example.fr/rss" htmlUrl="http://cafe.example.fr/"/>
</outline></body></opml>
"""


def test_parse_opml_2() -> None:
    assert parse_opml(OPML_2) == [
        NewSource(
            url="https://feeds.nos.nl/nosnieuwsalgemeen",
            title="NOS Nieuws",
            site_url="https://nos.nl/",
            category="Nieuws",
        ),
        NewSource(
            url="https://www.omroepwest.nl/rss/index.xml", title="Omroep West", category="Nieuws / Regionaal"
        ),
        NewSource(
            url="https://loose.example.com/feed", title="Loose & Fancy", site_url="https://loose.example.com/"
        ),
        NewSource(url="https://tagged.example.com/rss", title="Tagged", category="Tech / Python"),
    ]


def test_parse_opml_1_with_declared_encoding() -> None:
    assert parse_opml(OPML_1) == [
        NewSource(
            url="http://cafe.example.fr/rss",
            title="Le Café",
            site_url="http://cafe.example.fr/",
            category="Café feeds",
        ),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<opml><body><outline",
        b"<rss version='2.0'><channel/></rss>",
        b"<opml version='2.0'><head/></opml>",
        b"<html><body>not opml</body></html>",
    ],
)
def test_parse_opml_rejects(content: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_opml(content)
    assert str(info.value)


def test_parse_opml_never_expands_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-OPML")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
    for subset in (f'<!ENTITY xxe SYSTEM "file://{secret}">', '<!ENTITY l0 "lol">' + laughs):
        ref = "&xxe;" if "xxe" in subset else "&l8;"
        doc = (
            f'<?xml version="1.0"?><!DOCTYPE opml [{subset}]><opml version="2.0"><body>'
            f'<outline text="{ref}" xmlUrl="https://e.example.com/feed"/></body></opml>'
        ).encode()
        try:
            result = parse_opml(doc)
        except ParseError:
            continue
        assert "TOPSECRET" not in repr(result)
        assert "lollol" not in repr(result)


def test_parse_opml_deep_nesting_is_an_error_not_a_crash() -> None:
    doc = b"<opml><body>" + b"<outline text='x'>" * 5000 + b"</outline>" * 5000 + b"</body></opml>"
    with pytest.raises(ParseError):
        parse_opml(doc)


def _source(i: int, **kw: object) -> Source:
    values: dict[str, object] = {
        "id": i,
        "url": f"https://site{i}.example.com/feed",
        "kind": SourceKind.FEED,
        "title": f"Site {i}",
        "site_url": f"https://site{i}.example.com/",
        "category": None,
        "paused": False,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    values.update(kw)
    return Source(**values)  # type: ignore[arg-type]


def test_write_opml_is_valid_escaped_opml_2() -> None:
    sources = [
        _source(1, title='Tom & "Jerry" <News>', category="Fun & Games"),
        _source(2, category="Nieuws"),
        _source(3, title="Bell\x07 char\x00", site_url=None),
        _source(4, url="https://s.example.com/sitemap.xml", kind=SourceKind.SITEMAP, category="Nieuws"),
    ]
    text = write_opml(sources, title="My <reader> & co")
    root = etree.fromstring(text.encode())
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "My <reader> & co"
    folders = root.findall("body/outline[@text]")
    assert [f.get("text") for f in folders[:2]] == ["Fun & Games", "Nieuws"]
    assert folders[0][0].get("title") == 'Tom & "Jerry" <News>'
    assert folders[0][0].get("xmlUrl") == "https://site1.example.com/feed"
    assert folders[0][0].get("type") == "rss"
    loose = root.find("body/outline[@xmlUrl='https://site3.example.com/feed']")
    assert loose is not None and loose.get("text") == "Bell char" and loose.get("htmlUrl") is None


def test_round_trip() -> None:
    sources = [
        _source(1, title="Één & twee", category="Nieuws"),
        _source(2, category="Nieuws / Regionaal"),
        _source(3, category=None),
        _source(4, url="https://s.example.com/news-sitemap.xml", kind=SourceKind.SITEMAP, category="Tech"),
        _source(5, url="https://h.example.com/", kind=SourceKind.HOMEPAGE, title="Home 'page'"),
    ]
    parsed = parse_opml(write_opml(sources).encode("utf-8"))
    expected = [
        NewSource(url=s.url, kind=s.kind, title=s.title, site_url=s.site_url, category=s.category)
        for s in sources
    ]
    assert sorted(parsed, key=lambda s: s.url) == sorted(expected, key=lambda s: s.url)
    # and a second trip changes nothing
    again = [
        _source(i, url=n.url, kind=n.kind, title=n.title, site_url=n.site_url, category=n.category)
        for i, n in enumerate(parsed)
    ]
    assert write_opml(again) == write_opml(
        [
            _source(i, url=n.url, kind=n.kind, title=n.title, site_url=n.site_url, category=n.category)
            for i, n in enumerate(parse_opml(write_opml(again).encode()))
        ]
    )
