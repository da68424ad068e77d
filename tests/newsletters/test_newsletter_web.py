"""The newsletter pages over the real app (TestClient), real SQLite and a real SMTP sink: the sign-up
box, CSRF, confirm and unsubscribe links from real mails, RFC 8058 one-click, manage, /admin/mails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from nlhelpers import World, link_in, mails_to, seed

from newsdesk.mail.sink import SmtpSink
from newsdesk.models import SubscriptionStatus
from newsdesk.services import newsletters as nl
from newsdesk.settings import Settings, load_settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app

READER = "lezer@example.org"


@pytest.fixture
def settings(sink: SmtpSink) -> Settings:
    return load_settings({}, secret_key="web-test-secret", language="en", smtp_host="127.0.0.1",
                         smtp_port=str(sink.port), mail_from="nieuwsbrief@newsdesk.example",
                         public_url="http://testserver")


@pytest.fixture
def newsletter_id(store: Storage) -> int:
    return nl.define_newsletter(store, name="De Dagkrant Groenland", tagline="Volg Groenland op de voet",
                                topic_kind="search", topic="Groenland").id


@pytest.fixture
def web(store: Storage, settings: Settings, sink: SmtpSink, newsletter_id: int) -> Iterator[TestClient]:
    app = create_app(store, settings)
    app.state.mail_sink = sink
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        yield client


@pytest.fixture
def seeded(store: Storage) -> World:
    return seed(store)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def sign_up(web: TestClient, seeded: World, newsletter_id: int, address: str = READER) -> object:
    page = web.get(f"/articles/{seeded.ids['greenland_nrc']}")
    return web.post(f"/newsletters/{newsletter_id}/subscribe", data={"csrf_token": form_token(page.text),
                                                                     "email": address})


def test_sign_up_box_only_on_the_topics_articles(web: TestClient, seeded: World, newsletter_id: int) -> None:
    page = web.get(f"/articles/{seeded.ids['greenland_nrc']}")
    assert page.status_code == 200
    assert "Sign up for the newsletter De Dagkrant Groenland" in page.text
    assert "Volg Groenland op de voet" in page.text
    assert f'action="/newsletters/{newsletter_id}/subscribe"' in page.text
    assert "newsdesk_csrf=" in page.headers["set-cookie"]
    dutch = web.get(f"/articles/{seeded.ids['greenland_nrc']}?lang=nl")
    assert "Schrijf je in voor de nieuwsbrief De Dagkrant Groenland" in dutch.text
    assert "newsletter-box" not in web.get(f"/articles/{seeded.ids['davos']}").text


def test_sign_up_box_on_the_topics_own_list_pages(web: TestClient, store: Storage, seeded: World) -> None:
    on_source = nl.define_newsletter(store, name="Alles van NRC", tagline="", topic_kind="source",
                                     topic=str(seeded.nrc.id))
    assert "Alles van NRC" in web.get(f"/sources/{seeded.nrc.id}").text
    assert "newsletter-box" not in web.get(f"/sources/{seeded.other.id}").text
    assert "De Dagkrant Groenland" in web.get("/search?q=groenland").text
    assert "newsletter-box" not in web.get("/search?q=Davos").text
    assert "newsletter-box" not in web.get("/").text
    assert on_source.id


def test_sign_up_confirm_digest_and_one_click_unsubscribe(web: TestClient, store: Storage, sink: SmtpSink,
                                                          settings: Settings, seeded: World,
                                                          newsletter_id: int) -> None:
    answer = sign_up(web, seeded, newsletter_id)
    assert answer.status_code == 200 and "Check your mailbox" in answer.text  # type: ignore[attr-defined]
    [mail] = mails_to(sink, READER)
    confirm_url = link_in(mail, "/newsletters/confirm/")
    path = confirm_url.removeprefix("http://testserver")
    page = web.get(path)
    assert page.status_code == 200 and "Confirm that lezer@example.org wants to receive" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.PENDING  # type: ignore[union-attr]
    done = web.post(path)
    assert done.status_code == 200 and "now receives" in done.text
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]

    # a digest, sent by the use case the scheduler calls; its links work against this app
    now = datetime.now(UTC)
    for i in range(2):
        store.add_article(seeded_article(seeded, store, i, now))
    ctx = nl.NewsletterContext.from_settings(store, settings)
    sink.clear()
    nl.send_sample_digest(ctx, newsletter_id, READER)
    [digest] = mails_to(sink, READER)
    digest_text = digest.get_body(preferencelist=("plain",)).get_content()
    reader_links = re.findall(r"http://testserver/articles/\d+", digest_text)
    assert reader_links and all(web.get(link.removeprefix("http://testserver")).status_code == 200
                                for link in reader_links)
    manage = link_in(digest, "/newsletters/manage/").removeprefix("http://testserver")
    manage_page = web.get(manage)
    assert manage_page.status_code == 200 and "Newsletters for lezer@example.org" in manage_page.text
    unsubscribe = digest["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    assert web.get(unsubscribe).status_code == 200  # the page alone changes nothing
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    # RFC 8058 one-click: a mail client POSTs without cookies or CSRF token
    with TestClient(web.app) as mail_client:
        one_click = mail_client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "no longer receives" in one_click.text
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    # the old confirm link does not bring it back
    assert web.post(path).status_code == 400
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    # the manage page can
    again = web.post(manage, data={"newsletter_id": str(newsletter_id), "action": "subscribe"})
    assert again.status_code == 200
    assert store.find_subscription(newsletter_id, READER).status is SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    assert web.post(manage, data={"newsletter_id": "x", "action": "subscribe"}).status_code == 400


def seeded_article(seeded: World, store: Storage, i: int, now: datetime):  # type: ignore[no-untyped-def]
    from newsdesk.models import NewArticle

    return NewArticle(source_id=seeded.nrc.id, url=f"https://www.nrc.nl/groenland-{i}", title=f"Groenland {i}",
                      fetched_at=now - timedelta(minutes=i), text="Groenland", html="<p>Groenland</p>")


def test_sign_up_without_csrf_is_refused_and_sends_nothing(web: TestClient, sink: SmtpSink, seeded: World,
                                                           newsletter_id: int) -> None:
    with TestClient(web.app) as stranger:
        refused = stranger.post(f"/newsletters/{newsletter_id}/subscribe", data={"email": READER})
    assert refused.status_code == 403
    forged = web.post(f"/newsletters/{newsletter_id}/subscribe", data={"email": READER, "csrf_token": "x" * 40})
    assert forged.status_code == 403
    assert sink.messages() == []


@pytest.mark.parametrize("address", ["lezer@example.org\r\nBcc: victim@example.net", "a" * 10_000 + "@example.org",
                                     "lezer\u202e@example.org", "not an address"],
                         ids=["crlf", "10kB", "bidi", "words"])
def test_hostile_addresses_get_a_clear_error(web: TestClient, sink: SmtpSink, seeded: World, newsletter_id: int,
                                             address: str) -> None:
    answer = sign_up(web, seeded, newsletter_id, address)
    assert answer.status_code == 400 and "This address cannot be used" in answer.text  # type: ignore[attr-defined]
    assert sink.messages() == []


def test_an_oversized_form_is_refused_unread(web: TestClient, sink: SmtpSink, seeded: World,
                                             newsletter_id: int) -> None:
    answer = sign_up(web, seeded, newsletter_id, "a" * 100_000 + "@example.org")
    assert answer.status_code == 413 and sink.messages() == []  # type: ignore[attr-defined]


def test_repeated_sign_ups_are_rate_limited_and_unknown_newsletters_404(web: TestClient, sink: SmtpSink,
                                                                        seeded: World, newsletter_id: int) -> None:
    assert sign_up(web, seeded, newsletter_id).status_code == 200  # type: ignore[attr-defined]
    again = sign_up(web, seeded, newsletter_id)
    assert again.status_code == 429 and "Retry-After" in again.headers  # type: ignore[attr-defined]
    assert len(sink.messages()) == 1
    assert sign_up(web, seeded, newsletter_id + 50).status_code == 404  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", ["forged", "x" * 5000, "eyJhIjoxfQ.AAAA.BBBB"], ids=["word", "5kB", "shape"])
def test_bad_links_say_so(web: TestClient, token: str) -> None:
    for path in ("confirm", "unsubscribe", "manage"):
        page = web.get(f"/newsletters/{path}/{token}")
        assert page.status_code == 400 and "This link does not work" in page.text
    assert web.post(f"/newsletters/unsubscribe/{token}").status_code == 400


def test_a_broken_mail_setting_leaves_the_reader_up(store: Storage, seeded: World, newsletter_id: int) -> None:
    settings = load_settings({}, secret_key="k", smtp_host="127.0.0.1", mail_from="not an address")
    with TestClient(create_app(store, settings), client=("127.0.0.1", 50000)) as client:
        page = client.get(f"/articles/{seeded.ids['greenland_nrc']}")
        assert page.status_code == 200
        answer = client.post(f"/newsletters/{newsletter_id}/subscribe",
                             data={"csrf_token": form_token(page.text), "email": READER})
    assert answer.status_code == 503 and "not available" in answer.text


def test_admin_mails_shows_the_sink_safely(web: TestClient, sink: SmtpSink, store: Storage, seeded: World,
                                           newsletter_id: int) -> None:
    nl.define_newsletter(store, name="<script>alert(1)</script>", tagline="", topic_kind="search", topic="Davos")
    sign_up(web, seeded, newsletter_id)
    page = web.get("/admin/mails")
    assert page.status_code == 200
    assert "Bevestig je aanmelding voor De Dagkrant Groenland" in page.text
    assert "&lt;!DOCTYPE html&gt;" in page.text and "<!DOCTYPE html>\n<html lang=\"nl\">" not in page.text
    with TestClient(web.app, client=("203.0.113.5", 4000)) as remote:
        assert remote.get("/admin/mails").status_code == 403
