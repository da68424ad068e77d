"""The newsletter storage methods (storage/newsletters.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nlhelpers import T0, add_article

from newsdesk.errors import NotFoundError
from newsdesk.models import Cadence, DigestPeriod, Newsletter, NewSource, SubscriptionStatus, TopicKind
from newsdesk.storage.sql import SqlStorage

ADDRESS = "lezer@example.org"


def define(storage: SqlStorage, kind: TopicKind = TopicKind.SEARCH, topic: str = "Groenland") -> Newsletter:
    return storage.add_newsletter(Newsletter(0, "De Dagkrant Groenland", "Volg Groenland", kind, topic,
                                             language="nl", cadence=Cadence.WEEKLY, hour=8, weekday=4,
                                             timezone="Europe/Amsterdam"), T0)


def test_newsletter_round_trip_and_delete(backend_storage: SqlStorage) -> None:
    n = define(backend_storage)
    assert n.id > 0 and n.created_at == T0
    got = backend_storage.get_newsletter(n.id)
    assert (got.name, got.topic_kind, got.cadence, got.hour, got.weekday) == (
        "De Dagkrant Groenland", TopicKind.SEARCH, Cadence.WEEKLY, 8, 4)
    assert backend_storage.list_newsletters() == [got]
    sub = backend_storage.subscribe_pending(n.id, ADDRESS, T0)
    period = DigestPeriod(T0 - timedelta(days=7), T0, "2026-W04")
    backend_storage.start_digest_run(n.id, period, T0)
    backend_storage.mark_digest_send(sub.id, n.id, period.key, "sending", T0)
    backend_storage.delete_newsletter(n.id)
    with pytest.raises(NotFoundError):
        backend_storage.get_newsletter(n.id)
    with pytest.raises(NotFoundError):
        backend_storage.get_subscription(sub.id)
    assert backend_storage.digest_sends_for(n.id, period.key) == {}
    with pytest.raises(NotFoundError):
        backend_storage.delete_newsletter(n.id)


def test_subscription_lifecycle_and_token_versions(backend_storage: SqlStorage) -> None:
    n = define(backend_storage)
    pending = backend_storage.subscribe_pending(n.id, ADDRESS, T0)
    assert pending.status is SubscriptionStatus.PENDING and pending.token_version == 0
    # a repeated sign-up changes nothing
    assert backend_storage.subscribe_pending(n.id, ADDRESS, T0 + timedelta(minutes=1)) == pending
    assert not backend_storage.confirm_subscription(pending.id, 1, T0)  # wrong version
    assert backend_storage.confirm_subscription(pending.id, 0, T0 + timedelta(minutes=2))
    active = backend_storage.get_subscription(pending.id)
    assert active.status is SubscriptionStatus.ACTIVE and active.confirmed_at == T0 + timedelta(minutes=2)
    assert not backend_storage.confirm_subscription(pending.id, 0, T0)  # only pending ones confirm
    gone = backend_storage.unsubscribe(pending.id, T0 + timedelta(minutes=3))
    assert gone.status is SubscriptionStatus.UNSUBSCRIBED and gone.token_version == 1
    assert backend_storage.unsubscribe(pending.id, T0 + timedelta(minutes=4)) == gone  # idempotent
    again = backend_storage.subscribe_pending(n.id, ADDRESS, T0 + timedelta(minutes=5))
    assert again.status is SubscriptionStatus.PENDING and again.token_version == 2 and again.id == pending.id
    assert not backend_storage.confirm_subscription(pending.id, 0, T0)  # the old confirm link is dead
    active = backend_storage.activate_subscription(n.id, ADDRESS, T0 + timedelta(minutes=6))
    assert active.status is SubscriptionStatus.ACTIVE
    assert backend_storage.find_subscription(n.id, ADDRESS) == active
    assert backend_storage.find_subscription(n.id, "other@example.org") is None
    assert backend_storage.subscriptions_of(ADDRESS) == [active]
    assert backend_storage.count_subscriptions(n.id) == {"active": 1}
    assert backend_storage.active_subscriptions(n.id, confirmed_before=T0 + timedelta(minutes=6)) == [active]
    assert backend_storage.active_subscriptions(n.id, confirmed_before=T0) == []
    with pytest.raises(NotFoundError):
        backend_storage.subscribe_pending(n.id + 100, ADDRESS, T0)
    with pytest.raises(NotFoundError):
        backend_storage.unsubscribe(active.id + 100, T0)


def test_signup_events_count_by_address_and_client_and_prune(backend_storage: SqlStorage) -> None:
    for minute in range(3):
        backend_storage.log_signup_event("signup", None, "198.51.100.7", T0 + timedelta(minutes=minute))
    backend_storage.log_signup_event("confirm_mail", ADDRESS, "198.51.100.7", T0)
    assert backend_storage.count_signup_events("signup", T0, client="198.51.100.7") == 3
    assert backend_storage.count_signup_events("signup", T0 + timedelta(minutes=1), client="198.51.100.7") == 2
    assert backend_storage.count_signup_events("signup", T0, client="203.0.113.1") == 0
    assert backend_storage.count_signup_events("confirm_mail", T0, address=ADDRESS) == 1
    backend_storage.log_signup_event("signup", None, "x", T0 + timedelta(days=3), prune_before=T0 + timedelta(days=1))
    assert backend_storage.count_signup_events("signup", T0) == 1


def test_topic_articles_by_source_and_search_within_fetch_times(backend_storage: SqlStorage) -> None:
    nrc = backend_storage.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC",
                                               site_url="https://www.nrc.nl/"), T0)
    other = backend_storage.add_source(NewSource(url="https://x.example/feed", title="X",
                                                 site_url="https://x.example/"), T0)
    a = add_article(backend_storage, nrc, "a", "Trump en Rutte over Groenland", T0 + timedelta(hours=1))
    b = add_article(backend_storage, other, "b", "Groenlandse ijskap smelt", T0 + timedelta(hours=2),
                    text="Groenland warmt op.")
    c = add_article(backend_storage, nrc, "c", "Davos", T0 + timedelta(hours=3))
    add_article(backend_storage, nrc, "d", "Groenland later", T0 + timedelta(days=2))
    until = T0 + timedelta(days=1)
    by_search = backend_storage.topic_articles(TopicKind.SEARCH, "Groenland", T0, until)
    assert {i.id for i in by_search} == {a, b}
    assert by_search[0].source_title in ("NRC", "X")
    by_source = backend_storage.topic_articles(TopicKind.SOURCE, str(nrc.id), T0, until)
    assert [i.id for i in by_source] == [c, a]  # newest first
    assert backend_storage.topic_articles(TopicKind.SOURCE, "not-a-number", T0, until) == []
    assert backend_storage.topic_articles(TopicKind.SEARCH, "  ' OR 1=1 --", T0, until) == []
    assert backend_storage.article_in_topic(a, TopicKind.SEARCH, "groenland")
    assert not backend_storage.article_in_topic(c, TopicKind.SEARCH, "groenland")
    assert backend_storage.article_in_topic(c, TopicKind.SOURCE, str(nrc.id))
    assert not backend_storage.article_in_topic(b, TopicKind.SOURCE, str(nrc.id))


def test_digest_run_records_locks_and_sends(backend_storage: SqlStorage) -> None:
    n = define(backend_storage)
    sub = backend_storage.subscribe_pending(n.id, ADDRESS, T0)
    period = DigestPeriod(T0 - timedelta(days=1), T0, "2026-01-20")
    assert backend_storage.open_digest_run(n.id) is None and backend_storage.last_digest_end(n.id) is None
    run = backend_storage.start_digest_run(n.id, period, T0)
    assert run.state == "open" and run.period == period
    assert backend_storage.start_digest_run(n.id, period, T0 + timedelta(minutes=1)) == run  # same key: same run
    assert backend_storage.open_digest_run(n.id) == run
    # the lock: one owner at a time, until it expires, or it is taken from a dead owner
    until = T0 + timedelta(minutes=15)
    assert backend_storage.lock_digest_run(n.id, period.key, "a", until, T0)
    assert backend_storage.lock_digest_run(n.id, period.key, "a", until, T0)  # ours: renewed
    assert not backend_storage.lock_digest_run(n.id, period.key, "b", until, T0)
    assert backend_storage.lock_digest_run(n.id, period.key, "b", until, T0, steal_from="a")
    assert backend_storage.lock_digest_run(n.id, period.key, "c", until + timedelta(minutes=1),
                                           until + timedelta(seconds=1))  # expired
    backend_storage.update_digest_run(n.id, period.key, state="done", release_lock=True, owner="b")  # not b's
    assert backend_storage.open_digest_run(n.id) is not None
    # the send rows: upserted, `sending` counts attempts
    backend_storage.mark_digest_send(sub.id, n.id, period.key, "sending", T0)
    backend_storage.mark_digest_send(sub.id, n.id, period.key, "failed", T0, error="451 later")
    backend_storage.mark_digest_send(sub.id, n.id, period.key, "sending", T0)
    backend_storage.mark_digest_send(sub.id, n.id, period.key, "sent", T0, message_id="<m@x>")
    sends = backend_storage.digest_sends_for(n.id, period.key)
    assert sends[sub.id].state == "sent" and sends[sub.id].attempts == 2 and sends[sub.id].message_id == "<m@x>"
    assert sends[sub.id].error is None
    backend_storage.update_digest_run(n.id, period.key, state="done", finished_at=T0, release_lock=True, owner="c")
    assert backend_storage.open_digest_run(n.id) is None
    assert backend_storage.last_digest_end(n.id) == T0
    runs = backend_storage.list_digest_runs(n.id)
    assert [r.period.key for r in runs] == ["2026-01-20"] and runs[0].lock_owner is None
