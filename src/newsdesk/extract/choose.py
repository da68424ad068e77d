"""Which body to keep when two extractors disagree: pure decisions over their texts and page signals.

trafilatura and readability-lxml fail on different pages (trafilatura drops the second half of some
articles, readability pulls in a teaser list or nothing useful), so choosing per page beats each
alone. Running both on every page would halve the speed, so readability runs only when cheap
signals say trafilatura may have missed something; it is then kept only when its extra text reads
like article prose and it contains what trafilatura found. JSON-LD articleBody, when the page has a
full one, arbitrates. Figures for each switch are in docs/benchmarks.md (bench/extract.py
--ablation); the thresholds were set on the AEB aggregate and did not move the fixtures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MECHANISMS", "ChooseOptions", "needs_second_opinion", "prefer_second"]

#: the switches, with the reason each exists (the ablation table prints these next to their figure)
MECHANISMS = {
    "second_opinion": "readability-lxml is asked when trafilatura's text is short or below the page's "
                      "paragraph text; without it only trafilatura's body is used",
    "prose_check": "readability's longer body is kept only if its extra lines read as prose "
                   "(long lines ending in sentence punctuation, not repeated) and it contains "
                   "trafilatura's text; without it the longer body always wins",
    "jsonld": "a full JSON-LD articleBody asks for a second opinion when trafilatura misses much of it, "
              "and picks the candidate closer to it",
}


@dataclass(frozen=True)
class ChooseOptions:
    #: run readability-lxml when trafilatura seems to have missed text
    second_opinion: bool = True
    #: demand that readability's extra text reads as prose before preferring it
    prose_check: bool = True
    #: use JSON-LD articleBody to trigger and to arbitrate
    jsonld: bool = True
    #: trafilatura's text below this many characters always asks for a second opinion
    short_text: int = 300
    #: ... and so does text below this share of the page's paragraph text
    paragraph_ratio: float = 0.8
    #: readability must be this many times longer to replace trafilatura
    longer_ratio: float = 1.5
    #: share of readability's extra text that must be prose
    min_prose: float = 0.5
    #: share of trafilatura's 4-grams that readability must contain
    min_containment: float = 0.6
    #: a JSON-LD articleBody shorter than this is a teaser, not the body
    min_jsonld: int = 600
    #: trafilatura's text must hold this share of a full JSON-LD body's 4-grams, or readability is asked
    jsonld_containment: float = 0.8


_WORD = re.compile(r"\w+")
#: sentence ends in the scripts newsdesk meets (CJK full stops, Arabic and Devanagari marks too)
_SENTENCE_END = tuple('.!?"”’)»。！？؟।…')


def _shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text)
    return {tuple(words[i:i + size]) for i in range(max(len(words) - size + 1, 0))}


def _containment(part: set[tuple[str, ...]], whole: set[tuple[str, ...]]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def _similarity(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _prose_share(lines: Iterable[str]) -> float:
    """Share of characters in lines that read as sentences: long, ending in sentence punctuation, and
    said once (a line repeated within the body is a teaser list's, however well it reads)."""
    kept = [line for line in lines if line.strip()]
    counts = Counter(kept)
    total = sum(len(line) for line in kept)
    prose = sum(len(line) for line in kept
                if counts[line] == 1 and len(line) > 80 and line.rstrip().endswith(_SENTENCE_END))
    return prose / total if total else 0.0


def needs_second_opinion(first: str, paragraph_chars: int, jsonld_body: str, options: ChooseOptions) -> bool:
    """Whether trafilatura's text `first` may have missed part of the article, given the page's
    paragraph text (`paragraph_chars`, in <p>s of the pruned page) and its JSON-LD articleBody."""
    if not options.second_opinion:
        return False
    length = len(first)
    if length < options.short_text or length < options.paragraph_ratio * paragraph_chars:
        return True
    # A page built of <div>s rather than <p>s says nothing through its paragraph count.
    if paragraph_chars < 0.5 * length:
        return True
    if options.jsonld and len(jsonld_body) >= options.min_jsonld:
        return _containment(_shingles(jsonld_body), _shingles(first)) < options.jsonld_containment
    return False


def prefer_second(first: str, second: str, jsonld_body: str, options: ChooseOptions) -> bool:
    """Whether readability's text `second` is the better body than trafilatura's `first`."""
    if not second:
        return False
    if not first:
        return True
    if options.jsonld and len(jsonld_body) >= options.min_jsonld:
        reference = _shingles(jsonld_body)
        return _similarity(reference, _shingles(second)) > _similarity(reference, _shingles(first))
    if len(first) < options.short_text:
        return len(second) > len(first)
    if len(second) < options.longer_ratio * len(first):
        return False
    if not options.prose_check:
        return True
    if _containment(_shingles(first), _shingles(second)) < options.min_containment:
        return False
    known = set(first.split("\n"))
    extra = [line for line in second.split("\n") if line not in known]
    return _prose_share(extra) >= options.min_prose
