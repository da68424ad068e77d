"""The reader's pages over a seeded storage: lists, pagination, article layout, Previous/Next walks,
languages, escaping and the security headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from fastapi.testclient import TestClient

from newsdesk.models import ArticleStatus, NewArticle
from newsdesk.services import reading
from newsdesk.web.app import create_app
from newsdesk.web.security import CONTENT_SECURITY_POLICY

Doc = Any


def page(client: TestClient, url: str, status: int = 200) -> Doc:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return lxml.html.fromstring(response.text)


def listed_ids(doc: Doc) -> list[int]:
    return [int(urlsplit(a.get("href")).path.rsplit("/", 1)[1]) for a in doc.cssselect("a.item-link")]


def link(doc: Doc, css: str) -> str | None:
    found = doc.cssselect(css)
    return found[0].get("href") if found else None


def article_id_of(href: str) -> int | None:
    path = urlsplit(href).path
    return int(path.rsplit("/", 1)[1]) if path.startswith("/articles/") else None


# ---- lists --------------------------------------------------------------------------------------

def test_home_lists_newest_first_with_outlet_names_times_and_thumbnails(client: TestClient, seeded) -> None:
    doc = page(client, "/")
    assert listed_ids(doc) == seeded.home
    items = doc.cssselect("li[data-item]")
    first = items[0]
    newest = seeded.storage.get_article(seeded.home[0])
    assert first.cssselect("a.item-link")[0].text_content() == newest.title
    outlet = first.cssselect(".meta a")[0]
    assert outlet.get("href") == f"/sources/{newest.source_id}"
    assert outlet.text_content() == newest.source_title
    assert first.cssselect("time")[0].get("datetime").startswith(newest.sort_at.isoformat()[:19])
    assert first.cssselect(".summary")[0].text_content() == newest.summary
    # article links carry the list they come from
    assert parse_qs(urlsplit(first.cssselect("a.item-link")[0].get("href")).query) == {"from": ["home"]}
    names = {a.text_content() for a in doc.cssselect(".meta a")}
    assert names == {"NRC", "Example News"}
    thumbs = [li for li in items if li.cssselect("img.thumb")]
    assert thumbs and all("img.example.org" in li.cssselect("img.thumb")[0].get("src") for li in thumbs)


def walk_pages(client: TestClient, url: str, css: str) -> tuple[list[list[int]], str]:
    pages: list[list[int]] = []
    while True:
        doc = page(client, url)
        pages.append(listed_ids(doc))
        nxt = link(doc, css)
        if nxt is None:
            return pages, url
        url = nxt


# 12 articles: a short last page, pages that end exactly at the last article, one page, one short of it
@pytest.mark.parametrize("size", [5, 4, 6, 12, 11])
def test_home_keyset_pagination_older_then_newer(client: TestClient, seeded,
                                                 monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(reading, "PAGE_SIZE", size)
    first = page(client, "/")
    assert link(first, ".pager a[rel=prev]") is None  # nothing newer than the first page
    pages, last_url = walk_pages(client, "/", ".pager a[rel=next]")
    assert len(seeded.home) == 12
    assert [len(p) for p in pages] == [size] * (12 // size) + ([12 % size] if 12 % size else [])
    assert sum(pages, []) == seeded.home
    if size == 12:
        return
    assert "before=" in last_url
    back, _ = walk_pages(client, last_url, ".pager a[rel=prev]")
    assert back[-1] == pages[0]
    assert sum(reversed(back), []) == seeded.home


def test_bad_cursor_is_a_400_page(client: TestClient) -> None:
    doc = page(client, "/?before=not-a-cursor", 400)
    assert "Bad request" in doc.text_content()


def test_source_page_lists_one_outlet_paginated(client: TestClient, seeded,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "PAGE_SIZE", 4)
    url = f"/sources/{seeded.nrc.id}"
    doc = page(client, url)
    assert doc.cssselect("h1")[0].text_content() == "NRC"
    pages, _ = walk_pages(client, url, ".pager a[rel=next]")
    assert sum(pages, []) == seeded.by_source[seeded.nrc.id]
    first_link = doc.cssselect("a.item-link")[0].get("href")
    assert parse_qs(urlsplit(first_link).query) == {"from": [f"source:{seeded.nrc.id}"]}
    page(client, "/sources/99999", 404)


def test_search_counts_results_and_keeps_the_query(client: TestClient, seeded) -> None:
    doc = page(client, "/search?q=Groenland")
    expected = [i for i in seeded.home if "Groenland" in seeded.storage.get_article(i).title]
    assert sorted(listed_ids(doc)) == sorted(expected)
    assert f"{len(expected)} results" in doc.cssselect(".count")[0].text_content()
    assert doc.cssselect("#q2")[0].get("value") == "Groenland"
    assert doc.cssselect("#q")[0].get("value") == "Groenland"
    href = doc.cssselect("a.item-link")[0].get("href")
    assert parse_qs(urlsplit(href).query) == {"from": ["search:Groenland"]}


def test_search_says_more_than_the_count_bound(client: TestClient, seeded,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from newsdesk.storage import sql

    monkeypatch.setattr(sql, "SEARCH_COUNT_LIMIT", 2)
    monkeypatch.setattr(reading, "SEARCH_COUNT_LIMIT", 2)
    assert len(seeded.home) > 2
    assert page(client, "/search?q=artikel").cssselect(".count")[0].text_content() == \
        "More than 2 results for “artikel”"
    dutch = lxml.html.fromstring(client.get("/search?q=artikel&lang=nl").text)
    assert dutch.cssselect(".count")[0].text_content() == "Meer dan 2 resultaten voor „artikel”"


def test_counts_use_the_readers_thousands_separator() -> None:
    from newsdesk.web.i18n import format_count

    assert format_count(1000, "en") == "1,000"
    assert format_count(1000, "nl") == "1.000"
    assert format_count(999, "nl") == "999"


def test_search_pagination_and_empty_query(client: TestClient, seeded,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "PAGE_SIZE", 2)
    pages, _ = walk_pages(client, "/search?q=artikel", ".pager a[rel=next]")
    assert sorted(sum(pages, [])) == sorted(seeded.home)
    empty = page(client, "/search?q=")
    assert not empty.cssselect("li[data-item]") and empty.cssselect("form.search-page")
    assert "Nothing found" in page(client, "/search?q=zzzqqq").text_content()
    page(client, "/search?q=artikel&page=0", 400)


# ---- article page -------------------------------------------------------------------------------

def test_article_page_has_the_reference_layout(client: TestClient, seeded) -> None:
    article_id = seeded.by_source[seeded.nrc.id][0]
    article = seeded.storage.get_article(article_id)
    doc = page(client, f"/articles/{article_id}?from=home")
    main = doc.cssselect("main")[0]
    assert main.cssselect(".home-link a")[0].get("href") == "/"
    assert main.cssselect(".home-link a")[0].text_content() == "Home"
    assert main.cssselect("h1")[0].text_content() == article.title
    assert "Redactie" in main.cssselect(".meta")[0].text_content()
    assert main.cssselect("figure img")[0].get("src") == article.image_url
    assert main.cssselect("figure figcaption")[0].text_content() == article.image_caption
    assert main.cssselect(".body p")[0].text_content() == article.text
    source = main.cssselect("p.source")[0]
    assert source.text_content().strip() == "Source: NRC"
    assert source.cssselect("a")[0].get("href") == article.url
    labels = [a.text_content() for a in main.cssselect(".prevnext a")]
    assert labels == ["Previous", "Next"]
    # the order of the reference: headline, photo, body, source, Previous/Next
    order = [el.tag if el.tag != "p" else el.get("class")
             for el in main.iter("h1", "figure", "div", "p", "nav")
             if el.tag != "div" or el.get("class") == "body"]
    assert order.index("h1") < order.index("figure") < order.index("div") < order.index("source") \
        < order.index("nav")


def walk_articles(client: TestClient, start: str, rel: str, back_to: str) -> list[int]:
    """Follow rel=next/prev links from an article until they lead back to the list page."""
    seen: list[int] = []
    url = start
    for _ in range(100):
        seen.append(article_id_of(url) or -1)
        href = link(page(client, url), f".prevnext a[rel={rel}]")
        assert href is not None
        if article_id_of(href) is None:
            assert href == back_to
            return seen
        url = href
    raise AssertionError("walk did not end")


@pytest.mark.parametrize("kind", ["home", "source", "search"])
def test_previous_next_walk_the_list_both_ways(client: TestClient, seeded, kind: str) -> None:
    if kind == "home":
        context, list_url, ids = "home", "/", seeded.home
    elif kind == "source":
        sid = seeded.other.id
        context, list_url, ids = f"source:{sid}", f"/sources/{sid}", seeded.by_source[sid]
    else:
        context, list_url = "search:Davos", "/search?q=Davos"
        ids = listed_ids(page(client, list_url))
        assert len(ids) >= 3
    suffix = "?" + "from=" + context.replace(":", "%3A")
    forward = walk_articles(client, f"/articles/{ids[0]}{suffix}", "next", list_url)
    assert forward == ids
    backward = walk_articles(client, f"/articles/{ids[-1]}{suffix}", "prev", list_url)
    assert backward == list(reversed(ids))


def test_article_links_from_a_list_page_round_trip(client: TestClient, seeded) -> None:
    """Open the second item of the source list, then Next and Previous bring you back to it."""
    sid = seeded.nrc.id
    second = page(client, f"/sources/{sid}").cssselect("a.item-link")[1].get("href")
    nxt = link(page(client, second), ".prevnext a[rel=next]")
    assert article_id_of(nxt) == seeded.by_source[sid][2]
    prev = link(page(client, nxt), ".prevnext a[rel=prev]")
    assert prev == second


def test_unknown_article_is_a_404_page(client: TestClient) -> None:
    doc = page(client, "/articles/999999", 404)
    assert "Not found" in doc.cssselect("h1")[0].text_content()
    page(client, "/articles/not-a-number", 400)


def test_failed_article_shows_the_summary_and_the_error(client: TestClient, seeded) -> None:
    article_id = seeded.storage.add_article(NewArticle(
        source_id=seeded.nrc.id, url="https://www.nrc.nl/blocked", title="Geblokkeerd",
        fetched_at=seeded.nrc.created_at, status=ArticleStatus.FETCH_FAILED,
        summary="Wat de feed zei.", error="The server answered 403 Forbidden."))
    doc = page(client, f"/articles/{article_id}")
    assert "403 Forbidden" in doc.cssselect(".notice")[0].text_content()
    assert doc.cssselect(".body p")[0].text_content() == "Wat de feed zei."


# ---- language -----------------------------------------------------------------------------------

def test_dutch_labels_with_lang_parameter_and_cookie(client: TestClient, seeded) -> None:
    url = f"/articles/{seeded.home[3]}?from=home"
    response = client.get(url + "&lang=nl")
    assert response.cookies.get("newsdesk_lang") == "nl"
    doc = lxml.html.fromstring(response.text)
    assert doc.get("lang") == "nl"
    assert [a.text_content() for a in doc.cssselect(".prevnext a")] == ["Vorige", "Volgende"]
    assert doc.cssselect("p.source")[0].text_content().startswith("Bron:")
    # the cookie keeps the choice
    again = page(client, url)
    assert [a.text_content() for a in again.cssselect(".prevnext a")] == ["Vorige", "Volgende"]
    assert page(client, "/search?q=zzzqqq").cssselect(".empty")[0].text_content() == "Niets gevonden."
    english = page(client, url + "&lang=en")
    assert [a.text_content() for a in english.cssselect(".prevnext a")] == ["Previous", "Next"]


def test_accept_language_then_default(storage, settings, seeded) -> None:
    with TestClient(create_app(storage, settings.replace(language="nl"))) as fresh:
        assert "Zoeken" in fresh.get("/").text
        assert "Search" in fresh.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    with TestClient(create_app(storage, settings)) as fresh:
        assert "Zoeken" in fresh.get("/", headers={"Accept-Language": "nl-BE,nl;q=0.9"}).text


def test_language_switch_keeps_the_page(client: TestClient, seeded) -> None:
    doc = page(client, "/search?q=Davos")
    hrefs = {a.get("hreflang"): a.get("href") for a in doc.cssselect("nav.lang a")}
    assert hrefs["nl"] == "/search?q=Davos&lang=nl"


# ---- hostile content ----------------------------------------------------------------------------

def test_stored_markup_in_titles_is_escaped_and_bad_urls_are_not_links(client: TestClient, seeded) -> None:
    article_id = seeded.storage.add_article(NewArticle(
        source_id=seeded.nrc.id, url="javascript:alert(1)//x", title="<script>alert('x')</script> Kop",
        fetched_at=seeded.nrc.created_at, image_url="javascript:alert(2)",
        image_caption="<img src=x onerror=alert(3)>", summary="<b onclick=alert(4)>s</b>",
        html="<p>ok</p>", text="ok"))
    for url in ("/", f"/articles/{article_id}"):
        text = client.get(url).text
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Kop" in text
        assert "javascript:" not in text
        assert "<img src=x" not in text and "<b onclick" not in text
    doc = page(client, f"/articles/{article_id}")
    assert not doc.cssselect("p.source a")  # no link to a javascript: URL
    assert not doc.cssselect("figure")


def test_search_query_is_escaped(client: TestClient) -> None:
    text = client.get("/search", params={"q": '"><script>alert(1)</script>'}).text
    assert "<script>alert(1)" not in text


# ---- headers and errors -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/sources/{sid}", "/articles/{aid}?from=home", "/search?q=Davos",
                                  "/search", "/admin/sources", "/nope", "/articles/0", "/?before=x",
                                  "/static/style.css", "/static/keys.js"])
def test_security_headers_on_every_page_type(client: TestClient, seeded, path: str) -> None:
    response = client.get(path.format(sid=seeded.nrc.id, aid=seeded.home[0]))
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    if path.startswith("/static/"):
        assert "max-age" in response.headers["cache-control"]


def test_pages_have_no_inline_script_or_style(client: TestClient, seeded) -> None:
    for url in ("/", f"/articles/{seeded.home[0]}", "/search?q=x", "/admin/sources", "/missing"):
        doc = lxml.html.fromstring(client.get(url).text)
        assert all(s.get("src") for s in doc.iter("script"))
        assert not list(doc.iter("style"))
        assert not [el for el in doc.iter() if isinstance(el.tag, str) and
                    (el.get("style") is not None or any(k.startswith("on") for k in el.attrib))]


class BrokenStorage:
    def list_articles(self, *args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("database exploded: secret detail")


def test_unexpected_errors_are_a_plain_500_page(settings) -> None:
    app = create_app(BrokenStorage(), settings)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.get("/")
    assert response.status_code == 500
    assert "secret detail" not in response.text and "Traceback" not in response.text
    assert "Something went wrong" in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
