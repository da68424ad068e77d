"""Builds the bundled demo site (site/) from the article texts in content/.

The served site is plain static files, so `DemoSite` stays a small file server and the pages are
easy to read and diff. This script is the one place that knows the page template, the feeds and
the images; the texts live in content/<outlet>.txt so writing an article never means editing HTML.

    PYTHONPATH=src python -m newsdesk.demo.build      # rewrites src/newsdesk/demo/site/

Content format: articles separated by a line `%%%`; each starts with `key: value` header lines,
then a blank line, then paragraphs separated by blank lines (`## ` starts a subheading).
Every URL is written as {{BASE}}/...; the server puts its real address there when serving.

This is a developer tool: content/ is not package data, so it only runs from a source checkout.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

__all__ = ["Outlet", "Story", "OUTLETS", "build_site", "load_stories"]

HERE = Path(__file__).resolve().parent
CONTENT_DIR = HERE / "content"
SITE_DIR = HERE / "site"
BASE = "{{BASE}}"

NL_MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
             "oktober", "november", "december"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    lang: str  #: html lang, e.g. "nl" or "en-GB"
    locale: str  #: og:locale
    tagline: str
    #: "rss", "atom", "jsonfeed" or "" (no feed: a news sitemap instead)
    feed: str
    menu: tuple[str, ...]  #: section names after Home
    color: str
    accent: str
    newsletter_title: str
    newsletter_text: str
    jsonld: bool

    @property
    def home(self) -> str:
        return f"{BASE}/{self.slug}/"

    @property
    def feed_path(self) -> str:
        return {"rss": "rss.xml", "atom": "atom.xml", "jsonfeed": "feed.json", "": ""}[self.feed]

    @property
    def feed_url(self) -> str:
        return f"{BASE}/{self.slug}/{self.feed_path}" if self.feed else ""

    @property
    def feed_type(self) -> str:
        return {"rss": "application/rss+xml", "atom": "application/atom+xml",
                "jsonfeed": "application/feed+json", "": ""}[self.feed]


OUTLETS: tuple[Outlet, ...] = (
    Outlet("dagkrant", "De Dagkrant", "nl", "nl_NL", "Elke dag het nieuws dat ertoe doet", "rss",
           ("Binnenland", "Buitenland", "Economie", "Tech", "Cultuur"), "#12355b", "#d7263d",
           "Schrijf je in voor de nieuwsbrief De Dagkrant Amerika",
           "Elke vrijdag het belangrijkste nieuws uit de Verenigde Staten, uitgelegd door onze "
           "correspondenten.", False),
    Outlet("avondblad", "Het Avondblad", "nl", "nl_NL", "Het nieuws van de dag, 's avonds op een rij",
           "atom", ("Binnenland", "Buitenland", "Economie", "Tech", "Cultuur", "Natuur"), "#3d2c4e",
           "#f29e4c", "Schrijf je in voor de nieuwsbrief Het Avondblad Vandaag",
           "Elke avond om zes uur de verhalen van de dag in je mailbox.", False),
    Outlet("ledger", "The Morning Ledger", "en-GB", "en_GB", "News before breakfast", "jsonfeed",
           ("UK", "World", "Business", "Technology", "Culture"), "#1f3b2d", "#c9a227",
           "Sign up for the Morning Ledger briefing",
           "The five stories you need, in your inbox at 6am every weekday.", True),
    Outlet("harbour", "Harbour Herald", "en", "en_US", "Your waterfront, your town, your world", "",
           ("Local", "World", "Business", "Tech", "Opinion"), "#0b4f6c", "#20bf55",
           "Sign up for the Harbour Herald evening edition",
           "Local news, tides and the day's headlines, every evening at six.", True),
)


@dataclass(frozen=True)
class Story:
    outlet: Outlet
    slug: str
    published: datetime
    section: str
    author: str
    event: str
    image: str
    caption: str
    credit: str
    title: str
    summary: str
    #: ("p", text) or ("h2", text)
    blocks: tuple[tuple[str, str], ...] = field(default=())

    @property
    def path(self) -> str:
        d = self.published
        return f"{self.outlet.slug}/{d:%Y/%m/%d}/{self.slug}.html"

    @property
    def url(self) -> str:
        return f"{BASE}/{self.path}"

    @property
    def image_path(self) -> str:
        return f"{self.outlet.slug}/img/{self.image}.svg"

    @property
    def image_url(self) -> str:
        return f"{BASE}/{self.image_path}"


def load_stories(outlet: Outlet, content_dir: Path = CONTENT_DIR) -> list[Story]:
    text = (content_dir / f"{outlet.slug}.txt").read_text(encoding="utf-8")
    stories = []
    for chunk in text.split("\n%%%\n"):
        chunk = chunk.strip()
        if not chunk:
            continue
        head, _, body = chunk.partition("\n\n")
        meta = {}
        for line in head.splitlines():
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
        blocks = []
        for para in body.split("\n\n"):
            para = " ".join(para.split())
            if para.startswith("## "):
                blocks.append(("h2", para[3:]))
            elif para:
                blocks.append(("p", para))
        stories.append(Story(
            outlet=outlet, slug=meta["slug"], published=datetime.fromisoformat(meta["date"]),
            section=meta["section"], author=meta["author"], event=meta["event"], image=meta["image"],
            caption=meta["caption"], credit=meta["credit"], title=meta["title"], summary=meta["summary"],
            blocks=tuple(blocks)))
    stories.sort(key=lambda s: s.published)
    return stories


# --- words that differ per language -------------------------------------------------------------

def _words(outlet: Outlet) -> dict[str, str]:
    if outlet.lang.startswith("nl"):
        return {
            "home": "Home", "by": "Door", "read_more": "Lees ook", "share": "Deel dit artikel",
            "prev": "Vorig artikel", "next": "Volgend artikel", "subscribe": "Inschrijven",
            "email": "Je e-mailadres", "cookie": "Wij gebruiken cookies om de site te laten werken en "
            "om te meten hoe hij wordt gebruikt. Lees meer in onze cookieverklaring.",
            "accept": "Accepteren", "settings": "Instellingen", "rights": "Alle rechten voorbehouden",
            "about": "Over ons", "contact": "Contact", "privacy": "Privacy", "cookies": "Cookies",
            "latest": "Laatste nieuws", "menu": "Hoofdmenu", "photo": "Beeld",
            "fictional": "is een fictieve krant, geschreven voor de demonstratie van newsdesk. "
            "Alle artikelen, personen die geen publieke figuren zijn en citaten zijn verzonnen.",
            "none": "Nog geen artikelen in deze rubriek.", "feed": "RSS-feed", "mail": "E-mail",
        }
    return {
        "home": "Home", "by": "By", "read_more": "Read more", "share": "Share this article",
        "prev": "Previous article", "next": "Next article", "subscribe": "Sign up",
        "email": "Your email address", "cookie": "We use cookies to make this site work and to "
        "understand how it is used. See our cookie policy for details.",
        "accept": "Accept all", "settings": "Manage settings", "rights": "All rights reserved",
        "about": "About us", "contact": "Contact", "privacy": "Privacy", "cookies": "Cookies",
        "latest": "Latest news", "menu": "Main menu", "photo": "Image",
        "fictional": "is a fictional newspaper written for the newsdesk demo. All articles, every "
        "person who is not a public figure, and all quotations are invented.",
        "none": "No articles in this section yet.", "feed": "Feed", "mail": "Email",
    }


def _human_date(outlet: Outlet, d: datetime) -> str:
    if outlet.lang.startswith("nl"):
        return f"{d.day} {NL_MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"
    return f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"


def _section_slug(section: str) -> str:
    return section.lower()


# --- HTML ---------------------------------------------------------------------------------------

def _head(outlet: Outlet, title: str, description: str, canonical: str, extra: str = "") -> str:
    feed_link = ""
    if outlet.feed:
        feed_link = (f'<link rel="alternate" type="{outlet.feed_type}" title="{escape(outlet.name)}" '
                     f'href="{outlet.feed_url}">\n')
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{outlet.lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<meta name="description" content="{escape(description)}">\n'
        f'<link rel="canonical" href="{canonical}">\n'
        f"{feed_link}"
        f'<link rel="stylesheet" href="{BASE}/static/site.css">\n'
        f'<link rel="icon" href="{BASE}/{outlet.slug}/img/logo.svg" type="image/svg+xml">\n'
        f"{extra}</head>\n"
    )


def _chrome_top(outlet: Outlet, current: str = "") -> str:
    w = _words(outlet)
    items = [f'<li><a href="{outlet.home}">{w["home"]}</a></li>']
    for section in outlet.menu:
        cls = ' class="active"' if section == current else ""
        items.append(f'<li{cls}><a href="{BASE}/{outlet.slug}/{_section_slug(section)}/">'
                     f"{escape(section)}</a></li>")
    return (
        f'<body class="outlet-{outlet.slug}">\n'
        f'<div class="cookie-notice" id="cookie-notice" role="dialog" aria-label="{w["cookies"]}">\n'
        f'  <p>{w["cookie"]}</p>\n'
        f'  <button type="button" class="cookie-accept">{w["accept"]}</button>\n'
        f'  <button type="button" class="cookie-settings">{w["settings"]}</button>\n'
        "</div>\n"
        '<header class="site-header">\n'
        f'  <a class="logo" href="{outlet.home}"><img src="{BASE}/{outlet.slug}/img/logo.svg" alt="" '
        f'width="40" height="40"> {escape(outlet.name)}</a>\n'
        f'  <p class="tagline">{escape(outlet.tagline)}</p>\n'
        f'  <nav class="main-menu" aria-label="{w["menu"]}">\n    <ul>\n      '
        + "\n      ".join(items)
        + "\n    </ul>\n  </nav>\n</header>\n"
    )


def _footer(outlet: Outlet) -> str:
    w = _words(outlet)
    about = f"{BASE}/{outlet.slug}/over.html"
    feed = f'\n    <a href="{outlet.feed_url}">{w["feed"]}</a>' if outlet.feed else ""
    return (
        '<footer class="site-footer">\n'
        "  <nav class=\"footer-links\">\n"
        f'    <a href="{about}">{w["about"]}</a>\n'
        f'    <a href="{about}#contact">{w["contact"]}</a>\n'
        f'    <a href="{about}#privacy">{w["privacy"]}</a>\n'
        f'    <a href="{about}#cookies">{w["cookies"]}</a>{feed}\n'
        "  </nav>\n"
        f'  <p class="copyright">© 2026 {escape(outlet.name)}. {w["rights"]}.</p>\n'
        f'  <p class="disclaimer">{escape(outlet.name)} {w["fictional"]}</p>\n'
        "</footer>\n</body>\n</html>\n"
    )


def _jsonld(story: Story) -> str:
    o = story.outlet
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title,
        "description": story.summary,
        "datePublished": story.published.isoformat(),
        "dateModified": story.published.isoformat(),
        "inLanguage": o.lang,
        "articleSection": story.section,
        "image": [story.image_url],
        "author": [{"@type": "Person", "name": story.author}],
        "publisher": {"@type": "Organization", "name": o.name,
                      "logo": {"@type": "ImageObject", "url": f"{BASE}/{o.slug}/img/logo.svg"}},
        "mainEntityOfPage": {"@type": "WebPage", "@id": story.url},
    }
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return f'<script type="application/ld+json">\n{body}\n</script>\n'


def article_page(story: Story, older: Story | None, newer: Story | None, related: list[Story]) -> str:
    o = story.outlet
    w = _words(o)
    iso = story.published.isoformat()
    meta = (
        f'<meta name="author" content="{escape(story.author)}">\n'
        '<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{escape(story.title)}">\n'
        f'<meta property="og:description" content="{escape(story.summary)}">\n'
        f'<meta property="og:url" content="{story.url}">\n'
        f'<meta property="og:image" content="{story.image_url}">\n'
        f'<meta property="og:site_name" content="{escape(o.name)}">\n'
        f'<meta property="og:locale" content="{o.locale}">\n'
        f'<meta property="article:published_time" content="{iso}">\n'
        f'<meta property="article:section" content="{escape(story.section)}">\n'
        f'<meta name="twitter:card" content="summary_large_image">\n'
    )
    if o.jsonld:
        meta += _jsonld(story)
    parts = [_head(o, f"{story.title} | {o.name}", story.summary, story.url, meta),
             _chrome_top(o, story.section)]
    parts.append('<main class="content">\n<article class="article">\n')
    parts.append(f'  <p class="section-label"><a href="{BASE}/{o.slug}/{_section_slug(story.section)}/">'
                 f"{escape(story.section)}</a></p>\n")
    parts.append(f"  <h1>{escape(story.title)}</h1>\n")
    parts.append(f'  <p class="intro">{escape(story.summary, quote=False)}</p>\n')
    parts.append(f'  <div class="byline">{w["by"]} <a rel="author" class="author" '
                 f'href="{BASE}/{o.slug}/over.html#redactie">{escape(story.author)}</a>\n'
                 f'    <time datetime="{iso}">{_human_date(o, story.published)}</time></div>\n')
    parts.append(f'  <figure class="lead-image">\n    <img src="{story.image_url}" '
                 f'alt="{escape(story.caption)}" width="800" height="450">\n'
                 f"    <figcaption>{escape(story.caption)} — {escape(story.credit)}</figcaption>\n"
                 "  </figure>\n")
    parts.append('  <div class="article-body">\n')
    paragraphs_seen = 0
    related_at = 3
    newsletter_at = max(related_at + 2, len(story.blocks) - 2)
    for kind, text in story.blocks:
        parts.append(f"    <{kind}>{escape(text, quote=False)}</{kind}>\n")
        if kind == "p":
            paragraphs_seen += 1
            if paragraphs_seen == related_at and related:
                links = "\n".join(f'        <li><a href="{r.url}">{escape(r.title)}</a></li>'
                                  for r in related)
                parts.append(f'    <aside class="related-links">\n      <h2>{w["read_more"]}</h2>\n'
                             f"      <ul>\n{links}\n      </ul>\n    </aside>\n")
            if paragraphs_seen == newsletter_at:
                parts.append(
                    '    <aside class="newsletter-box">\n'
                    f'      <h2>{escape(o.newsletter_title)}</h2>\n'
                    f'      <p>{escape(o.newsletter_text)}</p>\n'
                    f'      <form action="{BASE}/{o.slug}/over.html" method="get">\n'
                    f'        <input type="email" name="email" placeholder="{w["email"]}">\n'
                    f'        <button type="submit">{w["subscribe"]}</button>\n'
                    "      </form>\n    </aside>\n")
    parts.append("  </div>\n")
    parts.append(
        f'  <div class="share-bar" aria-label="{w["share"]}">\n    <span>{w["share"]}:</span>\n'
        f'    <a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={story.url}">'
        "Facebook</a>\n"
        f'    <a class="share-x" href="https://x.com/intent/post?url={story.url}">X</a>\n'
        f'    <a class="share-linkedin" href="https://www.linkedin.com/sharing/share-offsite/?url={story.url}">'
        "LinkedIn</a>\n"
        f'    <a class="share-whatsapp" href="https://wa.me/?text={story.url}">WhatsApp</a>\n'
        f'    <a class="share-mail" href="mailto:?subject={escape(story.title)}&amp;body={story.url}">'
        f'{w["mail"]}</a>\n  </div>\n')
    parts.append("</article>\n")
    pager = []
    if older:
        pager.append(f'  <a class="prev" rel="prev" href="{older.url}">← {w["prev"]}: '
                     f"{escape(older.title)}</a>")
    if newer:
        pager.append(f'  <a class="next" rel="next" href="{newer.url}">{w["next"]}: '
                     f"{escape(newer.title)} →</a>")
    parts.append('<nav class="article-pager">\n' + "\n".join(pager) + "\n</nav>\n")
    parts.append("</main>\n")
    parts.append(_footer(o))
    return "".join(parts)


def _teaser(story: Story) -> str:
    o = story.outlet
    return (
        '  <li class="teaser">\n'
        f'    <a href="{story.url}"><img src="{story.image_url}" alt="" width="160" height="90"></a>\n'
        f'    <h2><a href="{story.url}">{escape(story.title)}</a></h2>\n'
        f'    <p>{escape(story.summary)}</p>\n'
        f'    <time datetime="{story.published.isoformat()}">{_human_date(o, story.published)}</time>\n'
        "  </li>\n"
    )


def listing_page(outlet: Outlet, stories: list[Story], section: str = "") -> str:
    w = _words(outlet)
    heading = section or w["latest"]
    title = f"{section} | {outlet.name}" if section else f"{outlet.name} — {outlet.tagline}"
    canonical = f"{BASE}/{outlet.slug}/{_section_slug(section)}/" if section else outlet.home
    extra = (f'<meta property="og:site_name" content="{escape(outlet.name)}">\n'
             f'<meta property="og:title" content="{escape(title)}">\n'
             '<meta property="og:type" content="website">\n')
    newest_first = sorted(stories, key=lambda s: s.published, reverse=True)
    body = "".join(_teaser(s) for s in newest_first) or f'  <li class="empty">{w["none"]}</li>\n'
    return (
        _head(outlet, title, outlet.tagline, canonical, extra) + _chrome_top(outlet, section)
        + f'<main class="content">\n<h1>{escape(heading)}</h1>\n<ul class="teasers">\n{body}</ul>\n</main>\n'
        + _footer(outlet)
    )


def about_page(outlet: Outlet, stories: list[Story]) -> str:
    w = _words(outlet)
    authors = sorted({s.author for s in stories})
    names = "".join(f"<li>{escape(a)}</li>" for a in authors)
    if outlet.lang.startswith("nl"):
        text = (f"<p>{escape(outlet.name)} {w['fictional']}</p>\n"
                '<h2 id="redactie">Redactie</h2>\n' f"<ul>{names}</ul>\n"
                '<h2 id="contact">Contact</h2>\n<p>Deze krant bestaat niet; er is niemand om te mailen.</p>\n'
                '<h2 id="privacy">Privacy</h2>\n<p>Deze demosite bewaart geen gegevens.</p>\n'
                '<h2 id="cookies">Cookies</h2>\n<p>De cookiemelding is decor; er worden geen cookies '
                "gezet.</p>\n")
    else:
        text = (f"<p>{escape(outlet.name)} {w['fictional']}</p>\n"
                '<h2 id="redactie">Newsroom</h2>\n' f"<ul>{names}</ul>\n"
                '<h2 id="contact">Contact</h2>\n<p>This newspaper does not exist; there is nobody to write '
                "to.</p>\n"
                '<h2 id="privacy">Privacy</h2>\n<p>This demo site keeps no data.</p>\n'
                '<h2 id="cookies">Cookies</h2>\n<p>The cookie notice is scenery; no cookies are set.</p>\n')
    return (_head(outlet, f"{w['about']} | {outlet.name}", outlet.tagline, f"{BASE}/{outlet.slug}/over.html")
            + _chrome_top(outlet) + f'<main class="content">\n<h1>{w["about"]}</h1>\n{text}</main>\n'
            + _footer(outlet))


def root_page() -> str:
    items = []
    for o in OUTLETS:
        feed = f' · <a href="{o.feed_url}">{o.feed_path}</a>' if o.feed else " · (no feed: news sitemap)"
        items.append(f'  <li><a href="{o.home}">{escape(o.name)}</a> ({o.lang}){feed}</li>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>newsdesk demo news sites</title>\n"
        f'<link rel="stylesheet" href="{BASE}/static/site.css">\n</head>\n<body>\n'
        "<main class=\"content\">\n<h1>newsdesk demo news sites</h1>\n"
        "<p>Four fictional outlets, served from files bundled with newsdesk, reporting the same few "
        "invented events of January 2026. Nothing here is real news.</p>\n"
        "<ul>\n" + "\n".join(items) + "\n</ul>\n"
        f'<p><a href="{BASE}/sources.opml">sources.opml</a> · '
        f'<a href="{BASE}/robots.txt">robots.txt</a></p>\n'
        "</main>\n</body>\n</html>\n"
    )


# --- feeds --------------------------------------------------------------------------------------

def _x(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def rss_feed(outlet: Outlet, stories: list[Story], image_sizes: dict[str, int]) -> str:
    newest = sorted(stories, key=lambda s: s.published, reverse=True)
    items = []
    for s in newest:
        items.append(
            "    <item>\n"
            f"      <title>{_x(s.title)}</title>\n"
            f"      <link>{s.url}</link>\n"
            f'      <guid isPermaLink="true">{s.url}</guid>\n'
            f"      <pubDate>{format_datetime(s.published)}</pubDate>\n"
            f"      <dc:creator>{_x(s.author)}</dc:creator>\n"
            f"      <category>{_x(s.section)}</category>\n"
            f"      <description>{_x(s.summary)}</description>\n"
            f'      <enclosure url="{s.image_url}" type="image/svg+xml" '
            f'length="{image_sizes[s.image_path]}"/>\n'
            "    </item>\n")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n  <channel>\n'
        f"    <title>{_x(outlet.name)}</title>\n"
        f"    <link>{outlet.home}</link>\n"
        f"    <description>{_x(outlet.tagline)}</description>\n"
        f"    <language>{outlet.lang}</language>\n"
        f"    <copyright>© 2026 {_x(outlet.name)}</copyright>\n"
        f"    <lastBuildDate>{format_datetime(newest[0].published)}</lastBuildDate>\n"
        "    <ttl>15</ttl>\n"
        f'    <atom:link href="{outlet.feed_url}" rel="self" type="application/rss+xml"/>\n'
        + "".join(items) + "  </channel>\n</rss>\n"
    )


def atom_feed(outlet: Outlet, stories: list[Story]) -> str:
    newest = sorted(stories, key=lambda s: s.published, reverse=True)
    entries = []
    for s in newest:
        entries.append(
            "  <entry>\n"
            f"    <id>{s.url}</id>\n"
            f"    <title>{_x(s.title)}</title>\n"
            f'    <link rel="alternate" type="text/html" href="{s.url}"/>\n'
            f"    <published>{s.published.isoformat()}</published>\n"
            f"    <updated>{s.published.isoformat()}</updated>\n"
            f"    <author><name>{_x(s.author)}</name></author>\n"
            f'    <category term="{_x(s.section)}"/>\n'
            f'    <summary type="text">{_x(s.summary)}</summary>\n'
            "  </entry>\n")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.lang}">\n'
        f"  <id>{outlet.home}</id>\n"
        f"  <title>{_x(outlet.name)}</title>\n"
        f"  <subtitle>{_x(outlet.tagline)}</subtitle>\n"
        f"  <updated>{newest[0].published.isoformat()}</updated>\n"
        f'  <link rel="self" type="application/atom+xml" href="{outlet.feed_url}"/>\n'
        f'  <link rel="alternate" type="text/html" href="{outlet.home}"/>\n'
        f"  <icon>{BASE}/{outlet.slug}/img/logo.svg</icon>\n"
        f"  <rights>© 2026 {_x(outlet.name)}</rights>\n"
        + "".join(entries) + "</feed>\n"
    )


def json_feed(outlet: Outlet, stories: list[Story]) -> str:
    newest = sorted(stories, key=lambda s: s.published, reverse=True)
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": outlet.home,
        "feed_url": outlet.feed_url,
        "description": outlet.tagline,
        "icon": f"{BASE}/{outlet.slug}/img/logo.svg",
        "language": outlet.lang,
        "items": [
            {
                "id": s.url,
                "url": s.url,
                "title": s.title,
                "summary": s.summary,
                # a teaser only: the full text is on the page, as with most real news feeds
                "content_html": f"<p>{escape(s.summary)}</p>",
                "image": s.image_url,
                "date_published": s.published.isoformat(),
                "authors": [{"name": s.author}],
                "tags": [s.section],
                "language": outlet.lang,
            }
            for s in newest
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def news_sitemap(outlet: Outlet, stories: list[Story]) -> str:
    urls = []
    for s in sorted(stories, key=lambda s: s.published, reverse=True):
        urls.append(
            "  <url>\n"
            f"    <loc>{s.url}</loc>\n"
            f"    <lastmod>{s.published.isoformat()}</lastmod>\n"
            "    <news:news>\n"
            "      <news:publication>\n"
            f"        <news:name>{_x(outlet.name)}</news:name>\n"
            f"        <news:language>{outlet.lang[:2]}</news:language>\n"
            "      </news:publication>\n"
            f"      <news:publication_date>{s.published.isoformat()}</news:publication_date>\n"
            f"      <news:title>{_x(s.title)}</news:title>\n"
            "    </news:news>\n"
            "    <image:image>\n"
            f"      <image:loc>{s.image_url}</image:loc>\n"
            "    </image:image>\n"
            "  </url>\n")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"\n'
        '        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"\n'
        '        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n'
        + "".join(urls) + "</urlset>\n"
    )


def opml(all_stories: dict[str, list[Story]]) -> str:
    groups: dict[str, list[str]] = {"Nederlands": [], "English": []}
    for o in OUTLETS:
        group = "Nederlands" if o.lang.startswith("nl") else "English"
        if o.feed:
            line = (f'      <outline type="rss" text="{_x(o.name)}" title="{_x(o.name)}" '
                    f'xmlUrl="{o.feed_url}" htmlUrl="{o.home}" language="{o.lang}" category="/{group}"/>')
        else:
            # no feed: the home page is the source; newsdesk discovers the news sitemap from there
            line = (f'      <outline type="link" text="{_x(o.name)}" title="{_x(o.name)}" '
                    f'url="{o.home}" htmlUrl="{o.home}" language="{o.lang}" category="/{group}"/>')
        groups[group].append(line)
    body = "".join(
        f'    <outline text="{name}" title="{name}">\n' + "\n".join(lines) + "\n    </outline>\n"
        for name, lines in groups.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n  <head>\n'
        "    <title>newsdesk demo sources</title>\n"
        "    <dateCreated>Fri, 23 Jan 2026 18:00:00 +0000</dateCreated>\n"
        "  </head>\n  <body>\n" + body + "  </body>\n</opml>\n"
    )


def robots_txt() -> str:
    return (
        "# The newsdesk demo site: everything may be fetched.\n"
        "User-agent: *\nAllow: /\n\n"
        f"Sitemap: {BASE}/harbour/news-sitemap.xml\n"
    )


# --- images -------------------------------------------------------------------------------------

def _svg(title: str, shapes: str, sky: str) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="450" viewBox="0 0 800 450" '
        'role="img">\n'
        f"  <title>{_x(title)}</title>\n"
        f'  <rect width="800" height="450" fill="{sky}"/>\n'
        f"{shapes}</svg>\n"
    )


def _scene(name: str, c: str, a: str) -> tuple[str, str, str]:
    """(title, shapes, background) for each illustration; c and a are the outlet's two colours."""
    rain = "".join(f'  <line x1="{x}" y1="{120 + (x * 7) % 60}" x2="{x - 20}" y2="{190 + (x * 7) % 60}" '
                   'stroke="#9bb7d4" stroke-width="3"/>\n' for x in range(60, 800, 45))
    windows = "".join(f'  <rect x="{x}" y="{y}" width="18" height="24" fill="#ffe08a"/>\n'
                      for x in range(140, 640, 60) for y in (200, 250))
    scenes = {
        "greenland": ("Ice and sea off Greenland",
                      '  <rect y="300" width="800" height="150" fill="#2b5d8a"/>\n'
                      '  <polygon points="80,300 220,120 360,300" fill="#f4f8fb"/>\n'
                      '  <polygon points="300,300 460,80 640,300" fill="#e3edf4"/>\n'
                      '  <polygon points="560,300 660,170 760,300" fill="#f4f8fb"/>\n'
                      '  <polygon points="420,330 470,300 520,330" fill="#e3edf4"/>\n'
                      f'  <circle cx="690" cy="80" r="36" fill="{a}"/>\n', "#b8d4ea"),
        "tariffs": ("Container ship in port",
                    '  <rect y="330" width="800" height="120" fill="#24527a"/>\n'
                    f'  <polygon points="120,330 680,330 640,390 160,390" fill="{c}"/>\n'
                    + "".join(f'  <rect x="{x}" y="{y}" width="70" height="40" fill="{col}" stroke="#fff"/>\n'
                              for x, y, col in [(180, 290, a), (250, 290, "#3f88c5"), (320, 290, "#e94f37"),
                                                (390, 290, a), (460, 290, "#44bba4"), (250, 250, "#e94f37"),
                                                (320, 250, "#44bba4"), (390, 250, "#3f88c5")])
                    + '  <rect x="560" y="210" width="40" height="80" fill="#f6f7eb"/>\n', "#dfe8ef"),
        "storm": ("Storm, rain and a stopped train",
                  '  <ellipse cx="220" cy="90" rx="190" ry="60" fill="#5c6b7a"/>\n'
                  '  <ellipse cx="560" cy="80" rx="230" ry="70" fill="#4a5866"/>\n' + rain
                  + '  <rect y="360" width="800" height="90" fill="#5e8c61"/>\n'
                  '  <rect y="395" width="800" height="55" fill="#7fa7c9" opacity="0.8"/>\n'
                  '  <rect x="180" y="300" width="440" height="70" rx="14" fill="#ffc917"/>\n'
                  '  <rect x="180" y="300" width="440" height="18" fill="#003082"/>\n'
                  + "".join(f'  <rect x="{x}" y="325" width="40" height="26" fill="#cfe3f3"/>\n'
                            for x in range(205, 580, 65)), "#8a99a8"),
        "ai": ("A chip in a parliament chamber",
               '  <path d="M120 420 A280 280 0 0 1 680 420" fill="none" stroke="#c7b98a" '
               'stroke-width="40"/>\n'
               '  <path d="M200 420 A200 200 0 0 1 600 420" fill="none" stroke="#b3a574" '
               'stroke-width="30"/>\n'
               f'  <rect x="320" y="120" width="160" height="160" rx="12" fill="{c}"/>\n'
               f'  <rect x="350" y="150" width="100" height="100" fill="{a}"/>\n'
               + "".join(f'  <rect x="{x}" y="100" width="10" height="20" fill="#888"/>\n'
                         f'  <rect x="{x}" y="280" width="10" height="20" fill="#888"/>\n'
                         for x in range(340, 470, 25)), "#f2efe6"),
        "nightbus": ("A night bus under the stars",
                     '  <rect y="340" width="800" height="110" fill="#333"/>\n'
                     f'  <rect x="170" y="230" width="460" height="120" rx="18" fill="{a}"/>\n'
                     + "".join(f'  <rect x="{x}" y="250" width="60" height="45" fill="#ffe08a"/>\n'
                               for x in range(195, 600, 80))
                     + '  <circle cx="250" cy="355" r="26" fill="#111"/>\n'
                     '  <circle cx="550" cy="355" r="26" fill="#111"/>\n'
                     '  <circle cx="660" cy="70" r="30" fill="#f6f1d1"/>\n', "#101d3b"),
        "library": ("Shelves of library books",
                    "".join(f'  <rect x="{x}" y="{y}" width="{18 + (x % 3) * 6}" height="90" '
                            f'fill="{[c, a, "#6b8f71", "#b56576"][(x // 30) % 4]}"/>\n'
                            for x in range(100, 700, 30) for y in (90, 210, 330))
                    + "".join(f'  <rect x="80" y="{y}" width="640" height="10" fill="#6d4c41"/>\n'
                              for y in (180, 300, 420)), "#efe6d8"),
        "swans": ("Swans on a Frisian meadow",
                  '  <rect y="280" width="800" height="170" fill="#7aa36f"/>\n'
                  + "".join(f'  <ellipse cx="{x}" cy="{y}" rx="40" ry="20" fill="#fff"/>\n'
                            f'  <path d="M{x + 30} {y - 5} q15 -45 -5 -55" stroke="#fff" stroke-width="8" '
                            'fill="none"/>\n'
                            for x, y in [(180, 330), (330, 360), (480, 320), (620, 370)]), "#cdd9e5"),
        "theatre": ("A theatre stage with red curtains",
                    '  <rect x="100" y="60" width="600" height="330" fill="#2d1e2f"/>\n'
                    '  <path d="M100 60 Q180 220 140 390 L100 390Z" fill="#a4161a"/>\n'
                    '  <path d="M700 60 Q620 220 660 390 L700 390Z" fill="#a4161a"/>\n'
                    f'  <ellipse cx="400" cy="390" rx="200" ry="30" fill="{a}" opacity="0.6"/>\n'
                    '  <rect y="390" width="800" height="60" fill="#4a2c2a"/>\n', "#120c13"),
        "bank": ("A bank building and a rate chart",
                 f'  <polygon points="150,150 400,60 650,150" fill="{c}"/>\n'
                 + "".join(f'  <rect x="{x}" y="160" width="30" height="180" fill="#e8e6df"/>\n'
                           for x in range(180, 640, 80))
                 + '  <rect x="140" y="340" width="520" height="30" fill="#cfcabf"/>\n'
                 f'  <polyline points="120,420 260,400 400,410 540,390 680,395" fill="none" stroke="{a}" '
                 'stroke-width="6"/>\n', "#f5f3ee"),
        "recipes": ("An old recipe book and a pot",
                    '  <rect x="110" y="120" width="280" height="220" fill="#f3e9d2" stroke="#8d6e63"/>\n'
                    + "".join(f'  <line x1="140" y1="{y}" x2="360" y2="{y}" stroke="#a1887f"/>\n'
                              for y in range(160, 320, 25))
                    + f'  <rect x="470" y="220" width="200" height="130" rx="20" fill="{c}"/>\n'
                    '  <rect x="450" y="210" width="240" height="20" rx="8" fill="#555"/>\n'
                    '  <path d="M520 200 q10 -40 0 -70 M570 200 q10 -40 0 -70 M620 200 q10 -40 0 -70" '
                    'stroke="#bbb" stroke-width="5" fill="none"/>\n', "#e9dcc9"),
        "ferry": ("An electric ferry crossing the harbour",
                  '  <rect y="300" width="800" height="150" fill="#1d6a96"/>\n'
                  f'  <polygon points="200,300 600,300 560,350 240,350" fill="{c}"/>\n'
                  '  <rect x="280" y="250" width="240" height="50" fill="#f4f4f4"/>\n'
                  f'  <path d="M395 200 l-25 45 h20 l-10 40 l40 -55 h-20 l15 -30z" fill="{a}"/>\n'
                  + windows.replace("#ffe08a", "#cfe3f3").replace('y="250"', 'y="262"')
                  .replace('y="200"', 'y="255"'),
                  "#cbe4f2"),
        "waterfront": ("The waterfront and a car park",
                       '  <rect y="300" width="800" height="150" fill="#2a6f97"/>\n'
                       '  <rect y="260" width="800" height="50" fill="#9e9e9e"/>\n'
                       + "".join(f'  <rect x="{x}" y="235" width="45" height="25" rx="6" '
                                 f'fill="{["#e63946", "#457b9d", "#f1faee", "#ffb703"][(x // 60) % 4]}"/>\n'
                                 for x in range(60, 760, 60))
                       + f'  <rect x="560" y="120" width="120" height="140" fill="{a}"/>\n', "#d9ecf2"),
    }
    return scenes[name]


def logo_svg(outlet: Outlet) -> str:
    letter = "".join(w[0] for w in outlet.name.split() if w[0].isupper())[-2:]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64" role="img">\n'
        f"  <title>{_x(outlet.name)}</title>\n"
        f'  <rect width="64" height="64" rx="10" fill="{outlet.color}"/>\n'
        f'  <text x="32" y="42" font-family="Georgia, serif" font-size="26" text-anchor="middle" '
        f'fill="{outlet.accent}">{_x(letter)}</text>\n</svg>\n'
    )


CSS = """\
/* Shared stylesheet of the newsdesk demo outlets. */
body { font-family: Georgia, serif; margin: 0; color: #222; background: #fafafa; }
.site-header { padding: 1rem 2rem; color: #fff; }
.site-header a { color: inherit; text-decoration: none; }
.logo { font-size: 1.8rem; font-weight: bold; display: inline-flex; gap: .5rem; align-items: center; }
.tagline { margin: .2rem 0 .6rem; opacity: .8; }
.main-menu ul { list-style: none; display: flex; gap: 1.2rem; padding: 0; margin: 0; }
.cookie-notice { position: fixed; bottom: 0; left: 0; right: 0; background: #333; color: #fff;
  padding: 1rem; }
.content { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.6; }
.intro { font-weight: bold; }
.byline { color: #666; font-size: .9rem; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #666; }
.related-links, .newsletter-box { border-left: 4px solid #ccc; padding: .5rem 1rem; margin: 1.5rem 0;
  background: #f0f0f0; font-family: sans-serif; }
.share-bar, .article-pager { display: flex; gap: 1rem; font-family: sans-serif; margin: 1.5rem 0; }
.teasers { list-style: none; padding: 0; }
.teaser { margin-bottom: 1.5rem; }
.site-footer { background: #222; color: #ccc; padding: 1.5rem 2rem; font-size: .9rem; }
.site-footer a { color: #fff; margin-right: 1rem; }
.outlet-dagkrant .site-header { background: #12355b; }
.outlet-avondblad .site-header { background: #3d2c4e; }
.outlet-ledger .site-header { background: #1f3b2d; }
.outlet-harbour .site-header { background: #0b4f6c; }
"""


# --- the build ----------------------------------------------------------------------------------

def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def build_site(target: Path = SITE_DIR, content_dir: Path = CONTENT_DIR) -> list[Story]:
    """Write the whole site into target (emptied first); returns every story, oldest first."""
    # read every text before emptying anything: a failed read must not leave no site at all
    everything = {outlet.slug: load_stories(outlet, content_dir) for outlet in OUTLETS}
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for outlet in OUTLETS:
        stories = everything[outlet.slug]
        sizes: dict[str, int] = {}
        for name in sorted({s.image for s in stories}):
            title, shapes, sky = _scene(name, outlet.color, outlet.accent)
            svg = _svg(title, shapes, sky)
            rel = f"{outlet.slug}/img/{name}.svg"
            _write(target / rel, svg)
            sizes[rel] = len(svg.encode("utf-8"))
        _write(target / outlet.slug / "img" / "logo.svg", logo_svg(outlet))
        for i, story in enumerate(stories):
            older = stories[i - 1] if i > 0 else None
            newer = stories[i + 1] if i + 1 < len(stories) else None
            others = [s for s in stories if s is not story]
            # the three nearest in time, newest first, like a "more from this week" box
            related = sorted(others, key=lambda s: abs((s.published - story.published).total_seconds()))[:3]
            related.sort(key=lambda s: s.published, reverse=True)
            _write(target / story.path, article_page(story, older, newer, related))
        _write(target / outlet.slug / "index.html", listing_page(outlet, stories))
        for section in outlet.menu:
            in_section = [s for s in stories if s.section == section]
            _write(target / outlet.slug / _section_slug(section) / "index.html",
                   listing_page(outlet, in_section, section))
        _write(target / outlet.slug / "over.html", about_page(outlet, stories))
        if outlet.feed == "rss":
            _write(target / outlet.slug / outlet.feed_path, rss_feed(outlet, stories, sizes))
        elif outlet.feed == "atom":
            _write(target / outlet.slug / outlet.feed_path, atom_feed(outlet, stories))
        elif outlet.feed == "jsonfeed":
            _write(target / outlet.slug / outlet.feed_path, json_feed(outlet, stories))
        else:
            _write(target / outlet.slug / "news-sitemap.xml", news_sitemap(outlet, stories))
    _write(target / "index.html", root_page())
    _write(target / "robots.txt", robots_txt())
    _write(target / "sources.opml", opml(everything))
    _write(target / "static" / "site.css", CSS)
    return [s for stories in everything.values() for s in stories]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the bundled newsdesk demo site.")
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="target folder (emptied first)")
    args = parser.parse_args(argv)
    stories = build_site(args.out)
    print(f"wrote {len(stories)} articles to {args.out}")


if __name__ == "__main__":
    main()
