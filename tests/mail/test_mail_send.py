"""Sending over real SMTP: aiosmtpd on 127.0.0.1, and a scripted server that misbehaves."""

import threading
import time
from email import message_from_bytes
from email.policy import default

import pytest
from mailhelpers import article, utc

from newsdesk.errors import (
    MailConnectionError,
    MailError,
    MailRejectedError,
    MailTemporaryError,
    MailTimeoutError,
    SettingsError,
)
from newsdesk.mail.digest import select_digest_entries
from newsdesk.mail.render import DigestLinks, prepare_digest, render_confirmation, render_digest
from newsdesk.mail.send import Mailer, SmtpSettings
from newsdesk.mail.sink import SmtpSink
from newsdesk.mail.tokens import make_token, read_token
from newsdesk.settings import load_settings

SECRET = "test-secret"


def settings_for(port: int, **kw) -> SmtpSettings:
    values = {"timeout": 2.0, "backoff": 0.05, "max_attempts": 3, "from_address": "nieuws@news.example"}
    values.update(kw)
    return SmtpSettings("127.0.0.1", port, **values)


def links_for(sub_id: int, address: str) -> DigestLinks:
    return DigestLinks(
        f"https://news.example/newsletters/unsubscribe/{make_token(SECRET, 'unsubscribe', sub_id, address)}",
        f"https://news.example/newsletters/manage/{make_token(SECRET, 'manage', sub_id, address)}",
    )


def digest(newsletter, address="jan@example.org", sub_id=1):
    arts = [article(1, 10, "NOS", 5), article(2, 10, "NRC", 3), article(3, None, "Trouw", 9)]
    entries = select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21))
    return render_digest(newsletter, entries, address, links_for(sub_id, address),
                         from_address="nieuws@news.example")


def test_a_digest_arrives_intact(sink, newsletter):
    with Mailer(settings_for(sink.port)) as mailer:
        result = mailer.send(digest(newsletter))
    assert result.ok and result.attempts == 1
    (got,) = sink.messages()
    assert got.mail_from == "nieuws@news.example" and got.recipients == ("jan@example.org",)
    msg = message_from_bytes(got.data, policy=default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "<img" not in html.lower() and "<script" not in html.lower()
    assert 'href="https://news.example/articles/2"' in html and 'href="https://nrc.example/a/2"' in html
    assert "https://news.example/articles/2" in text
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = msg["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://news.example/newsletters/unsubscribe/")
    assert unsubscribe.endswith(">")
    # the token in the received header is the one that was signed, and it reads back
    token = unsubscribe[1:-1].rsplit("/", 1)[1]
    data = read_token(SECRET, "unsubscribe", token)
    assert (data.subscription_id, data.address) == (1, "jan@example.org")
    assert token in html and token in text
    assert msg["Message-ID"] == result.message_id


def test_a_confirmation_arrives(sink, newsletter):
    msg = render_confirmation(newsletter, "jan@example.org", "https://news.example/newsletters/confirm/abc",
                              from_address="nieuws@news.example")
    with Mailer(settings_for(sink.port)) as mailer:
        mailer.send(msg)
    got = sink.messages()[0].message()
    assert "https://news.example/newsletters/confirm/abc" in got.get_body(("plain",)).get_content()


def test_a_batch_uses_one_connection_and_reports_each_recipient(newsletter):
    connections = []

    sink = SmtpSink(keep=10, refuse_rcpt=lambda a: "550 5.1.1 no such user" if a.startswith("gone") else None)
    sink.start()
    try:
        arts = [article(i, i, "NOS", i) for i in range(10)]
        prepared = prepare_digest(newsletter, select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21)),
                                  from_address="nieuws@news.example")
        addresses = [f"u{i}@example.org" for i in range(20)] + ["gone@example.org", "u20@example.org"]
        produced = []

        def mails():
            for i, a in enumerate(addresses):
                produced.append(a)
                yield prepared.mail_for(a, links_for(i, a))

        with Mailer(settings_for(sink.port)) as mailer:
            original = mailer._connect
            mailer._connect = lambda: connections.append(1) or original()  # count connections
            results = []
            for r in mailer.send_many(mails()):
                # streaming: the next mail is built only after this one was sent
                assert len(produced) == len(results) + 1
                results.append(r)
        assert [r.recipient for r in results] == addresses
        bad = [r for r in results if not r.ok]
        assert len(bad) == 1 and bad[0].recipient == "gone@example.org"
        assert isinstance(bad[0].error, MailRejectedError) and bad[0].error.code == 550
        assert bad[0].attempts == 1  # permanent: not retried
        assert bad[0].error.kind == "mail_rejected"
        assert sink.received_count == 21 and len(sink.messages()) == 10  # the sink keeps the last 10
        assert connections == [1]
    finally:
        sink.stop()


def test_451_twice_then_accepted_is_delivered_once_with_retries(newsletter):
    answers = iter(["451 4.3.0 try again later", "451 4.3.0 try again later"])
    sink = SmtpSink(refuse_data=lambda m: next(answers, None)).start()
    try:
        sleeps = []
        def sleep(seconds):
            sleeps.append(seconds)
            time.sleep(seconds)

        with Mailer(settings_for(sink.port, backoff=0.05), sleep=sleep) as m:
            result = m.send(digest(newsletter))
        assert result.ok and result.attempts == 3
        assert sleeps == [0.05, 0.1]  # exponential backoff
        assert sink.received_count == 1
    finally:
        sink.stop()


def test_temporary_failures_are_bounded(newsletter):
    sink = SmtpSink(refuse_data=lambda m: "452 4.2.2 mailbox full").start()
    try:
        mailer = Mailer(settings_for(sink.port, max_attempts=2))
        with mailer, pytest.raises(MailTemporaryError) as info:
            mailer.send(digest(newsletter))
        assert info.value.code == 452 and info.value.recipient == "jan@example.org"
        assert "mailbox full" in str(info.value)
        assert sink.received_count == 0
    finally:
        sink.stop()


def test_550_is_a_permanent_error(newsletter):
    sink = SmtpSink(refuse_data=lambda m: "550 5.7.1 message refused").start()
    try:
        with Mailer(settings_for(sink.port)) as mailer:
            with pytest.raises(MailRejectedError) as info:
                mailer.send(digest(newsletter))
            # and the connection is still good for the next mail
            sink.refuse_data = None
            assert mailer.send(digest(newsletter, "piet@example.org")).ok
        assert info.value.code == 550 and isinstance(info.value, MailError)
    finally:
        sink.stop()


def test_a_server_that_drops_the_connection_mid_data(scripted, newsletter):
    server = scripted("drop_mid_data")
    started = time.monotonic()
    mailer = Mailer(settings_for(server.port, max_attempts=2, timeout=2.0))
    with mailer, pytest.raises(MailConnectionError) as info:
        mailer.send(digest(newsletter))
    assert time.monotonic() - started < 5
    assert "127.0.0.1" in str(info.value) and info.value.kind == "mail_connection"
    assert server.connections == 2  # retried on a fresh connection


def test_a_server_that_stalls_mid_data_times_out(scripted, newsletter):
    server = scripted("stall_mid_data")
    started = time.monotonic()
    mailer = Mailer(settings_for(server.port, max_attempts=2, timeout=0.5))
    with mailer, pytest.raises(MailTimeoutError) as info:
        mailer.send(digest(newsletter))
    elapsed = time.monotonic() - started
    assert elapsed < 2 * 0.5 + 0.05 + 2  # two timeouts, one backoff, some slack
    assert "did not answer within 0.5 s" in str(info.value)
    assert server.connections == 2


def test_a_server_that_never_greets_times_out(scripted, newsletter):
    server = scripted("stall_greeting")
    started = time.monotonic()
    with Mailer(settings_for(server.port, max_attempts=1, timeout=0.5)) as mailer:
        results = list(mailer.send_many([digest(newsletter, f"u{i}@example.org") for i in range(50)]))
    assert time.monotonic() - started < 3
    assert all(isinstance(r.error, MailTimeoutError) for r in results)
    # the server is unreachable: one try, the rest reported untried instead of 50 timeouts
    assert [r.attempts for r in results[:2]] == [1, 0]


def test_nobody_listening_is_a_connection_error(newsletter):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with Mailer(settings_for(port, max_attempts=2)) as mailer, pytest.raises(MailConnectionError):
        mailer.send(digest(newsletter))


def test_starttls_against_a_server_without_it_is_a_clear_error(sink, newsletter):
    mailer = Mailer(settings_for(sink.port, security="starttls"))
    with mailer, pytest.raises(MailConnectionError, match="does not support STARTTLS"):
        mailer.send(digest(newsletter))
    assert sink.received_count == 0


def test_a_server_restart_between_mails_is_survived(newsletter):
    sink = SmtpSink().start()
    port = sink.port
    with Mailer(settings_for(port)) as mailer:
        assert mailer.send(digest(newsletter)).ok
        sink.stop()
        sink2 = SmtpSink(port=port).start()
        try:
            result = mailer.send(digest(newsletter, "piet@example.org"))
            assert result.ok and result.attempts == 1  # the stale connection is replaced at once
            assert sink2.received_count == 1
        finally:
            sink2.stop()


def test_settings_and_secrets():
    s = load_settings({"NEWSDESK_SMTP_HOST": "smtp.example", "NEWSDESK_SMTP_PORT": "587",
                       "NEWSDESK_SMTP_SECURITY": "STARTTLS", "NEWSDESK_SMTP_USERNAME": "bot",
                       "NEWSDESK_SMTP_PASSWORD": "hunter2", "NEWSDESK_MAIL_FROM": "nieuws@news.example"})
    smtp = SmtpSettings.from_settings(s, timeout=5)
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.example", 587, "starttls")
    assert (smtp.username, smtp.timeout) == ("bot", 5)
    assert smtp.password == "hunter2" and "hunter2" not in repr(smtp) and "hunter2" not in str(smtp)
    assert not SmtpSettings.from_settings(load_settings({})).enabled
    with pytest.raises(SettingsError):
        Mailer(SmtpSettings.from_settings(load_settings({})))
    with pytest.raises(SettingsError):
        SmtpSettings("h", security="ssl3")  # type: ignore[arg-type]
    assert load_settings({}).public_url == "http://127.0.0.1:8000"


def test_login_failure_does_not_leak_the_password(sink, newsletter, caplog):
    # aiosmtpd offers no AUTH without TLS, so login is refused: the error names the user, not the password
    with Mailer(settings_for(sink.port, username="bot", password="hunter2-secret")) as mailer:
        results = list(mailer.send_many([digest(newsletter)]))
    assert isinstance(results[0].error, MailConnectionError) and "offers no login" in str(results[0].error)
    assert "hunter2-secret" not in str(results[0].error)
    assert "hunter2-secret" not in caplog.text


def test_sink_is_bounded_and_thread_safe():
    sink = SmtpSink(keep=5).start()
    try:
        def send(n):
            with Mailer(settings_for(sink.port, from_address="a@news.example")) as mailer:
                from newsdesk.mail.render import OutgoingMail
                for _ in range(n):
                    mailer.send(OutgoingMail("x@example.org", b"Subject: hi\r\n\r\nbody\r\n"))

        threads = [threading.Thread(target=send, args=(10,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sink.received_count == 30 and len(sink.messages()) == 5
    finally:
        sink.stop()


def test_send_concurrently_delivers_everything_once_over_several_connections(sink, newsletter):
    from newsdesk.mail.send import send_concurrently

    arts = [article(i, i, "NOS", i) for i in range(10)]
    prepared = prepare_digest(newsletter, select_digest_entries(arts, utc(2026, 1, 20), utc(2026, 1, 21)),
                              from_address="nieuws@news.example")
    sink.refuse_rcpt = lambda a: "550 5.1.1 unknown" if a == "u7@example.org" else None
    mails = (prepared.mail_for(f"u{i}@example.org", links_for(i, f"u{i}@example.org")) for i in range(40))
    results = list(send_concurrently(settings_for(sink.port), mails, connections=3))
    assert sorted(r.recipient for r in results) == sorted(f"u{i}@example.org" for i in range(40))
    assert [r.recipient for r in results if not r.ok] == ["u7@example.org"]
    assert sink.received_count == 39


def test_send_concurrently_passes_on_a_failing_source(sink):
    from newsdesk.mail.send import send_concurrently

    def broken():
        from newsdesk.mail.render import OutgoingMail

        yield OutgoingMail("a@example.org", b"Subject: x\r\n\r\nbody\r\n")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        list(send_concurrently(settings_for(sink.port), broken(), connections=2))
