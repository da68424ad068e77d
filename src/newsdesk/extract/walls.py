"""Paywalls and cookie walls: pages that stand in front of the article instead of holding it.

Such a page must be labelled, not stored as an article: a teaser plus "subscribe to continue
reading" is not the story, and a consent dialog over an empty page is not a story either. The
signals are general, never per site:

  paywall      JSON-LD isAccessibleForFree=false or a wall phrase ("subscribe to continue reading",
               "alleen voor abonnees", "réservé aux abonnés"...) with a short body (when the full
               text is in the page, we have the article); a paywall element (class/id) only with
               next to no body
  cookie wall  a consent manager's markup (OneTrust, Didomi, Quantcast, Sourcepoint, Cookiebot...)
               or consent phrases, together with almost no article text

Pure: a parsed page, the extracted text and the metadata in, a label out.
"""

from __future__ import annotations

import re
from typing import Literal

from lxml.html import HtmlElement

from .metadata import PageMetadata

__all__ = ["COOKIE_PHRASES", "PAYWALL_PHRASES", "WallKind", "detect_wall", "may_be_wall"]

WallKind = Literal["paywall", "cookie_wall"]

#: a body shorter than this next to a paywall signal is a teaser
TEASER_CHARS = 1200
#: a body shorter than this next to a consent signal means the wall hides the page
COOKIE_WALL_CHARS = 250

#: phrases that say the content is locked (lowercase); "word abonnee" alone is a menu item, not a wall
PAYWALL_PHRASES = (
    # en
    "subscribe to continue reading", "to continue reading, subscribe", "subscribe to read",
    "this article is for subscribers", "this content is for subscribers", "subscribers only",
    "exclusive to subscribers", "to read the full article", "to read the full story",
    "unlock this article", "continue reading with a subscription", "already a subscriber? log in",
    "already a subscriber? sign in", "you have reached your limit of free articles",
    "you've reached your free article limit", "become a subscriber to read",
    # nl
    "dit artikel is exclusief voor abonnees", "alleen voor abonnees", "exclusief voor abonnees",
    "log in om verder te lezen", "lees verder met een abonnement", "om dit artikel te lezen",
    "je hebt je gratis artikelen", "al abonnee? log in", "dit is een premium artikel",
    # de
    "dieser artikel ist nur für abonnenten", "exklusiv für abonnenten", "nur für abonnenten",
    "bereits abonnent", "mit plus weiterlesen", "um diesen artikel zu lesen", "jetzt weiterlesen mit",
    # fr
    "réservé aux abonnés", "cet article est réservé", "abonnez-vous pour lire", "déjà abonné",
    "pour lire la suite", "la suite est réservée",
)
COOKIE_PHRASES = (
    "we use cookies", "this site uses cookies", "accept cookies", "accept all cookies", "cookie settings",
    "manage cookies", "your privacy choices", "we and our partners", "consent to our use",
    "wij gebruiken cookies", "deze website gebruikt cookies", "cookies accepteren", "accepteer cookies",
    "toestemming voor cookies", "akkoord met cookies", "cookie-instellingen",
    "wir verwenden cookies", "cookies akzeptieren", "cookie-einstellungen", "einwilligung",
    "nous utilisons des cookies", "accepter les cookies", "paramètres des cookies", "consentement",
)
#: class/id fragments of consent managers and cookie walls
_CONSENT_MARKS = ("onetrust", "didomi", "qc-cmp", "sp_message", "cookiebot", "truste", "cookiewall",
                  "cookie-wall", "consent-wall", "consentwall", "cmp-container", "usercentrics",
                  "privacy-wall", "gdpr-wall")
_PAYWALL_MARKS = ("paywall", "pay-wall", "regwall", "subscriber-only", "premium-wall", "piano-offer",
                  "tp-modal", "metered-wall")
_NEEDLES = PAYWALL_PHRASES + COOKIE_PHRASES + _CONSENT_MARKS + _PAYWALL_MARKS
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_MAX_SCAN_ELEMENTS = 20_000
_MAX_TEXT = 200_000
_WS = re.compile(r"\s+")


def _page_text(tree: HtmlElement) -> str:
    """The page's visible text, lowercased and bounded."""
    pieces: list[str] = []
    size = 0
    for count, element in enumerate(tree.iter()):
        if count > _MAX_SCAN_ELEMENTS or size > _MAX_TEXT:
            break
        if not isinstance(element.tag, str):
            continue
        if element.tag not in _INVISIBLE and element.text:
            pieces.append(element.text)
            size += len(element.text)
        if element.tail:
            pieces.append(element.tail)
            size += len(element.tail)
    return _WS.sub(" ", " ".join(pieces)).lower()


def _marked(tree: HtmlElement, marks: tuple[str, ...]) -> bool:
    for count, element in enumerate(tree.iter()):
        if count > _MAX_SCAN_ELEMENTS:
            return False
        if not isinstance(element.tag, str):
            continue
        value = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if value.strip() and any(mark in value for mark in marks):
            return True
    return False


def may_be_wall(page: str, meta: PageMetadata) -> bool:
    """A cheap test on the raw page: False means no wall signal is anywhere in it (most pages), so
    detect_wall need not parse it again. True may still be a script mentioning cookies."""
    if meta.accessible_for_free is False:
        return True
    lowered = page.lower()
    return any(needle in lowered for needle in _NEEDLES)


def detect_wall(tree: HtmlElement, text: str, meta: PageMetadata) -> WallKind | None:
    """Whether the page (`tree`, as it came, unpruned) is a wall rather than an article whose body
    text `text` was extracted. None means: an article (or simply nothing, which is not a wall)."""
    length = len(text)
    if length >= TEASER_CHARS:
        return None
    page_text = _page_text(tree)
    if meta.accessible_for_free is False:
        return "paywall"
    if any(phrase in page_text for phrase in PAYWALL_PHRASES):
        return "paywall"
    if length >= COOKIE_WALL_CHARS:
        return None
    # Markup alone is weaker (sites keep a "paywall" login widget in every header): only with next
    # to no text. Consent phrases are tested last: every European page has a cookie banner.
    if _marked(tree, _PAYWALL_MARKS):
        return "paywall"
    if _marked(tree, _CONSENT_MARKS) or any(phrase in page_text for phrase in COOKIE_PHRASES):
        return "cookie_wall"
    return None
