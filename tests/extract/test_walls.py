"""Paywall and cookie-wall pages are labelled as such, not returned as articles."""

from __future__ import annotations

import json

import pytest

from newsdesk.errors import CookieWallError, NoArticleError, PaywallError
from newsdesk.extract import extract_article, extract_articles

ARTICLE = (
    "The harbour board voted on Tuesday to replace the old swing bridge with a new lifting bridge "
    "that opens faster for ships and closes faster for cyclists. "
)
LONG_BODY = "".join(f"<p>{ARTICLE} Paragraph {i} adds more detail about the plan and its costs.</p>"
                    for i in range(12))


def _page(body: str, *, lang: str = "en", head: str = "",
          title: str = "Harbour bridge to be replaced") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}'
            f"</head><body><header><a href='/'>Harbour Post</a></header><main><article><h1>{title}</h1>"
            f"{body}</article></main><footer>Harbour Post</footer></body></html>")


def _jsonld(free: bool, body: str = "") -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harbour bridge",
            "isAccessibleForFree": free}
    if body:
        data["articleBody"] = body
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


TEASER = f"<p>{ARTICLE}</p><p>Work is due to start next spring, the board said.</p>"


@pytest.mark.parametrize(("phrase", "lang"), [
    ("Subscribe to continue reading.", "en"),
    ("Dit artikel is exclusief voor abonnees. Al abonnee? Log in.", "nl"),
    ("Dieser Artikel ist nur für Abonnenten verfügbar.", "de"),
    ("Cet article est réservé aux abonnés.", "fr"),
])
def test_teaser_with_a_wall_phrase_is_a_paywall(phrase: str, lang: str) -> None:
    html = _page(TEASER + f'<div class="offer"><p>{phrase}</p></div>', lang=lang)
    with pytest.raises(PaywallError) as caught:
        extract_article(html, "https://news.example/a")
    assert caught.value.kind == "paywall"
    assert "swing bridge" in caught.value.teaser
    assert "paywall" in str(caught.value)


def test_jsonld_not_free_with_a_short_body_is_a_paywall() -> None:
    with pytest.raises(PaywallError):
        extract_article(_page(TEASER, head=_jsonld(False)), "https://news.example/a")


def test_not_free_but_the_whole_text_is_there_is_an_article() -> None:
    # Metered sites send the full text with isAccessibleForFree=false: we have the article.
    article = extract_article(_page(LONG_BODY, head=_jsonld(False)), "https://news.example/a")
    assert "Paragraph 11" in article.text


def test_subscribe_button_in_the_menu_is_no_paywall() -> None:
    html = _page(LONG_BODY).replace("<header>", "<header><a href='/abo'>Word abonnee</a>")
    assert "Paragraph 3" in extract_article(html, "https://news.example/a").text


def test_a_short_free_article_is_an_article() -> None:
    article = extract_article(_page(TEASER, head=_jsonld(True)), "https://news.example/a")
    assert "swing bridge" in article.text


def test_paywall_is_a_no_article_error_for_old_callers() -> None:
    results = extract_articles([("https://news.example/a", _page(TEASER, head=_jsonld(False)))])
    assert isinstance(results[0], PaywallError)
    assert isinstance(results[0], NoArticleError)


CONSENT = ('<div id="didomi-host" class="didomi-popup"><p>We and our partners use cookies. '
           '<button>Accept all cookies</button></p></div>')


def test_consent_manager_over_an_empty_page_is_a_cookie_wall() -> None:
    html = ('<html><head><title>Nieuws</title></head><body>' + CONSENT +
            '<div id="app"></div></body></html>')
    with pytest.raises(CookieWallError) as caught:
        extract_article(html, "https://nieuws.example/artikel")
    assert caught.value.kind == "cookie_wall"


def test_dutch_cookie_wall_without_known_markup() -> None:
    html = ("<html lang='nl'><body><div class='melding'><h2>Wij gebruiken cookies</h2>"
            "<p>Om deze site te bekijken moet u akkoord gaan. <a href='/ok'>Akkoord</a></p></div>"
            "</body></html>")
    with pytest.raises(CookieWallError):
        extract_article(html, "https://krant.example/nieuws/1")


def test_article_with_a_cookie_banner_is_an_article() -> None:
    html = _page(LONG_BODY).replace("</footer>", "</footer>" + CONSENT)
    article = extract_article(html, "https://news.example/a")
    assert "Paragraph 5" in article.text
    assert "cookies" not in article.text


def test_paywall_markup_in_the_header_is_not_a_wall_for_a_short_article() -> None:
    html = _page(TEASER + "<p>The bridge will cost twelve million euros, paid by the port.</p>").replace(
        "<header>", "<header><div class='paywall-header-wrap'><a class='paywall-login-link'>Log in</a></div>")
    assert "swing bridge" in extract_article(html, "https://news.example/a").text


def test_cheap_prefilter_lets_wall_pages_through_and_skips_plain_ones() -> None:
    from newsdesk.extract.metadata import PageMetadata
    from newsdesk.extract.walls import may_be_wall

    assert not may_be_wall(_page(TEASER), PageMetadata())
    assert may_be_wall(_page(TEASER + "<p>Subscribe to continue reading.</p>"), PageMetadata())
    assert may_be_wall(_page(TEASER), PageMetadata(accessible_for_free=False))
    assert may_be_wall("<div id='onetrust-banner-sdk'></div>", PageMetadata())
