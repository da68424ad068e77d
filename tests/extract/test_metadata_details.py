"""Update time, section and the lead image's credit, on small hand-made pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import lxml.html
import pytest

from newsdesk.extract import extract_article
from newsdesk.extract.metadata import PageMetadata, read_metadata, split_caption_credit

URL = "https://krant.example/binnenland/2025/parkeren"
TEXT = ("Het college van burgemeester en wethouders wil de parkeertarieven in de binnenstad volgend "
        "jaar met twintig procent verhogen. De opbrengst gaat naar beter openbaar vervoer en meer groen "
        "in de wijken. ")


def _page(head: str = "", body: str = "", lang: str = "nl") -> str:
    return (f'<html lang="{lang}"><head><title>Parkeren wordt duurder | Krant</title>{head}</head><body>'
            f'<article><h1>Parkeren wordt duurder</h1>{body}<p>{TEXT * 3}</p></article></body></html>')


def _meta(html: str) -> PageMetadata:
    return read_metadata(lxml.html.document_fromstring(html), URL)


def _ld(data: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# --- update time ---------------------------------------------------------------------------------

@pytest.mark.parametrize("head_or_body", [
    '<meta property="article:modified_time" content="2025-03-14T12:00:00+01:00">',
    '<meta property="og:updated_time" content="2025-03-14T11:00:00Z">',
    _ld({"@type": "NewsArticle", "datePublished": "2025-03-14T08:00:00Z", "dateModified": "2025-03-14T11:00:00Z"}),
    '<p>Bijgewerkt: <time itemprop="dateModified" datetime="2025-03-14T11:00:00Z">14 maart</time></p>',
])
def test_update_time_from_each_source(head_or_body: str) -> None:
    html = _page('<meta property="article:published_time" content="2025-03-14T08:00:00Z">' + head_or_body)
    meta = _meta(html)
    assert meta.published == datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
    assert meta.updated == datetime(2025, 3, 14, 11, 0, tzinfo=UTC)


def test_modified_time_element_is_not_taken_for_the_publication() -> None:
    html = _page(body='<time itemprop="dateModified" datetime="2025-03-15T09:00:00Z">15 maart</time>'
                      '<time datetime="2025-03-14T08:00:00Z">14 maart</time>')
    meta = _meta(html)
    assert meta.published == datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
    assert meta.updated == datetime(2025, 3, 15, 9, 0, tzinfo=UTC)


def test_no_update_time_unless_stated_and_never_before_publication() -> None:
    assert _meta(_page('<meta property="article:published_time" content="2025-03-14T08:00:00Z">')).updated is None
    earlier = _page('<meta property="article:published_time" content="2025-03-14T08:00:00Z">'
                    '<meta property="article:modified_time" content="2020-01-01T00:00:00Z">')
    assert _meta(earlier).updated is None


# --- section -------------------------------------------------------------------------------------

def test_section_from_article_section_meta() -> None:
    meta = _meta(_page('<meta property="article:section" content="Binnenland">'))
    assert meta.section == "Binnenland"


@pytest.mark.parametrize(("value", "expected"), [
    ("Economie", "Economie"),
    (["Politiek", "Den Haag"], "Politiek"),
    ("", None),
    (["x" * 120], None),
])
def test_section_from_jsonld_article_section(value: object, expected: str | None) -> None:
    meta = _meta(_page(_ld({"@type": "NewsArticle", "articleSection": value})))
    assert meta.section == expected


def test_declared_section_wins_over_breadcrumb() -> None:
    html = _page('<meta property="article:section" content="Binnenland">',
                 '<nav class="breadcrumb"><a href="/">Home</a> › <a href="/sport">Sport</a></nav>')
    assert _meta(html).section == "Binnenland"


def test_section_from_markup_breadcrumb_skips_home_and_the_article_itself() -> None:
    html = _page(body='<ol class="breadcrumbs"><li><a href="/">Home</a></li><li><a href="/nieuws">Nieuws</a></li>'
                      '<li><a href="/binnenland">Binnenland</a></li><li>Parkeren wordt duurder</li></ol>')
    assert _meta(html).section == "Binnenland"


def test_section_from_jsonld_breadcrumb_list_in_position_order() -> None:
    crumbs = {"@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": 2, "name": "Cultuur"},
        {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://krant.example/"},
        {"@type": "ListItem", "position": 3, "item": {"@id": URL, "name": "Parkeren wordt duurder"}},
    ]}
    assert _meta(_page(_ld(crumbs))).section == "Cultuur"


def test_breadcrumb_that_is_not_clean_gives_no_section() -> None:
    messy = ('<div class="breadcrumb"><a href="/">Home</a> › <a href="/x">Lees hier alles over het nieuws van '
             'vandaag en gisteren in de regio</a></div>')
    assert _meta(_page(body=messy)).section is None
    assert _meta(_page()).section is None


# --- caption and credit --------------------------------------------------------------------------

@pytest.mark.parametrize(("printed", "caption", "credit"), [
    ("De brug over de Vliet. Foto: Jan de Vries", "De brug over de Vliet.", "Jan de Vries"),
    ("De brug over de Vliet. Foto Jan de Vries", "De brug over de Vliet.", "Jan de Vries"),
    ("Koning opent de brug. Beeld ANP", "Koning opent de brug.", "ANP"),
    ("Police at the scene. Photo: Getty Images", "Police at the scene.", "Getty Images"),
    ("Marchers in Berlin (Reuters)", "Marchers in Berlin", "Reuters"),
    ("Een boom op de weg (foto: Omroep Zuid)", "Een boom op de weg", "Omroep Zuid"),
    ("Demonstranten op het Malieveld — Jan de Vries/ANP", "Demonstranten op het Malieveld", "Jan de Vries/ANP"),
    ("Le maire à Lyon © Jean Dupont", "Le maire à Lyon", "Jean Dupont"),
    ("Photo: Getty Images", "", "Getty Images"),
    # conservative: nothing that merely looks like a credit is split off
    ("Demonstranten op het Malieveld — en toen ging het mis", None, None),
    ("Police at the scene (in the rain)", None, None),
    ("The photo shows a cat on a sofa", None, None),
    ("Een kat op de bank. Beeld uit de film", None, None),
    ("Fotografen bij de rode loper", None, None),
])
def test_split_caption_credit(printed: str, caption: str | None, credit: str | None) -> None:
    assert split_caption_credit(printed) == (printed if caption is None else caption, credit)


def _figure(caption_html: str, extra: str = "") -> str:
    return (f'<figure><img src="https://krant.example/img/brug.jpg" alt="">{extra}'
            f'<figcaption>{caption_html}</figcaption></figure>')


def test_credit_element_inside_the_caption() -> None:
    meta = _meta(_page(body=_figure('De brug over de Vliet. <span class="credit">Foto: Jan de Vries</span>')))
    assert (meta.image_caption, meta.image_credit) == ("De brug over de Vliet.", "Jan de Vries")
    assert meta.printed_caption == "De brug over de Vliet. Foto: Jan de Vries"


def test_copyright_element_in_the_figure_outside_the_caption() -> None:
    meta = _meta(_page(body=_figure("De brug over de Vliet.", '<small class="image__copyright">© ANP</small>')))
    assert (meta.image_caption, meta.image_credit) == ("De brug over de Vliet.", "ANP")


def test_credit_from_jsonld_image_and_stripped_from_the_caption() -> None:
    ld = _ld({"@type": "NewsArticle", "image": {"@type": "ImageObject", "url": "https://krant.example/img/brug.jpg",
                                                 "creditText": "Hollandse Hoogte"}})
    meta = _meta(_page(ld, _figure("De brug over de Vliet, Hollandse Hoogte")))
    assert (meta.image_caption, meta.image_credit) == ("De brug over de Vliet", "Hollandse Hoogte")


@pytest.mark.parametrize("image", [
    {"@type": "ImageObject", "url": "https://krant.example/img/brug.jpg", "author": {"name": "Sanne Bakker"}},
    [{"@type": "ImageObject", "url": "https://krant.example/img/brug.jpg", "copyrightHolder": "Sanne Bakker"}],
])
def test_credit_from_jsonld_image_author_or_copyright_holder(image: object) -> None:
    meta = _meta(_page(_ld({"@type": "NewsArticle", "image": image}), _figure("De brug over de Vliet.")))
    assert (meta.image_caption, meta.image_credit) == ("De brug over de Vliet.", "Sanne Bakker")


def test_no_credit_without_one() -> None:
    meta = _meta(_page(body=_figure("De brug over de Vliet bij avond.")))
    assert (meta.image_caption, meta.image_credit) == ("De brug over de Vliet bij avond.", None)


def test_extracted_article_carries_the_new_fields_and_the_body_repeats_no_caption() -> None:
    head = ('<meta property="article:published_time" content="2025-03-14T08:00:00Z">'
            '<meta property="article:modified_time" content="2025-03-14T10:30:00Z">'
            '<meta property="article:section" content="Binnenland">')
    article = extract_article(_page(head, _figure("De brug over de Vliet. Foto: Jan de Vries")), URL)
    assert article.updated == datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    assert article.section == "Binnenland"
    assert article.image_caption == "De brug over de Vliet."
    assert article.image_credit == "Jan de Vries"
    assert "Jan de Vries" not in article.text
    assert "brug over de Vliet" not in article.text


def test_jsonld_credit_inside_a_sentence_stays_in_the_caption() -> None:
    ld = _ld({"@type": "NewsArticle", "image": {"@type": "ImageObject", "creditText": "Jan de Vries"}})
    meta = _meta(_page(ld, _figure("De winnende foto van Jan de Vries")))
    assert (meta.image_caption, meta.image_credit) == ("De winnende foto van Jan de Vries", "Jan de Vries")
