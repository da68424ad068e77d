"""Fetched bytes → entries: feeds (RSS, Atom, JSON Feed), sitemaps and home-page links.

Pure functions, no IO. `parse_feed` tries a fast lxml path first and hands anything it is not sure
about to feedparser, so the common case is fast and the odd case is still read. Both paths end in
the same normalisation (`_make_entry`), and tests/ingest/test_feeds.py checks that they agree on
well-formed feeds.

Hostile input is expected: no DTD is loaded, no entity is expanded (the DOCTYPE is cut out before
either parser sees the bytes), the number of entries and the length of every field are capped.
"""

from __future__ import annotations

import gzip
import html as htmllib
import io
import json
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser
import lxml.html

# feedparser internals, pinned with feedparser==6.0.14: its date parser (so both paths read odd dates
# alike), its namespace table and handler names (to know which elements it would ignore).
from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date as _feedparser_date
from feedparser.exceptions import ThingsNobodyCaresAboutButMe
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from ..errors import MalformedFeedError, NotAFeedError
from ..models import FeedEntry, ParsedFeed

__all__ = [
    "MAX_CONTENT_CHARS",
    "MAX_ENTRIES",
    "MAX_SUMMARY_CHARS",
    "MAX_TITLE_CHARS",
    "parse_feed",
    "parse_homepage_links",
    "parse_sitemap",
]

#: entries kept per feed; feeds list newest first, so the first ones in document order are kept
MAX_ENTRIES = 1000
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 100_000
MAX_CONTENT_CHARS = 1_000_000
#: longer URLs are not links anyone meant to follow
MAX_URL_CHARS = 2048
#: a gzipped sitemap may not unpack past this (a zip bomb is a few kB)
MAX_SITEMAP_BYTES = 50_000_000

_ATOM = "{http://www.w3.org/2005/Atom}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_RSS10 = "{http://purl.org/rss/1.0/}"
_RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_IMAGE = "{http://www.google.com/schemas/sitemap-image/1.1}"

_HTML_TYPES = {"html", "text/html", "application/xhtml+xml"}
_TEXT_TYPES = {"text", "text/plain"}


# --------------------------------------------------------------------------------------------------
# shared helpers


def _xml_parser(recover: bool = False) -> etree.XMLParser:
    # A new parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=recover,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\s[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_XML_DECL_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_TAG_RE = re.compile(r"<(?:[A-Za-z/!?][^>]*)>")
_WS_RE = re.compile(r"\s+")
# C0 controls other than tab/newline are not allowed in XML and mean nothing in a title
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _head_text(content: bytes, limit: int = 4096) -> str:
    """The start of the body as text, whatever its BOM, for sniffing only."""
    head = content[:limit]
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore")
    if head[:4] in (b"<\x00?\x00", b"<\x00\x00\x00"):
        return head.decode("utf-16-le", "ignore")
    if head[:4] in (b"\x00<\x00?", b"\x00\x00\x00<"):
        return head.decode("utf-16-be", "ignore")
    return head.decode("utf-8", "ignore")


_PROLOG_RE = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>)", re.DOTALL | re.I)


def _first_markup(head: str) -> str:
    """The head with leading whitespace, XML declaration, comments and DOCTYPE skipped."""
    pos = 0
    while True:
        match = _PROLOG_RE.match(head, pos)
        if not match:
            break
        if match.group(0).lstrip().upper().startswith("<!DOCTYPE HTML"):
            return "<html"
        pos = match.end()
    return head[pos:].lstrip()


def _sniff(content: bytes) -> str:
    """'json', 'html', 'xml' or 'other' from the first bytes."""
    start = _first_markup(_head_text(content))
    if start[:1] in ("{", "["):
        return "json"
    lowered = start[:200].lower()
    if lowered.startswith(("<html", "<head", "<body", "<!doctype html")):
        return "html"
    if start.startswith("<"):
        return "xml"
    return "other"


_PROLOG_BYTES_RE = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_WIDE_SIGNATURES = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_DECL_ENCODING_TEXT_RE = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


def _transcode_wide(content: bytes) -> bytes | None:
    """A UTF-16 or UTF-32 body (by BOM or by its first bytes) as UTF-8 with its declaration saying so;
    None for any other body.

    Then its DOCTYPE is cut like any other's: left in, expat expanded a billion laughs' entities up
    to its amplification limit (seconds of work for a 2 kB feed) before feedparser gave up on it.
    """
    encoding = None
    for bom, name in _BOMS[1:]:
        if content.startswith(bom):
            encoding, content = name, content[len(bom) :]
            break
    else:
        for signature, name in _WIDE_SIGNATURES:
            if content.startswith(signature):
                encoding = name
                break
    if encoding is None:
        return None
    text = content.decode(encoding, "replace")
    return _DECL_ENCODING_TEXT_RE.sub(r'\1"utf-8"', text, count=1).encode("utf-8")


def _strip_doctype(content: bytes) -> tuple[bytes, bool]:
    """Cut the DOCTYPE out so no DTD or entity declaration reaches a parser.

    Only a DOCTYPE in the prolog counts (one inside an item's CDATA is text). Returns the bytes and
    whether the DOCTYPE declared entities (worth a warning: their references stay unexpanded).
    Only ASCII-compatible bodies can be cut here; UTF-16 and UTF-32 ones are made UTF-8 first
    (`_transcode_wide`).
    """
    pos = 3 if content.startswith(b"\xef\xbb\xbf") else 0
    while True:
        prolog = _PROLOG_BYTES_RE.match(content, pos)
        if prolog is None or prolog.end() == pos:
            break
        pos = prolog.end()
    if content[pos : pos + 9].upper() != b"<!DOCTYPE":
        return content, False
    match = _DOCTYPE_RE.match(content, pos)
    if match is None:
        # an unterminated DOCTYPE: drop everything up to the first '>' so no declaration survives
        end = content.find(b">", pos)
        return (content[:pos] + content[end + 1 :] if end != -1 else b""), True
    declared = b"<!ENTITY" in match.group(0).upper()
    return content[: match.start()] + content[match.end() :], declared


def _clean_text(value: str | None, limit: int) -> str:
    """Whitespace collapsed, control characters removed, capped."""
    if not value:
        return ""
    value = _CONTROL_RE.sub("", value)
    return _WS_RE.sub(" ", value).strip()[:limit]


def _html_to_text(value: str | None, limit: int) -> str:
    """Plain text of a fragment: tags stripped, entities decoded, whitespace collapsed."""
    if not value:
        return ""
    # Bound the work before the regexes see it; the result is capped again after.
    value = value[: limit * 4]
    if "<" in value:
        value = _TAG_RE.sub(" ", value)
    if "&" in value:
        value = htmllib.unescape(value)
    return _clean_text(value, limit)


def _absolute_http_url(base: str, raw: str | None) -> str | None:
    """`raw` made absolute against `base`; None unless it is an http(s) URL of sane length."""
    if not raw:
        return None
    raw = raw.strip()
    if not raw or len(raw) > MAX_URL_CHARS:
        return None
    try:
        # urljoin is the costliest step of the fast path; most feed links are absolute already
        absolute = raw if raw[:8].lower().startswith(("http://", "https://")) else urljoin(base, raw)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


_RFC822_RE = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+"
    r"(?:[+-]\d{4}|GMT|UTC|UT|Z)$"
)
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")


def _parse_date(raw: str | None) -> datetime | None:
    """A feed date as an aware UTC datetime (whole seconds, as feedparser keeps them)."""
    if not raw:
        return None
    raw = raw.strip()[:100]
    try:
        if _ISO_RE.match(raw):
            return _to_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
        if _RFC822_RE.match(raw):
            return _to_utc(parsedate_to_datetime(raw))
    except (ValueError, OverflowError, IndexError, TypeError):
        pass
    # The odd formats: feedparser's many date handlers, so both paths read them alike.
    return _struct_to_datetime(_feedparser_date(raw))


def _struct_to_datetime(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _content_html(value: str | None, ctype: str) -> str | None:
    if not value or not value.strip():
        return None
    value = value.strip()
    if ctype in _TEXT_TYPES:
        value = htmllib.escape(value, quote=False)
    return value[:MAX_CONTENT_CHARS]


def _make_entry(
    *,
    url: str | None,
    title: str | None,
    guid: str | None,
    summary: tuple[str, str] | None,
    content: tuple[str, str] | None,
    author: str | None,
    published: datetime | None,
    image: str | None,
) -> FeedEntry | None:
    """The one normalisation both parse paths end in. `summary`/`content` are (value, type)."""
    if url is None:
        return None
    source = summary if summary and summary[0].strip() else content
    summary_text: str | None = None
    if source is not None:
        value, ctype = source
        summary_text = (
            _clean_text(value, MAX_SUMMARY_CHARS)
            if ctype in _TEXT_TYPES
            else _html_to_text(value, MAX_SUMMARY_CHARS)
        ) or None
    return FeedEntry(
        url=url,
        title=_html_to_text(title, MAX_TITLE_CHARS),
        guid=_clean_text(guid, MAX_URL_CHARS) or None,
        summary=summary_text,
        content_html=_content_html(content[0], content[1]) if content else None,
        author=_html_to_text(author, 200) or None,
        published_at=published,
        image_url=image,
    )


def _finish(
    title: str | None,
    site_url: str | None,
    entries: Iterable[FeedEntry | None],
    fmt: str,
    warnings: list[str],
    total: int,
) -> ParsedFeed:
    kept = tuple(e for e in entries if e is not None)
    if total > MAX_ENTRIES:
        warnings.append(f"the feed has {total} entries; only the first {MAX_ENTRIES} were read")
    return ParsedFeed(
        title=_html_to_text(title, MAX_TITLE_CHARS),
        site_url=site_url,
        entries=kept,
        format=fmt,
        warning="; ".join(warnings) or None,
    )


def _is_image(mime: str | None, medium: str | None = None) -> bool:
    return (medium or "").lower() == "image" or (mime or "").lower().startswith("image/")


# --------------------------------------------------------------------------------------------------
# parse_feed


def parse_feed(
    content: bytes, url: str, content_type: str | None = None, charset: str | None = None
) -> ParsedFeed:
    """Read an RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.0/1.1 document.

    `url` is the feed's own (final) URL, the base for relative links; `content_type` and `charset`
    are what the server declared. Raises NotAFeedError for anything that is not a feed (an HTML page,
    other JSON, an empty body) and MalformedFeedError for a feed too broken to yield entries.
    Entries without an http(s) link are skipped; `warning` tells of recoverable problems.
    """
    if not content or not content.strip():
        raise NotAFeedError("the response is empty, not a feed")
    kind = _sniff(content)
    if kind == "json":
        return _parse_json_feed(content, url)
    if kind == "html":
        raise NotAFeedError("this is an HTML page, not a feed")
    wide = _transcode_wide(content)
    if wide is not None:
        content, charset = wide, None  # the BOM or the bytes themselves said what the encoding was
    cleaned, declared_entities = _strip_doctype(content)
    warnings = ["the feed declares XML entities; they were not expanded"] if declared_entities else []
    parsed = _parse_fast(cleaned, url, charset, warnings)
    if parsed is None:
        repaired = _repair(cleaned, url, warnings)
        if repaired is not None:
            parsed = _fast_from_root(repaired, url, warnings)
            if parsed is None:
                cleaned, charset = bytes(etree.tostring(repaired, encoding="utf-8", xml_declaration=True)), None
    if parsed is None:
        parsed = _parse_with_feedparser(cleaned, url, content_type, charset, warnings)
    return parsed


#: Above this size a feed that is not well-formed is repaired by lxml rather than read by feedparser's
#: lenient parser, which manages about 50 kB a second (a broken 10 MB feed took four minutes).
MAX_LENIENT_BYTES = 64_000


_ENTITY_REF_RE = re.compile(rb"&([A-Za-z][A-Za-z0-9]{0,31});")
#: what each named reference becomes: XML's five stay, HTML's become numeric references (which XML
#: reads without a DTD), any other is kept as text
_ENTITY_REPLACEMENTS = {name.encode("ascii"): b"&#%d;" % code for name, code in name2codepoint.items()} | {
    name: b"&" + name + b";" for name in (b"amp", b"lt", b"gt", b"quot", b"apos")}


def _declare_nothing(content: bytes) -> bytes:
    """Named references made readable without a DTD."""
    replacements = _ENTITY_REPLACEMENTS

    def replace(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        return replacements.get(name) or b"&amp;" + name + b";"

    return _ENTITY_REF_RE.sub(replace, content)


def _repair(content: bytes, url: str, warnings: list[str]) -> etree._Element | None:
    """lxml's (recovering) reading of a large document the fast path could not take; None for a
    small one, which feedparser's lenient parser reads soon enough.

    Raises MalformedFeedError for a document nested deeper than libxml2's limit (256 levels):
    feedparser takes time quadratic in the depth (40 s for 50,000 levels), and no real feed nests
    anywhere near 256 deep; lxml, without huge_tree, notices the depth at once.
    """
    if len(content) > MAX_LENIENT_BYTES:
        # The DOCTYPE is gone, so every named reference but XML's five is undeclared; libxml2 would log
        # an error for each (seconds for a megabyte of "&a;"). HTML's names become the characters they
        # mean, unknown ones stay as text.
        content = _declare_nothing(content)
    parser = _xml_parser(recover=True)
    try:
        root = etree.fromstring(content, parser, base_url=url)
    except (etree.XMLSyntaxError, ValueError):
        root = None
    if any("excessive depth" in entry.message.lower() for entry in parser.error_log):
        raise MalformedFeedError("the feed nests its elements more than 256 levels deep; it is not read")
    if root is None or len(content) <= MAX_LENIENT_BYTES:
        return None
    if any(entry.level >= etree.ErrorLevels.ERROR for entry in parser.error_log):
        warnings.append("the feed is not well-formed; it was repaired and read leniently")
    etree.strip_elements(root, etree.Entity, with_tail=False)
    return root


# -- the fast path ----------------------------------------------------------------------------------

_FAST_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii"}

# Item children the fast path knows feedparser ignores for the fields we keep; anything else (say
# itunes:summary or media:title, which feedparser maps onto summary and title) sends the feed to
# feedparser, so the two never disagree.
_RSS_IGNORED = {
    "category", "comments", "source",
    "{http://purl.org/rss/1.0/modules/slash/}comments",
    "{http://wellformedweb.org/CommentAPI/}commentRss",
    "{http://wellformedweb.org/CommentAPI/}comment",
    "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
    _DC + "subject", _DC + "language", _DC + "rights", _DC + "publisher", _DC + "identifier",
    _MEDIA + "credit", _MEDIA + "category", _MEDIA + "keywords", _MEDIA + "rating",
}
_ATOM_IGNORED = {
    _ATOM + "category", _ATOM + "rights", _ATOM + "contributor", _ATOM + "source",
    "{http://purl.org/syndication/thread/1.0}total",
    "{http://purl.org/syndication/thread/1.0}in-reply-to",
} | _RSS_IGNORED


# Namespaces feedparser knows; elements in any other namespace it stores under their own name.
_FP_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_FP_PREFIXES = set(_FP_NAMESPACES.values())
# The entry keys _fp_entry reads; an unknown element stored under one of these names would change them.
_FP_KEYS = {
    "title", "title_detail", "link", "links", "id", "guidislink", "summary", "summary_detail", "content",
    "author", "author_detail", "authors", "published", "published_parsed", "updated", "updated_parsed",
    "media_content", "media_thumbnail", "enclosures", "href", "url",
}


def _ignorable_unknown(el: etree._Element) -> bool:
    """An element of a namespace feedparser does not know, which it would file away unused.

    WordPress's <post-id xmlns="com-wordpress:feed-additions:1"> and the like: feedparser keeps them
    under their own name, so they change none of our fields and the fast path may skip them.
    """
    if len(el) or not isinstance(el.tag, str):
        return False
    qname = etree.QName(el)
    if (qname.namespace or "").lower() in _FP_NAMESPACES or "userland.com/rss" in (qname.namespace or ""):
        return False
    prefix = (el.prefix or "").lower()
    if prefix and prefix in _FP_PREFIXES:
        return False
    name = f"{prefix}_{qname.localname.lower()}" if prefix else qname.localname.lower()
    if hasattr(StrictFeedParser, "_start_" + name) or hasattr(StrictFeedParser, "_end_" + name):
        return False
    return name not in _FP_KEYS


class _Unsure(Exception):
    """The fast path cannot vouch for this document; feedparser reads it instead."""


def _parse_fast(content: bytes, url: str, charset: str | None, warnings: list[str]) -> ParsedFeed | None:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:64]:
        return None
    match = _XML_DECL_ENCODING_RE.match(content.removeprefix(b"\xef\xbb\xbf"))
    declared = match.group(1).decode("ascii").lower() if match else None
    if declared is not None and declared not in _FAST_ENCODINGS:
        return None
    if charset and charset.strip().lower() not in _FAST_ENCODINGS:
        return None
    try:
        root = etree.fromstring(content, _xml_parser(), base_url=url)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return _fast_from_root(root, url, warnings)


def _fast_from_root(root: etree._Element, url: str, warnings: list[str]) -> ParsedFeed | None:
    try:
        if root.tag == "rss" and root.get("version", "").strip() == "2.0":
            return _fast_rss(root, url, warnings)
        if root.tag == _ATOM + "feed":
            return _fast_atom(root, url, warnings)
        if root.tag == _RDF + "RDF":
            return _fast_rdf(root, url, warnings)
    except _Unsure:
        return None
    return None


def _text(el: etree._Element) -> str:
    # Child elements inside a text field (unescaped HTML) are read differently by feedparser.
    if len(el):
        raise _Unsure
    return el.text or ""


def _base(el: etree._Element, url: str) -> str:
    return el.base or url


def _rss_author_name(raw: str) -> str | None:
    """feedparser's reading of an RSS <author>: the e-mail address cut out, parentheses dropped."""
    author = raw.strip()
    match = _FP_EMAIL_RE.search(author)
    if match:
        author = author.replace(match.group(0), "").replace("()", "").replace("<>", "")
        author = author.replace("&lt;&gt;", "").strip()
        if author.startswith("("):
            author = author[1:]
        if author.endswith(")"):
            author = author[:-1]
        author = author.strip()
    return author or None


_FP_EMAIL_RE = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)


@dataclass
class _Media:
    """Image candidates in the order the image rule looks at them."""

    content: str | None = None
    thumbnail: str | None = None
    enclosure: str | None = None

    def add_media(self, el: etree._Element, url: str) -> None:
        tag = el.tag
        if tag == _MEDIA + "group":
            for child in el:
                if child.tag in (_MEDIA + "content", _MEDIA + "thumbnail"):
                    self.add_media(child, url)
                elif child.tag not in _RSS_IGNORED:
                    raise _Unsure
            return
        if tag == _MEDIA + "content":
            if len(el):
                raise _Unsure
            if self.content is None and _is_image(el.get("type"), el.get("medium")):
                self.content = _absolute_http_url(url, el.get("url"))
        elif tag == _MEDIA + "thumbnail":
            if self.thumbnail is None:
                self.thumbnail = _absolute_http_url(url, el.get("url"))
        else:
            raise _Unsure

    def best(self) -> str | None:
        return self.content or self.thumbnail or self.enclosure


def _fast_rss(root: etree._Element, url: str, warnings: list[str]) -> ParsedFeed:
    channel = root.find("channel")
    if channel is None:
        raise _Unsure
    title = channel.find("title")
    link = channel.find("link")
    site_url = _absolute_http_url(_base(link, url), _text(link)) if link is not None else None
    items = channel.findall("item")
    if root.find("item") is not None:
        raise _Unsure
    entries = [_fast_rss_item(item, url) for item in items[:MAX_ENTRIES]]
    return _finish(_text(title) if title is not None else "", site_url, entries, "rss", warnings, len(items))


def _fast_rss_item(item: etree._Element, url: str) -> FeedEntry | None:
    link = guid = title = summary = content = pubdate = dcdate = None
    guid_is_link = False
    authors: list[str | None] = []
    media = _Media()
    base = _base(item, url)
    for el in item:
        tag = el.tag
        if tag == "title":
            title = _text(el) if title is None else title
        elif tag == "link":
            link = _text(el) if link is None else link
        elif tag == "guid":
            guid = _text(el).strip()
            guid_is_link = el.get("isPermaLink", "true").strip().lower() != "false"
        elif tag == "description":
            summary = _text(el) if summary is None else summary
        elif tag == _CONTENT + "encoded":
            content = _text(el) if content is None else content
        elif tag == "pubDate":
            pubdate = _text(el) if pubdate is None else pubdate
        elif tag == _DC + "date":
            dcdate = _text(el) if dcdate is None else dcdate
        elif tag == "author":
            authors.append(_rss_author_name(_text(el)))
        elif tag == _DC + "creator":
            authors.append(_text(el).strip() or None)
        elif tag == "enclosure":
            if media.enclosure is None and _is_image(el.get("type")):
                media.enclosure = _absolute_http_url(base, el.get("url"))
        elif tag.startswith(_MEDIA) and tag not in _RSS_IGNORED:
            media.add_media(el, url)
        elif tag not in _RSS_IGNORED and not _ignorable_unknown(el):
            raise _Unsure
    if link is None and guid and guid_is_link:
        link = guid
    return _make_entry(
        url=_absolute_http_url(base, link),
        title=title,
        guid=guid,
        summary=(summary, "html") if summary is not None else None,
        content=(content, "html") if content is not None else None,
        author=authors[0] if authors else None,
        published=_parse_date(pubdate) or _parse_date(dcdate),
        image=media.best(),
    )


def _atom_text(el: etree._Element) -> tuple[str, str]:
    ctype = (el.get("type") or "text").strip().lower()
    if ctype not in _HTML_TYPES - {"application/xhtml+xml"} and ctype not in _TEXT_TYPES:
        raise _Unsure  # xhtml, base64 or out-of-line content: feedparser's business
    if el.get("src") is not None or el.get("mode") is not None:
        raise _Unsure
    return _text(el), "html" if ctype in _HTML_TYPES else "text"


def _atom_alternate(el: etree._Element) -> bool:
    rel = (el.get("rel") or "alternate").strip()
    ctype = (el.get("type") or "text/html").strip().lower()
    return rel == "alternate" and ctype in ("text/html", "application/xhtml+xml")


def _fast_atom(root: etree._Element, url: str, warnings: list[str]) -> ParsedFeed:
    title: str | None = None
    site_url: str | None = None
    entries_el: list[etree._Element] = []
    for el in root:
        if el.tag == _ATOM + "title" and title is None:
            value, ctype = _atom_text(el)
            title = htmllib.escape(value) if ctype == "text" else value
        elif el.tag == _ATOM + "link" and _atom_alternate(el) and el.get("href"):
            site_url = _absolute_http_url(_base(el, url), el.get("href")) or site_url
        elif el.tag == _ATOM + "entry":
            entries_el.append(el)
    entries = [_fast_atom_entry(e, url) for e in entries_el[:MAX_ENTRIES]]
    return _finish(title, site_url, entries, "atom", warnings, len(entries_el))


def _fast_atom_entry(entry: etree._Element, url: str) -> FeedEntry | None:
    link = guid = published = updated = None
    title: tuple[str, str] | None = None
    summary: tuple[str, str] | None = None
    content: tuple[str, str] | None = None
    authors: list[str | None] = []
    media = _Media()
    for el in entry:
        tag = el.tag
        if tag == _ATOM + "title":
            title = _atom_text(el) if title is None else title
        elif tag == _ATOM + "link":
            rel = (el.get("rel") or "alternate").strip()
            if _atom_alternate(el) and el.get("href") is not None:
                # the last one wins, as in feedparser
                link = urljoin(_base(el, url), el.get("href", "").strip())
            elif rel == "enclosure" and media.enclosure is None and _is_image(el.get("type")):
                media.enclosure = _absolute_http_url(_base(el, url), el.get("href"))
        elif tag == _ATOM + "id":
            guid = _text(el).strip() if guid is None else guid
        elif tag == _ATOM + "published":
            published = _text(el) if published is None else published
        elif tag == _ATOM + "updated":
            updated = _text(el) if updated is None else updated
        elif tag == _ATOM + "summary":
            summary = _atom_text(el) if summary is None else summary
        elif tag == _ATOM + "content":
            content = _atom_text(el) if content is None else content
        elif tag == _ATOM + "author":
            name = None
            for part in el:
                if part.tag == _ATOM + "name":
                    name = _text(part).strip() or None
                elif part.tag not in (_ATOM + "email", _ATOM + "uri"):
                    raise _Unsure
            authors.append(name)
        elif tag.startswith(_MEDIA) and tag not in _RSS_IGNORED:
            media.add_media(el, url)
        elif tag not in _ATOM_IGNORED and not _ignorable_unknown(el):
            raise _Unsure
    if title is not None and title[1] == "text":
        title = (htmllib.escape(title[0]), "html")
    return _make_entry(
        url=_absolute_http_url(url, link),
        title=title[0] if title else None,
        guid=guid,
        summary=summary,
        content=content,
        author=authors[0] if authors else None,
        published=_parse_date(published) or _parse_date(updated),
        image=media.best(),
    )


def _fast_rdf(root: etree._Element, url: str, warnings: list[str]) -> ParsedFeed:
    ns = _RSS10 if root.find(_RSS10 + "channel") is not None else _RSS090
    channel = root.find(ns + "channel")
    if channel is None:
        raise _Unsure
    title = channel.find(ns + "title")
    link = channel.find(ns + "link")
    site_url = _absolute_http_url(_base(link, url), _text(link)) if link is not None else None
    items = root.findall(ns + "item")
    if channel.find(ns + "item") is not None:
        raise _Unsure
    entries = [_fast_rdf_item(item, url, ns) for item in items[:MAX_ENTRIES]]
    return _finish(_text(title) if title is not None else "", site_url, entries, "rdf", warnings, len(items))


def _fast_rdf_item(item: etree._Element, url: str, ns: str) -> FeedEntry | None:
    link = title = summary = content = dcdate = None
    authors: list[str | None] = []
    media = _Media()
    base = _base(item, url)
    for el in item:
        tag = el.tag
        if tag == ns + "title":
            title = _text(el) if title is None else title
        elif tag == ns + "link":
            link = _text(el) if link is None else link
        elif tag == ns + "description":
            summary = _text(el) if summary is None else summary
        elif tag == _CONTENT + "encoded":
            content = _text(el) if content is None else content
        elif tag == _DC + "date":
            dcdate = _text(el) if dcdate is None else dcdate
        elif tag == _DC + "creator":
            authors.append(_text(el).strip() or None)
        elif tag.startswith(_MEDIA) and tag not in _RSS_IGNORED:
            media.add_media(el, url)
        elif tag not in _RSS_IGNORED and not _ignorable_unknown(el):
            raise _Unsure
    return _make_entry(
        url=_absolute_http_url(base, link),
        title=title,
        guid=item.get(_RDF + "about"),
        summary=(summary, "html") if summary is not None else None,
        content=(content, "html") if content is not None else None,
        author=authors[0] if authors else None,
        published=_parse_date(dcdate),
        image=media.best(),
    )


# -- the feedparser path ----------------------------------------------------------------------------

_FP_FORMATS = {"rss": "rss", "atom": "atom", "cdf": "rss"}


def _fp_format(version: str) -> str:
    if version in ("rss090", "rss10"):
        return "rdf"
    return _FP_FORMATS.get(re.sub(r"\d+[a-z]?$", "", version), "rss")


def _fp_detail(detail: object, fmt: str = "atom") -> tuple[str, str] | None:
    # Every value from feedparser is checked for its type: an odd element can put a string where a
    # dict is expected (an <authors> element becomes entry["authors"] = "...").
    if not isinstance(detail, Mapping) or not isinstance(detail.get("value"), str):
        return None
    ctype = (detail.get("type") or "text/html").lower()
    return str(detail["value"]), "text" if ctype in _TEXT_TYPES and fmt == "atom" else "html"


def _parse_with_feedparser(
    content: bytes, url: str, content_type: str | None, charset: str | None, warnings: list[str]
) -> ParsedFeed:
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    if charset and "charset=" not in headers["content-type"].lower():
        headers["content-type"] += f"; charset={charset}"
    # A BytesIO, never the bytes: feedparser opens a bare string that looks like a path or a URL.
    try:
        result = feedparser.parse(
            io.BytesIO(content), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except (UnicodeError, LookupError, ValueError) as exc:
        # feedparser itself trips on some garbage (an encoding name that is not UTF-8, say)
        raise MalformedFeedError(f"the feed cannot be read: {_bozo_message(exc)}") from exc
    version = result.get("version") or ""
    raw_entries = result.get("entries") or []
    if result.get("bozo"):
        bozo = result.get("bozo_exception")
        problem = _bozo_message(bozo)
        # An encoding or content-type mismatch is worth a warning; a feed with no items is still a feed.
        benign = isinstance(bozo, ThingsNobodyCaresAboutButMe)
        if not raw_entries and not (benign and version):
            if version or (_sniff(content) == "xml" and _looks_like_feed_markup(content)):
                raise MalformedFeedError(f"the feed is broken and no entries could be read: {problem}")
            raise NotAFeedError("this is not a feed (no RSS, Atom or JSON Feed found)")
        warnings.append(f"the feed is not well-formed, read it leniently: {problem}")
    elif not version:
        raise NotAFeedError("this is not a feed (no RSS, Atom or JSON Feed found)")
    feed = result.get("feed") or {}
    fmt = _fp_format(version)
    entries = [_fp_entry(e, url, fmt) for e in _fp_list(raw_entries)[:MAX_ENTRIES]]
    site_url = _absolute_http_url(url, _str(feed.get("link")))
    title_detail = _fp_detail(feed.get("title_detail"), fmt)
    title = None
    if title_detail:
        title = title_detail[0]
        if title_detail[1] == "text" and fmt == "atom":
            title = htmllib.escape(title)
    return _finish(title, site_url, entries, fmt, warnings, len(raw_entries))


def _bozo_message(exc: object) -> str:
    text = str(exc) if exc is not None else "unknown problem"
    return _clean_text(text, 300) or type(exc).__name__


def _looks_like_feed_markup(content: bytes) -> bool:
    start = _first_markup(_head_text(content)).lower()
    return start.startswith(("<rss", "<feed", "<rdf:rdf", "<rdf", "<channel"))


def _fp_entry(e: Mapping[str, Any], url: str, fmt: str) -> FeedEntry | None:
    # RSS text fields are HTML whatever feedparser guessed; only Atom says "text" and means it.
    title = _fp_detail(e.get("title_detail"), fmt)
    if title is not None and title[1] == "text":
        title = (htmllib.escape(title[0]), "html")
    contents = _fp_list(e.get("content"))
    content = _fp_detail(contents[0], fmt) if contents else None
    summary = _fp_detail(e.get("summary_detail"), fmt)
    if summary is None and e.get("summary"):
        summary = content
    authors = _fp_list(e.get("authors"))
    author = _str(authors[0].get("name")) if authors else None
    published = _struct_to_datetime(e.get("published_parsed")) or _struct_to_datetime(e.get("updated_parsed"))
    return _make_entry(
        url=_absolute_http_url(url, _str(e.get("link"))),
        title=title[0] if title else None,
        guid=_str(e.get("id")),
        summary=summary,
        content=content,
        author=author,
        published=published,
        image=_fp_image(e, url),
    )


def _fp_list(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _fp_image(e: Mapping[str, Any], url: str) -> str | None:
    for media in _fp_list(e.get("media_content")):
        if _is_image(_str(media.get("type")), _str(media.get("medium"))):
            return _absolute_http_url(url, _str(media.get("url")))
    for thumb in _fp_list(e.get("media_thumbnail")):
        return _absolute_http_url(url, _str(thumb.get("url")))
    for link in _fp_list(e.get("links")):
        if link.get("rel") == "enclosure" and _is_image(_str(link.get("type"))):
            return _absolute_http_url(url, _str(link.get("href")))
    return None


# -- JSON Feed --------------------------------------------------------------------------------------


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError) as exc:
        if b"jsonfeed.org/version" in content[:4096]:
            raise MalformedFeedError(f"the JSON feed is not valid JSON: {exc}") from exc
        raise NotAFeedError("this is JSON that is not valid, not a feed") from exc
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise NotAFeedError("this is JSON but not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise MalformedFeedError("the JSON feed has no items list")
    warnings: list[str] = []
    base = _absolute_http_url(url, _str(doc.get("feed_url"))) or url
    entries = [_json_item(item, base) for item in items[:MAX_ENTRIES]]
    site_url = _absolute_http_url(base, _str(doc.get("home_page_url")))
    title = htmllib.escape(_str(doc.get("title")) or "")
    return _finish(title, site_url, entries, "json", warnings, len(items))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _json_item(item: object, base: str) -> FeedEntry | None:
    if not isinstance(item, dict):
        return None
    link = _absolute_http_url(base, _str(item.get("url"))) or _absolute_http_url(
        base, _str(item.get("external_url"))
    )
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item["author"]] if isinstance(item.get("author"), dict) else []
    author = next((_str(a.get("name")) for a in authors if isinstance(a, dict) and _str(a.get("name"))), None)
    content_html = _str(item.get("content_html"))
    content_text = _str(item.get("content_text"))
    content = (content_html, "html") if content_html else (content_text, "text") if content_text else None
    summary = _str(item.get("summary"))
    guid = item.get("id")
    published = None
    for key in ("date_published", "date_modified"):
        raw = _str(item.get(key))
        if raw:
            published = _parse_date(raw)
            if published:
                break
    return _make_entry(
        url=link,
        title=htmllib.escape(_str(item.get("title")) or ""),
        guid=str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else None,
        summary=(summary, "text") if summary else None,
        content=content,
        author=author,
        published=published,
        image=_absolute_http_url(base, _str(item.get("image")))
        or _absolute_http_url(base, _str(item.get("banner_image"))),
    )


# --------------------------------------------------------------------------------------------------
# sitemaps


def _gunzip(content: bytes) -> bytes:
    """A gzipped sitemap unpacked, never past MAX_SITEMAP_BYTES."""
    decoder = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        data = decoder.decompress(content, MAX_SITEMAP_BYTES)
    except zlib.error as exc:
        raise MalformedFeedError(f"the gzipped sitemap cannot be unpacked: {exc}") from exc
    if decoder.unconsumed_tail:
        raise MalformedFeedError(f"the sitemap unpacks to more than {MAX_SITEMAP_BYTES} bytes")
    return data


def parse_sitemap(content: bytes, url: str) -> ParsedFeed:
    """Read a sitemap.xml, a Google News sitemap or a sitemap index (plain or gzipped).

    A urlset gives format "sitemap": one entry per <url>, titled by news:title where there is one,
    dated by news:publication_date or else lastmod. A sitemap index gives format "sitemapindex":
    its entries are the child sitemaps (url = the child's location, published_at = its lastmod),
    for the caller to fetch. If there are more than MAX_ENTRIES, the newest are kept.
    """
    if content[:2] == gzip.compress(b"")[:2]:
        content = _gunzip(content)
    if not content.strip():
        raise NotAFeedError("the response is empty, not a sitemap")
    if _sniff(content) != "xml":
        raise NotAFeedError("this is not a sitemap (not XML)")
    cleaned, _ = _strip_doctype(content)
    warnings: list[str] = []
    try:
        root = etree.fromstring(cleaned, _xml_parser(), base_url=url)
    except etree.XMLSyntaxError as exc:
        try:
            root = etree.fromstring(cleaned, _xml_parser(recover=True), base_url=url)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise MalformedFeedError(f"the sitemap is not well-formed XML: {exc}") from exc
        warnings.append(f"the sitemap is not well-formed XML, read it leniently: {exc}")
    local = _local(root)
    if local == "urlset":
        entries = [_sitemap_url(el, url) for el in root if _local(el) == "url"]
        fmt = "sitemap"
    elif local == "sitemapindex":
        entries = [_sitemap_child(el, url) for el in root if _local(el) == "sitemap"]
        fmt = "sitemapindex"
    else:
        raise NotAFeedError("this XML is not a sitemap (no urlset or sitemapindex)")
    kept = [e for e in entries if e is not None]
    total = len(kept)
    if total > MAX_ENTRIES:
        epoch = datetime.min.replace(tzinfo=UTC)
        order = sorted(range(total), key=lambda i: kept[i].published_at or epoch, reverse=True)
        keep = set(order[:MAX_ENTRIES])
        kept = [e for i, e in enumerate(kept) if i in keep]
        warnings.append(f"the sitemap lists {total} URLs; only the newest {MAX_ENTRIES} were read")
    return ParsedFeed(
        title="", site_url=None, entries=tuple(kept), format=fmt, warning="; ".join(warnings) or None
    )


def _local(el: etree._Element) -> str:
    """An element's local name; a string split, since recover mode leaves names QName rejects."""
    if not isinstance(el.tag, str):
        return ""
    return el.tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _sitemap_url(el: etree._Element, url: str) -> FeedEntry | None:
    loc = lastmod = title = published = image = None
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in (_SITEMAP + "loc", "loc"):
            loc = child.text
        elif tag in (_SITEMAP + "lastmod", "lastmod"):
            lastmod = child.text
        elif tag == _NEWS + "news":
            title = child.findtext(_NEWS + "title")
            published = child.findtext(_NEWS + "publication_date")
        elif tag == _IMAGE + "image" and image is None:
            image = _absolute_http_url(url, child.findtext(_IMAGE + "loc"))
    link = _absolute_http_url(url, loc)
    if link is None:
        return None
    return FeedEntry(
        url=link,
        title=_html_to_text(title, MAX_TITLE_CHARS),
        guid=None,
        published_at=_parse_date(published) or _parse_date(lastmod),
        image_url=image,
    )


def _sitemap_child(el: etree._Element, url: str) -> FeedEntry | None:
    link = _absolute_http_url(url, el.findtext(_SITEMAP + "loc") or el.findtext("loc"))
    if link is None:
        return None
    lastmod = el.findtext(_SITEMAP + "lastmod") or el.findtext("lastmod")
    return FeedEntry(url=link, published_at=_parse_date(lastmod))


# --------------------------------------------------------------------------------------------------
# home pages

# Path segments of pages that list or surround articles rather than being one.
_NAV_SEGMENTS = {
    "tag", "tags", "category", "categories", "categorie", "rubriek", "topic", "topics", "onderwerp",
    "author", "authors", "auteur", "auteurs", "user", "users", "profile", "login", "logout", "signin",
    "sign-in", "signup", "sign-up", "register", "account", "inloggen", "registreren", "abonneren",
    "subscribe", "subscription", "newsletter", "nieuwsbrief", "search", "zoeken", "about", "over",
    "over-ons", "contact", "privacy", "cookies", "terms", "voorwaarden", "feed", "rss", "page", "pagina",
    "archive", "archief", "wp-login.php", "wp-admin", "cart", "shop", "help", "faq", "sitemap", "jobs",
    "vacatures", "adverteren", "advertise",
}
_SKIP_EXTENSIONS = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".pdf", ".zip", ".mp3", ".mp4", ".css", ".js",
    ".xml", ".json", ".rss", ".ico",
)
_DATE_IN_PATH_RE = re.compile(
    r"(?:^|/)(?:19|20)\d{2}[/-](?:0?[1-9]|1[0-2])(?:[/-]|$)"  # /2024/05/ or /2024-05-01
    r"|(?:19|20)\d{2}(?:0[1-9]|1[0-2])[0-3]\d"  # 20240501
)
_NUMERIC_ID_RE = re.compile(r"(?:^|[/_-])\d{5,}(?:[/._-]|$)")


_ID_QUERY_RE = re.compile(r"(?:^|&)(?:p|id|article|artikel|story|news|nid)=\d{3,}(?:&|$)", re.I)


def _looks_like_article(path: str, query: str) -> bool:
    if query and _ID_QUERY_RE.search(query) and not path.lower().endswith(_SKIP_EXTENSIONS):
        return not any(s in _NAV_SEGMENTS for s in path.lower().split("/"))
    return _looks_like_article_path(path)


def _looks_like_article_path(path: str) -> bool:
    segments = [s for s in path.lower().split("/") if s]
    if not segments:
        return False
    if any(s in _NAV_SEGMENTS for s in segments):
        return False
    if path.lower().endswith(_SKIP_EXTENSIONS):
        return False
    if _DATE_IN_PATH_RE.search(path) or _NUMERIC_ID_RE.search(path):
        return True
    slug = re.sub(r"\.(?:html?|php|aspx?)$", "", segments[-1])
    words = [w for w in re.split(r"[-_]+", slug) if w]
    return len(words) >= 4 and len(slug) >= 20


def _same_site(a: str, b: str) -> bool:
    return a.removeprefix("www.") == b.removeprefix("www.")


def parse_homepage_links(html: bytes, url: str) -> ParsedFeed:
    """The article-looking links of a home page, in page order, as a ParsedFeed of format "homepage".

    Kept: http(s) links on the same host (www. or not) whose path has a date, a long numeric id or a
    long slug, and is not a tag, category, author, login, search or similar page. The link text is
    the title (the longest text among links to the same URL, since teasers often link an image first).
    """
    if not html or not html.strip():
        raise NotAFeedError("the page is empty")
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise NotAFeedError(f"the page cannot be read as HTML: {exc}") from exc
    base = url
    base_el = doc.find(".//base[@href]")
    if base_el is not None:
        base = _absolute_http_url(url, base_el.get("href")) or url
    host = (urlsplit(url).hostname or "").lower()
    titles: dict[str, str] = {}
    for anchor in doc.iter("a"):
        target = _absolute_http_url(base, anchor.get("href"))
        if target is None:
            continue
        parts = urlsplit(target)
        if not _same_site((parts.hostname or "").lower(), host):
            continue
        if not _looks_like_article(parts.path, parts.query):
            continue
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
        text = _clean_text(anchor.text_content(), MAX_TITLE_CHARS)
        text = text or _clean_text(anchor.get("title"), MAX_TITLE_CHARS)
        if target not in titles:
            if len(titles) >= MAX_ENTRIES:
                continue
            titles[target] = text
        elif len(text) > len(titles[target]):
            titles[target] = text
    page_title = doc.findtext(".//title")
    entries = tuple(FeedEntry(url=link, title=title) for link, title in titles.items())
    return ParsedFeed(
        title=_clean_text(page_title, MAX_TITLE_CHARS), site_url=url, entries=entries, format="homepage"
    )
