from datetime import UTC, datetime, timedelta

import pytest

from newsdesk.stories.fingerprint import NearDuplicateIndex, canonical_url, content_hash, shingles

T0 = datetime(2026, 1, 14, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        (
            "https://www.nos.nl/artikel/2550000-trump-belt-rutte?utm_source=rss&utm_medium=feed",
            "https://nos.nl/artikel/2550000-trump-belt-rutte",
        ),
        (
            "http://NOS.nl/artikel/2550000-trump-belt-rutte/#comments",
            "https://nos.nl/artikel/2550000-trump-belt-rutte",
        ),
        (
            "https://m.nos.nl/artikel/2550000-trump-belt-rutte?fbclid=abc&gclid=x&ocid=y",
            "https://nos.nl/artikel/2550000-trump-belt-rutte",
        ),
        (
            "https://amp.theguardian.com/world/2026/jan/14/greenland",
            "https://theguardian.com/world/2026/jan/14/greenland",
        ),
        (
            "https://www.theguardian.com/world/2026/jan/14/greenland/amp",
            "https://theguardian.com/world/2026/jan/14/greenland",
        ),
        ("https://example.com/story?amp=1&id=5", "https://example.com/story?id=5"),
        ("https://example.com/story?b=2&a=1&at_medium=x&cmpid=rss", "https://example.com/story?a=1&b=2"),
        ("https://example.com:443/story/", "https://example.com/story"),
    ],
)
def test_canonical_url_folds_variants(variant: str, canonical: str) -> None:
    assert canonical_url(variant) == canonical


def test_canonical_url_keeps_what_identifies_the_article() -> None:
    assert canonical_url("https://example.com/story?id=5") != canonical_url("https://example.com/story?id=6")
    assert canonical_url("https://example.com:8080/a") == "https://example.com:8080/a"
    # a bare two-label host keeps its only label ("m.com" is a domain, not a mobile prefix)
    assert canonical_url("https://m.com/a") == "https://m.com/a"


@pytest.mark.parametrize("junk", ["", "not a url", "http://[::1", "javascript:alert(1)", "x" * 20_000])
def test_canonical_url_never_raises(junk: str) -> None:
    assert isinstance(canonical_url(junk), str)


def test_content_hash_ignores_case_whitespace_and_punctuation() -> None:
    a = content_hash("Trump belt Rutte over Groenland.\n\nDe NAVO-chef  reageert.")
    b = content_hash("trump belt rutte over groenland -- de navo chef reageert")
    assert a == b
    assert a != content_hash("Trump belt Rutte over IJsland. De NAVO-chef reageert.")


def test_shingles() -> None:
    assert shingles("a b c d", 2) == {"a b", "b c", "c d"}
    assert shingles("Short text", 5) == {"short text"}
    assert shingles("", 5) == set()
    with pytest.raises(ValueError):
        shingles("a", 0)


ARTICLE = " ".join(
    f"Sentence {i} of the long syndicated article says something specific about event number {i * 7}."
    for i in range(40)
)


def test_near_duplicate_index_finds_trimmed_copy_and_not_other_text() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.add("orig", ARTICLE, T0)
    index.add(
        "other",
        ARTICLE.replace("syndicated", "independent").replace("specific", "vague").replace("event", "matter"),
        T0,
    )
    trimmed = ARTICLE.rsplit(" Sentence 38", 1)[0]  # the last two sentences cut
    assert index.query(trimmed) == ["orig"]
    assert index.query("A completely different article about football in Rotterdam.") == []
    assert index.query("") == []


def test_near_duplicate_index_evicts_by_window_and_cap() -> None:
    index = NearDuplicateIndex(window=timedelta(hours=6), max_keys=3)
    for i in range(5):
        index.add(f"k{i}", f"{ARTICLE} variant {i}", T0 + timedelta(minutes=i))
    assert len(index) == 3 and "k0" not in index
    index.expire(T0 + timedelta(hours=7))
    assert len(index) == 0
    assert index.query(ARTICLE) == []


def test_near_duplicate_index_rejects_duplicate_keys_and_empty_text() -> None:
    index = NearDuplicateIndex()
    assert index.add("a", ARTICLE, T0)
    assert not index.add("a", ARTICLE, T0)
    assert not index.add("b", "   ", T0)
    assert len(index) == 1
