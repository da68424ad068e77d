"""Golden pages: each fixture page next to what must come out of it, and a quality gate over all."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from extract_golden import GoldenPage, golden_pages

from newsdesk.extract import extract_article, extract_articles, sanitize_html
from newsdesk.models import ExtractedArticle

PAGES = golden_pages()

#: Macro-averaged word-4-gram F1 over the fixtures, set just under what the extractor reaches.
#: Never lower this silently: a drop is a regression to fix or to explain in the commit message.
F1_FLOOR = 0.99
#: No single page may fall this far, however good the average is.
PAGE_F1_FLOOR = 0.97


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i:i + size]) for i in range(max(len(words) - size + 1, 0))}


def shingle_f1(extracted: str, gold: str) -> float:
    got, want = shingles(extracted), shingles(gold)
    if not got or not want:
        return 0.0
    overlap = len(got & want)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(want)
    return 2 * precision * recall / (precision + recall)


def test_there_are_enough_fixtures() -> None:
    assert len(PAGES) >= 8
    languages = {p.expected["language"] for p in PAGES}
    assert {"nl", "en"} <= languages


@pytest.fixture(scope="module")
def extracted() -> dict[str, ExtractedArticle]:
    return {page.name: extract_article(page.html, page.url) for page in PAGES}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_golden_page(page: GoldenPage, extracted: dict[str, ExtractedArticle]) -> None:
    article = extracted[page.name]
    want = page.expected
    body_text, body_html = _squash(article.text), _squash(article.html)
    assert article.title == want["title"]
    for sentence in want["body_contains"]:
        assert sentence in body_text, sentence
    for chrome in want["body_excludes"]:
        assert chrome not in body_text, chrome
        assert chrome not in body_html, chrome
    assert list(article.authors) == want["authors"]
    published = want["published"]
    assert article.published == (datetime.fromisoformat(published) if published else None)
    if article.published is not None:
        offset = article.published.utcoffset()
        assert offset is not None and offset.total_seconds() == 0
    assert article.image_url == want["image_url"]
    assert article.image_caption == want["image_caption"]
    if article.image_caption:
        # The reader shows the caption under the photo; the body must not say it again.
        assert article.image_caption not in body_text
    assert article.canonical_url == want["canonical_url"]
    # Keys added after the first fixtures: checked where the expectation states them.
    if "image_credit" in want:
        assert article.image_credit == want["image_credit"]
        if article.image_credit:
            assert article.image_credit not in body_text
    if "updated" in want:
        assert article.updated == (datetime.fromisoformat(want["updated"]) if want["updated"] else None)
    if "section" in want:
        assert article.section == want["section"]
    assert article.site_name == want["site_name"]
    assert article.language == want["language"]
    # The body is already safe: sanitizing it again changes nothing.
    assert sanitize_html(article.html, page.url) == article.html


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_f1(page: GoldenPage, extracted: dict[str, ExtractedArticle]) -> None:
    assert shingle_f1(extracted[page.name].text, page.gold_text) >= PAGE_F1_FLOOR


def test_f1_gate(extracted: dict[str, ExtractedArticle]) -> None:
    scores = {p.name: shingle_f1(extracted[p.name].text, p.gold_text) for p in PAGES}
    macro = sum(scores.values()) / len(scores)
    assert macro >= F1_FLOOR, f"macro F1 {macro:.4f} under the floor {F1_FLOOR}: {scores}"


def test_shingle_f1_itself() -> None:
    assert shingle_f1("one two three four five", "one two three four five") == 1.0
    assert shingle_f1("", "one two three four") == 0.0
    assert 0.0 < shingle_f1("one two three four five six", "one two three four five seven") < 1.0


def test_extract_articles_keeps_order_and_errors() -> None:
    pages = [(p.url, p.html) for p in PAGES[:2]] + [("https://example.com/empty", b"")]
    results = extract_articles(pages)
    assert [type(r).__name__ for r in results] == ["ExtractedArticle", "ExtractedArticle", "NoArticleError"]
    assert isinstance(results[0], ExtractedArticle) and results[0].title == PAGES[0].expected["title"]
