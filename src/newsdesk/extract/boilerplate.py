"""Site chrome: what to cut from a page before body selection, and what to cut from a body after it.

Two passes, because each catches what the other cannot. Before extraction, structural chrome goes
(navigation, cookie banners, newsletter boxes, share bars, related links, footers), recognised by
tag, ARIA role and class/id words. After extraction, short blocks that read like chrome go ("Schrijf
je in voor de nieuwsbrief", "Alle rechten voorbehouden"), since sites hide those in plain <p>s.
Both lists are data, so per-site learning can later add to them without new code.
"""

from __future__ import annotations

import functools
import re

from lxml.html import HtmlElement

__all__ = ["CHROME_PHRASES", "CHROME_WORDS", "is_chrome_text", "prune_chrome"]

#: removed wherever they are
_CHROME_TAGS = ("nav", "aside", "footer", "form", "script", "style", "noscript", "iframe", "button",
                "select", "textarea", "dialog", "template", "svg", "canvas", "object", "embed", "input")
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "dialog", "alertdialog",
                           "search", "menu", "menubar", "toolbar"})
#: words in a class or id that mark chrome; matched against whole dash/underscore-separated parts
CHROME_WORDS = frozenset({
    "nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "cookie", "cookies", "consent",
    "gdpr", "newsletter", "nieuwsbrief", "subscribe", "subscription", "signup", "inschrijven", "share",
    "sharing", "sharebar", "social", "socials", "related", "gerelateerd", "recommended", "aanbevolen",
    "popular", "mostread", "meestgelezen", "trending", "pagination", "pager", "prevnext", "comments",
    "comment", "reacties", "advert", "advertisement", "ads", "ad", "adslot", "promo", "sponsored",
    "sidebar", "widget", "authorbox", "bio", "tags", "taglist", "skiplink", "paywall", "footer",
    "masthead", "topbar", "toolbar", "banner", "modal", "popup", "overlay", "print", "sr", "visually",
    "hidden", "offscreen", "disclaimer", "copyright", "outbrain", "taboola", "readmore", "leesook",
    # bylines and datelines: read as metadata before pruning, noise in the body
    "byline", "dateline", "timestamp", "kicker", "eyebrow", "label", "category", "categories", "meta",
    "postmeta", "author", "authors", "auteur", "tip", "tips",
})
#: class or id phrases matched as substrings (after removing dashes), for run-together spellings
_CHROME_PHRASES = ("newsletter", "nieuwsbrief", "cookie", "sharebar", "socialshare", "relatedarticles",
                   "readnext", "previousnext", "prevnext", "authorbox", "authorbio", "leesook")
#: never removed by a class/id match: they usually carry "has-sidebar"-like state on the article itself
_PROTECTED = frozenset({"html", "body", "article", "main", "h1"})
_SPLIT = re.compile(r"[\s\-_]+")


def _is_chrome_element(element: HtmlElement) -> bool:
    attrib = element.attrib
    if not attrib:  # most elements; the checks below all read attributes
        return False
    role = attrib.get("role")
    if role and role.strip().lower() in _CHROME_ROLES:
        return True
    if attrib.get("aria-hidden") == "true" or "hidden" in attrib:
        return True
    if element.tag in _PROTECTED or attrib.get("itemprop") == "articleBody":
        return False
    classes, ident = attrib.get("class"), attrib.get("id")
    if not classes and not ident:
        return False
    return _marks_chrome(f"{classes or ''} {ident or ''}")


@functools.lru_cache(maxsize=4096)
def _marks_chrome(marks: str) -> bool:
    """Whether class and id words mark chrome; cached, since a page repeats its class names."""
    marks = marks.lower()
    if not marks.strip():
        return False
    parts = set(_SPLIT.split(marks))
    if parts & CHROME_WORDS:
        return True
    squashed = marks.replace("-", "").replace("_", "")
    return any(phrase in squashed for phrase in _CHROME_PHRASES)


#: paragraph text (in <p>s of at least _PROSE_MIN chars, mostly not link text) above which a class-marked
#: element is article, not chrome: class words misfire ("category-news", "field-label-hidden",
#: "content-with-sidebar", "elementor-widget-theme-post-content"), but chrome seldom holds long prose.
_PROSE_KEEP = 400
_PROSE_MIN = 80


def _prose_chars(element: HtmlElement) -> int:
    total = 0
    for p in element.iter("p"):
        text = p.text_content()
        length = len(text.strip())
        if length < _PROSE_MIN:
            continue
        linked = sum(len(a.text_content()) for a in p.iter("a"))
        if linked < 0.3 * length:
            total += length
            if total >= _PROSE_KEEP:
                break
    return total


def _holds_article(element: HtmlElement) -> bool:
    # Not any <article>: lists of teasers are <article>s too.
    paths = (".//main", './/*[@itemprop="articleBody"]', ".//h1")
    return any(element.find(path) is not None for path in paths)


def _article_holders(scope: HtmlElement, keep: list[HtmlElement]) -> set[int]:
    """ids of the elements that hold the article (_holds_article), found in one pass instead of
    three subtree searches per marked element."""
    holders: set[int] = set()
    for element in scope.iter():
        if element.tag in ("main", "h1") or element.get("itemprop") == "articleBody":
            for ancestor in element.iterancestors():
                if id(ancestor) in holders:
                    break
                keep.append(ancestor)
                holders.add(id(ancestor))
    return holders


def prune_chrome(tree: HtmlElement) -> None:
    """Remove site chrome from `tree` in place.

    Class names are a weak signal, so an element marked only by its class or role is kept when it
    wraps the article (holds <main>, articleBody or the <h1>): a wrapper named
    "page-with-sidebar" is the page, not the sidebar. Any element holding most of a sizeable page's
    text is kept for the same reason."""
    body = tree.find("body")
    scope = body if body is not None else tree
    total = len(scope.text_content())
    by_tag = list(scope.iter(*_CHROME_TAGS))
    for element in scope.iter("header"):
        # A page header is chrome; the header inside the article holds its headline and intro.
        if not any(a.tag in ("article", "main") for a in element.iterancestors()):
            by_tag.append(element)
    tagged = {id(e) for e in by_tag}
    by_mark = [e for e in scope.iter()
               if isinstance(e.tag, str) and id(e) not in tagged and _is_chrome_element(e)]
    holders: set[int] | None = None
    anchors: list[HtmlElement] = []  # keeps the proxies alive, so that their ids stay theirs
    for element, marked_only in [(e, False) for e in by_tag] + [(e, True) for e in by_mark]:
        if element.getparent() is None:
            continue
        if element.tag not in ("script", "style"):
            # ASP.NET-style pages wrap the whole page in one <form>.
            if element.tag == "form" and not marked_only and _holds_article(element):
                continue
            if marked_only:
                if holders is None:  # once, after the structural chrome is gone
                    holders = _article_holders(scope, anchors)
                if id(element) in holders:
                    continue
            if marked_only and _prose_chars(element) >= _PROSE_KEEP:
                continue
            if total > 1000 and len(element.text_content()) > 0.6 * total:
                continue
        element.drop_tree()
    # The headers left are the article's own (headline, standfirst, intro). trafilatura's precision
    # mode drops every <header>, intro and all, so they become plain blocks.
    for header in scope.iter("header"):
        header.tag = "div"


#: phrases that mark a short block as chrome wherever they occur in it (lowercase; plain substring
#: tests, because one regex alternation over all of them is slow on long pages)
CHROME_PHRASES = (
    "schrijf je in", "meld je aan", "aanmelden voor", "abonneer", "nieuwsbrief", "sign up for",
    "subscribe to", "newsletter", "alle rechten voorbehouden", "all rights reserved", "©", "copyright ",
    "we use cookies", "wij gebruiken cookies", "deze website gebruikt cookies", "accept cookies",
    "accept all cookies", "accepteer cookies", "tip voor de redactie", "heb je een tip", "got a tip",
    "got a news tip", "have a tip", "have a news tip",
)
#: link-like lines, which are chrome only when short; "Volgende maand ..." is a sentence
_NAV_TEXT = re.compile(
    r"^(lees ook|lees meer|read more|read also|related|gerelateerd|meer over|deel (dit|via)|share (this|on)"
    r"|delen|previous|next|vorige|volgende|vorig artikel|volgend artikel|advertentie|advertisement"
    r"|volg ons|follow us)\b\s*(artikel|article|post|bericht|story)?\s*(:|»|«|›|‹|$)",
    re.IGNORECASE,
)
#: a block longer than this is article text even if it mentions a newsletter
_MAX_CHROME_BLOCK = 250
_MAX_NAV_BLOCK = 120


def is_chrome_text(text: str) -> bool:
    """Whether a short block of the extracted body reads like site chrome."""
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_CHROME_BLOCK:
        return False
    lowered = stripped.lower()
    return any(phrase in lowered for phrase in CHROME_PHRASES) or (
        len(stripped) <= _MAX_NAV_BLOCK and bool(_NAV_TEXT.match(stripped.lstrip("«‹<← ")))
    )
