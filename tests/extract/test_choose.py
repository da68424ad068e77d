"""The chooser between trafilatura's and readability's bodies: pure decisions over texts."""

from __future__ import annotations

import pytest

from newsdesk.errors import NoArticleError
from newsdesk.extract import ChooseOptions, ExtractLimits, extract_article
from newsdesk.extract.choose import needs_second_opinion, prefer_second

OPTIONS = ChooseOptions()


def _sentences(start: int, count: int) -> list[str]:
    return [f"Sentence number {i} says something different about the council meeting and its many "
            f"long decisions, in words that read like prose number {i}." for i in range(start, start + count)]


FIRST = "\n\n".join(_sentences(0, 5))


def test_a_full_body_needs_no_second_opinion() -> None:
    assert not needs_second_opinion(FIRST, paragraph_chars=len(FIRST), jsonld_body="", options=OPTIONS)


def test_short_or_partial_bodies_ask_for_a_second_opinion() -> None:
    assert needs_second_opinion("Too short.", paragraph_chars=0, jsonld_body="", options=OPTIONS)
    assert needs_second_opinion(FIRST, paragraph_chars=3 * len(FIRST), jsonld_body="", options=OPTIONS)
    # A page without <p>s says nothing through its paragraph count.
    assert needs_second_opinion(FIRST, paragraph_chars=0, jsonld_body="", options=OPTIONS)


def test_jsonld_body_missing_from_the_text_asks_for_a_second_opinion() -> None:
    other = "\n".join(_sentences(100, 8))
    assert needs_second_opinion(FIRST, len(FIRST), other, OPTIONS)
    assert not needs_second_opinion(FIRST, len(FIRST), other, ChooseOptions(jsonld=False))
    assert not needs_second_opinion(FIRST, len(FIRST), FIRST, OPTIONS)


def test_switched_off_second_opinion_is_never_asked() -> None:
    assert not needs_second_opinion("", 10_000, "", ChooseOptions(second_opinion=False))


def test_longer_body_with_more_prose_wins() -> None:
    second = FIRST + "\n\n" + "\n\n".join(_sentences(5, 5))
    assert prefer_second(FIRST, second, "", OPTIONS)


def test_longer_body_with_link_lists_loses() -> None:
    second = FIRST + "\n\n" + "\n".join(f"Related story {i}" for i in range(60))
    assert not prefer_second(FIRST, second, "", OPTIONS)
    # Without the prose check the longer one always wins: the ablation's baseline.
    assert prefer_second(FIRST, second, "", ChooseOptions(prose_check=False))


def test_a_different_text_does_not_replace_the_first() -> None:
    second = "\n\n".join(_sentences(50, 20))
    assert not prefer_second(FIRST, second, "", OPTIONS)


def test_jsonld_arbitrates() -> None:
    second = "\n\n".join(_sentences(50, 5))
    assert prefer_second(FIRST, second, second, OPTIONS)
    assert not prefer_second(FIRST, second, FIRST, OPTIONS)


def test_empty_candidates() -> None:
    assert prefer_second("", "text", "", OPTIONS)
    assert not prefer_second(FIRST, "", "", OPTIONS)


def test_jsonld_body_is_the_last_resort_for_script_rendered_pages() -> None:
    body = "\\n".join(_sentences(0, 4))
    html = ('<html><head><script type="application/ld+json">{"@type": "NewsArticle", "headline": "Raad", '
            f'"articleBody": "{body}"}}</script></head><body><div id="root"></div></body></html>')
    article = extract_article(html, "https://news.example/a")
    assert "Sentence number 3" in article.text
    assert "<p>" in article.html
    off = ExtractLimits(choose=ChooseOptions(jsonld=False))
    with pytest.raises(NoArticleError, match="JavaScript"):
        extract_article(html, "https://news.example/a", limits=off)
