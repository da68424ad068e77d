"""The newsletter flows in a real browser (Debian's chromium via Playwright) against the app served by
uvicorn on 127.0.0.1, with mail going to a real aiosmtpd server: sign up from an article page, open the
confirmation mail's link and confirm, receive a digest, open its List-Unsubscribe link, unsubscribe.
No console errors or CSP violations on the way."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nlhelpers import add_article, link_in, mails_to

from appserver import free_port, serve_app
from browser import CHROMIUM, CHROMIUM_ARGS, watched_page
from newsdesk.mail.sink import SmtpSink
from newsdesk.models import NewSource, SubscriptionStatus
from newsdesk.services import newsletters as nl
from newsdesk.settings import load_settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app

pytestmark = pytest.mark.browser

READER = "lezer@example.org"


def test_sign_up_confirm_digest_and_unsubscribe_in_a_browser(store: Storage, sink: SmtpSink) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings({}, secret_key="browser-secret", language="nl", smtp_host="127.0.0.1",
                             smtp_port=str(sink.port), public_url=base)
    now = datetime.now(UTC)
    source = store.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC", site_url="https://www.nrc.nl/"),
                              now - timedelta(days=1))
    article_id = add_article(store, source, "groenland",
                             "Trump heeft zeer goed telefoongesprek met Rutte over Groenland",
                             now - timedelta(hours=1), text="Groenland, Davos en de NAVO.")
    newsletter = nl.define_newsletter(store, name="NRC Amerika", tagline="Volg de laatste politieke ontwikkelingen "
                                      "in de VS op de voet", topic_kind="search", topic="Groenland")

    problems: list[str] = []
    with serve_app(create_app(store, settings), port=port), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="nl-NL")

        def guard(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                problems.append("external request: " + route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = watched_page(context, problems)

        page.goto(f"{base}/articles/{article_id}")
        box = page.locator("aside.newsletter-box")
        assert box.locator("h2").inner_text() == "Schrijf je in voor de nieuwsbrief NRC Amerika"
        assert box.locator(".tagline").inner_text() == ("Volg de laatste politieke ontwikkelingen in de VS "
                                                        "op de voet")
        box.get_by_label("E-mailadres").fill(READER)
        box.get_by_role("button", name="Inschrijven").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Kijk in je mailbox"

        deadline = time.monotonic() + 10
        while not mails_to(sink, READER):
            assert time.monotonic() < deadline, "no confirmation mail arrived"
            time.sleep(0.05)
        confirm_url = link_in(mails_to(sink, READER)[0], "/newsletters/confirm/")
        assert confirm_url.startswith(base)
        page.goto(confirm_url)
        assert page.locator("h1").inner_text() == "Bevestig je inschrijving"
        subscription = store.find_subscription(newsletter.id, READER)
        assert subscription is not None and subscription.status is SubscriptionStatus.PENDING
        page.get_by_role("button", name="Bevestigen").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Ingeschreven"
        assert store.get_subscription(subscription.id).status is SubscriptionStatus.ACTIVE

        nl.send_sample_digest(nl.NewsletterContext.from_settings(store, settings), newsletter.id, READER)
        digest = mails_to(sink, READER)[-1]
        assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        page.goto(digest["List-Unsubscribe"].strip("<>"))
        assert page.locator("h1").inner_text() == "Afmelden"
        page.get_by_role("button", name="Afmelden").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Afgemeld"
        assert store.get_subscription(subscription.id).status is SubscriptionStatus.UNSUBSCRIBED
        context.close()
        browser.close()
    assert problems == []
