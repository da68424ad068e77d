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
from lxml import etree
from lxml.html import HtmlElement
from readability import Document

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
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return 0
    return len(_WS.sub(" ", fragment.text_content()).strip())


def trafilatura_body(tree: HtmlElement, url: str | None) -> BodyCandidate | None:
    """trafilatura's body, precision first, without images, comments or its own metadata work."""
    result = trafilatura.extract(
        copy.deepcopy(tree),  # trafilatura prunes the tree it is given
        url=url,
        output_format="html",
        favor_precision=_PRECISION,
        include_comments=False,
        include_images=False,
        include_tables=True,
        include_formatting=True,
        include_links=True,
        with_metadata=False,
        # Its internal fallbacks (readability, jusText) run on every page; ours runs only when needed.
        fast=True,
        deduplicate=False,
    )
    if not result:
        return None
    return BodyCandidate(result, _text_length(result), "trafilatura")


def readability_body(html: str, url: str | None) -> BodyCandidate | None:
    """readability-lxml's body, the fallback."""
    try:
        summary = Document(html, url=url).summary(html_partial=True)
    except Exception as exc:  # readability raises bare Exception subclasses on pages it cannot parse
        _log.debug("readability failed on %s: %s", url, exc)
        return None
    length = _text_length(summary)
    return BodyCandidate(summary, length, "readability") if length else None
