"""Metadata reading, body fallback and the extraction contract on small hand-made pages."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.errors import NoArticleError
from newsdesk.extract import article as article_module
from newsdesk.extract import extract_article, extract_articles
from newsdesk.extract.body import readability_body
from newsdesk.extract.metadata import parse_datetime, read_metadata, strip_site_name
from newsdesk.models import ExtractedArticle

TEXT = ("Het college van burgemeester en wethouders wil de parkeertarieven in de binnenstad volgend "
        "jaar met twintig procent verhogen. De opbrengst gaat naar beter openbaar vervoer en meer groen "
        "in de wijken. ")


@pytest.mark.parametrize(("title", "site", "host", "expected"), [
    ("Headline | Krant 3", "Krant 3", None, "Headline"),
    ("Headline - Krant 3", None, "www.krant3.nl", "Headline"),
    ("Krant 3 | Headline about things", "Krant 3", None, "Headline about things"),
    ("Headline – NRC", None, "www.nrc.nl", "Headline"),
    ("Headline :: De Gazet", "De Gazet", None, "Headline"),
    ("Biden - Trump debate: what we learned", None, "news.example", "Biden - Trump debate: what we learned"),
    ("No separator at all", "Krant 3", None, "No separator at all"),
])
def test_strip_site_name(title: str, site: str | None, host: str | None, expected: str) -> None:
    assert strip_site_name(title, site, host) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("2025-03-14T06:30:00+01:00", datetime(2025, 3, 14, 5, 30, tzinfo=UTC)),
    ("2025-03-14T06:30:00Z", datetime(2025, 3, 14, 6, 30, tzinfo=UTC)),
    ("2025-03-14T06:30:00.123Z", datetime(2025, 3, 14, 6, 30, 0, 123000, tzinfo=UTC)),
    ("2025-03-14T06:30:00+0200", datetime(2025, 3, 14, 4, 30, tzinfo=UTC)),
    ("2025-03-14 06:30", datetime(2025, 3, 14, 6, 30, tzinfo=UTC)),
    ("2025-03-14", datetime(2025, 3, 14, tzinfo=UTC)),
    ("14 maart 2025", None),
    ("", None),
    (None, None),
    ("1970-01-01T00:00:00Z", None),
    ("9999-12-31", None),
])
def test_parse_datetime(raw: str | None, expected: datetime | None) -> None:
    assert parse_datetime(raw) == expected


def _meta(html: str, url: str = "https://krant.example/a/1"):  # type: ignore[no-untyped-def]
    return read_metadata(lxml.html.document_fromstring(html), url)


def test_title_prefers_og_title_and_strips_suffix() -> None:
    meta = _meta('<html><head><title>Anders | Krant</title>'
                 '<meta property="og:title" content="De kop | Krant">'
                 '<meta property="og:site_name" content="Krant"></head><body><h1>De kop</h1></body></html>')
    assert meta.title == "De kop"
    assert meta.site_name == "Krant"


def test_title_falls_back_to_h1_when_the_suffix_is_unknown() -> None:
    meta = _meta("<html><head><title>De kop » Onbekend Blad</title></head>"
                 "<body><h1>De kop</h1></body></html>")
    assert meta.title == "De kop"


def test_jsonld_in_a_graph_with_string_author_and_publisher() -> None:
    meta = _meta('<html><head><script type="application/ld+json">{"@graph":[{"@type":"WebPage","name":"x"},'
                 '{"@type":["NewsArticle"],"headline":"Kop","author":"Door Piet Jansen en Els de Wit",'
                 '"datePublished":"2024-01-02T10:00:00+01:00","publisher":{"name":"Het Blad"},'
                 '"image":["https://img.example/a.jpg"]}]}</script></head><body></body></html>')
    assert meta.title == "Kop"
    assert meta.authors == ("Piet Jansen", "Els de Wit")
    assert meta.published == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert meta.site_name == "Het Blad"
    assert meta.image_url == "https://img.example/a.jpg"


def test_broken_jsonld_is_ignored() -> None:
    meta = _meta('<html><head><script type="application/ld+json">{"@type": "NewsArticle", oops</script>'
                 '<meta name="author" content="Anna Bakker"></head><body></body></html>')
    assert meta.authors == ("Anna Bakker",)


def test_author_urls_are_not_names() -> None:
    meta = _meta('<html><head><meta property="article:author" content="https://facebook.com/krant">'
                 '</head><body><p class="byline">By Sam Lee</p></body></html>')
    assert meta.authors == ("Sam Lee",)


def test_lead_image_from_first_figure_made_absolute_with_caption() -> None:
    meta = _meta('<html><body><article><p>x</p><figure>'
                 '<img data-src="/img/lead.jpg" src="data:image/gif;base64,R0">'
                 "<figcaption> De   haven bij\n nacht. </figcaption></figure></article></body></html>")
    assert meta.image_url == "https://krant.example/img/lead.jpg"
    assert meta.image_caption == "De haven bij nacht."


def test_caption_belongs_to_the_figure_showing_the_lead_image() -> None:
    meta = _meta('<html><head><meta property="og:image" content="https://cdn.example/b-1200x630.jpg"></head><body>'
                 '<article><figure><img src="https://cdn.example/a.jpg"><figcaption>Eerste</figcaption></figure>'
                 '<figure><img src="https://cdn.example/b-640x360.jpg"><figcaption>Tweede</figcaption></figure>'
                 "</article></body></html>")
    assert meta.image_url == "https://cdn.example/b-1200x630.jpg"
    assert meta.image_caption == "Tweede"


def test_unsafe_image_and_canonical_urls_are_refused() -> None:
    meta = _meta('<html><head><meta property="og:image" content="javascript:alert(1)">'
                 '<link rel="canonical" href="data:text/html,x"></head><body></body></html>')
    assert meta.image_url is None and meta.canonical_url is None


def test_caption_is_not_repeated_in_the_body() -> None:
    page = (f"<html><body><article><h1>Kop</h1><figure><img src='/a.jpg'>"
            f"<figcaption>Het bijschrift bij de foto</figcaption></figure><p>{TEXT}</p>"
            f"<p>Het bijschrift bij de foto</p><p>{TEXT}</p></article>"
            "</body></html>")
    result = extract_article(page, "https://krant.example/a")
    assert result.image_caption == "Het bijschrift bij de foto"
    assert "bijschrift" not in result.text and "bijschrift" not in result.html


def test_readability_takes_over_when_trafilatura_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    page = f"<html><head><title>Kop</title></head><body><div><p>{TEXT}</p><p>{TEXT}</p></div></body></html>"
    chosen: list[str] = []
    real_clean = article_module._clean_body

    def record(html: str, meta):  # type: ignore[no-untyped-def]
        chosen.append(html)
        return real_clean(html, meta)

    monkeypatch.setattr(article_module, "trafilatura_body", lambda tree, url: None)
    monkeypatch.setattr(article_module, "_clean_body", record)
    result = extract_article(page, "https://krant.example/a")
    assert "parkeertarieven" in result.text
    assert chosen and readability_body(page, None) is not None


def test_extract_articles_accepts_learn_sites_either_way() -> None:
    page = f"<html><body><article><h1>Kop</h1><p>{TEXT}</p></article></body></html>"
    for learn in (True, False):
        pages = [("https://krant.example/a", page), ("https://krant.example/b", "")]
        results = extract_articles(pages, learn)
        assert isinstance(results[0], ExtractedArticle)
        assert isinstance(results[1], NoArticleError)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<article>", "<h1>", "</h1>", "<figure>", "<img src='/x.jpg'>",
    "<figcaption>", "<script>", "</script>", "<nav>", "<table><tr><td>", "<!--", "-->", "<![CDATA[",
    "&amp;", "&#0;", "\x00", "é", "<meta charset='latin-1'>", "<time datetime='2024-13-45'>",
    '<script type="application/ld+json">{"@type":"NewsArticle","author":[[[]]]}</script>',
    TEXT, "Lorem ipsum dolor sit amet. ", "<a href='javascript:x'>", "</a>", "<br>",
]), max_size=40))
def test_any_markup_gives_an_article_or_no_article_error(pieces: list[str]) -> None:
    page = "".join(pieces)
    for data in (page, page.encode("utf-8", "surrogatepass")):
        try:
            result = extract_article(data, "https://krant.example/a")
        except NoArticleError:
            continue
        assert result.text and "javascript:" not in result.html


def test_page_wrapped_in_one_form_keeps_its_article() -> None:
    page = (f"<html><body><form id='aspnetForm' action='/default.aspx'><div class='wrapper has-sidebar'>"
            f"<h1>Kop</h1><p>{TEXT}</p><p>{TEXT}</p></div><input type='hidden' name='__VIEWSTATE'>"
            "</form></body></html>")
    assert "parkeertarieven" in extract_article(page, "https://krant.example/a").text


def test_public_surface() -> None:
    import newsdesk.extract as extract

    for name in extract.__all__:
        assert getattr(extract, name) is not None
    assert {"extract_article", "extract_articles", "sanitize_html", "html_to_text", "detect_language",
            "absolute_url", "normalize_url"} <= set(extract.__all__)


@pytest.mark.parametrize(("head", "expected"), [
    ("", {"https://krant.example/regio/foto.html", "https://krant.example/regio/stuk.html#noot1",
          "https://krant.example/abs"}),
    # As in a browser, a <base> moves every relative link, same-page fragments included.
    ('<base href="https://cdn.krant.example/archief/">',
     {"https://cdn.krant.example/archief/foto.html", "https://cdn.krant.example/archief/#noot1",
      "https://cdn.krant.example/abs"}),
])
def test_relative_links_resolve_against_the_page(head: str, expected: set[str]) -> None:
    page = (f"<html><head>{head}</head><body><article><h1>Kop</h1><p>{TEXT} <a href='foto.html'>foto</a> "
            f"<a href='#noot1'>1</a> <a href='/abs'>abs</a></p><p>{TEXT}</p></article></body></html>")
    result = extract_article(page, "https://krant.example/regio/stuk.html")
    hrefs = set(lxml.html.fragment_fromstring(result.html, create_parent="div").xpath("//a/@href"))
    assert hrefs == expected
