"""Digest and confirmation mails: structure, headers, escaping, and no header injection."""

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest
from mailhelpers import article, utc

from newsdesk.errors import InvalidAddressError, MailHeaderError
from newsdesk.mail.digest import select_digest_entries
from newsdesk.mail.render import (
    DigestLinks,
    prepare_digest,
    render_confirmation,
    render_digest,
    safe_url,
)
from newsdesk.models import DigestPeriod, Newsletter, TopicKind

LINKS = DigestLinks(
    unsubscribe_url="https://news.example/newsletters/unsubscribe/" + "T" * 140,
    manage_url="https://news.example/newsletters/manage/M123",
    unsubscribe_mailto="mailto:unsubscribe@news.example?subject=unsubscribe",
)
PERIOD = DigestPeriod(utc(2026, 1, 19, 6), utc(2026, 1, 20, 6), "2026-01-20")
NOW = datetime(2026, 1, 20, 6, 0, 5, tzinfo=UTC)


def entries(*extra):
    arts = [article(1, 10, "NOS", 5), article(2, 10, "NRC", 3), article(3, None, "Trouw", 9), *extra]
    return select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21))


def parts(msg):
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def reparse(msg):
    return message_from_bytes(msg.as_bytes(), policy=default)


def test_digest_structure_and_headers(newsletter):
    msg = reparse(render_digest(newsletter, entries(), "Jan@Example.ORG", LINKS,
                                from_address="nieuws@news.example", period=PERIOD, now=NOW))
    assert msg["To"] == "Jan@example.org"
    assert msg["From"].addresses[0].addr_spec == "nieuws@news.example"
    assert msg["From"].addresses[0].display_name == "Klimaat & energie"
    assert msg["Subject"] == "Klimaat & energie — 20 januari 2026"
    assert msg["Date"].datetime == NOW
    assert re.fullmatch(r"<[^<>@\s]+@news\.example>", msg["Message-ID"])
    assert msg["List-Id"] == "<newsletter-7.news.example>"
    assert msg["List-Unsubscribe"] == f"<{LINKS.unsubscribe_url}>, <{LINKS.unsubscribe_mailto}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(msg.get_payload()) == 2
    text, html = parts(msg)
    for body in (text, html):
        assert "Artikel 2" in body and "Artikel 3" in body
        assert "https://news.example/articles/2" in body  # the reader
        assert "https://nrc.example/a/2" in body and "https://nos.example/a/1" in body  # the originals
        assert "NRC" in body and "NOS" in body and "Trouw" in body
        assert "https://news.example/newsletters/manage/M123" in body
        assert LINKS.unsubscribe_url in body
        assert "Afmelden" in body and "Abonnementen beheren" in body  # Dutch labels
    assert text.index("Artikel 3") < text.index("Artikel 2")  # newest story first
    lower = html.lower()
    assert "<img" not in lower and "<script" not in lower and "src=" not in lower
    assert "<link" not in lower and "url(" not in lower and "@import" not in lower


def test_english_labels():
    nl = Newsletter(1, "Tech", "", TopicKind.SOURCE, "3", language="en", timezone="UTC")
    msg = render_digest(nl, entries(), "a@b.nl", LINKS, from_address="n@news.example", period=PERIOD, now=NOW)
    text, html = parts(msg)
    assert "Unsubscribe" in text and "Manage subscriptions" in html
    assert msg["Subject"] == "Tech — 20 January 2026"


def test_untrusted_article_content_is_escaped_and_unsafe_links_dropped(newsletter):
    evil = article(9, None, '<b onmouseover="x()">Evil</b>', 30,
                   title='<script>alert(1)</script><img src="https://tracker.example/p.gif">',
                   url="javascript:alert(1)", summary='"><iframe src=//x>')
    msg = render_digest(newsletter, entries(evil), "jan@example.org", LINKS,
                        from_address="n@news.example", period=PERIOD, now=NOW)
    text, html = parts(msg)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html and "javascript:" not in text
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;Evil&lt;/b&gt;" in html
    assert "https://news.example/articles/9" in html  # the reader link stays


@pytest.mark.parametrize("name", [
    "Klimaat\r\nBcc: victim@example.com",
    "Klimaat\nBcc: victim@example.com",
    "Klimaat\rBcc: victim@example.com",
    "Klimaat\u2028Bcc: victim@example.com",
    "Klimaat\x00\r\n\r\n<html>body</html>",
])
def test_header_injection_through_the_newsletter_name_creates_no_header(name):
    nl = Newsletter(1, name, "", TopicKind.SEARCH, "x", language="en", timezone="UTC")
    for msg in (
        render_digest(nl, entries(), "jan@example.org", LINKS, from_address="n@news.example", period=PERIOD),
        render_confirmation(nl, "jan@example.org", "https://news.example/c/abc",
                            from_address="n@news.example"),
    ):
        raw = msg.as_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert not re.search(rb"^(bcc|<html)", head, flags=re.I | re.M)
        parsed = message_from_bytes(raw, policy=default)
        assert parsed["Bcc"] is None
        assert [a.addr_spec for a in parsed["To"].addresses] == ["jan@example.org"]
        assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
        assert "Klimaat" in parsed["Subject"]


def test_header_injection_through_titles_stays_in_the_body(newsletter):
    evil = article(9, None, "X\r\nBcc: v@x", 30, title="Title\r\nBcc: victim@example.com\r\n\r\nbody")
    msg = reparse(render_digest(newsletter, entries(evil), "jan@example.org", LINKS,
                                from_address="n@news.example", period=PERIOD))
    assert msg["Bcc"] is None
    text, _ = parts(msg)
    assert "Title Bcc: victim@example.com body" in text  # on one line, as text


@pytest.mark.parametrize("links", [
    DigestLinks("https://x.example/u/abc\r\nBcc: v@x", "https://x.example/m"),
    DigestLinks("https://x.example/u/abc>, <https://evil.example", "https://x.example/m"),
    DigestLinks("javascript:alert(1)", "https://x.example/m"),
    DigestLinks("https://x.example/u/abc", "https://x.example/m", "mailto:a@b\r\nBcc: v@x"),
    DigestLinks("https://x.example/u/abc", "https://x.example/m", "https://not-mailto.example"),
    DigestLinks("https://x.example/u/abc", "data:text/html,hi"),
])
def test_unsafe_links_are_refused(newsletter, links):
    with pytest.raises(MailHeaderError):
        render_digest(newsletter, entries(), "jan@example.org", links, from_address="n@news.example")


@pytest.mark.parametrize("address", ["jan@example.org\r\nBcc: v@x", "a@b.nl, c@d.nl", "<a@b.nl>"])
def test_bad_recipient_is_refused(newsletter, address):
    with pytest.raises(InvalidAddressError):
        render_digest(newsletter, entries(), address, LINKS, from_address="n@news.example")


@pytest.mark.parametrize("sender", ["n@news.example\r\nBcc: v@x", "a@b.nl, c@d.nl", "nobody"])
def test_bad_sender_is_refused(newsletter, sender):
    with pytest.raises(MailHeaderError):
        render_digest(newsletter, entries(), "jan@example.org", LINKS, from_address=sender)


def test_prepared_digest_is_shared_and_each_mail_is_personal(newsletter):
    prepared = prepare_digest(newsletter, entries(), from_address="n@news.example", period=PERIOD)
    a = prepared.mail_for("a@example.org", DigestLinks("https://n.example/u/AAA", "https://n.example/m/AAA"))
    b = prepared.mail_for("b@example.org", DigestLinks("https://n.example/u/BBB", "https://n.example/m/BBB"))
    assert a.recipient == "a@example.org" and b"https://n.example/u/AAA" in a.data and b"BBB" not in a.data
    assert a.message_id != b.message_id
    assert all(len(line) <= 998 for line in a.data.split(b"\r\n"))
    assert b"\n" not in a.data.replace(b"\r\n", b"")  # CRLF only
    msg = prepared.for_subscriber("a@example.org", DigestLinks("https://n.example/u/AAA", "https://n.example/m/AAA"))
    assert msg.as_bytes().count(b"\r\n") > 10


def test_empty_digest_says_so(newsletter):
    msg = render_digest(newsletter, [], "jan@example.org", LINKS, from_address="n@news.example",
                        period=PERIOD)
    text, html = parts(msg)
    assert "Geen nieuwe verhalen" in text and "Geen nieuwe verhalen" in html


def test_confirmation_mail(newsletter):
    msg = reparse(render_confirmation(newsletter, "Jan@Example.org", "https://news.example/newsletters/confirm/T0K",
                                      from_address="n@news.example", now=NOW))
    assert msg["To"] == "Jan@example.org"
    assert msg["Subject"] == "Bevestig je aanmelding voor Klimaat & energie"
    assert msg["List-Unsubscribe"] is None
    text, html = parts(msg)
    assert "Jij (of iemand anders met jouw adres)" in text
    assert "https://news.example/newsletters/confirm/T0K" in text
    assert 'href="https://news.example/newsletters/confirm/T0K"' in html
    assert "<img" not in html
    en = Newsletter(1, "Tech", "", TopicKind.SOURCE, "3", language="en")
    text, _ = parts(render_confirmation(en, "a@b.nl", "https://n.example/c/x", from_address="n@news.example"))
    assert "You (or someone using your address) asked" in text
    with pytest.raises(MailHeaderError):
        render_confirmation(en, "a@b.nl", "javascript:alert(1)", from_address="n@news.example")


def test_safe_url():
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in ("javascript:x", "ftp://a.example/", "https://a.example/ x", "//a.example", "",
                None, "https://a.example/\u202e", "https://" + "a" * 3000):
        assert safe_url(bad) is None


def test_digest_links_and_bidi_in_the_subject(newsletter):
    from newsdesk.mail.render import digest_links
    from newsdesk.mail.tokens import read_token
    from newsdesk.models import Subscription, SubscriptionStatus

    sub = Subscription(3, 7, "jan@example.org", SubscriptionStatus.ACTIVE, NOW, token_version=2)
    links = digest_links("https://news.example", "k", sub)
    assert read_token("k", "unsubscribe", links.unsubscribe_url.rsplit("/", 1)[1]).subscription_id == 3
    assert links.manage_url.startswith("https://news.example/newsletters/manage/")
    nl = Newsletter(1, "Nieuws\u202egnp.exe\u200b", "", TopicKind.SEARCH, "x", language="en", timezone="UTC")
    msg = render_digest(nl, [], sub, links, from_address="n@news.example", period=PERIOD)
    assert msg["Subject"].startswith("Nieuwsgnp.exe —")
    assert msg["To"] == "jan@example.org"
