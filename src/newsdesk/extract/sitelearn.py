"""Per-site learning: what a site repeats on every page is its template, not an article.

An aggregator sees many pages of one site. Text blocks that recur on a large share of them
("Meer over dit onderwerp", a newsletter plug, the same author bio, "Previous / Next", a cookie
notice) are boilerplate even when they sit inside the article element, where generic extractors
keep them. `learn_site_profile` finds them in unlabelled pages of one host; `apply_profile`
removes them from a new page before extraction. A profile is plain data: JSON in and out, every
removal recorded with why (on how many pages it was seen, a sample of its text), and an operator
override (texts to keep or always remove, CSS selectors to remove).

A site's layout changes now and then. The profile keeps a fingerprint of the page structure (the
class/id signatures most of its pages share); a page that shares too little of it is from a new
layout: `is_stale` says so, the profile is not applied to it, and the caller relearns.

Pure functions over HTML text: storing profiles and showing them in the admin are for the caller.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

__all__ = [
    "LearnOptions",
    "RepeatedBlock",
    "SiteProfile",
    "apply_profile",
    "apply_profile_to_tree",
    "is_stale",
    "layout_similarity",
    "learn_site_profile",
    "site_key",
]

#: elements whose text is one unit of a page (a box's heading, a paragraph, a list item, the box)
#: (inline elements are left out: a recurring link text inside a paragraph is part of that paragraph)
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "div", "section",
               "aside", "figcaption", "dl", "dd", "table")
_INVISIBLE = ("script", "style", "noscript", "template")
_WS = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_MAX_BLOCK_CHARS = 600
_MIN_BLOCK_CHARS = 3
_MAX_SAMPLE = 200
_MAX_PAGE_CHARS = 2_000_000
#: blocks looked at per page, in document order: template shows up long before this, and learning
#: and applying both stay bounded on hostile pages
_MAX_ELEMENTS = 6_000
#: a profile that would remove more than this share of a page's paragraph text is not applied to it
_MAX_PARAGRAPH_SHARE = 0.6


@dataclass(frozen=True)
class LearnOptions:
    #: a site needs this many pages before anything is learned
    min_pages: int = 3
    #: at most this many pages are read (spread over the batch): enough to see the template, and
    #: learning a site of thousands of pages stays cheap
    max_pages: int = 60
    #: a block is template if it appears on at least this share of the pages...
    min_share: float = 0.5
    #: ... and on at least this many of them
    min_repeats: int = 3
    #: a text in the same place (DOM path) as a learned block needs only this many pages
    min_slot_repeats: int = 2
    #: a structure signature belongs to the layout fingerprint if this share of pages has it
    fingerprint_share: float = 0.6
    #: at most this many signatures in the fingerprint (the most common first)
    fingerprint_size: int = 300
    #: a page sharing less than this of the fingerprint is from another layout
    stale_below: float = 0.5


DEFAULT_OPTIONS = LearnOptions()


@dataclass(frozen=True)
class RepeatedBlock:
    #: the block's normalised text (lowercase, digits as 0, whitespace collapsed): what is matched
    key: str
    #: on how many of the learning pages it appeared
    pages: int
    #: the text as it first appeared, cut to 200 characters, for people reading the profile
    sample: str
    #: where it sat, as tag.class path from <body>, on the first page it was seen on
    path: str
    #: why it is removed, in words
    reason: str


@dataclass(frozen=True)
class SiteProfile:
    #: the site (host without "www.")
    host: str
    #: how many pages it was learned from
    pages_seen: int
    #: template blocks removed from new pages
    blocks: tuple[RepeatedBlock, ...] = ()
    #: structure signatures most pages share: the layout this profile was learned on
    fingerprint: tuple[str, ...] = ()
    #: operator override: normalised texts never removed, even if learned
    keep_texts: tuple[str, ...] = ()
    #: operator override: texts always removed (normalised like learned ones)
    remove_texts: tuple[str, ...] = ()
    #: operator override: CSS selectors of elements always removed
    remove_selectors: tuple[str, ...] = ()
    #: the similarity under which a page counts as another layout (see is_stale)
    stale_below: float = DEFAULT_OPTIONS.stale_below
    #: format version of the JSON form
    version: int = field(default=1)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SiteProfile:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a site profile is a JSON object")
        try:
            profile = cls(
                host=str(data["host"]),
                pages_seen=int(data.get("pages_seen", 0)),
                blocks=tuple(RepeatedBlock(**b) for b in data.get("blocks", ())),
                fingerprint=tuple(str(s) for s in data.get("fingerprint", ())),
                keep_texts=tuple(normalise(str(t)) for t in data.get("keep_texts", ())),
                remove_texts=tuple(normalise(str(t)) for t in data.get("remove_texts", ())),
                remove_selectors=tuple(str(s) for s in data.get("remove_selectors", ())),
                stale_below=float(data.get("stale_below", DEFAULT_OPTIONS.stale_below)),
                version=int(data.get("version", 1)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a site profile: {exc}") from exc
        for selector in profile.remove_selectors:
            _compile_selector(selector)
        return profile

    def with_override(self, *, keep_texts: Iterable[str] = (), remove_texts: Iterable[str] = (),
                      remove_selectors: Iterable[str] = ()) -> SiteProfile:
        """This profile with an operator's additions to its override lists."""
        for selector in remove_selectors:
            _compile_selector(selector)  # refuse a bad selector now, not at extraction time
        return replace(
            self,
            keep_texts=self.keep_texts + tuple(normalise(t) for t in keep_texts),
            remove_texts=self.remove_texts + tuple(normalise(t) for t in remove_texts),
            remove_selectors=self.remove_selectors + tuple(remove_selectors),
        )


def site_key(url: str | None) -> str:
    """The site a URL belongs to, as profiles are keyed: its host without "www."."""
    try:
        host = (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")


def normalise(text: str) -> str:
    return _DIGITS.sub("0", _WS.sub(" ", text).strip().lower())


def _parse(html: str | HtmlElement) -> HtmlElement | None:
    if isinstance(html, HtmlElement):
        return html
    text = html[:_MAX_PAGE_CHARS]
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1).replace("\x00", "")
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _signature(element: HtmlElement) -> str:
    classes = ".".join(sorted((element.get("class") or "").split())[:3])
    ident = element.get("id") or ""
    ident = "" if _DIGITS.search(ident) else ident  # ids like post-1234 differ per page
    return f"{element.tag}{'.' + classes if classes else ''}{'#' + ident if ident else ''}"


def _path(element: HtmlElement) -> str:
    parts = [_signature(element)]
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):
            break
        parts.append(_signature(ancestor))
        if len(parts) >= 6:
            break
    return " > ".join(reversed(parts))


_INLINE_TAGS = ("span", "a", "strong", "em", "b", "i", "small", "time")
_TEXT_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "th", "dd", "dt",
                          "figcaption", "a", "span", "strong", "em", "b", "i", "small", "time", "label"})
_LINK = "\u2039link\u203a"
#: blocks with more links than this are navigation; their masked form says nothing more
_MAX_MASKED_LINKS = 20


def _keys(element: HtmlElement, text: str) -> list[str]:
    """The keys a block is known by: its normalised text, and (when it has links) the same with every
    link's text masked, so "Lees verder: <a different link on every page>" is one block."""
    key = normalise(text)
    if not (_MIN_BLOCK_CHARS <= len(key) <= _MAX_BLOCK_CHARS):
        return []
    keys = [key]
    links = [a for a in element.iter("a") if a is not element][:_MAX_MASKED_LINKS + 1]
    if 0 < len(links) <= _MAX_MASKED_LINKS:
        masked = text
        for link in links:
            label = link.text_content()
            if label.strip():
                masked = masked.replace(label, _LINK, 1)
        masked_key = normalise(masked)
        # Only the label around the links counts; a box of bare links would match every link list.
        if masked_key != key and len(masked_key.replace(_LINK.lower(), "").strip(" :·|-")) >= 3:
            keys.append(masked_key)
    return keys


def _visible_blocks(tree: HtmlElement) -> Iterable[tuple[HtmlElement, list[str]]]:
    """Every block of the page's body with its keys, outermost first. Inline elements count only
    where they stand alone (a dateline <span> in a <div>), not inside a paragraph."""
    body = tree.find("body")
    scope = body if body is not None else tree
    for count, element in enumerate(scope.iter(*_BLOCK_TAGS, *_INLINE_TAGS)):
        if count > _MAX_ELEMENTS:
            return
        if element.tag in _INLINE_TAGS:
            parent = element.getparent()
            if parent is None or parent.tag in _TEXT_BLOCKS:
                continue
        text = element.text_content()
        if len(text) > _MAX_BLOCK_CHARS * 3:
            continue
        keys = _keys(element, text)
        if keys:
            yield element, keys


def _page_signatures(tree: HtmlElement) -> set[str]:
    body = tree.find("body")
    scope = body if body is not None else tree
    found: set[str] = set()
    for count, element in enumerate(scope.iter()):
        if count > _MAX_ELEMENTS:
            break
        if isinstance(element.tag, str) and (element.get("class") or element.get("id")):
            found.add(_signature(element))
    return found


def learn_site_profile(pages: Sequence[tuple[str, str]], options: LearnOptions = DEFAULT_OPTIONS,
                       ) -> SiteProfile:
    """A site's profile learned from unlabelled (url, html) pages of that one site.

    Fewer than `options.min_pages` parseable pages give an empty profile (nothing is removed)."""
    host = next((site_key(url) for url, _ in pages if site_key(url)), "")
    if len(pages) > options.max_pages:
        step = len(pages) / options.max_pages
        pages = [pages[int(i * step)] for i in range(options.max_pages)]
    seen: Counter[str] = Counter()
    first: dict[str, tuple[str, str]] = {}
    signatures: Counter[str] = Counter()
    parsed = 0
    for _, html in pages:
        tree = _parse(html)
        if tree is None:
            continue
        parsed += 1
        keys: set[str] = set()
        for element, element_keys in _visible_blocks(tree):
            if any(a.tag in _INVISIBLE for a in element.iterancestors()):
                continue
            for key in element_keys:
                if key not in keys:
                    keys.add(key)
                    first.setdefault(key, (_WS.sub(" ", element.text_content()).strip()[:_MAX_SAMPLE],
                                           _path(element)))
        seen.update(keys)
        signatures.update(_page_signatures(tree))
    if parsed < options.min_pages:
        return SiteProfile(host=host, pages_seen=parsed, stale_below=options.stale_below)
    needed = max(options.min_repeats, options.min_share * parsed)
    blocks = tuple(
        RepeatedBlock(key=key, pages=count, sample=first[key][0], path=first[key][1],
                      reason=f"the same text is on {count} of {parsed} pages of this site")
        for key, count in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        if count >= needed
    )
    # A slot the template fills (the author bio under every story) holds different texts on different
    # pages; a text seen twice in the same place as a learned block is that slot's too.
    slots = {block.path for block in blocks if block.path}
    blocks += tuple(
        RepeatedBlock(key=key, pages=count, sample=first[key][0], path=first[key][1],
                      reason=f"the same text is on {count} of {parsed} pages, in the place of other "
                             "template text")
        for key, count in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))
        if options.min_slot_repeats <= count < needed and first[key][1] in slots
    )
    common = [s for s, n in signatures.most_common() if n >= options.fingerprint_share * parsed]
    return SiteProfile(host=host, pages_seen=parsed, blocks=blocks,
                       fingerprint=tuple(sorted(common[: options.fingerprint_size])),
                       stale_below=options.stale_below)


def layout_similarity(html: str | HtmlElement, profile: SiteProfile) -> float:
    """Share of the profile's layout fingerprint found in this page (1.0 for an empty fingerprint)."""
    if not profile.fingerprint:
        return 1.0
    tree = _parse(html)
    if tree is None:
        return 0.0
    present = _page_signatures(tree)
    return sum(1 for s in profile.fingerprint if s in present) / len(profile.fingerprint)


def is_stale(html: str | HtmlElement, profile: SiteProfile) -> bool:
    """Whether this page is from a layout the profile was not learned on: time to relearn."""
    return layout_similarity(html, profile) < profile.stale_below


def _compile_selector(selector: str) -> etree.XPath:
    from lxml.cssselect import CSSSelector, SelectorError

    try:
        return CSSSelector(selector)
    except SelectorError as exc:
        raise ValueError(f"not a CSS selector: {selector!r} ({exc})") from exc


def _removal_target(element: HtmlElement, total_chars: int) -> HtmlElement:
    """What to remove for a matched block: the block, or the box around it when the block is the
    box's label and the rest of the box is links (a "Meer over dit onderwerp" list whose links
    differ on every page)."""
    parent = element.getparent()
    if parent is None or parent.tag in ("body", "html", "article", "main"):
        return element
    if len(element.text_content()) > 80:
        return element
    parent_text = len(parent.text_content())
    if parent_text > 1500 or parent_text > 0.3 * total_chars:
        return element
    rest = [child for child in parent if child is not element and isinstance(child.tag, str)]
    rest_text = sum(len(c.text_content().strip()) for c in rest)
    rest_links = sum(len(a.text_content().strip()) for c in rest for a in c.iter("a"))
    if rest and rest_text and rest_links >= 0.6 * rest_text:
        return parent
    return element


def apply_profile_to_tree(tree: HtmlElement, profile: SiteProfile) -> list[RepeatedBlock]:
    """Remove the profile's template blocks from a parsed page, in place; returns what was removed.

    Nothing is removed from a page of another layout (is_stale), and no removal may take most of the
    page's text: a profile learned from near-identical pages must not eat the article."""
    if not (profile.blocks or profile.remove_texts or profile.remove_selectors):
        return []
    if is_stale(tree, profile):
        return []
    body = tree.find("body")
    scope = body if body is not None else tree
    total = len(scope.text_content())
    removed: list[RepeatedBlock] = []
    for selector in profile.remove_selectors:
        try:
            matches = _compile_selector(selector)(scope)
        except ValueError:  # refused by from_json and with_override; built by hand, it is skipped
            continue
        for element in matches:
            if element.getparent() is not None and len(element.text_content()) <= 0.5 * max(total, 1):
                element.drop_tree()
                removed.append(RepeatedBlock(key=selector, pages=0, sample="", path=selector,
                                             reason="removed by the operator's selector"))
    wanted = {b.key: b for b in profile.blocks if b.key not in profile.keep_texts}
    for text in profile.remove_texts:
        wanted.setdefault(text, RepeatedBlock(key=text, pages=0, sample=text[:_MAX_SAMPLE], path="",
                                              reason="removed by the operator's text rule"))
    # Outermost first: a removed box takes its matching children with it.
    targets: list[tuple[HtmlElement, RepeatedBlock]] = []
    taken: set[int] = set()
    for element, keys in _visible_blocks(tree):
        block = next((wanted[key] for key in keys if key in wanted), None)
        if block is None or any(id(a) in taken for a in element.iterancestors()):
            continue
        target = _removal_target(element, total)
        if id(target) in taken or len(target.text_content()) > 0.5 * max(total, 1):
            continue
        taken.add(id(target))
        targets.append((target, block))
    # Pages that repeat each other (syndicated copies, a re-published story) make the article itself
    # look like template; a profile that would take most of a page's paragraph text does not fit it.
    paragraphs = _paragraph_chars(scope)
    # The operator's own rules (pages == 0) are applied whatever they take.
    doomed = sum(_paragraph_chars(target) for target, block in targets if block.pages)
    learned_fits = not paragraphs or doomed <= _MAX_PARAGRAPH_SHARE * paragraphs
    for target, block in targets:
        if block.pages and not learned_fits:
            continue
        if target.getparent() is not None:
            target.drop_tree()
            removed.append(block)
    return removed


def _paragraph_chars(element: HtmlElement) -> int:
    own = len(element.text_content()) if element.tag == "p" else 0
    return own or sum(len(p.text_content()) for p in element.iter("p"))


def apply_profile(html: str, profile: SiteProfile) -> str:
    """The page with the profile's template blocks removed, as HTML (the page unchanged, as given,
    when nothing is removed: it does not parse, is from another layout, or holds no template)."""
    tree = _parse(html)
    if tree is None:
        return html
    if not apply_profile_to_tree(tree, profile):
        return html
    return str(lxml.html.tostring(tree, encoding="unicode"))
