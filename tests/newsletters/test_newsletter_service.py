"""The newsletter use cases over real SQLite and a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import socket
import time
from datetime import timedelta

import itsdangerous.timed
import pytest
from nlhelpers import T0, Clock, World, link_in, mails_to, make_ctx, token_of

from newsdesk.errors import (
    InvalidAddressError,
    InvalidNewsletterError,
    InvalidTokenError,
    MailRejectedError,
    NotFoundError,
    RateLimitedError,
)
from newsdesk.mail.send import Mailer
from newsdesk.mail.sink import SmtpSink
from newsdesk.mail.tokens import make_token
from newsdesk.models import Newsletter, SubscriptionStatus, TopicKind
from newsdesk.services import newsletters as nl
from newsdesk.storage.base import Storage

READER = "lezer@example.org"


def greenland(store: Storage, **changes: object) -> Newsletter:
    values: dict[str, object] = dict(name="De Dagkrant Groenland",
                                     tagline="Volg de laatste ontwikkelingen rond Groenland op de voet",
                                     topic_kind="search", topic="Groenland", language="nl", cadence="daily",
                                     hour=7, timezone="Europe/Amsterdam", now=T0)
    values.update(changes)
    return nl.define_newsletter(store, **values)  # type: ignore[arg-type]


def subscribe_and_confirm(ctx: nl.NewsletterContext, sink: SmtpSink, newsletter: Newsletter, address: str,
                          client: str = "198.51.100.1") -> None:
    result = nl.sign_up(ctx, newsletter.id, address, client)
    assert result.mailed
    confirm = link_in(mails_to(sink, address)[-1], "/newsletters/confirm/")
    assert nl.confirm(ctx, token_of(confirm)).subscription.status is SubscriptionStatus.ACTIVE


def activate(store: Storage, newsletter: Newsletter, *addresses: str) -> None:
    for address in addresses:
        store.activate_subscription(newsletter.id, address, T0)


def digests(sink: SmtpSink) -> list[str]:
    """Recipients of the digests the sink received, in order."""
    return [r for m in sink.messages() if m.message()["Subject"] and "Bevestig" not in m.message()["Subject"]
            for r in m.recipients]


# -- defining ---------------------------------------------------------------------------------------


def test_define_newsletter_checks_its_topic_and_schedule(store: Storage, world: World) -> None:
    n = nl.define_newsletter(store, name="NRC Amerika", tagline="Volg de VS", topic_kind=TopicKind.SOURCE,
                             topic=str(world.nrc.id), cadence="weekly", weekday=4, hour=18, timezone="America/New_York")
    assert store.get_newsletter(n.id).topic == str(world.nrc.id)
    bad = [
        dict(topic_kind="source", topic="999"),             # unknown source
        dict(topic_kind="source", topic="nrc"),             # not an id
        dict(topic_kind="search", topic="  !!! ??? "),      # no words
        dict(topic_kind="search", topic="x" * 500),
        dict(topic_kind="story", topic="1"),                # unknown kind
        dict(timezone="Mars/Olympus"),
        dict(hour=24),
        dict(weekday=7),
        dict(cadence="hourly"),
        dict(language="fr"),
        dict(name="   "),
        dict(name="x" * 500),
    ]
    for changes in bad:
        with pytest.raises(InvalidNewsletterError):
            greenland(store, **changes)
    assert len(store.list_newsletters()) == 1
    nl.remove_newsletter(store, n.id)
    with pytest.raises(NotFoundError):
        nl.remove_newsletter(store, n.id)


def test_newsletters_for_article_follow_source_and_search(store: Storage, world: World) -> None:
    search = greenland(store)
    source = greenland(store, name="NRC", topic_kind="source", topic=str(world.nrc.id))
    by_id = lambda key: [n.id for n in nl.newsletters_for_article(store, store.get_article(world.ids[key]))]  # noqa: E731
    assert by_id("greenland_nrc") == [search.id, source.id]
    assert by_id("greenland_dagkrant") == [search.id]
    assert by_id("davos") == [source.id]


# -- sign-up, confirm, unsubscribe ------------------------------------------------------------------


def test_double_opt_in_mail_and_nothing_before_confirmation(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                           store: Storage, world: World, clock: Clock) -> None:
    n = greenland(store)
    result = nl.sign_up(ctx, n.id, "  Lezer@Example.ORG ", "198.51.100.1")
    assert result.mailed and result.address == "Lezer@example.org"
    [mail] = mails_to(sink, "Lezer@example.org")
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "Bevestig je aanmelding voor De Dagkrant Groenland"
    link = link_in(mail, "/newsletters/confirm/")
    assert link.startswith("http://reader.example/newsletters/confirm/")
    assert link in mail.get_body(preferencelist=("html",)).get_content()
    # pending: the due digest goes to nobody
    clock.advance(hours=2)
    report = nl.send_due_digests(ctx)
    assert report.newsletters[0].status == "sent" and report.newsletters[0].recipients == 0
    assert len(sink.messages()) == 1
    page = nl.read_confirm_link(ctx, token_of(link))  # looking does not confirm
    assert not page.done and store.get_subscription(page.subscription.id).status is SubscriptionStatus.PENDING
    assert not nl.confirm(ctx, token_of(link)).done
    assert nl.confirm(ctx, token_of(link)).done  # a second click: already done, no error


def test_unsubscribe_is_immediate_and_kills_old_confirm_links(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                              store: Storage, world: World) -> None:
    n = greenland(store)
    nl.sign_up(ctx, n.id, READER, "198.51.100.1")
    confirm_token = token_of(link_in(mails_to(sink, READER)[0], "/newsletters/confirm/"))
    nl.confirm(ctx, confirm_token)
    sub = store.find_subscription(n.id, READER)
    assert sub is not None
    unsubscribe_token = make_token(ctx.secret, "unsubscribe", sub.id, sub.address, sub.token_version)
    assert not nl.read_unsubscribe_link(ctx, unsubscribe_token).done
    assert nl.unsubscribe(ctx, unsubscribe_token).subscription.status is SubscriptionStatus.UNSUBSCRIBED
    assert nl.unsubscribe(ctx, unsubscribe_token).done  # replayed: harmless
    with pytest.raises(InvalidTokenError):
        nl.confirm(ctx, confirm_token)  # replayed confirm link after the unsubscribe
    assert store.find_subscription(n.id, READER).status is SubscriptionStatus.UNSUBSCRIBED  # type: ignore[union-attr]


def test_forged_expired_and_wrong_purpose_tokens(ctx: nl.NewsletterContext, store: Storage, world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    n = greenland(store)
    sub = store.subscribe_pending(n.id, READER, T0)
    good = make_token(ctx.secret, "confirm", sub.id, sub.address, 0)
    forged = [good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
              make_token("another-secret", "confirm", sub.id, sub.address, 0),
              make_token(ctx.secret, "confirm", sub.id + 1, sub.address, 0),
              make_token(ctx.secret, "confirm", sub.id, "someone@else.example", 0),
              make_token(ctx.secret, "unsubscribe", sub.id, sub.address, 0),  # wrong purpose
              "", "x" * 5000, "../../etc/passwd"]
    for token in forged:
        with pytest.raises(InvalidTokenError):
            nl.confirm(ctx, token)
    real_time = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 3 * 86400)
    old = make_token(ctx.secret, "confirm", sub.id, sub.address, 0)
    monkeypatch.undo()
    with pytest.raises(InvalidTokenError, match="expired"):
        nl.confirm(ctx, old)
    assert store.get_subscription(sub.id).status is SubscriptionStatus.PENDING
    assert nl.confirm(ctx, good).subscription.status is SubscriptionStatus.ACTIVE


@pytest.mark.parametrize("address", [
    "lezer@example.org\r\nBcc: victim@example.net",
    "lezer@example.org\nSubject: hi",
    "x" * 10_000 + "@example.org",
    "lezer@" + "a" * 10_000 + ".org",
    "lezer\u202e@example.org",                 # bidi override
    "le\u200bzer@example.org",                  # zero-width space
    "lezer@p\u0430ypal.com",                    # Cyrillic a in a Latin domain
    "lezer@localhost",
    "\"a b\"@example.org",
    "",
])
def test_hostile_addresses_are_refused_and_nothing_is_mailed(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                            store: Storage, world: World, address: str) -> None:
    n = greenland(store)
    with pytest.raises(InvalidAddressError):
        nl.sign_up(ctx, n.id, address, "198.51.100.1")
    assert sink.messages() == [] and store.count_subscriptions(n.id) == {}


def test_repeated_sign_ups_do_not_mail_bomb_an_address(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                       store: Storage, world: World, clock: Clock) -> None:
    first, second = greenland(store), greenland(store, name="Ander")
    nl.sign_up(ctx, first.id, READER, "198.51.100.1")
    for i, newsletter in enumerate([first, second, first]):
        with pytest.raises(RateLimitedError):
            nl.sign_up(ctx, newsletter.id, READER, f"203.0.113.{i}")  # other clients, same victim
    assert len(mails_to(sink, READER)) == 1
    for _ in range(2):
        clock.advance(minutes=11)
        nl.sign_up(ctx, second.id, READER, "198.51.100.1")
    clock.advance(minutes=11)
    with pytest.raises(RateLimitedError) as info:
        nl.sign_up(ctx, second.id, READER, "198.51.100.1")  # three a day at most
    assert info.value.retry_after == 86400
    assert len(mails_to(sink, READER)) == 3


def test_sign_ups_are_limited_per_client(ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage,
                                         world: World, clock: Clock) -> None:
    n = greenland(store)
    for i in range(nl.CLIENT_SIGNUPS_PER_HOUR):
        nl.sign_up(ctx, n.id, f"lezer{i}@example.org", "198.51.100.9")
    with pytest.raises(RateLimitedError):
        nl.sign_up(ctx, n.id, "nog-een@example.org", "198.51.100.9")
    assert len(sink.messages()) == nl.CLIENT_SIGNUPS_PER_HOUR
    nl.sign_up(ctx, n.id, "nog-een@example.org", "198.51.100.10")  # another client may
    clock.advance(minutes=61)
    nl.sign_up(ctx, n.id, "later@example.org", "198.51.100.9")


def test_already_subscribed_gets_no_mail_and_unknown_newsletter(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                                store: Storage, world: World) -> None:
    n = greenland(store)
    activate(store, n, READER)
    assert not nl.sign_up(ctx, n.id, READER, "198.51.100.1").mailed
    with pytest.raises(NotFoundError):
        nl.sign_up(ctx, n.id + 99, READER, "198.51.100.1")
    assert sink.messages() == []


def test_refused_confirmation_mail_is_an_error_and_the_sign_up_stays_pending(
        ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage, world: World) -> None:
    n = greenland(store)
    sink.refuse_rcpt = lambda address: "550 5.1.1 no such mailbox"
    with pytest.raises(MailRejectedError):
        nl.sign_up(ctx, n.id, READER, "198.51.100.1")
    assert sink.messages() == []
    assert store.find_subscription(n.id, READER).status is SubscriptionStatus.PENDING  # type: ignore[union-attr]


def test_manage_lists_and_changes_subscriptions(ctx: nl.NewsletterContext, store: Storage, world: World) -> None:
    first, second = greenland(store), greenland(store, name="Davos")
    activate(store, first, READER)
    sub = store.find_subscription(first.id, READER)
    assert sub is not None
    token = make_token(ctx.secret, "manage", sub.id, sub.address, sub.token_version)
    view = nl.manage(ctx, token)
    assert view.address == READER
    assert [(i.newsletter.id, i.status) for i in view.items] == [(first.id, SubscriptionStatus.ACTIVE),
                                                                 (second.id, None)]
    view = nl.manage_change(ctx, token, second.id, subscribe=True)
    view = nl.manage_change(ctx, token, first.id, subscribe=False)
    assert [i.status for i in view.items] == [SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.ACTIVE]
    with pytest.raises(NotFoundError):
        nl.manage_change(ctx, token, 999, subscribe=True)
    with pytest.raises(InvalidTokenError):
        nl.manage(ctx, make_token(ctx.secret, "confirm", sub.id, sub.address, sub.token_version))


# -- digests ------------------------------------------------------------------------------------


def test_digest_content_headers_and_exactly_once(ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage,
                                                 world: World, clock: Clock) -> None:
    n = greenland(store)
    subscribe_and_confirm(ctx, sink, n, READER)
    nl.sign_up(ctx, n.id, "wacht@example.org", "198.51.100.2")  # stays pending
    sink.clear()
    first = nl.send_due_digests(ctx).newsletters[0]
    assert (first.status, first.period_key) == ("empty", "2026-01-19")  # nothing new in that period
    clock.advance(hours=2)  # past 07:00 Amsterdam
    report = nl.send_due_digests(ctx)
    [r] = report.newsletters
    assert (r.status, r.period_key, r.entries, r.recipients, r.sent) == ("sent", "2026-01-20", 2, 1, 1)
    [mail] = [m.message() for m in sink.messages()]
    assert mail["To"] == READER and mail["Subject"] == "De Dagkrant Groenland — 20 januari 2026"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://reader.example/newsletters/unsubscribe/")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    # one entry per story, newest first, outlets named, links back to the reader and the originals
    assert text.index("Rutte en Trump over Groenland") < text.index("Trump belt met Rutte over Groenland")
    for part in (text, html):
        assert "De Dagkrant" in part and "NRC" in part
        assert f"http://reader.example/articles/{world.ids['greenland_nrc']}" in part
        assert "https://www.nrc.nl/groenland" in part and "https://dagkrant.example/groenland-2" in part
        assert "Davos" not in part and "Oud nieuws" not in part
    assert "<img" not in html.lower() and "<script" not in html.lower()
    assert "/newsletters/manage/" in text
    # the unsubscribe link works
    assert nl.unsubscribe(ctx, token_of(unsubscribe)).subscription.address == READER
    # again: nothing is due, nothing is sent twice
    assert nl.send_due_digests(ctx).newsletters[0].status == "not_due"
    assert len(sink.messages()) == 1


def test_dry_run_sends_and_records_nothing(ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage,
                                           world: World, clock: Clock) -> None:
    n = greenland(store)
    activate(store, n, READER, "tweede@example.org")
    clock.advance(hours=2)
    [r] = nl.send_due_digests(ctx, dry_run=True).newsletters
    assert (r.status, r.entries, r.recipients) == ("would_send", 2, 2)
    assert sink.messages() == [] and store.open_digest_run(n.id) is None
    assert nl.send_due_digests(ctx).sent == 2


class CrashingMailer(Mailer):
    """Dies (like a killed process) just before handing the third mail to the server."""

    handed = 0

    def _attempt(self, mail):  # type: ignore[no-untyped-def]
        if CrashingMailer.handed == 2:
            raise KeyboardInterrupt("crash")
        CrashingMailer.handed += 1
        return super()._attempt(mail)


def test_a_crash_mid_batch_is_resumed_without_loss_or_duplicates(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                                 store: Storage, world: World, clock: Clock) -> None:
    n = greenland(store)
    readers = [f"lezer{i}@example.org" for i in range(5)]
    activate(store, n, *readers)
    clock.advance(hours=2)
    crashing = dataclasses.replace(ctx, mailer_factory=CrashingMailer)
    with pytest.raises(KeyboardInterrupt):
        nl.send_due_digests(crashing)
    assert sorted(digests(sink)) == readers[:2]
    run = store.open_digest_run(n.id)
    assert run is not None and run.lock_owner is None
    states = {s.state for s in store.digest_sends_for(n.id, run.period.key).values()}
    assert states == {"sent", "sending"}
    clock.advance(hours=1)  # a later key would be due by now; the open run is resumed instead
    [r] = nl.send_due_digests(ctx).newsletters
    assert (r.status, r.period_key, r.sent, r.already) == ("sent", "2026-01-20", 3, 2)
    assert sorted(digests(sink)) == readers  # each exactly once


def test_temporary_failure_is_retried_with_backoff_and_reported(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                                store: Storage, world: World, clock: Clock) -> None:
    n = greenland(store)
    activate(store, n, "a@example.org", "b@example.org", "c@example.org")
    clock.advance(hours=2)
    sink.refuse_data = lambda mail: "451 4.3.0 try again later" if "b@example.org" in mail.recipients else None
    sink.refuse_rcpt = lambda address: "550 5.1.1 unknown user" if address == "c@example.org" else None
    [r] = nl.send_due_digests(ctx).newsletters
    assert (r.status, r.sent, r.failed, r.rejected) == ("retry", 1, 1, 1)
    assert r.retry_at == clock.now + nl.RUN_BACKOFF and "451" in (r.error or "")
    assert nl.send_due_digests(ctx).newsletters[0].status == "waiting"  # backoff respected
    sink.refuse_data = None
    clock.advance(minutes=2)
    [r] = nl.send_due_digests(ctx).newsletters
    assert (r.status, r.sent, r.already) == ("sent", 1, 2)
    assert sorted(digests(sink)) == ["a@example.org", "b@example.org"]  # c refused for good, not retried
    assert store.digest_sends_for(n.id, "2026-01-20")[store.find_subscription(n.id, "c@example.org").id].state \
        == "rejected"  # type: ignore[union-attr]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_gives_up_after_bounded_retries(store: Storage, sink: SmtpSink, world: World,
                                                          clock: Clock) -> None:
    n = greenland(store)
    activate(store, n, READER)
    clock.advance(hours=2)
    down = make_ctx(store, closed_port(), clock)
    for _ in range(1, nl.MAX_RUN_ATTEMPTS):
        [r] = nl.send_due_digests(down).newsletters
        assert r.status == "retry" and "connect" in (r.error or "")
        clock.now = r.retry_at  # type: ignore[assignment]
    [r] = nl.send_due_digests(down).newsletters
    assert r.status == "gave_up" and "gave up" in (r.error or "")
    assert store.open_digest_run(n.id) is None
    assert store.list_digest_runs(n.id)[0].last_error == r.error


@pytest.mark.parametrize("mode", ["drop_mid_data", "stall_mid_data", "stall_greeting"])
def test_a_server_that_drops_or_stalls_then_recovers(store: Storage, sink: SmtpSink, world: World, clock: Clock,
                                                     scripted, mode: str) -> None:  # type: ignore[no-untyped-def]
    n = greenland(store)
    activate(store, n, "a@example.org", "b@example.org")
    clock.advance(hours=2)
    bad = scripted(mode)
    started = time.monotonic()
    [r] = nl.send_due_digests(make_ctx(store, bad.port, clock, timeout=0.5)).newsletters
    assert time.monotonic() - started < 20
    assert r.status == "retry" and r.sent == 0 and r.failed == 2
    clock.advance(minutes=5)
    [r] = nl.send_due_digests(make_ctx(store, sink.port, clock)).newsletters
    assert (r.status, r.sent) == ("sent", 2)
    assert sorted(digests(sink)) == ["a@example.org", "b@example.org"]


def test_a_busy_run_is_left_to_its_sender_and_a_dead_senders_lock_is_taken(
        ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage, world: World, clock: Clock) -> None:
    n = greenland(store)
    activate(store, n, READER)
    clock.advance(hours=2)
    period_run = store.start_digest_run(n.id, nl.digest_period(n.cadence, n.hour, n.weekday, n.timezone,  # type: ignore[attr-defined]
                                                                  None, clock.now), clock.now)
    host = socket.gethostname()
    # a live sender elsewhere (pid 1 exists) holds it
    assert store.lock_digest_run(n.id, period_run.period.key, f"{host}|1|x", clock.now + timedelta(minutes=10),
                                 clock.now)
    assert nl.send_due_digests(ctx).newsletters[0].status == "busy"
    assert sink.messages() == []
    # a sender that died (no such pid) still "holds" it: taken over at once
    store.update_digest_run(n.id, period_run.period.key, release_lock=True)
    assert store.lock_digest_run(n.id, period_run.period.key, f"{host}|{2**22 + 12345}|x",
                                 clock.now + timedelta(minutes=10), clock.now)
    assert nl.send_due_digests(ctx).newsletters[0].status == "sent"
    assert digests(sink) == [READER]


def test_sample_digest_only_to_an_active_subscriber(ctx: nl.NewsletterContext, sink: SmtpSink, store: Storage,
                                                    world: World) -> None:
    n = greenland(store)
    store.subscribe_pending(n.id, READER, T0)
    with pytest.raises(NotFoundError):
        nl.send_sample_digest(ctx, n.id, READER)
    assert sink.messages() == []
    activate(store, n, READER)
    assert nl.send_sample_digest(ctx, n.id, READER)
    text = mails_to(sink, READER)[0].get_body(preferencelist=("plain",)).get_content()
    assert "Oud nieuws over Groenland" in text and "Trump belt met Rutte" in text


def test_a_digest_shows_one_entry_per_story_with_its_outlets(ctx: nl.NewsletterContext, sink: SmtpSink,
                                                              store: Storage, world: World, clock: Clock) -> None:
    from newsdesk.services import stories

    first = stories.assign_article(store, world.ids["greenland_nrc"])
    second = stories.assign_article(store, world.ids["greenland_dagkrant"])
    if second.story_id != first.story_id:
        stories.merge_stories(store, second.story_id, first.story_id)
    n = greenland(store)
    activate(store, n, READER)
    clock.advance(hours=2)
    [r] = nl.send_due_digests(ctx).newsletters
    assert (r.status, r.entries) == ("sent", 1)  # two outlets, one story
    [mail] = [m.message() for m in sink.messages()]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "De Dagkrant" in text and "NRC" in text
