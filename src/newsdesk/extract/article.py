"""Page HTML to a clean article: the extraction step.

    bytes/str   decode.decode_html, cut to size          (decode.py)
    lxml tree   cut to a bounded number of elements
      metadata  title, authors, date, image, caption...  (metadata.py)   - read first, from the whole page
      template  the site's learned repeated blocks       (sitelearn.py)  - when a profile is given
      chrome    navigation, banners, newsletter boxes... (boilerplate.py) - pruned from the tree
      body      trafilatura; readability-lxml when the chooser asks, kept when it is better
                (body.py, choose.py); JSON-LD articleBody as the last resort
      cleaning  title/caption/chrome blocks out, then sanitize_html and html_to_text (sanitize.py)
      walls     a short body on a paywall or cookie-wall page raises instead (walls.py)
      language  detect_language on the text             (language.py)

Each stage lives in its own module so that it can be improved, or learn per site, on its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from ..errors import CookieWallError, NoArticleError, PaywallError
from ..models import ExtractedArticle
from .body import BodyCandidate, readability_body, trafilatura_body
from .boilerplate import is_chrome_text, prune_chrome
from .choose import ChooseOptions, needs_second_opinion, prefer_second
from .decode import decode_html
from .language import detect_language
from .metadata import PageMetadata, clean_text, read_metadata
from .sanitize import html_to_text, parse_fragment, sanitize_html
from .sitelearn import DEFAULT_OPTIONS as DEFAULT_LEARN_OPTIONS
from .sitelearn import (
    LearnOptions,
    SiteProfile,
    apply_profile_to_tree,
    is_stale,
    learn_site_profile,
    site_key,
)
from .urls import absolute_url
from .walls import TEASER_CHARS, detect_wall, may_be_wall

__all__ = ["ExtractLimits", "extract_article", "extract_articles"]


@dataclass(frozen=True)
class ExtractLimits:
    #: pages over this many bytes (characters, for text) are cut before parsing
    max_page_bytes: int = 5_000_000
    #: per-page budget in seconds; checked between stages, so one stage may overrun it once
    deadline_seconds: float = 10.0
    #: elements of the parsed page kept (in document order); every later stage scales with this
    max_elements: int = 12_000
    #: characters of text kept likewise (a long read is 50,000)
    max_text_chars: int = 500_000
    #: a body with less text than this is no article
    min_text_chars: int = 80
    #: when to ask readability-lxml too, and which body to keep (choose.py)
    choose: ChooseOptions = ChooseOptions()


DEFAULT_LIMITS = ExtractLimits()

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_JS_HINT = re.compile(
    r"javascript|enable js|js (is )?(disabled|required)|inschakelen|aktivieren|activer", re.IGNORECASE
)
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_APP_ROOTS = ("root", "app", "__next", "__nuxt", "svelte", "main-app")


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() > self.ends


def _to_text(page: str | bytes, limits: ExtractLimits, charset: str | None) -> str:
    if isinstance(page, bytes):
        return decode_html(page[: limits.max_page_bytes], charset)
    return page[: limits.max_page_bytes]


def _base_url(tree: HtmlElement, url: str | None) -> str | None:
    """What relative links in the page are relative to: its <base href>, else its own address."""
    base = tree.find(".//base[@href]")
    return absolute_url(base.get("href"), url) if base is not None else url


def _parse(text: str) -> HtmlElement:
    text = _XML_DECLARATION.sub("", text, count=1).replace("\x00", "")
    if not text.strip():
        raise NoArticleError("page is empty")
    try:
        tree = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise NoArticleError("page is empty") from exc
    return tree


def _visible_text(tree: HtmlElement) -> str:
    body = tree.find("body")
    if body is None:
        return ""
    pieces: list[str] = []
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue
        hidden = element.tag in _INVISIBLE or any(a.tag in _INVISIBLE for a in element.iterancestors())
        if element.text and not hidden:
            pieces.append(element.text)
        if element.tail and element.tag not in _INVISIBLE and not hidden:
            pieces.append(element.tail)
        if sum(map(len, pieces)) > 1000:
            break
    return clean_text(" ".join(pieces))


_TAG = re.compile(r"<[^>]*>")


def _why_no_article(tree: HtmlElement, page: str) -> str:
    """The plain reason a page gave no article text, for the user and the source's error log."""
    visible = _visible_text(tree)
    # The parser gives up on absurdly deep nesting; the page may still hold text it never reached.
    raw_text = _TAG.sub(" ", page[:200_000]).strip()
    if len(visible) < 200:
        noscript = " ".join(clean_text(n.text_content()) for n in tree.iter("noscript"))
        app_root = any(
            (el.get("id") or "").lower() in _APP_ROOTS and not clean_text(el.text_content())
            for el in tree.iter("div")
        )
        scripts = sum(1 for _ in tree.iter("script"))
        if _JS_HINT.search(noscript) or app_root or (scripts and not visible):
            return "page needs JavaScript"
        if not visible and not raw_text and tree.find(".//img") is None:
            return "page is empty"
    return "no article text found"


def _drop_figures(tree: HtmlElement) -> None:
    """Images stay out of the body (the lead image is shown above it), and so do their captions, which
    would otherwise float as orphan sentences; a <figure> holding only a quote stays."""
    for figure in list(tree.iter("figure", "picture")):
        if figure.getparent() is None:
            continue
        has_media = figure.find(".//img") is not None or figure.find(".//video") is not None
        if figure.tag == "picture" or has_media:
            figure.drop_tree()
    for caption in list(tree.iter("figcaption")):
        if caption.getparent() is not None:
            caption.drop_tree()


def _paragraph_text_length(tree: HtmlElement) -> int:
    return sum(len(p.text_content().strip()) for p in tree.iter("p"))


def _finish(candidate: BodyCandidate | None, meta: PageMetadata, base: str | None) -> tuple[str, str]:
    """A candidate body as (sanitized HTML, plain text)."""
    if candidate is None:
        return "", ""
    html = sanitize_html(_clean_body(candidate.html, meta), base)
    return html, html_to_text(html)


def _jsonld_html(body: str) -> str:
    """A JSON-LD articleBody as HTML paragraphs: the body of last resort (JS-rendered pages)."""
    from html import escape

    return "".join(f"<p>{escape(line)}</p>" for line in body.split("\n") if line.strip())


def _select_body(tree: HtmlElement, url: str | None, meta: PageMetadata, base: str | None,
                 limits: ExtractLimits, deadline: _Deadline) -> tuple[str, str]:
    """The article body as (sanitized HTML, text): trafilatura's, or readability's when the chooser
    (choose.py) asks for a second opinion and prefers it."""
    options = limits.choose
    html, text = _finish(trafilatura_body(tree, url), meta, base)
    if deadline.passed:
        return html, text
    jsonld_body = meta.article_body if options.jsonld else ""
    if needs_second_opinion(text, _paragraph_text_length(tree), jsonld_body, options):
        second = readability_body(lxml.html.tostring(tree, encoding="unicode"), url)
        html2, text2 = _finish(second, meta, base)
        if prefer_second(text, text2, jsonld_body, options):
            html, text = html2, text2
    last_resort = options.jsonld and len(meta.article_body) >= limits.min_text_chars
    if len(text) < limits.min_text_chars and last_resort:
        html = sanitize_html(_jsonld_html(meta.article_body), base)
        text = html_to_text(html)
    return html, text


_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "div", "figcaption", "caption",
               "pre")


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def _clean_body(html: str, meta: PageMetadata) -> str:
    """Take out what the reader shows elsewhere (title, caption) and chrome the extractors kept."""
    root = parse_fragment(html)
    title = _norm(meta.title)
    caption = _norm(meta.image_caption or "")
    # The caption as printed (credit and all) is shown elsewhere just as well.
    captions = {caption} | ({_norm(meta.printed_caption)} if meta.printed_caption else set())
    longest = max(len(title), *map(len, captions), 250)
    for block in list(root.iter(*_BLOCK_TAGS)):
        if block is root or block.getparent() is None:
            continue
        text = block.text_content()
        if len(text) > longest * 2:  # long blocks are neither title, caption nor chrome
            continue
        text = clean_text(text)
        shown_elsewhere = bool(text) and (
            _norm(text) in captions or (block.tag in ("h1", "h2") and _norm(text) == title)
        )
        if shown_elsewhere or (block.tag != "div" and len(block) <= 3 and is_chrome_text(text)):
            block.drop_tree()
    for h1 in root.iter("h1"):
        h1.tag = "h2"  # the page's own <h1> is the title, shown by the reader
    for pre in root.iter("pre"):
        parent = pre.getparent()
        if parent is not None and parent.tag == "pre":
            pre.tag = "code"  # trafilatura renders <pre><code> as <pre><pre>
    return "".join(
        [root.text or ""] + [lxml.html.tostring(child, encoding="unicode") for child in root]
    )


_UNCOUNTED = frozenset({"script", "style", "template", "noscript"})


def _truncate_tree(tree: HtmlElement, max_elements: int, max_chars: int) -> None:
    """Keep the page up to its `max_elements`-th element or `max_chars`-th character of text (not
    counting scripts and styles), in document order: a real article fits many times over, and every
    later stage's cost grows with the tree."""
    cut = None
    chars = 0
    for count, element in enumerate(tree.iter()):
        # Inline scripts and styles are most of a big page's characters and none of its text.
        if element.tag not in _UNCOUNTED:
            chars += len(element.text or "")
        chars += len(element.tail or "")
        if count >= max_elements or chars > max_chars:
            cut = element
            break
    if cut is None:
        return
    node = cut
    while node is not None:
        parent = node.getparent()
        if parent is None:
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node = parent
    parent = cut.getparent()
    if parent is not None:
        parent.remove(cut)


def extract_article(html: str | bytes, url: str | None = None, *, charset: str | None = None,
                    limits: ExtractLimits = DEFAULT_LIMITS, profile: SiteProfile | None = None,
                    ) -> ExtractedArticle:
    """The clean article in a page. Raises NoArticleError with a plain reason when there is none:
    PaywallError (carrying the teaser) or CookieWallError when a wall stands in its place.

    `url` is the page's address (links and images are made absolute against its canonical URL, or
    this); `charset` is the one the HTTP response declared, used for bytes that are not UTF-8.
    `profile` is the site's learned template (sitelearn.py), whose repeated blocks are removed
    before the body is chosen; it is ignored on a page of another layout.
    Nothing is fetched: not the page, not its images."""
    deadline = _Deadline(limits.deadline_seconds)
    page = _to_text(html, limits, charset)
    tree = _parse(page)
    _truncate_tree(tree, limits.max_elements, limits.max_text_chars)
    meta = read_metadata(tree, url)
    base = _base_url(tree, url) or meta.canonical_url

    # Metadata is read; from here on the tree is cut down to the article.
    if profile is not None:
        apply_profile_to_tree(tree, profile)
    prune_chrome(tree)
    _drop_figures(tree)
    if deadline.passed:
        raise NoArticleError("page took too long to extract")
    body_html, text = _select_body(tree, url, meta, base, limits, deadline)
    too_short = len(text) < limits.min_text_chars
    if too_short or (len(text) < TEASER_CHARS and may_be_wall(page, meta)):
        # The tree is pruned by now; walls and failures are diagnosed on the page as it came (short
        # bodies with a wall signal somewhere in the page only, so the second parse is rare).
        original = _parse(page)
        _truncate_tree(original, limits.max_elements, limits.max_text_chars)
        wall = detect_wall(original, text, meta)
        if wall == "paywall":
            raise PaywallError("the article is behind a paywall: only a teaser is shown", teaser=text)
        if wall == "cookie_wall":
            raise CookieWallError("a cookie wall stands in front of the article")
        if too_short:
            raise NoArticleError(_why_no_article(original, page))
    title = meta.title or text.split("\n", 1)[0][:120]
    return ExtractedArticle(
        title=title,
        text=text,
        html=body_html,
        authors=meta.authors,
        published=meta.published,
        language=detect_language(text) or meta.declared_language,
        image_url=meta.image_url,
        image_caption=meta.image_caption,
        canonical_url=meta.canonical_url,
        site_name=meta.site_name,
        description=meta.description,
        updated=meta.updated,
        section=meta.section,
        image_credit=meta.image_credit,
    )


def extract_articles(pages: Iterable[tuple[str, str | bytes]], learn_sites: bool = True, *,
                     profiles: Mapping[str, SiteProfile] | None = None,
                     limits: ExtractLimits = DEFAULT_LIMITS,
                     learn_options: LearnOptions = DEFAULT_LEARN_OPTIONS,
                     ) -> list[ExtractedArticle | NoArticleError]:
    """Extract many pages, given as (url, page) pairs, in order; a page without an article gives its
    error in place.

    With `learn_sites`, the pages are grouped by site and each site's template is learned from its
    pages in this batch first (learn_site_profile), then every page is extracted with it. A profile
    given in `profiles` (keyed by site_key) is used instead of learning, unless a page shows that
    the site's layout has changed since."""
    batch = [(url, page if isinstance(page, str) else decode_html(page[: limits.max_page_bytes]))
             for url, page in pages]
    chosen: dict[str, SiteProfile] = dict(profiles or {})
    if learn_sites:
        by_site: dict[str, list[tuple[str, str]]] = {}
        for url, page in batch:
            by_site.setdefault(site_key(url), []).append((url, page))
        for site, site_pages in by_site.items():
            known = chosen.get(site)
            if site and (known is None or any(is_stale(page, known) for _, page in site_pages[:3])):
                chosen[site] = learn_site_profile(site_pages, learn_options)
    results: list[ExtractedArticle | NoArticleError] = []
    for url, page in batch:
        try:
            results.append(extract_article(page, url, limits=limits, profile=chosen.get(site_key(url))))
        except NoArticleError as exc:
            results.append(exc)
    return results
