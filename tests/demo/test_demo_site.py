"""The bundled demo site, served by DemoSite on 127.0.0.1: feeds, pages, validators and safety."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import feedparser
import httpx
import lxml.etree
import lxml.html
import py3langid
import pytest

from newsdesk.demo import DemoSite
from newsdesk.demo.server import SITE_DIR

OUTLETS = {"dagkrant": "De Dagkrant", "avondblad": "Het Avondblad", "ledger": "The Morning Ledger",
           "harbour": "Harbour Herald"}
DUTCH = {"dagkrant", "avondblad"}
#: keywords (lower case) that mark each shared event in a title or body, in either language
EVENTS = {
    "greenland": ("groenland", "greenland"),
    "tariffs": ("heffing", "tariff"),
    "storm": ("storm jorien",),
    "ai-vote": ("ai-verordening", "ai act", "chatbot"),
}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def client(site: DemoSite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base_url, timeout=10) as c:
        yield c


def _article_urls(site: DemoSite) -> dict[str, list[str]]:
    """Every outlet's article URLs, as the site itself lists them on the outlet's home page."""
    out: dict[str, list[str]] = {}
    for slug in OUTLETS:
        page = httpx.get(site.url(f"{slug}/"), timeout=10)
        doc = lxml.html.fromstring(page.content)
        links = doc.xpath('//li[@class="teaser"]/h2/a/@href')
        out[slug] = list(dict.fromkeys(links))
    return out


@pytest.fixture(scope="module")
def articles(site: DemoSite) -> dict[str, list[tuple[str, lxml.html.HtmlElement]]]:
    """outlet → [(url, parsed page)], fetched once for the chrome and content checks."""
    pages: dict[str, list[tuple[str, lxml.html.HtmlElement]]] = {}
    for slug, urls in _article_urls(site).items():
        pages[slug] = []
        for url in urls:
            r = httpx.get(url, timeout=10)
            assert r.status_code == 200, url
            pages[slug].append((url, lxml.html.fromstring(r.content)))
    return pages


def _raw_get(site: DemoSite, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as written (httpx would normalise the traversal away)."""
    host, port = site.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


# --- feeds and sitemap -------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "ctype", "version"), [
    ("dagkrant/rss.xml", "application/rss+xml", "rss20"),
    ("avondblad/atom.xml", "application/atom+xml", "atom10"),
])
def test_xml_feeds_parse_and_every_entry_is_an_article(site: DemoSite, client: httpx.Client,
                                                       path: str, ctype: str, version: str) -> None:
    r = client.get("/" + path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(ctype)
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert 5 <= len(parsed.entries) <= 7
    for entry in parsed.entries:
        assert entry.link.startswith(site.base_url + "/")
        assert entry.title and entry.get("summary")
        assert entry.published_parsed is not None
        page = client.get(entry.link)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert lxml.html.fromstring(page.content).findtext(".//h1") == entry.title
    # RSS carries only a description, never the full text: the ingest must fetch the page
    if version == "rss20":
        assert b"content:encoded" not in r.content


def test_json_feed_parses_and_every_item_is_an_article(site: DemoSite, client: httpx.Client) -> None:
    r = client.get("/ledger/feed.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/feed+json")
    feed = json.loads(r.content)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == site.url("ledger/feed.json")
    assert 5 <= len(feed["items"]) <= 7
    for item in feed["items"]:
        assert item["id"] and item["title"] and ("content_html" in item or "content_text" in item)
        datetime.fromisoformat(item["date_published"])
        page = client.get(item["url"])
        assert page.status_code == 200
        assert lxml.html.fromstring(page.content).findtext(".//h1") == item["title"]


def test_harbour_herald_has_no_feed_but_a_news_sitemap(site: DemoSite, client: httpx.Client) -> None:
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert f"Sitemap: {site.base_url}/harbour/news-sitemap.xml" in robots.text
    assert "Disallow: /" not in robots.text

    home = lxml.html.fromstring(client.get("/harbour/").content)
    assert not home.xpath('//link[@rel="alternate"]')
    home_links = set(home.xpath('//li[@class="teaser"]/h2/a/@href'))

    r = client.get("/harbour/news-sitemap.xml")
    assert r.status_code == 200
    assert "xml" in r.headers["content-type"]
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "n": "http://www.google.com/schemas/sitemap-news/0.9"}
    tree = lxml.etree.fromstring(r.content)
    locs = tree.xpath("//s:url/s:loc/text()", namespaces=ns)
    assert len(locs) == 6
    assert set(locs) == home_links
    assert set(tree.xpath("//n:publication/n:name/text()", namespaces=ns)) == {"Harbour Herald"}
    titles = tree.xpath("//n:news/n:title/text()", namespaces=ns)
    for loc, title in zip(locs, titles, strict=True):
        assert loc.startswith(site.base_url + "/harbour/")
        page = client.get(loc)
        assert page.status_code == 200
        assert lxml.html.fromstring(page.content).findtext(".//h1") == title


def test_home_pages_advertise_their_feeds(site: DemoSite, client: httpx.Client) -> None:
    expected = dict(zip(("dagkrant", "avondblad", "ledger"), site.feed_urls(), strict=True))
    for slug, feed_url in expected.items():
        doc = lxml.html.fromstring(client.get(f"/{slug}/").content)
        assert doc.xpath('//link[@rel="alternate"]/@href') == [feed_url]
        assert len(doc.xpath('//li[@class="teaser"]')) == 6
    root = lxml.html.fromstring(client.get("/").content)
    assert {site.url(f"{slug}/") for slug in OUTLETS} <= set(root.xpath("//a/@href"))


def test_opml_lists_the_feeds_and_harbour_home_by_language(site: DemoSite) -> None:
    text = site.opml()
    assert "{{BASE}}" not in text
    tree = lxml.etree.fromstring(text.encode())
    groups = {g.get("text"): g for g in tree.xpath("/opml/body/outline")}
    assert set(groups) == {"Nederlands", "English"}
    assert sorted(tree.xpath("//outline/@xmlUrl")) == sorted(site.feed_urls())
    assert groups["Nederlands"].xpath("outline/@xmlUrl") == site.feed_urls()[:2]
    assert groups["English"].xpath("outline/@htmlUrl") == [site.url("ledger/"), site.url("harbour/")]
    # the served copy is the same document
    assert httpx.get(site.url("sources.opml"), timeout=10).text == text


# --- HTTP behaviour ----------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "ctype"), [
    ("/dagkrant/img/greenland.svg", "image/svg+xml"),
    ("/static/site.css", "text/css"),
    ("/", "text/html"),
    ("/sources.opml", "text/x-opml"),
    ("/robots.txt", "text/plain"),
])
def test_content_types(client: httpx.Client, path: str, ctype: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(ctype)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert b"{{BASE}}" not in r.content


def test_conditional_get_answers_304(client: httpx.Client) -> None:
    first = client.get("/dagkrant/rss.xml")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and modified.endswith("GMT")

    by_etag = client.get("/dagkrant/rss.xml", headers={"If-None-Match": etag})
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag.headers["etag"] == etag

    assert client.get("/dagkrant/rss.xml", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get("/dagkrant/rss.xml", headers={"If-Modified-Since": modified}).status_code == 304

    stale = client.get("/dagkrant/rss.xml", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content
    # If-None-Match wins over If-Modified-Since (RFC 9110): a stale tag means a full answer
    both = client.get("/dagkrant/rss.xml",
                      headers={"If-None-Match": '"stale"', "If-Modified-Since": modified})
    assert both.status_code == 200
    old = client.get("/dagkrant/rss.xml", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert old.status_code == 200
    garbage = client.get("/dagkrant/rss.xml", headers={"If-Modified-Since": "yesterday"})
    assert garbage.status_code == 200


def test_head_sends_headers_without_body(client: httpx.Client) -> None:
    get = client.get("/ledger/feed.json")
    head = client.head("/ledger/feed.json")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]


def test_missing_files_and_folders_are_404_never_listings(client: httpx.Client) -> None:
    for path in ("/nope.html", "/dagkrant/img/", "/dagkrant/2026/01/", "/dagkrant/2026/01/20/",
                 "/dagkrant/rss.xml/extra"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert b"<a href" not in r.content
    moved = client.get("/dagkrant")
    assert moved.status_code == 301
    assert moved.headers["location"].endswith("/dagkrant/")


@pytest.mark.parametrize("target", [
    "/../server.py",
    "/../../../../etc/passwd",
    "/dagkrant/../../server.py",
    "/%2e%2e/server.py",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2fserver.py",
    "/dagkrant/%2e%2e%2f%2e%2e%2fserver.py",
    "/%252e%252e/server.py",
    "/..\\server.py",
    "/dagkrant/..%5c..%5cserver.py",
    "//etc/passwd",
    "/etc/passwd",
    "/%2Fetc%2Fpasswd",
    "http://127.0.0.1/../server.py",
    "/./index.html",
    "/.hidden",
    "/index.html%00.txt",
    "/%ff%fe",
    "etc/passwd",
    "*",
])
def test_path_traversal_is_refused(site: DemoSite, target: str) -> None:
    status, data = _raw_get(site, target)
    assert status in (400, 404), (target, status)
    assert b"DemoSite" not in data and b"root:" not in data


def test_symlinks_out_of_the_site_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    copy = tmp_path / "site"
    shutil.copytree(SITE_DIR, copy)
    (copy / "leak.txt").symlink_to(secret)
    (copy / "leakdir").symlink_to(tmp_path, target_is_directory=True)
    with DemoSite(site_dir=copy) as other:
        assert httpx.get(other.url("leak.txt"), timeout=5).status_code == 404
        assert httpx.get(other.url("leakdir/secret.txt"), timeout=5).status_code == 404
        assert httpx.get(other.url("robots.txt"), timeout=5).status_code == 200


def test_start_stop_and_context_manager() -> None:
    site = DemoSite()
    with pytest.raises(RuntimeError):
        _ = site.base_url
    base = site.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    with pytest.raises(RuntimeError):
        site.start()
    assert httpx.get(base + "/", timeout=5).status_code == 200
    site.stop()
    site.stop()  # twice is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/", timeout=5)
    # each server substitutes its own address
    with DemoSite() as a, DemoSite() as b:
        assert a.base_url != b.base_url
        assert b.base_url in httpx.get(b.url("dagkrant/rss.xml"), timeout=5).text
        assert a.base_url not in httpx.get(b.url("dagkrant/rss.xml"), timeout=5).text


def test_module_serves_by_hand() -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.Popen([sys.executable, "-u", "-m", "newsdesk.demo.server", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(src)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        r = httpx.get(match.group(1) + "/avondblad/atom.xml", timeout=5)
        assert r.status_code == 200 and match.group(1) in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


# --- the pages ---------------------------------------------------------------------------------

def _meta(doc: lxml.html.HtmlElement, attr: str, name: str) -> str:
    values = doc.xpath(f'//meta[@{attr}="{name}"]/@content')
    assert len(values) == 1, name
    return str(values[0])


def test_every_article_has_realistic_chrome(site: DemoSite, articles: dict) -> None:
    assert sum(len(pages) for pages in articles.values()) == 24
    for slug, pages in articles.items():
        name = OUTLETS[slug]
        lang = "nl" if slug in DUTCH else "en"
        for url, doc in pages:
            html = lxml.html.tostring(doc, encoding="unicode")
            assert "{{BASE}}" not in html
            assert doc.get("lang", "").startswith(lang), url
            h1 = doc.findtext(".//h1")
            assert doc.findtext(".//title") == f"{h1} | {name}"
            assert _meta(doc, "property", "og:title") == h1
            assert _meta(doc, "property", "og:site_name") == name
            assert _meta(doc, "property", "og:image").startswith(site.url(f"{slug}/img/"))
            assert _meta(doc, "name", "author")
            published = datetime.fromisoformat(_meta(doc, "property", "article:published_time"))
            assert doc.xpath('//link[@rel="canonical"]/@href') == [url]
            # the menu, the cookie notice and the footer
            menu = doc.xpath('//nav[contains(@class, "main-menu")]//a/text()')
            assert menu[0] == "Home" and len(menu) >= 5
            assert doc.xpath('//*[contains(@class, "cookie-notice")]//button')
            footer = doc.xpath('string(//footer)')
            assert "© 2026 " + name in footer
            assert ("Alle rechten voorbehouden" if lang == "nl" else "All rights reserved") in footer
            # byline and date
            assert doc.xpath('string(//*[@class="byline"]//*[contains(@class, "author")])') == \
                _meta(doc, "name", "author")
            times = doc.xpath('//*[@class="byline"]/time/@datetime')
            assert [datetime.fromisoformat(t) for t in times] == [published]
            # the lead photo, with a caption and a credit
            img_src = doc.xpath("//figure/img/@src")[0]
            caption = doc.xpath("string(//figure/figcaption)")
            assert " — " in caption
            image = httpx.get(img_src, timeout=5)
            assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
            assert 200 < len(image.content) < 10_000 and b"<script" not in image.content
            # boxes inside the article body
            body = doc.xpath('//div[@class="article-body"]')[0]
            related = body.xpath('.//aside[contains(@class, "related-links")]')[0]
            assert related.findtext("h2") == ("Lees ook" if lang == "nl" else "Read more")
            for link in related.xpath(".//a/@href"):
                assert link.startswith(site.url(slug + "/")) and link != url
            newsletter = body.xpath('string(.//aside[contains(@class, "newsletter-box")]/h2)')
            lead_in = "Schrijf je in voor de nieuwsbrief" if lang == "nl" else "Sign up for"
            assert newsletter.startswith(lead_in)
            assert name.removeprefix("The ") in newsletter
            assert len(doc.xpath('//*[contains(@class, "share-bar")]//a')) >= 4
            paragraphs = body.xpath("./p")
            assert 5 <= len(paragraphs) <= 10, url
            # real prose, not filler: full sentences in every paragraph, a few hundred words in all
            assert all(len(p.text_content()) > 80 for p in paragraphs), url
            assert len(" ".join(p.text_content() for p in paragraphs).split()) >= 250, url
            if slug in ("ledger", "harbour"):
                blocks = doc.xpath('//script[@type="application/ld+json"]/text()')
                ld = json.loads(blocks[0])
                assert ld["@type"] == "NewsArticle" and ld["headline"] == h1
                assert datetime.fromisoformat(ld["datePublished"]) == published
        # prev/next chain the outlet's articles in date order, without gaps
        ordered = sorted(pages, key=lambda p: _meta(p[1], "property", "article:published_time"))
        for (url_a, doc_a), (url_b, doc_b) in zip(ordered, ordered[1:], strict=False):
            assert doc_a.xpath('//a[@rel="next"]/@href') == [url_b]
            assert doc_b.xpath('//a[@rel="prev"]/@href') == [url_a]
        assert not ordered[0][1].xpath('//a[@rel="prev"]')
        assert not ordered[-1][1].xpath('//a[@rel="next"]')


def _body_text(doc: lxml.html.HtmlElement) -> str:
    return " ".join(p.text_content() for p in doc.xpath('//div[@class="article-body"]/p'))


def test_dates_fall_between_19_and_23_january_with_offsets(articles: dict) -> None:
    for slug, pages in articles.items():
        for url, doc in pages:
            published = datetime.fromisoformat(_meta(doc, "property", "article:published_time"))
            assert published.utcoffset() is not None
            assert datetime(2026, 1, 19).date() <= published.date() <= datetime(2026, 1, 23).date(), url
            if slug in DUTCH:
                assert published.isoformat().endswith("+01:00")


def test_language_split_is_two_dutch_two_english(articles: dict) -> None:
    for slug, pages in articles.items():
        expected = "nl" if slug in DUTCH else "en"
        for url, doc in pages:
            detected, _ = py3langid.classify(_body_text(doc))
            assert detected == expected, url


def test_shared_events_are_covered_by_every_outlet(articles: dict) -> None:
    covered = []
    for event, keywords in EVENTS.items():
        outlets_with_it = {
            slug for slug, pages in articles.items() for _, doc in pages
            if any(k in (doc.findtext(".//h1") + " " + _body_text(doc)).lower() for k in keywords)
        }
        if outlets_with_it == set(OUTLETS):
            covered.append(event)
    assert len(covered) >= 3, covered


def test_dutch_inflections_for_the_stemming_demo(articles: dict) -> None:
    texts = [_body_text(doc) + " " + doc.findtext(".//h1") for slug in DUTCH for _, doc in articles[slug]]
    assert any(re.search(r"\bheffingen\b", t) for t in texts)
    assert any(re.search(r"\bheffing\b", t) for t in texts)
    # searching "heffingen" must find this one only through stemming
    assert any(re.search(r"\bheffing\b", t) and "heffingen" not in t.lower() for t in texts)


def test_bundled_site_matches_its_build_script(tmp_path: Path) -> None:
    from newsdesk.demo import build

    if not build.CONTENT_DIR.is_dir():
        pytest.skip("content/ is only in a source checkout")
    out = tmp_path / "site"
    stories = build.build_site(out)
    assert len(stories) == 24
    built = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bundled = {p.relative_to(SITE_DIR): p.read_bytes() for p in SITE_DIR.rglob("*") if p.is_file()}
    assert built.keys() == bundled.keys()
    stale = [str(p) for p in built if built[p] != bundled[p]]
    assert not stale, f"run `python -m newsdesk.demo.build`; stale: {stale}"
