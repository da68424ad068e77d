"""Page metadata: title, authors, dates, canonical URL, site name, section, description, lead image
with its caption and credit.

Pure functions over a parsed lxml tree, kept apart from body selection so that either can improve
(or learn per site) without touching the other. Sources are tried from the most deliberate
(Open Graph, JSON-LD) to the most incidental (visible bylines, the <title>).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from .urls import absolute_url, normalize_url

__all__ = ["PageMetadata", "find_article_root", "lead_figure", "read_metadata", "split_caption_credit"]

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
    #: when the page says it was last updated; None when it does not, or says so before `published`
    updated: datetime | None = None
    #: the section the article is filed under ("Binnenland"), from metadata or a clean breadcrumb
    section: str | None = None
    #: who made the lead image; `image_caption` is then the caption without it
    image_credit: str | None = None
    #: the lead figure's caption as printed, credit and all: the body must not repeat it either
    printed_caption: str | None = None


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
        if isinstance(node.get("breadcrumb"), dict):
            yield from _walk_jsonld(node["breadcrumb"], depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def _jsonld_nodes(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page that parses, nested ones included."""
    for script in list(tree.iter("script"))[:200]:
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = script.text or ""
        if not raw.strip() or len(raw) > _MAX_JSONLD:
            continue
        try:
            data = json.loads(raw.strip().removesuffix(";"))
        except ValueError:
            continue
        yield from _walk_jsonld(data)


def jsonld_article(tree: HtmlElement) -> dict[str, Any]:
    """The article-like JSON-LD object of the page, or {} if none parses."""
    best: dict[str, Any] = {}
    for node in _jsonld_nodes(tree):
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
        if (time.get("itemprop") or "").strip().lower() != "datemodified":  # that one is the update
            candidates.append(time.get("datetime"))
    for candidate in candidates:
        moment = parse_datetime(candidate)
        if moment is not None:
            return moment
    return None


def _updated(tree: HtmlElement, ld: dict[str, Any], published: datetime | None) -> datetime | None:
    """Only what the page states as its update time; a visible date without that label is not one."""
    candidates: list[str | None] = [
        _meta(tree, "article:modified_time", "og:article:modified_time", "og:updated_time"),
        ld.get("dateModified") if isinstance(ld.get("dateModified"), str) else None,
        _meta(tree, "dateModified", "dcterms.modified", "parsely-updated-date"),
    ]
    for time in tree.xpath('//*[@itemprop="dateModified"]')[:3]:
        candidates.append(time.get("datetime") or time.get("content"))
    for candidate in candidates:
        moment = parse_datetime(candidate)
        if moment is not None:
            # An update before the publication is a template's placeholder, not a fact.
            return None if published is not None and moment < published else moment
    return None


# --- section -------------------------------------------------------------------------------------

#: breadcrumb items that are the way home, not a section
_HOME_WORDS = frozenset({"home", "homepage", "start", "voorpagina", "startpagina", "startseite", "accueil",
                         "nieuws", "news", "nachrichten", "actualité", "actualités", "index", "frontpage"})
_CRUMB_SPLIT = re.compile(r"\s*(?:›|»|>|/|\||→|·)\s*")
_MAX_SECTION = 40


def _first_string(value: Any) -> str | None:
    if isinstance(value, str):
        return clean_text(value) or None
    if isinstance(value, list):
        for item in value[:10]:
            if isinstance(item, str) and clean_text(item):
                return clean_text(item)
    return None


def _plausible_section(text: str | None) -> str | None:
    text = clean_text(text)
    if not text or len(text) > _MAX_SECTION or len(text.split()) > 4 or "http" in text.lower():
        return None
    return text


def _breadcrumb_items(tree: HtmlElement) -> list[str] | None:
    """The page's breadcrumb as item texts: JSON-LD BreadcrumbList first, then markup."""
    for node in _jsonld_nodes(tree):
        if "breadcrumblist" not in _types(node):
            continue
        elements = node.get("itemListElement")
        if not isinstance(elements, list):
            continue
        ordered = []
        for index, element in enumerate(elements[:20]):
            if not isinstance(element, dict):
                continue
            position = element.get("position")
            name = element.get("name")
            item = element.get("item")
            if not isinstance(name, str) and isinstance(item, dict):
                name = item.get("name")
            if isinstance(name, str):
                ordered.append((position if isinstance(position, int) else index, clean_text(name)))
        return [name for _, name in sorted(ordered, key=lambda pair: pair[0])]
    trails = tree.xpath(
        '//*[@itemtype and contains(@itemtype, "BreadcrumbList")]'
        ' | //*[@aria-label and contains(translate(@aria-label, "BREADCUMS", "breadcums"), "breadcrumb")]'
        ' | //*[@class and contains(translate(@class, "BREADCUM", "breadcum"), "breadcrumb")]'
    )[:3]
    for trail in trails:
        links = [clean_text(a.text_content()) for a in trail.iter("a")][:20]
        items = [clean_text(li.text_content()) for li in trail.iter("li")][:20]
        if items and all(len(item) <= 80 for item in items):
            return items
        if links:
            # A current-page item is often plain text after the last link.
            last = clean_text(_CRUMB_SPLIT.split(clean_text(trail.text_content()))[-1])
            return links + ([last] if last and last != links[-1] else [])
    return None


def _breadcrumb_section(tree: HtmlElement, title: str, site_name: str | None) -> str | None:
    """The deepest breadcrumb item that is neither the way home, the site, nor the article itself; None
    when the trail holds anything that is not a short label (then it is not a clean breadcrumb)."""
    items = _breadcrumb_items(tree)
    if not items:
        return None
    title_key = title.lower()
    site_key_ = (site_name or "").lower()
    labels = []
    for item in items:
        lowered = item.lower()
        if not item or lowered in _HOME_WORDS or lowered == site_key_:
            continue
        if title_key and (lowered == title_key or (len(lowered) > 15 and lowered in title_key)
                          or (len(title_key) > 15 and title_key in lowered)):
            continue  # the article's own crumb
        labels.append(item)
    if not labels or any(_plausible_section(label) is None for label in labels):
        return None
    return labels[-1]


def _section(tree: HtmlElement, ld: dict[str, Any], title: str, site_name: str | None) -> str | None:
    declared = _meta(tree, "article:section", "og:article:section", "section", "parsely-section")
    for candidate in (declared, _first_string(ld.get("articleSection"))):
        section = _plausible_section(candidate)
        if section:
            return section
    return _breadcrumb_section(tree, title, site_name)


# --- image credit --------------------------------------------------------------------------------

_CREDIT_CLASS_WORDS = frozenset({"credit", "credits", "copyright", "photocredit", "photographer",
                                 "fotograaf", "bildnachweis", "bildquelle", "byline-photo"})
_CREDIT_ITEMPROPS = ("creditText", "copyrightHolder", "copyrightNotice")
#: "Foto: X", "Beeld X", "Photo X", "Credit: X" - the word and an optional colon before the credit
_CREDIT_WORD = (r"(?:[Ff]oto(?:'s|grafie|graaf)?|FOTO|[Pp]hoto(?:graph|s)?|PHOTO|[Bb]eeld|BEELD|[Bb]ild|"
                r"[Ii]mage|[Pp]icture|[Cc]redit|[Ii]llustratie|[Ii]llustration|[Ff]oto\s*&\s*tekst)")
#: the credit at the end of a caption: after the start, a sentence end or a separator
_TRAILING_CREDIT = re.compile(
    r"(?:^|(?<=[.!?…])\s+|\s+[—–|/]\s+|\s*[|]\s*)" + _CREDIT_WORD
    # without a colon, only a capitalized credit: "Beeld ANP", not "Beeld uit de film"
    + r"(?:\s*:\s*(?P<credit>[^\s:].{0,79})|\s+(?P<bare>[A-Z0-9©À-Þ].{0,79}))$"
)
_COPYRIGHT_CREDIT = re.compile(r"(?:^|\s+)(?:©|\(c\)|Copyright)\s*(?P<credit>[^\s].{0,79})$")
_PAREN_CREDIT = re.compile(r"\s*\((?P<inner>[^()]{2,80})\)\s*$")
_EMDASH_CREDIT = re.compile(r"\s+—\s+(?P<credit>[^—]{2,60})$")
#: agencies that captions credit on their own, "(Reuters)", "(ANP)"
_AGENCIES = ("reuters", "ap", "afp", "anp", "epa", "dpa", "getty", "getty images", "belga", "hollandse hoogte",
             "shutterstock", "bloomberg", "pa", "xinhua", "ansa", "efe", "upi", "istock", "ap photo",
             "afp photo", "epa-efe", "anp foto", "reuters photo", "imageselect", "pro shots", "orangepictures")
_NAME_PARTICLES = frozenset({"de", "van", "der", "den", "ten", "ter", "von", "zu", "du", "la", "le", "di",
                             "da", "for", "of", "&", "/", "via", "en", "and", "und", "et"})


def _credit_words(credit: str) -> str | None:
    credit = clean_text(credit).strip(" .,;:-–—()[]")
    if not credit or len(credit) > 80 or len(credit.split()) > 8:
        return None
    return credit


def _is_agency(text: str) -> bool:
    lowered = text.lower().strip()
    return any(lowered == a or lowered.startswith((a + " ", a + "/", a + ",")) for a in _AGENCIES)


def _looks_like_name(text: str) -> bool:
    """ "Jan de Vries/ANP", "Reuters", "Sanne Bakker for Krant 3": capitalized words and particles only."""
    words = re.split(r"\s+|(?<=/)|(?=/)", text.strip())
    words = [w for w in words if w]
    if not 1 <= len(words) <= 7 or text.rstrip()[-1:] in ".!?":
        return False
    return all(w.lower() in _NAME_PARTICLES or w[0].isupper() or w[0].isdigit() and len(w) == 4
               for w in words)


def split_caption_credit(caption: str) -> tuple[str, str | None]:
    """A caption and the credit printed at its end, split conservatively: only a credit word ("Foto:",
    "Beeld", "Photo:", "Credit:", "©"), a parenthesized agency or credit, or a name after an em dash counts.
    Anything else stays in the caption."""
    caption = clean_text(caption)
    match = _PAREN_CREDIT.search(caption)
    if match:
        inner = match.group("inner").strip()
        inner_match = re.fullmatch(_CREDIT_WORD + r"(?:\s*:\s*|\s+)(?P<credit>.+)", inner)
        credit = None
        if inner_match:
            credit = _credit_words(inner_match.group("credit"))
        elif inner.startswith(("©", "(c)")):
            credit = _credit_words(inner.lstrip("©").removeprefix("(c)"))
        elif _is_agency(inner):
            credit = _credit_words(inner)
        if credit:
            return caption[: match.start()].rstrip(" -–—|,"), credit
    for pattern in (_TRAILING_CREDIT, _COPYRIGHT_CREDIT):
        match = pattern.search(caption)
        if match:
            found = match.groupdict()
            credit = _credit_words(found.get("credit") or found.get("bare") or "")
            if credit:
                return caption[: match.start()].rstrip(" -–—|,"), credit
    match = _EMDASH_CREDIT.search(caption)
    if match and (_is_agency(match.group("credit")) or _looks_like_name(match.group("credit"))):
        credit = _credit_words(match.group("credit"))
        if credit:
            return caption[: match.start()].rstrip(), credit
    return caption, None


def _is_credit_element(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str):
        return False
    if (element.get("itemprop") or "").strip() in _CREDIT_ITEMPROPS:
        return True
    parts = set(_CLASS_SPLIT.split(str(element.get("class") or "").lower()))
    return bool(parts & _CREDIT_CLASS_WORDS)


def _jsonld_image_credit(ld: dict[str, Any]) -> str | None:
    image = ld.get("image")
    if isinstance(image, list):
        image = next((item for item in image[:10] if isinstance(item, dict)), None)
    if not isinstance(image, dict):
        return None
    credit = image.get("creditText")
    if isinstance(credit, str) and _credit_words(credit):
        return _credit_words(credit)
    for key in ("author", "creator", "copyrightHolder"):
        names = [n for n in (_credit_words(name) for name in _jsonld_names(image.get(key))) if n]
        if names:
            return ", ".join(names[:3])
    return None


def _caption_and_credit(figure: HtmlElement | None, ld: dict[str, Any]
                        ) -> tuple[str | None, str | None, str | None]:
    """(caption without its credit, the credit, the caption as printed) of the lead figure."""
    ld_credit = _jsonld_image_credit(ld)
    if figure is None:
        return None, ld_credit, None
    credit_elements = [e for e in figure.iter() if e is not figure and _is_credit_element(e)][:3]
    element_credit = None
    for element in credit_elements:
        text = clean_text(element.text_content())
        inner = re.fullmatch(_CREDIT_WORD + r"\b\s*:?\s*(?P<credit>.+)", text)
        element_credit = _credit_words(inner.group("credit") if inner else text.lstrip("©"))
        if element_credit:
            break
    caption_element = figure.find(".//figcaption")
    if caption_element is None:
        return None, element_credit or ld_credit, None
    printed = clean_text(caption_element.text_content()) or None
    if printed is None:
        return None, element_credit or ld_credit, None
    caption = printed
    text_credit = None
    copy = deepcopy(caption_element)
    marked = [e for e in copy.iter() if e is not copy and _is_credit_element(e)]
    if marked:
        # The credit is marked up inside the caption: the caption is the rest.
        for element in marked:
            element.drop_tree()
        caption = clean_text(copy.text_content())
    else:
        caption, text_credit = split_caption_credit(printed)
        if not text_credit and ld_credit and caption.endswith(ld_credit) and len(caption) > len(ld_credit):
            # The structured credit, printed again at the end of the caption after a separator or a
            # credit word ("..., ANP", "... Foto ANP"), not as part of a sentence ("... door ANP").
            rest = caption[: -len(ld_credit)]
            if re.search(r"(?:[,—–|/:(.©]|(?:(?<=\s)|^)" + _CREDIT_WORD + r")\s*$", rest):
                rest = rest.rstrip(" -–—|/:(©,")
                rest = re.sub(r"(?:(?<=\s)|^)" + _CREDIT_WORD + r"\s*:?$", "", rest).rstrip(" -–—|/:(©,")
                caption = rest or caption
    return caption or None, element_credit or text_credit or ld_credit, printed


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

    title = _title(tree, ld, site_name, host)
    published = _published(tree, ld, root)
    caption, credit, printed = _caption_and_credit(figure, ld)
    if image is None:
        credit = None  # a credit for no image
    return PageMetadata(
        title=title,
        authors=_authors(tree, ld),
        published=published,
        canonical_url=canonical,
        site_name=clean_text(site_name) or None,
        description=(description or "")[:1000] or None,
        image_url=image,
        image_caption=caption,
        declared_language=lang if re.fullmatch(r"[a-z]{2}", lang) else None,
        article_body=_article_body(ld),
        accessible_for_free=_accessible_for_free(ld),
        updated=_updated(tree, ld, published),
        section=_section(tree, ld, title, clean_text(site_name) or None),
        image_credit=credit,
        printed_caption=printed,
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
