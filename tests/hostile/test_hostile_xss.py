"""Figure 3: XSS. A hostile local site puts the payload corpus (tests/data/hostile/xss.txt) in feed
titles, summaries, content:encoded, authors, enclosures, article pages, captions and image URLs; a
real pass stores them; headless Chromium then loads the reader's pages and records every script that
runs (each payload calls __xss() or alert()) and every CSP violation.

Pages are loaded twice: with the page's CSP bypassed, so that only sanitizing and escaping stand
between a payload and the browser (nothing may run), and with it, where nothing may even be blocked
(a violation would mean markup survived sanitizing). The pages include the story pages, entity and
topic pages, the stories view of the home page and a newsletter's sign-up box (both with hostile names).
The digest e-mail of the hostile articles is rendered and sent through the real mail code and its HTML
part loaded in Chromium (a mail has no CSP). The Atom feeds and JSON APIs are checked without a browser
in test_hostile_xss_outputs.py; the sanitizer's unit corpus is tests/extract/test_sanitize.py.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest
from hostile_helpers import DATA, article_page, assert_harmless, pass_over

from appserver import serve_app
from browser import CHROMIUM, CHROMIUM_ARGS
from newsdesk.mail.digest import select_digest_entries
from newsdesk.mail.send import SmtpSettings
from newsdesk.mail.sink import SmtpSink
from newsdesk.models import Newsletter, NewSource, Source
from newsdesk.services import newsletters as nl
from newsdesk.services import stories as story_service
from newsdesk.settings import load_settings
from newsdesk.storage import ArticleFilter
from newsdesk.storage.base import Storage
from newsdesk.stories.records import Topic
from newsdesk.web.app import create_app
from newsdesk.web.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

PAYLOADS = [line for line in (DATA / "xss.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
LISTEN = """
window.__fired = [];
window.__xss = n => { window.__fired.push(String(n)); console.error('XSS ran: ' + n); };
window.alert = window.confirm = window.prompt = n => window.__xss('alert ' + n);
document.addEventListener('securitypolicyviolation',
  e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI), true);
"""


def hostile_site(site: Any) -> str:
    items = []
    for i, payload in enumerate(PAYLOADS):
        extra = (f"<figure><img src=\"{site.base}/img/{i}.png\"><figcaption>Foto {i} {payload}</figcaption></figure>"
                 f"<p>Inleiding {i}: {payload}</p><p>Mark Rutte sprak in Nuuk over Groenland ({i}).</p>")
        page = article_page(f"Pagina {i}", i, extra=extra)
        if i % 3 == 0:  # image and metadata URLs that try to break out or run
            og = ["javascript:__xss('og')", 'x" onerror="__xss(\'og2\')', "data:image/svg+xml,<svg onload=__xss(1)>"][
                i % 9 // 3]
            page = page.replace("</head>", f'<meta property="og:image" content="{escape(og)}">'
                                           f'<meta name="author" content="{escape(payload)}"></head>')
        site.add(f"/a/{i}.html", page)
        enclosure = ["javascript:__xss('enc')", f"{site.base}/img/{i}.png\" onerror=\"__xss('enc2')"][i % 2]
        items.append(
            f"<item><title>{escape(payload)}</title><link>{site.base}/a/{i}.html</link>"
            f"<description>{escape('<p>Samenvatting</p>' + payload)}</description>"
            f"<content:encoded>{escape(payload)}</content:encoded><dc:creator>{escape(payload)}</dc:creator>"
            f'<enclosure url="{escape(enclosure)}" type="image/png" length="1"/></item>')
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>{escape('<img src=x onerror=__xss(0)>Kwaadaardig')}</title>"
            f"<link>{site.base}/</link>{''.join(items)}</channel></rss>")
    return site.add("/feed.xml", feed, content_type="application/rss+xml")


TOPIC_NAME = "<img src=x onerror=__xss('topic')>Groenland"
NEWSLETTER_NAME = "<script>__xss('newsletter')</script>Nieuwsbrief"


def store_hostile_corpus(site: Any, storage: Storage) -> tuple[Source, Topic, Newsletter]:
    """The corpus stored by a real pass (stories and entities assigned), plus a topic and a newsletter
    on it whose names are payloads too (an operator's typo must not run either)."""
    source = storage.add_source(NewSource(hostile_site(site)), datetime.now(UTC))
    summary = asyncio.run(pass_over(storage))
    assert summary.new_articles == len(PAYLOADS), summary
    topic = story_service.add_topic(storage, TOPIC_NAME, entities=("place:greenland",), keywords=("gemeenteraad",),
                                    slug="groenland")
    newsletter = nl.define_newsletter(storage, name=NEWSLETTER_NAME, tagline=PAYLOADS[5], topic_kind="source",
                                      topic=str(source.id))
    return source, topic, newsletter


@pytest.fixture
def served(site, storage) -> Iterator[tuple[str, Any]]:
    source, _, _ = store_hostile_corpus(site, storage)
    with serve_app(create_app(storage, load_settings({}, secret_key="xss-test"))) as base:
        yield base, source


def visit_all(base: str, paths: list[str], *, bypass_csp: bool, local_prefix: str,
              inline_styles: bool = False) -> tuple[list[str], int]:
    from playwright.sync_api import sync_playwright

    events: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(bypass_csp=bypass_csp)

        def guard(route: Any) -> None:  # nothing leaves the machine; the hostile site's images are fine
            url = route.request.url
            if url.startswith((base, local_prefix)):
                route.continue_()
            else:
                events.append(f"outside request: {url[:120]}")
                route.abort()

        context.route("**/*", guard)
        context.add_init_script(LISTEN)
        page = context.new_page()
        page.on("dialog", lambda d: (events.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("console", lambda m: events.append(m.text) if m.type == "error" and (
            "XSS" in m.text or "CSP" in m.text) else None)
        page.on("pageerror", lambda exc: events.append(f"page error: {exc}"))
        for path in paths:
            if path.startswith("<"):  # a document of its own (a mail's HTML part): no server, no CSP
                page.set_content(path, wait_until="load")
                path = "mail"
            else:
                response = page.goto(base + path, wait_until="load")
                assert response is not None and response.status in (200, 400), path  # a bad cursor: a 400 page
                if not bypass_csp:
                    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            page.mouse.move(300, 300)
            page.mouse.move(500, 700)
            page.keyboard.press("Tab")
            for fired in page.evaluate("window.__fired"):
                events.append(f"{path}: XSS ran: {fired}")
            dangerous = page.evaluate("""inlineStyles => Array.from(document.querySelectorAll(
                'main *, article *, .content *, body *')).filter(el => !(el.tagName === 'FORM' &&
                /^[/](search|admin[/]|stories[/]|newsletters[/])/.test(el.getAttribute('action') || '')))
                .filter(el => !(el.tagName === 'SCRIPT' && /^[/]static[/]/.test(el.getAttribute('src') || '')))
                .filter(el =>
                ['SCRIPT','IFRAME','OBJECT','EMBED','FORM','SVG','MATH','STYLE','BASE','META'].includes(
                  el.tagName.toUpperCase()) ||
                Array.from(el.attributes).some(a => /^on/i.test(a.name) || (a.name === 'style' && !inlineStyles) ||
                  /^\\s*(javascript|vbscript|data):/i.test(a.value))).map(el => el.outerHTML.slice(0, 150))""",
                inline_styles)
            events += [f"{path}: dangerous markup: {d}" for d in dangerous]
        context.close()
        browser.close()
    return events, len(paths)


def test_no_payload_runs_in_the_reader(served, storage, site) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    base, source = served
    articles = storage.list_articles(ArticleFilter(source_id=source.id), limit=500)
    assert len(articles) == len(PAYLOADS)
    stories = storage.list_stories(limit=500)
    entities = {e.id for a in articles for e in storage.article_entities(a.id)}
    assert stories and len(entities) >= 3  # Mark Rutte, Nuuk, Greenland at least
    lists = ["/", f"/sources/{source.id}", "/search?q=alert", "/search?q=xss", "/search?q=Pagina",
             "/search?q=" + "%3Cscript%3E__xss(1)%3C%2Fscript%3E", "/?before=%3Cscript%3E", "/admin/sources",
             "/?view=stories", "/topics/groenland", *(f"/entities/{e}" for e in sorted(entities))]
    lists += [f"/stories/{s.id}" for s in stories]
    pages = lists + [f"/articles/{a.id}" for a in articles]
    # 1. CSP bypassed: sanitizing and escaping alone must stop every payload, on every page.
    events, visited = visit_all(base, pages, bypass_csp=True, local_prefix=site.base)
    assert events == []
    # 2. With the CSP, as users get it: not even a blocked attempt (the CSP is the second wall, unused).
    events, _ = visit_all(base, lists + pages[len(lists):len(lists) + 15], bypass_csp=False, local_prefix=site.base)
    assert events == []
    print(f"\nXSS: {len(PAYLOADS)} payloads in 8 places each; {visited} pages without CSP ({len(stories)} stories, "
          f"{len(entities)} entities), {len(lists) + 15} with; 0 ran, 0 blocked")


def test_no_payload_runs_in_the_digest_mail(site, storage, monkeypatch) -> None:
    """The digest of the hostile articles, rendered and sent by the real mail code to a local SMTP sink;
    its HTML part loaded in Chromium as a mail client would (no CSP: only sanitizing and escaping).
    Story grouping and the 30-entry cap are turned off so that each of the articles is an entry of its
    own (grouped, the corpus makes ~10 stories and most payloads would not be in the mail)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    source, _, newsletter = store_hostile_corpus(site, storage)
    storage.activate_subscription(newsletter.id, "lezer@example.org", datetime.now(UTC))
    monkeypatch.setattr(nl, "_story_id", lambda storage, article_id: None)
    monkeypatch.setattr(nl, "select_digest_entries", functools.partial(select_digest_entries, limit=1000))
    sink = SmtpSink(keep=10).start()
    try:
        ctx = nl.NewsletterContext(storage=storage, secret="xss-test", public_url="http://reader.example",
                                   smtp=SmtpSettings(host="127.0.0.1", port=sink.port, max_attempts=1))
        nl.send_sample_digest(ctx, newsletter.id, "lezer@example.org", limit=len(PAYLOADS))
        [mail] = sink.messages()
    finally:
        sink.stop()
    message = mail.message()
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content()
    assert html.count("Samenvatting") == len(PAYLOADS) and "Kwaadaardig" in html  # the hostile articles are in it
    assert "\n" not in str(message["Subject"])  # a header is one line, whatever the name (tests/mail: injection)
    # the text part is plain text: titles that are literally "<img src=x ...>" (a feed's escaped markup)
    # stay text there, shown as such; the HTML of the mail and of the articles' bodies is not in it
    assert text_part.get_content_type() == "text/plain"
    assert not re.search(r"<(html|body|div|h2|figure|figcaption)\b", text, re.I), text[:500]
    # the template's own inline styles (mail clients drop style sheets); an escaped payload cannot
    # spell `style="`, its quotes are entities
    body = html.split("<body", 1)[-1].split(">", 1)[-1].rsplit("</body>", 1)[0]
    assert_harmless(re.sub(r' style="[^"<>]*"', "", body))
    events, _ = visit_all("http://reader.example", [html], bypass_csp=True, local_prefix=site.base,
                          inline_styles=True)  # a mail template's own; payloads' are checked above
    assert events == []
    print(f"\nXSS digest: {html.count('Samenvatting')} entries, {len(html)} characters of HTML; 0 ran")
