"""Foreign HTML made safe to show, and its plain text.

Every piece of HTML from a page passes `sanitize_html` before it is stored: nh3 (ammonia) parses it
like a browser does and keeps only an allow-list of tags and attributes, so script, event handlers,
`javascript:` URLs and parser-confusion (mutation) tricks do not survive. Links and images point
outward only over http(s), and links carry rel="nofollow noopener noreferrer".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
import nh3
from lxml import etree
from lxml.html import HtmlElement

from .urls import absolute_url

__all__ = ["ALLOWED_TAGS", "html_to_text", "parse_fragment", "sanitize_html"]

ALLOWED_TAGS = frozenset({
    "p", "h2", "h3", "h4", "h5", "h6", "blockquote", "q", "ul", "ol", "li", "a", "img", "figure",
    "figcaption", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
    "em", "strong", "b", "i", "code", "pre", "br", "hr", "sub", "sup", "small", "time",
})
_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "time": {"datetime"},
    "ol": {"start"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
#: removed together with everything inside them (the rest of the unknown tags keep their text)
_DROP_WITH_CONTENT = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "noscript", "template", "form", "textarea", "select", "button", "input", "audio", "video",
    "canvas", "head", "title", "noembed", "noframes", "xmp", "plaintext", "dialog",
}
_REL = "nofollow noopener noreferrer"
_NUMBER = re.compile(r"^\d{1,5}$")
_EMPTY_PARA = re.compile(r"<p>(?:\s|&nbsp;|\u00a0|<br>)*</p>")
#: an image whose source was refused shows as a broken box; nh3's output is regular enough for a regex
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_MAX_INPUT = 5_000_000
_IMG_SCHEMES = frozenset({"http", "https"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def _url_or_none(value: str, schemes: frozenset[str]) -> str | None:
    # Browsers ignore these inside URLs, so "java\tscript:" would be javascript: to them.
    cleaned = "".join(ch for ch in value.strip() if ch not in "\t\r\n\x00")
    match = _SCHEME.match(cleaned)
    if match and match.group(1).lower() not in schemes:
        return None
    return cleaned or None


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    """Second line of defence after nh3's own scheme check; relative URLs are left for nh3 to resolve."""
    if tag == "img" and attr == "src":
        return _url_or_none(value, _IMG_SCHEMES)
    if tag == "a" and attr == "href":
        return _url_or_none(value, _LINK_SCHEMES)
    if attr == "cite":
        return _url_or_none(value, _IMG_SCHEMES)
    if attr in {"width", "height", "colspan", "rowspan", "span", "start"}:
        return value if _NUMBER.match(value.strip()) else None
    return value


def _base_ok(base_url: str | None) -> bool:
    return bool(base_url) and absolute_url(base_url, None) is not None


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """`html` reduced to the allow-list, URLs made absolute against `base_url` (relative ones are
    dropped when there is no base), empty paragraphs removed."""
    if not html:
        return ""
    cleaned = nh3.clean(
        html[:_MAX_INPUT],
        tags=set(ALLOWED_TAGS),
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes={tag: set(attrs) for tag, attrs in _ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        strip_comments=True,
        link_rel=_REL,
        url_schemes=set(_LINK_SCHEMES),
        # A relative URL without a base cannot be resolved, and left alone it would point into
        # the reader itself, so it goes.
        url_relative=("rewrite_with_base", base_url) if base_url and _base_ok(base_url) else "deny",
    )
    cleaned = _IMG_WITHOUT_SRC.sub("", cleaned)
    previous = None
    while previous != cleaned:  # <p><p></p></p> empties in two rounds
        previous = cleaned
        cleaned = _EMPTY_PARA.sub("", cleaned)
    return cleaned.strip()


_BLOCKS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "figure",
    "figcaption", "table", "pre", "hr", "section", "article", "header", "footer", "aside",
    "main", "dl", "caption", "address", "details", "summary",
})
#: line-level blocks: one line each, no blank line between them
_LINES = frozenset({"li", "tr", "dt", "dd"})
_PARA, _LINE = "\x00P", "\x00L"
_BREAKS = re.compile(r"(?:\s*\x00[PL])+\s*")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


def _pieces(element: etree._Element, in_pre: bool = False) -> Iterator[str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in {"script", "style", "template", "noscript"} or not tag:
        if element.tail:
            yield element.tail if in_pre else _SPACE.sub(" ", element.tail)
        return
    pre = in_pre or tag == "pre"
    marker = _PARA if tag in _BLOCKS else _LINE if tag in _LINES else ""
    yield marker
    if tag == "br":
        yield _LINE
    if tag == "li":
        yield "• "
    if element.text:
        yield element.text.replace("\n", _LINE) if pre else _SPACE.sub(" ", element.text)
    for child in element:
        yield from _pieces(child, pre)
    if tag in {"td", "th"}:
        yield " "
    yield marker
    if element.tail:
        yield element.tail.replace("\n", _LINE) if in_pre else _SPACE.sub(" ", element.tail)


def parse_fragment(html: str) -> HtmlElement:
    """An HTML fragment as one <div> holding it. Unlike lxml's fragment_fromstring this never fails:
    extractor output may carry its own <html><body> (or a <frameset> instead), which are merged away."""
    document = lxml.html.document_fromstring(f"<html><body>{html}</body></html>")
    body = document.find("body")
    if body is None:  # a <frameset> in the fragment replaces the body
        body = lxml.html.Element("body")
    body.tag = "div"
    return body


def _join_break(match: re.Match[str]) -> str:
    return "\n\n" if _PARA in match.group(0) else "\n"


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: blocks separated by a blank line, list items and <br> by a line
    break, other whitespace collapsed (except inside <pre>)."""
    if not html or not html.strip():
        return ""
    raw = "".join(_pieces(parse_fragment(html[:_MAX_INPUT])))
    text = _BREAKS.sub(_join_break, raw)
    lines = [line.strip(" ") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
