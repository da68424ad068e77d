"""Body selection: which part of a (chrome-pruned) page is the article, as HTML.

trafilatura decides first; readability-lxml is the second opinion when trafilatura finds nothing or
far too little, since the two fail on different pages. Neither fetches anything: both get the parsed
page, never a URL to download.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml.html import HtmlElement
from readability import Document
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.settings import Extractor

from .sanitize import parse_fragment

__all__ = ["BodyCandidate", "readability_body", "trafilatura_body"]

_log = logging.getLogger(__name__)
_WS = re.compile(r"\s+")
_PRECISION = False


@dataclass(frozen=True)
class BodyCandidate:
    #: unsanitized HTML of the article body
    html: str
    #: the number of characters of text in it, to compare candidates
    text_length: int
    #: which extractor chose it
    method: str


def _text_length(html: str) -> int:
    if not html:
        return 0
    return len(_WS.sub(" ", parse_fragment(html).text_content()).strip())


def _trafilatura_options() -> Extractor:
    return Extractor(
        output_format="html",
        precision=True,
        comments=False,
        images=False,
        tables=True,
        formatting=True,
        links=True,
        with_metadata=False,
        # Its internal fallbacks (readability, jusText) run on every page; ours runs only when needed.
        fast=True,
        dedup=False,
        # No URL on purpose: trafilatura resolves links against the site root, which breaks
        # "photo.html" and "#note1"; the sanitizer resolves them against the page instead.
        url=None,
    )


def trafilatura_body(tree: HtmlElement, url: str | None) -> BodyCandidate | None:
    """trafilatura's body, precision first, without images, comments or its own metadata work.

    bare_extraction rather than extract(): extract() also fingerprints the whole text for
    deduplication, which we do not use and which costs more than the extraction on long pages."""
    document = trafilatura.bare_extraction(
        copy.deepcopy(tree),  # trafilatura prunes the tree it is given
        options=_trafilatura_options(),
        as_dict=False,
    )
    body = getattr(document, "body", None)
    if body is None or len(body) == 0:
        return None
    html = lxml.html.tostring(convert_to_html(body), encoding="unicode")
    length = _text_length(html)
    return BodyCandidate(html, length, "trafilatura") if length else None


def readability_body(html: str, url: str | None) -> BodyCandidate | None:
    """readability-lxml's body, the fallback."""
    try:
        summary = Document(html, url=url).summary(html_partial=True)
    except Exception as exc:  # readability raises bare Exception subclasses on pages it cannot parse
        _log.debug("readability failed on %s: %s", url, exc)
        return None
    length = _text_length(summary)
    return BodyCandidate(summary, length, "readability") if length else None
