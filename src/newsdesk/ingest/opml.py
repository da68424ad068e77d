"""OPML import and export: the subscription list format every feed reader speaks.

Import reads OPML 1.0 and 2.0: an outline with an xmlUrl is a source, the outlines around it are
its category (nested folders joined with " / "). Export writes OPML 2.0 with one parent outline per
category. A newsdesk-only attribute, newsdeskKind, keeps sitemap and home-page sources what they
are across a round trip; other readers ignore it.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from ..errors import ParseError
from ..models import NewSource, Source, SourceKind
from .feeds import _absolute_http_url, _clean_text, _local, _strip_doctype, _xml_parser

__all__ = ["MAX_OUTLINES", "parse_opml", "write_opml"]

#: outlines read from one file; a subscription list is hundreds, not millions
MAX_OUTLINES = 10_000
_KIND_ATTR = "newsdeskKind"
_CATEGORY_SEP = " / "


def parse_opml(content: bytes) -> list[NewSource]:
    """The sources listed in an OPML file, in document order, one per URL.

    Raises ParseError when the file is not well-formed XML or not OPML. Outlines without an http(s)
    xmlUrl are folders or plain links and give no source of their own.
    """
    if not content or not content.strip():
        raise ParseError("the OPML file is empty")
    cleaned, _ = _strip_doctype(content)
    try:
        root = etree.fromstring(cleaned, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"the OPML file is not well-formed XML: {exc}") from exc
    if _local(root).lower() != "opml":
        raise ParseError("this file is not OPML (its root element is not <opml>)")
    body = next((el for el in root if _local(el) == "body"), None)
    if body is None:
        raise ParseError("the OPML file has no <body>")
    sources: dict[str, NewSource] = {}
    for count, (outline, folders) in enumerate(_walk(body), 1):
        if count > MAX_OUTLINES:
            raise ParseError(f"the OPML file has more than {MAX_OUTLINES} outlines")
        attrs = {k.lower(): v for k, v in outline.attrib.items() if isinstance(k, str)}
        url = _absolute_http_url("", attrs.get("xmlurl"))
        if url is None or url in sources:
            continue
        name = _clean_text(attrs.get("title") or attrs.get("text"), 1000)
        category = _CATEGORY_SEP.join(folders) or _category_attr(attrs.get("category"))
        sources[url] = NewSource(
            url=url,
            kind=_kind(attrs.get(_KIND_ATTR.lower())),
            title=name,
            site_url=_absolute_http_url(url, attrs.get("htmlurl")),
            category=category or None,
        )
    return list(sources.values())


def _walk(body: etree._Element) -> Iterable[tuple[etree._Element, tuple[str, ...]]]:
    """Outlines in document order with the names of the folders around them, without recursion."""
    stack: list[tuple[etree._Element, tuple[str, ...]]] = []
    for child in reversed(list(body)):
        stack.append((child, ()))
    while stack:
        outline, folders = stack.pop()
        if _local(outline) != "outline":
            continue
        yield outline, folders
        name = _clean_text(outline.get("title") or outline.get("text"), 200)
        inner = (*folders, name) if name else folders
        for child in reversed(list(outline)):
            stack.append((child, inner))


def _category_attr(raw: str | None) -> str:
    """OPML 2.0's category attribute ("/News/Tech,/Dutch"): its first path."""
    if not raw:
        return ""
    first = raw.split(",")[0].strip().strip("/")
    return _CATEGORY_SEP.join(p for p in (_clean_text(s, 200) for s in first.split("/")) if p)


def _kind(raw: str | None) -> SourceKind:
    try:
        return SourceKind((raw or "feed").strip().lower())
    except ValueError:
        return SourceKind.FEED


def _xml_chars(value: str) -> str:
    # Characters XML 1.0 cannot carry at all are dropped; the escaping functions do the rest.
    return "".join(
        ch
        for ch in value
        if ch in "\t\n\r" or " " <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"
    )


def _attr(value: str) -> str:
    return quoteattr(_xml_chars(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _outline(source: Source, indent: str) -> str:
    name = source.title or source.site_url or source.url
    parts = [f"text={_attr(name)}", f"title={_attr(name)}", 'type="rss"', f"xmlUrl={_attr(source.url)}"]
    if source.site_url:
        parts.append(f"htmlUrl={_attr(source.site_url)}")
    if source.kind != SourceKind.FEED:
        parts.append(f"{_KIND_ATTR}={_attr(source.kind.value)}")
    return f"{indent}<outline {' '.join(parts)}/>"


def write_opml(sources: Iterable[Source], title: str = "newsdesk") -> str:
    """An OPML 2.0 document of `sources`, one parent outline per category, uncategorised ones last."""
    by_category: dict[str, list[Source]] = {}
    loose: list[Source] = []
    for source in sources:
        if source.category:
            by_category.setdefault(source.category, []).append(source)
        else:
            loose.append(source)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_xml_chars(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    for category in sorted(by_category, key=str.casefold):
        lines.append(f"    <outline text={_attr(category)} title={_attr(category)}>")
        lines.extend(_outline(s, "      ") for s in by_category[category])
        lines.append("    </outline>")
    lines.extend(_outline(s, "    ") for s in loose)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)
