"""Newsletter storage: newsletters, subscriptions, the sign-up log, and the digest send records.

A mixin of SqlStorage (same plumbing: self._read(), self._write(), self._backend), with its own tables
on schema.metadata, created by migration 0003_newsletters.

Exactly-once sending rests on two tables:

- `digest_runs`: one row per (newsletter, period key). A run is `open` from the moment its period is
  chosen until every due subscriber's digest is settled, then `done`. A restarted sender resumes the
  open run (same period, same key) instead of computing a new one. The row also holds the run's lock
  (owner and expiry), so two senders never work one run at once, and its retry schedule.
- `digest_sends`: one row per (subscription, period key), unique. It is written as `sending` BEFORE
  the mail goes to the SMTP server and set to `sent` right after the server accepts it. A row left
  in `sending` by a crash is resent when the run resumes (see services.newsletters for the one
  duplicate window this leaves, which SMTP itself cannot close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from ..errors import NotFoundError
from ..models import (
    ArticleListItem,
    Cadence,
    DigestPeriod,
    Newsletter,
    Subscription,
    SubscriptionStatus,
    TopicKind,
)
from ..stemming import words
from .schema import UTCDateTime, articles, metadata, sources

if TYPE_CHECKING:
    from .sql import _Backend

__all__ = [
    "DigestRun",
    "DigestSend",
    "NewslettersMixin",
    "NewslettersStorage",
    "digest_runs",
    "digest_sends",
    "newsletter_signups",
    "newsletters",
    "subscriptions",
]

#: most articles one topic query returns (a digest shows at most mail.digest.MAX_ENTRIES stories)
MAX_TOPIC_ARTICLES = 500

newsletters = sa.Table(
    "newsletters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("tagline", sa.Text, nullable=False),
    sa.Column("topic_kind", sa.String(16), nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("cadence", sa.String(16), nullable=False),
    sa.Column("hour", sa.Integer, nullable=False),
    sa.Column("weekday", sa.Integer, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("newsletter_id", sa.Integer, sa.ForeignKey("newsletters.id", ondelete="CASCADE"), nullable=False),
    # normalized (mail.addresses.normalize_address): ASCII, at most 254 characters
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("token_version", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("confirmed_at", UTCDateTime),
    sa.Column("unsubscribed_at", UTCDateTime),
    sa.UniqueConstraint("newsletter_id", "address"),
    # the manage page lists an address's subscriptions
    sa.Index(None, "address"),
)

# Every sign-up attempt and every confirmation mail, for the rate limits; pruned after two days.
newsletter_signups = sa.Table(
    "newsletter_signups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    #: "signup" (a form post) or "confirm_mail" (a confirmation mail sent)
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("address", sa.String(254)),
    sa.Column("client", sa.String(64)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index(None, "kind", "address", "at"),
    sa.Index(None, "kind", "client", "at"),
    sa.Index(None, "at"),
)

digest_runs = sa.Table(
    "digest_runs",
    metadata,
    sa.Column("newsletter_id", sa.Integer, sa.ForeignKey("newsletters.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("period_key", sa.String(32), primary_key=True),
    sa.Column("period_start", UTCDateTime, nullable=False),
    sa.Column("period_end", UTCDateTime, nullable=False),
    #: "open" or "done"
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    #: who works on the run now ("host:pid:random"), until when
    sa.Column("lock_owner", sa.String(200)),
    sa.Column("lock_until", UTCDateTime),
    #: passes that left failures behind; drives the backoff
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Index(None, "newsletter_id", "state"),
)

digest_sends = sa.Table(
    "digest_sends",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("newsletter_id", sa.Integer, nullable=False),
    sa.Column("period_key", sa.String(32), nullable=False),
    #: "sending" (written before SMTP), "sent" (accepted), "failed" (temporary, retried), "rejected" (5xx)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("message_id", sa.String(255)),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # the exactly-once key
    sa.UniqueConstraint("subscription_id", "period_key"),
    sa.Index(None, "newsletter_id", "period_key"),
)


@dataclass(frozen=True)
class DigestRun:
    """One newsletter's digest for one period, as the sender records it."""

    newsletter_id: int
    period: DigestPeriod
    #: "open" or "done"
    state: str
    started_at: datetime
    finished_at: datetime | None = None
    lock_owner: str | None = None
    lock_until: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class DigestSend:
    subscription_id: int
    period_key: str
    state: str
    attempts: int
    error: str | None = None
    message_id: str | None = None


class NewslettersStorage(Protocol):
    # -- newsletters
    def add_newsletter(self, newsletter: Newsletter, now: datetime) -> Newsletter:
        """Store a newsletter; its id is ignored and the stored one returned."""

    def get_newsletter(self, newsletter_id: int) -> Newsletter:
        """Raises NotFoundError."""

    def list_newsletters(self) -> list[Newsletter]: ...

    def delete_newsletter(self, newsletter_id: int) -> None:
        """Remove a newsletter with its subscriptions and digest records. Raises NotFoundError."""

    def count_subscriptions(self, newsletter_id: int) -> dict[str, int]:
        """Subscriptions per status."""

    # -- subscriptions
    def get_subscription(self, subscription_id: int) -> Subscription:
        """Raises NotFoundError."""

    def find_subscription(self, newsletter_id: int, address: str) -> Subscription | None: ...

    def subscriptions_of(self, address: str) -> list[Subscription]: ...

    def subscribe_pending(self, newsletter_id: int, address: str, now: datetime) -> Subscription:
        """A new subscription is pending; an unsubscribed one becomes pending again with a new token
        version; a pending or active one is returned unchanged."""

    def confirm_subscription(self, subscription_id: int, version: int, now: datetime) -> bool:
        """Pending with this token version -> active. False if it was not (any more)."""

    def activate_subscription(self, newsletter_id: int, address: str, now: datetime) -> Subscription:
        """Active at once, for an address that has proven it reads its mail (a manage link)."""

    def unsubscribe(self, subscription_id: int, now: datetime) -> Subscription:
        """Unsubscribed at once, bumping the token version. Idempotent. Raises NotFoundError."""

    def active_subscriptions(self, newsletter_id: int, confirmed_before: datetime) -> list[Subscription]: ...

    # -- rate limits
    def log_signup_event(self, kind: str, address: str | None, client: str | None, now: datetime,
                         prune_before: datetime | None = None) -> None: ...

    def count_signup_events(self, kind: str, since: datetime, *, address: str | None = None,
                            client: str | None = None) -> int: ...

    # -- topics
    def topic_articles(self, topic_kind: TopicKind, topic: str, fetched_since: datetime,
                       fetched_until: datetime, limit: int = MAX_TOPIC_ARTICLES) -> list[ArticleListItem]:
        """The topic's articles first stored in [fetched_since, fetched_until), newest first."""

    def article_in_topic(self, article_id: int, topic_kind: TopicKind, topic: str) -> bool: ...

    # -- digest runs and sends
    def open_digest_run(self, newsletter_id: int) -> DigestRun | None: ...

    def last_digest_end(self, newsletter_id: int) -> datetime | None:
        """The end of the latest finished period, or None if none was ever finished."""

    def start_digest_run(self, newsletter_id: int, period: DigestPeriod, now: datetime) -> DigestRun:
        """Record a run as open (or return the one recorded for this key already)."""

    def lock_digest_run(self, newsletter_id: int, key: str, owner: str, until: datetime, now: datetime,
                        *, steal_from: str | None = None) -> bool:
        """Take the run's lock if it is free, expired, ours, or held by `steal_from` (a dead process)."""

    def update_digest_run(self, newsletter_id: int, key: str, *, state: str | None = None,
                          attempts: int | None = None, next_attempt_at: datetime | None = None,
                          last_error: str | None = None, finished_at: datetime | None = None,
                          release_lock: bool = False, owner: str | None = None) -> None:
        """Change a run; with `owner`, only while that sender holds its lock."""

    def list_digest_runs(self, newsletter_id: int, limit: int = 20) -> list[DigestRun]: ...

    def digest_sends_for(self, newsletter_id: int, key: str) -> dict[int, DigestSend]: ...

    def mark_digest_send(self, subscription_id: int, newsletter_id: int, key: str, state: str, now: datetime,
                         *, error: str | None = None, message_id: str | None = None) -> None:
        """Insert or update the (subscription, key) row; `sending` counts an attempt."""


def _to_newsletter(row: sa.Row[Any]) -> Newsletter:
    return Newsletter(
        id=row.id, name=row.name, tagline=row.tagline, topic_kind=TopicKind(row.topic_kind), topic=row.topic,
        language=row.language, cadence=Cadence(row.cadence), hour=row.hour, weekday=row.weekday,
        timezone=row.timezone, created_at=row.created_at,
    )


def _to_subscription(row: sa.Row[Any]) -> Subscription:
    return Subscription(
        id=row.id, newsletter_id=row.newsletter_id, address=row.address, status=SubscriptionStatus(row.status),
        created_at=row.created_at, token_version=row.token_version, confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
    )


def _to_run(row: sa.Row[Any]) -> DigestRun:
    return DigestRun(
        newsletter_id=row.newsletter_id,
        period=DigestPeriod(start=row.period_start, end=row.period_end, key=row.period_key),
        state=row.state, started_at=row.started_at, finished_at=row.finished_at, lock_owner=row.lock_owner,
        lock_until=row.lock_until, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )


_SOURCE_NAME = sa.func.coalesce(sa.func.nullif(sources.c.title, ""), sources.c.site_url, sources.c.url)
_LIST_COLUMNS = (
    articles.c.id, articles.c.source_id, _SOURCE_NAME.label("source_title"), articles.c.url, articles.c.title,
    articles.c.sort_at, articles.c.language, articles.c.image_url, articles.c.summary,
)
_FROM = articles.join(sources, sources.c.id == articles.c.source_id)


def _topic_select(backend: _Backend, base: sa.Select[Any], topic_kind: TopicKind,
                  topic: str) -> sa.Select[Any] | None:
    """`base` narrowed to the topic's articles; None for a topic that can match nothing."""
    if TopicKind(topic_kind) is TopicKind.SOURCE:
        if not topic.isdigit() or len(topic) > 18:
            return None
        return base.where(articles.c.source_id == int(topic))
    query_words = words(topic[:500])[:16]
    if not query_words:
        return None
    # every match (a digest's period bounds it), not search's newest-first candidates
    return base.where(articles.c.id.in_(backend.matches(query_words)))


class NewslettersMixin:
    """The NewslettersStorage methods of SqlStorage."""

    if TYPE_CHECKING:
        from contextlib import AbstractContextManager

        _backend: _Backend

        def _read(self) -> AbstractContextManager[sa.Connection]: ...
        def _write(self) -> AbstractContextManager[sa.Connection]: ...

    # -- newsletters ----------------------------------------------------------------------------

    def add_newsletter(self, newsletter: Newsletter, now: datetime) -> Newsletter:
        values = {
            "name": newsletter.name, "tagline": newsletter.tagline,
            "topic_kind": TopicKind(newsletter.topic_kind).value, "topic": newsletter.topic,
            "language": newsletter.language, "cadence": Cadence(newsletter.cadence).value,
            "hour": newsletter.hour, "weekday": newsletter.weekday, "timezone": newsletter.timezone,
            "created_at": now,
        }
        with self._write() as conn:
            new_id = conn.execute(sa.insert(newsletters).values(values).returning(newsletters.c.id)).scalar_one()
            row = conn.execute(sa.select(newsletters).where(newsletters.c.id == new_id)).one()
        return _to_newsletter(row)

    def get_newsletter(self, newsletter_id: int) -> Newsletter:
        with self._read() as conn:
            row = conn.execute(sa.select(newsletters).where(newsletters.c.id == newsletter_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no newsletter with id {newsletter_id}")
        return _to_newsletter(row)

    def list_newsletters(self) -> list[Newsletter]:
        with self._read() as conn:
            return [_to_newsletter(r) for r in conn.execute(sa.select(newsletters).order_by(newsletters.c.id))]

    def delete_newsletter(self, newsletter_id: int) -> None:
        with self._write() as conn:
            # explicit, not only ON DELETE CASCADE: digest_sends has no foreign key to newsletters
            conn.execute(sa.delete(digest_sends).where(digest_sends.c.newsletter_id == newsletter_id))
            conn.execute(sa.delete(digest_runs).where(digest_runs.c.newsletter_id == newsletter_id))
            conn.execute(sa.delete(subscriptions).where(subscriptions.c.newsletter_id == newsletter_id))
            deleted = conn.execute(sa.delete(newsletters).where(newsletters.c.id == newsletter_id)).rowcount
        if not deleted:
            raise NotFoundError(f"no newsletter with id {newsletter_id}")

    def count_subscriptions(self, newsletter_id: int) -> dict[str, int]:
        stmt = (sa.select(subscriptions.c.status, sa.func.count())
                .where(subscriptions.c.newsletter_id == newsletter_id).group_by(subscriptions.c.status))
        with self._read() as conn:
            return {str(status): int(n) for status, n in conn.execute(stmt)}

    # -- subscriptions --------------------------------------------------------------------------

    def get_subscription(self, subscription_id: int) -> Subscription:
        with self._read() as conn:
            row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no subscription with id {subscription_id}")
        return _to_subscription(row)

    def find_subscription(self, newsletter_id: int, address: str) -> Subscription | None:
        stmt = sa.select(subscriptions).where(subscriptions.c.newsletter_id == newsletter_id,
                                              subscriptions.c.address == address)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else _to_subscription(row)

    def subscriptions_of(self, address: str) -> list[Subscription]:
        stmt = sa.select(subscriptions).where(subscriptions.c.address == address).order_by(subscriptions.c.id)
        with self._read() as conn:
            return [_to_subscription(r) for r in conn.execute(stmt)]

    def _upsert_subscription(self, newsletter_id: int, address: str, now: datetime, *, activate: bool) -> Subscription:
        key = (subscriptions.c.newsletter_id == newsletter_id, subscriptions.c.address == address)
        with self._write() as conn:
            exists = conn.execute(sa.select(newsletters.c.id).where(newsletters.c.id == newsletter_id)).first()
            if exists is None:
                raise NotFoundError(f"no newsletter with id {newsletter_id}")
            insert = self._backend.insert(subscriptions).values(
                newsletter_id=newsletter_id, address=address,
                status=(SubscriptionStatus.ACTIVE if activate else SubscriptionStatus.PENDING).value,
                token_version=0, created_at=now, confirmed_at=now if activate else None,
            ).on_conflict_do_nothing(index_elements=["newsletter_id", "address"])
            conn.execute(insert)
            if activate:
                conn.execute(sa.update(subscriptions).where(
                    *key, subscriptions.c.status != SubscriptionStatus.ACTIVE.value).values(
                    status=SubscriptionStatus.ACTIVE.value, confirmed_at=now,
                    token_version=subscriptions.c.token_version + 1))
            else:
                # a re-subscribe after an unsubscribe: a new version, so confirm links from before the
                # unsubscribe stay dead
                conn.execute(sa.update(subscriptions).where(
                    *key, subscriptions.c.status == SubscriptionStatus.UNSUBSCRIBED.value).values(
                    status=SubscriptionStatus.PENDING.value, confirmed_at=None,
                    token_version=subscriptions.c.token_version + 1))
            row = conn.execute(sa.select(subscriptions).where(*key)).one()
        return _to_subscription(row)

    def subscribe_pending(self, newsletter_id: int, address: str, now: datetime) -> Subscription:
        return self._upsert_subscription(newsletter_id, address, now, activate=False)

    def activate_subscription(self, newsletter_id: int, address: str, now: datetime) -> Subscription:
        return self._upsert_subscription(newsletter_id, address, now, activate=True)

    def confirm_subscription(self, subscription_id: int, version: int, now: datetime) -> bool:
        stmt = sa.update(subscriptions).where(
            subscriptions.c.id == subscription_id,
            subscriptions.c.status == SubscriptionStatus.PENDING.value,
            subscriptions.c.token_version == version,
        ).values(status=SubscriptionStatus.ACTIVE.value, confirmed_at=now)
        with self._write() as conn:
            return bool(conn.execute(stmt).rowcount)

    def unsubscribe(self, subscription_id: int, now: datetime) -> Subscription:
        with self._write() as conn:
            conn.execute(sa.update(subscriptions).where(
                subscriptions.c.id == subscription_id,
                subscriptions.c.status != SubscriptionStatus.UNSUBSCRIBED.value,
            ).values(status=SubscriptionStatus.UNSUBSCRIBED.value, unsubscribed_at=now,
                     token_version=subscriptions.c.token_version + 1))
            row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no subscription with id {subscription_id}")
        return _to_subscription(row)

    def active_subscriptions(self, newsletter_id: int, confirmed_before: datetime) -> list[Subscription]:
        stmt = sa.select(subscriptions).where(
            subscriptions.c.newsletter_id == newsletter_id,
            subscriptions.c.status == SubscriptionStatus.ACTIVE.value,
            subscriptions.c.confirmed_at <= confirmed_before,
        ).order_by(subscriptions.c.id)
        with self._read() as conn:
            return [_to_subscription(r) for r in conn.execute(stmt)]

    # -- rate limits ----------------------------------------------------------------------------

    def log_signup_event(self, kind: str, address: str | None, client: str | None, now: datetime,
                         prune_before: datetime | None = None) -> None:
        with self._write() as conn:
            if prune_before is not None:
                conn.execute(sa.delete(newsletter_signups).where(newsletter_signups.c.at < prune_before))
            conn.execute(sa.insert(newsletter_signups).values(
                kind=kind, address=address[:254] if address else None,
                client=client[:64] if client else None, at=now))

    def count_signup_events(self, kind: str, since: datetime, *, address: str | None = None,
                            client: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(newsletter_signups).where(
            newsletter_signups.c.kind == kind, newsletter_signups.c.at >= since)
        if address is not None:
            stmt = stmt.where(newsletter_signups.c.address == address[:254])
        if client is not None:
            stmt = stmt.where(newsletter_signups.c.client == client[:64])
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- topics ---------------------------------------------------------------------------------

    def topic_articles(self, topic_kind: TopicKind, topic: str, fetched_since: datetime,
                       fetched_until: datetime, limit: int = MAX_TOPIC_ARTICLES) -> list[ArticleListItem]:
        base = sa.select(*_LIST_COLUMNS).select_from(_FROM).where(
            articles.c.fetched_at >= sa.bindparam(None, fetched_since, UTCDateTime()),
            articles.c.fetched_at < sa.bindparam(None, fetched_until, UTCDateTime()),
        )
        stmt = _topic_select(self._backend, base, topic_kind, topic)
        if stmt is None:
            return []
        stmt = stmt.order_by(articles.c.sort_at.desc(), articles.c.id.desc()).limit(
            max(0, min(limit, MAX_TOPIC_ARTICLES)))
        with self._read() as conn:
            return [ArticleListItem(id=r.id, source_id=r.source_id, source_title=r.source_title, url=r.url,
                                    title=r.title, sort_at=r.sort_at, language=r.language, image_url=r.image_url,
                                    summary=r.summary) for r in conn.execute(stmt)]

    def article_in_topic(self, article_id: int, topic_kind: TopicKind, topic: str) -> bool:
        base = sa.select(articles.c.id).select_from(_FROM).where(articles.c.id == article_id)
        stmt = _topic_select(self._backend, base, topic_kind, topic)
        if stmt is None:
            return False
        with self._read() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    # -- digest runs and sends ------------------------------------------------------------------

    def open_digest_run(self, newsletter_id: int) -> DigestRun | None:
        stmt = (sa.select(digest_runs).where(digest_runs.c.newsletter_id == newsletter_id,
                                             digest_runs.c.state == "open")
                .order_by(digest_runs.c.period_end).limit(1))
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else _to_run(row)

    def last_digest_end(self, newsletter_id: int) -> datetime | None:
        stmt = sa.select(sa.func.max(digest_runs.c.period_end)).where(
            digest_runs.c.newsletter_id == newsletter_id, digest_runs.c.state == "done")
        with self._read() as conn:
            value: datetime | None = conn.execute(stmt).scalar_one_or_none()
        return value

    def start_digest_run(self, newsletter_id: int, period: DigestPeriod, now: datetime) -> DigestRun:
        insert = self._backend.insert(digest_runs).values(
            newsletter_id=newsletter_id, period_key=period.key, period_start=period.start,
            period_end=period.end, state="open", started_at=now, attempts=0,
        ).on_conflict_do_nothing(index_elements=["newsletter_id", "period_key"])
        with self._write() as conn:
            conn.execute(insert)
            row = conn.execute(sa.select(digest_runs).where(
                digest_runs.c.newsletter_id == newsletter_id, digest_runs.c.period_key == period.key)).one()
        return _to_run(row)

    def lock_digest_run(self, newsletter_id: int, key: str, owner: str, until: datetime, now: datetime,
                        *, steal_from: str | None = None) -> bool:
        free = sa.or_(digest_runs.c.lock_owner.is_(None), digest_runs.c.lock_until < now,
                      digest_runs.c.lock_owner == owner)
        if steal_from is not None:
            free = sa.or_(free, digest_runs.c.lock_owner == steal_from)
        stmt = sa.update(digest_runs).where(
            digest_runs.c.newsletter_id == newsletter_id, digest_runs.c.period_key == key, free,
        ).values(lock_owner=owner, lock_until=until)
        with self._write() as conn:
            return bool(conn.execute(stmt).rowcount)

    def update_digest_run(self, newsletter_id: int, key: str, *, state: str | None = None,
                          attempts: int | None = None, next_attempt_at: datetime | None = None,
                          last_error: str | None = None, finished_at: datetime | None = None,
                          release_lock: bool = False, owner: str | None = None) -> None:
        values: dict[str, Any] = {"next_attempt_at": next_attempt_at, "last_error": last_error}
        if state is not None:
            values["state"] = state
        if attempts is not None:
            values["attempts"] = attempts
        if finished_at is not None:
            values["finished_at"] = finished_at
        if release_lock:
            values["lock_owner"] = None
            values["lock_until"] = None
        stmt = sa.update(digest_runs).where(digest_runs.c.newsletter_id == newsletter_id,
                                            digest_runs.c.period_key == key)
        if owner is not None:
            stmt = stmt.where(digest_runs.c.lock_owner == owner)
        with self._write() as conn:
            conn.execute(stmt.values(values))

    def list_digest_runs(self, newsletter_id: int, limit: int = 20) -> list[DigestRun]:
        stmt = (sa.select(digest_runs).where(digest_runs.c.newsletter_id == newsletter_id)
                .order_by(digest_runs.c.period_end.desc()).limit(max(0, min(limit, 1000))))
        with self._read() as conn:
            return [_to_run(r) for r in conn.execute(stmt)]

    def digest_sends_for(self, newsletter_id: int, key: str) -> dict[int, DigestSend]:
        stmt = sa.select(digest_sends).where(digest_sends.c.newsletter_id == newsletter_id,
                                             digest_sends.c.period_key == key)
        with self._read() as conn:
            return {r.subscription_id: DigestSend(r.subscription_id, r.period_key, r.state, r.attempts, r.error,
                                                  r.message_id) for r in conn.execute(stmt)}

    def mark_digest_send(self, subscription_id: int, newsletter_id: int, key: str, state: str, now: datetime,
                         *, error: str | None = None, message_id: str | None = None) -> None:
        bump = 1 if state == "sending" else 0
        values: dict[str, Any] = {"state": state, "error": error[:1000] if error else None, "updated_at": now}
        if message_id is not None:
            values["message_id"] = message_id[:255]
        insert = self._backend.insert(digest_sends).values(
            subscription_id=subscription_id, newsletter_id=newsletter_id, period_key=key, attempts=bump,
            **values)
        update_values = dict(values)
        update_values["attempts"] = digest_sends.c.attempts + bump
        stmt = insert.on_conflict_do_update(index_elements=["subscription_id", "period_key"], set_=update_values)
        with self._write() as conn:
            conn.execute(stmt)
