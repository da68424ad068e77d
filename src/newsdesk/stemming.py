"""Language-aware word stems for full-text search. Pure: no IO.

Articles are indexed by the Snowball stems of their words in the article's own language, so a Dutch
article with `heffing` is stored as `hef`. A query does not know its language, so each query word
is looked up as itself plus its stem in every language we index (`heffingen` → {heffingen, hef,
heffing, ...}); one of those meets the stem the article was indexed under.

The SQLite backend uses these functions directly (FTS5 holds pre-stemmed terms); the PostgreSQL
backend uses the same language table to pick its text-search configuration, so both backends stem
the same languages the same way.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer

__all__ = [
    "QUERY_LANGUAGES",
    "SNOWBALL_LANGUAGES",
    "query_variants",
    "snowball_language",
    "stem_terms",
    "words",
]

#: ISO 639-1 code → Snowball algorithm. Only languages that PostgreSQL also ships a text-search
#: configuration of the same name for (since 9.x), so both backends index exactly the same set.
SNOWBALL_LANGUAGES: dict[str, str] = {
    "nl": "dutch",
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "fi": "finnish",
    "ru": "russian",
    "hu": "hungarian",
    "ro": "romanian",
    "tr": "turkish",
}

#: The languages a query word is stemmed under: the first-class four first, then every other
#: language we index with. Querying only the four would make a Spanish article unfindable even by
#: its own exact words (it is indexed as Spanish stems), so every indexed language takes part.
QUERY_LANGUAGES: tuple[str, ...] = ("dutch", "english", "german", "french") + tuple(
    sorted(set(SNOWBALL_LANGUAGES.values()) - {"dutch", "english", "german", "french"})
)

# A word is a run of letters and digits. The underscore is excluded because SQLite's unicode61
# tokenizer treats it as a separator; the index and the query must split text the same way.
_WORD = re.compile(r"[^\W_]+")

# Snowball stemmers are not thread-safe ("only a single thread should access the instance"), and
# the web and the ingest search and index from different threads: one set of stemmers per thread.
_local = threading.local()


def snowball_language(language: str | None) -> str | None:
    """The Snowball algorithm for an ISO code ("nl", "nl-NL", "en_US") or a Snowball name
    ("dutch"); None for unknown languages, which are then indexed unstemmed."""
    if not language:
        return None
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    if code in SNOWBALL_LANGUAGES:
        return SNOWBALL_LANGUAGES[code]
    return code if code in QUERY_LANGUAGES else None


def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    cache: dict[str, Stemmer.Stemmer] | None = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if algorithm not in cache:
        cache[algorithm] = Stemmer.Stemmer(algorithm)
    return cache[algorithm]


def words(text: str) -> list[str]:
    """The lowercased word tokens of `text` (NFC-normalized, so composed and decomposed accents
    give the same word)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def stem_terms(text: str, language: str | None) -> list[str]:
    """The words of `text`, each reduced to its Snowball stem in `language`; unstemmed when the
    language is unknown."""
    tokens = words(text)
    algorithm = snowball_language(language)
    if algorithm is None or not tokens:
        return tokens
    return list(_stemmer(algorithm).stemWords(tokens))


def query_variants(word: str, languages: tuple[str, ...] = QUERY_LANGUAGES) -> set[str]:
    """`word` lowercased plus its stem under each of `languages` (Dutch, English, German, French
    and the other indexed languages by default)."""
    lowered = unicodedata.normalize("NFC", word).lower()
    variants = {lowered}
    for algorithm in languages:
        variants.add(_stemmer(algorithm).stemWord(lowered))
    return variants
