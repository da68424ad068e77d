"""stemming.py (pure) and the FTS5 query it becomes on SQLite."""

from __future__ import annotations

import sqlite3

import pytest

from newsdesk.stemming import QUERY_LANGUAGES, query_variants, snowball_language, stem_terms, words
from newsdesk.storage.sqlite import match_expression


def test_words_are_lowercase_unicode_tokens() -> None:
    assert words("Het Café's, 2026 — zó_goed!") == ["het", "café", "s", "2026", "zó", "goed"]
    # composed and decomposed accents are the same word
    assert words("cafe\u0301") == words("café")


@pytest.mark.parametrize(
    ("code", "algorithm"),
    [("nl", "dutch"), ("NL", "dutch"), ("nl-BE", "dutch"), ("en_US", "english"), ("de", "german"),
     ("fr", "french"), ("es", "spanish"), ("nb", "norwegian"), ("dutch", "dutch"), ("sw", None),
     ("", None), (None, None)],
)
def test_snowball_language(code: str | None, algorithm: str | None) -> None:
    assert snowball_language(code) == algorithm


def test_stem_terms_uses_the_article_language() -> None:
    assert stem_terms("Nieuwe heffingen", "nl") == stem_terms("nieuwe heffing", "nl")
    assert stem_terms("Tariffs rise", "en") == ["tariff", "rise"]
    assert stem_terms("Tariffs rise", None) == ["tariffs", "rise"]
    assert stem_terms("Tariffs rise", "sw") == ["tariffs", "rise"]
    assert stem_terms("", "nl") == []


def test_query_variants_meet_the_indexed_stem() -> None:
    assert stem_terms("heffing", "nl")[0] in query_variants("heffingen")
    assert stem_terms("tariff", "en")[0] in query_variants("Tariffs")
    assert "tariffs" in query_variants("Tariffs")
    assert set(QUERY_LANGUAGES[:4]) == {"dutch", "english", "german", "french"}


def test_match_expression_quotes_every_term() -> None:
    expression = match_expression(["tariffs", "near"])
    assert expression.startswith("(") and " AND " in expression
    assert '"tariffs"' in expression and '"tariff"' in expression and '"near"' in expression


@pytest.mark.parametrize("word", ['a"b', "NEAR", "title", "*", "(x)", "^", "OR"])
def test_match_expression_is_valid_fts5_for_any_term(word: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body)")
    db.execute("INSERT INTO t VALUES ('near title', 'or')")
    db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match_expression([word]),)).fetchone()
    db.close()
