"""Page metadata: title, authors, dates, canonical URL, site name, description, lead image and caption.

Pure functions over a parsed lxml tree, kept apart from body selection so that either can improve
(or learn per site) without touching the other. Sources are tried from the most deliberate
(Open Graph, JSON-LD) to the most incidental (visible bylines, the <title>).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from .urls import absolute_url, normalize_url

__all__ = ["PageMetadata", "find_article_root", "lead_figure", "read_metadata"]

_WS = re.compile(r"\s+")
#: separators between a headline and the site's name in <title> and og:title
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|·|::|•|/|»)\s+")
_BYLINE_PREFIX = re.compile(r"^(?:by|door|von|par|text|tekst|written by|geschreven door)\s*:?\s+", re.I)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\ben\b|\bund\b|\bet\b)\s*", re.I)
#: JSON-LD blocks bigger than this are someone's data dump, not article metadata
_MAX_JSONLD = 1_000_000
_ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "blogposting", "backgroundnewsarticle", "reviewnewsarticle", "report", "liveblogposting", "webpage",
}


@dataclass(frozen=True)
class PageMetadata:
    title: str = ""
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    image_url: str | None = None
    image_caption: str | None = None
    #: the <html lang> primary subtag, the language fallback when the text is too short to tell
    declared_language: str | None = None
    #: JSON-LD articleBody as plain text ("" if none): a signal for body selection, sometimes truncated
    article_body: str = ""
    #: JSON-LD isAccessibleForFree (None if the page does not say): False marks paywalled articles
    accessible_for_free: bool | None = None


def clean_text(value: str | None) -> str:
    return _WS.sub(" ", value or "").strip()


def _meta(tree: HtmlElement, *keys: str) -> str | None:
    """The first non-empty <meta> content among `keys` (matched on property, name or itemprop)."""
    wanted = {k.lower() for k in keys}
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in wanted and key not in found:
            content = clean_text(meta.get("content"))
            if content:
                found[key] = content
    for key in keys:
        if key.lower() in found:
            return found[key.lower()]
    return None


# --- JSON-LD -------------------------------------------------------------------------------------

def _walk_jsonld(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        if "@graph" in node:
            yield from _walk_jsonld(node["@graph"], depth + 1)
        if isinstance(node.get("mainEntity"), dict | list):
            yield from _walk_jsonld(node["mainEntity"], depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def jsonld_article(tree: HtmlElement) -> dict[str, Any]:
    """The article-like JSON-LD object of the page, or {} if none parses."""
    best: dict[str, Any] = {}
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        if not raw.strip() or len(raw) > _MAX_JSONLD:
            continue
        try:
            data = json.loads(raw.strip().removesuffix(";"))
        except ValueError:
            continue
        for node in _walk_jsonld(data):
            kinds = _types(node)
            # An article type beats a WebPage; the first article wins among articles.
            if kinds & _ARTICLE_TYPES and (not best or ("webpage" in _types(best) and kinds != {"webpage"})):
                best = node
    return best


def _jsonld_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for item in value[:20] for n in _jsonld_names(item)]
    return []


def _jsonld_url(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        url = value.get("url") or value.get("contentUrl")
        return url if isinstance(url, str) else None
    if isinstance(value, list) and value:
        return _jsonld_url(value[0])
    return None


# --- article root and figures --------------------------------------------------------------------

def _paragraph_chars(element: HtmlElement) -> int:
    # Not the XPath .//p//text(): libxml2 merges such node sets in quadratic time.
    return sum(len(p.text_content()) for p in element.iter("p"))


def find_article_root(tree: HtmlElement) -> HtmlElement:
    """The element most likely to hold the article: <article>, [itemprop=articleBody], <main> - the one
    with the most paragraph text, if that is a fair share of the page's - else <body>."""
    body = tree.find("body")
    page = body if body is not None else tree
    candidates: list[HtmlElement] = []
    for element in tree.xpath('//*[@itemprop="articleBody"] | //article | //*[@role="main"] | //main')[:100]:
        if element.get("itemprop") == "articleBody":
            parent = element.getparent()
            # The article body often excludes the lead figure; its parent still holds it.
            if parent is not None and parent.tag != "body":
                element = parent
        candidates.append(element)
    if not candidates:
        return page
    best: HtmlElement = max(candidates, key=_paragraph_chars)
    # Several small <article>s are teasers, not the article.
    return best if _paragraph_chars(best) >= 0.4 * _paragraph_chars(page) else page


def _img_src(img: HtmlElement) -> str | None:
    for attr in ("src", "data-src", "data-lazy-src", "data-original"):
        value = img.get(attr)
        if value and not value.strip().lower().startswith("data:"):
            return str(value)
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        return str(srcset).split(",")[0].strip().split(" ")[0] or None
    return None


def _image_key(url: str) -> str:
    """Images of one photo differ in size suffixes and query strings; compare their file stem."""
    path = url.split("?")[0].rstrip("/")
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return re.sub(r"[-_@]?(\d{2,4}x\d{2,4}|w?\d{3,4}w?|\dx|large|medium|small|thumb)$", "", stem)


def lead_figure(root: HtmlElement, image_url: str | None, base: str | None) -> HtmlElement | None:
    """The <figure> in the article that shows the lead image, else the article's first figure."""
    figures = [f for f in root.iter("figure") if f.find(".//img") is not None][:50]
    if not figures:
        return None
    if image_url:
        key = _image_key(image_url)
        for figure in figures:
            for img in figure.iter("img"):
                src = absolute_url(_img_src(img), base)
                if src and (normalize_url(src) == normalize_url(image_url) or _image_key(src) == key):
                    return figure
    return figures[0]


def _caption_of(figure: HtmlElement | None) -> str | None:
    if figure is None:
        return None
    caption = figure.find(".//figcaption")
    if caption is None:
        return None
    return clean_text(caption.text_content()) or None


# --- title ---------------------------------------------------------------------------------------

def strip_site_name(title: str, site_name: str | None, host: str | None) -> str:
    """ "Headline | Krant 3" -> "Headline" when the trailing (or leading) part names the site."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    names = {n.lower() for n in (site_name,) if n}
    if host:
        label = host.lower().removeprefix("www.")
        names |= {label, label.split(".")[0]}

    def is_site(part: str) -> bool:
        lowered = part.lower().strip()
        squashed = lowered.replace(" ", "")
        return bool(lowered) and any(
            lowered == n
            or squashed == n.replace(" ", "")
            or (len(n) > 3 and n in lowered and len(lowered) < 40)
            for n in names
        )

    if is_site(parts[-1]):
        return clean_text(title[: title.rfind(parts[-1])].rstrip()).rstrip("|-–—·:•/»").strip() or title
    if is_site(parts[0]):
        return clean_text(title[len(parts[0]):]).lstrip("|-–—·:•/»").strip() or title
    return title


def _title(tree: HtmlElement, ld: dict[str, Any], site_name: str | None, host: str | None) -> str:
    h1s = [clean_text(h.text_content()) for h in tree.iter("h1")][:5]
    h1s = [h for h in h1s if 3 <= len(h) <= 400]
    candidates = [
        _meta(tree, "og:title", "twitter:title"),
        ld.get("headline") if isinstance(ld.get("headline"), str) else None,
        h1s[0] if h1s else None,
        clean_text(tree.findtext(".//title")),
    ]
    for candidate in candidates:
        if candidate:
            title = strip_site_name(clean_text(candidate), site_name, host)
            # If a visible <h1> is the start of this title, the rest is a suffix we don't know.
            for h1 in h1s:
                if title != h1 and title.startswith(h1) and _TITLE_SEPARATORS.match(title[len(h1):]):
                    return h1
            return title[:500]
    return ""


# --- authors -------------------------------------------------------------------------------------

def _split_authors(raw: str) -> list[str]:
    raw = _BYLINE_PREFIX.sub("", clean_text(raw))
    names = []
    for part in _AUTHOR_SPLIT.split(raw):
        part = _BYLINE_PREFIX.sub("", part.strip(" .:|")).strip()
        if part and 1 < len(part) <= 80 and not part.lower().startswith(("http", "www.")) and "@" not in part:
            names.append(part)
    return names


_BYLINE_CLASS_WORDS = frozenset({"byline", "author", "auteur", "writer", "journalist", "by"})
_CLASS_SPLIT = re.compile(r"[\s\-_]+")


def _byline_elements(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Visible bylines, most explicit markup first."""
    yield from tree.xpath('//*[@rel="author"]')[:3]
    yield from tree.xpath('//*[@itemprop="author"]//*[@itemprop="name"]')[:3]
    yield from tree.xpath('//*[@itemprop="author"]')[:3]
    seen = 0
    body = tree.find("body")
    for count, element in enumerate((body if body is not None else tree).iter()):
        if count > 5000 or not isinstance(element.tag, str) or not element.get("class"):
            if count > 5000:
                return
            continue
        parts = set(_CLASS_SPLIT.split(str(element.get("class")).lower()))
        if parts & _BYLINE_CLASS_WORDS and element.tag not in ("img", "a", "body", "article", "main"):
            yield element
            seen += 1
            if seen >= 5:
                return


def _authors(tree: HtmlElement, ld: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for name in _jsonld_names(ld.get("author")):
        found.extend(_split_authors(name))
    if not found:
        for key in ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author"):
            value = _meta(tree, key)
            if value:
                found.extend(_split_authors(value))
                break
    if not found:
        for element in _byline_elements(tree):
            text = clean_text(element.text_content())
            if text and len(text) <= 120:
                found.extend(_split_authors(text))
            if found:
                break
    unique: list[str] = []
    for name in found:
        if name.lower() not in {u.lower() for u in unique}:
            unique.append(name)
    return tuple(unique[:10])


# --- dates ---------------------------------------------------------------------------------------

def parse_datetime(value: str | None) -> datetime | None:
    """An ISO-8601-ish date or datetime as aware UTC; a time without an offset is taken as UTC."""
    if not value:
        return None
    text = value.strip()[:40]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?[+-]\d{4}", text):
        text = text[:-2] + ":" + text[-2:]  # +0100 -> +01:00 for older Pythons' taste
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if not 1990 <= moment.year <= 2100:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _published(tree: HtmlElement, ld: dict[str, Any], root: HtmlElement) -> datetime | None:
    candidates: list[str | None] = [
        _meta(tree, "article:published_time", "og:article:published_time"),
        ld.get("datePublished") if isinstance(ld.get("datePublished"), str) else None,
        _meta(tree, "datePublished", "pubdate", "publishdate", "date", "dc.date", "dc.date.issued",
              "dcterms.created", "sailthru.date", "parsely-pub-date"),
    ]
    for time in list(root.iter("time"))[:5] + list(tree.iter("time"))[:5]:
        candidates.append(time.get("datetime"))
    for candidate in candidates:
        moment = parse_datetime(candidate)
        if moment is not None:
            return moment
    return None


# --- everything ----------------------------------------------------------------------------------

def read_metadata(tree: HtmlElement, url: str | None) -> PageMetadata:
    """Everything about the page except its body text."""
    ld = jsonld_article(tree)
    host = None
    if url:
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname

    canonical = None
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            canonical = absolute_url(link.get("href"), url)
            if canonical:
                break
    canonical = canonical or absolute_url(_meta(tree, "og:url"), url)

    base = canonical or url
    publisher = ld.get("publisher")
    publisher_names = _jsonld_names(publisher) if isinstance(publisher, dict) else []
    site_name = _meta(tree, "og:site_name", "application-name") or next(iter(publisher_names), None)

    root = find_article_root(tree)
    image = absolute_url(_meta(tree, "og:image", "og:image:url", "og:image:secure_url", "twitter:image",
                               "twitter:image:src"), base)
    image = image or absolute_url(_jsonld_url(ld.get("image")), base)
    figure = lead_figure(root, image, base)
    if image is None and figure is not None:
        img = figure.find(".//img")
        image = absolute_url(_img_src(img), base) if img is not None else None

    description = _meta(tree, "og:description", "description", "twitter:description")
    if not description and isinstance(ld.get("description"), str):
        description = clean_text(ld["description"])

    lang = (tree.get("lang") or tree.get("xml:lang") or _meta(tree, "og:locale", "language") or "")
    lang = lang.strip().replace("_", "-").split("-")[0].lower()

    return PageMetadata(
        title=_title(tree, ld, site_name, host),
        authors=_authors(tree, ld),
        published=_published(tree, ld, root),
        canonical_url=canonical,
        site_name=clean_text(site_name) or None,
        description=(description or "")[:1000] or None,
        image_url=image,
        image_caption=_caption_of(figure),
        declared_language=lang if re.fullmatch(r"[a-z]{2}", lang) else None,
        article_body=_article_body(ld),
        accessible_for_free=_accessible_for_free(ld),
    )


#: JSON-LD article bodies are cut to this; a real one is shorter
_MAX_LD_BODY = 200_000


def _article_body(ld: dict[str, Any]) -> str:
    body = ld.get("articleBody")
    if not isinstance(body, str):
        return ""
    # Some sites put HTML in it; its text is what we compare.
    text = re.sub(r"<[^>]{0,500}>", " ", body[:_MAX_LD_BODY]) if "<" in body else body[:_MAX_LD_BODY]
    return "\n".join(clean_text(line) for line in text.splitlines() if line.strip())


def _accessible_for_free(ld: dict[str, Any]) -> bool | None:
    value = ld.get("isAccessibleForFree")
    if isinstance(value, dict):  # some put it on hasPart instead; the article-level flag is what counts
        value = None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def element_text(element: etree._Element) -> str:
    return clean_text(element.text_content()) if isinstance(element, HtmlElement) else ""
