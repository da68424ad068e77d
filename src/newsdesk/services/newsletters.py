"""Newsletter use cases: define a newsletter, sign up, confirm, unsubscribe, manage, send due digests.

Every entry point (web, CLI, scheduler, demo) calls these; none of them composes storage calls or
SMTP itself. The pure parts live in mail/ (addresses, tokens, digest selection and periods,
rendering); the IO is here and in storage/newsletters.py.

Topics. Until stories and topics exist, a newsletter follows a source (TopicKind.SOURCE, the source
id) or a saved search (TopicKind.SEARCH, the query). `articles_for_topic` and
`newsletters_for_article` are the two seams a topic model replaces; story_id is None until then, so
each article is its own digest entry.

Double opt-in. A sign-up stores a pending subscription and mails a signed confirm link (48 hours);
nothing else is ever sent to a pending address. Sign-ups are rate-limited per client (a form flood)
and confirmation mails per address across all newsletters (no mail bombing of a victim's address).
An address that is already subscribed gets no mail at all, and the page says the same thing either
way, so the form does not tell who is subscribed.

Exactly-once digests. For each newsletter the sender either resumes its open run (the period it
started and did not finish) or computes the due period (mail.digest.digest_period) and records a run
for it. Under the run's lock, each due subscriber's (subscription, period) row is written as
`sending` before the mail goes to SMTP and as `sent` after the server's 250; a crash leaves at most
the mails in flight as `sending`, and the resumed run sends exactly those again, plus the ones never
started. The one duplicate window is SMTP's own: a crash (or a dropped connection) after the server
accepted the message's final dot but before its reply was read, or before `sent` was written, makes
the resumed run send that one mail again. Nothing on the sender's side can close it; it is at most
one mail per crash per connection. Temporary failures (4xx, refused or dropped connections, stalls)
leave `failed` rows that the run retries with exponential backoff (RUN_BACKOFF), reported each time;
after MAX_RUN_ATTEMPTS passes the run gives up and says so in its last_error. Permanent refusals
(5xx) are recorded as `rejected` and not retried.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import (
    InvalidNewsletterError,
    InvalidTokenError,
    MailError,
    MailRejectedError,
    NotFoundError,
    RateLimitedError,
    SettingsError,
)
from ..mail.addresses import normalize_address
from ..mail.digest import digest_period, select_digest_entries
from ..mail.render import OutgoingMail, digest_links, one_line, prepare_digest, render_confirmation
from ..mail.send import Mailer, SmtpSettings
from ..mail.tokens import Purpose, make_link, read_token
from ..mail.tokens import check_current as check_token
from ..models import (
    Article,
    Cadence,
    DigestArticle,
    DigestEntry,
    DigestPeriod,
    Newsletter,
    Subscription,
    SubscriptionStatus,
    TopicKind,
)
from ..stemming import words
from ..storage.base import Storage
from ..storage.newsletters import DigestRun

__all__ = [
    "ADDRESS_MAILS_PER_DAY",
    "ADDRESS_MAIL_GAP",
    "CLIENT_SIGNUPS_PER_HOUR",
    "DigestReport",
    "MAX_RUN_ATTEMPTS",
    "ManageItem",
    "ManageView",
    "NewsletterContext",
    "NewsletterDigestReport",
    "SignUpResult",
    "TokenPage",
    "articles_for_topic",
    "confirm",
    "define_newsletter",
    "manage",
    "manage_change",
    "newsletters_for_article",
    "newsletters_for_topic",
    "read_confirm_link",
    "read_unsubscribe_link",
    "remove_newsletter",
    "send_due_digests",
    "send_sample_digest",
    "sign_up",
    "unsubscribe",
]

log = logging.getLogger("newsdesk.newsletters")

#: sign-up form posts one client may make per hour
CLIENT_SIGNUPS_PER_HOUR = 10
#: confirmation mails one address may receive per day, over all newsletters
ADDRESS_MAILS_PER_DAY = 3
#: and the least time between two of them
ADDRESS_MAIL_GAP = timedelta(minutes=10)
#: sign-up log rows older than this are pruned
SIGNUP_LOG_KEEP = timedelta(days=2)

#: a run's lock lasts this long and is renewed while sending; longer than the slowest single mail
#: (SmtpSettings: max_attempts x timeout per SMTP step, plus backoff)
LOCK_LEASE = timedelta(minutes=15)
#: passes over a run that left temporary failures, before it gives up
MAX_RUN_ATTEMPTS = 8
#: wait before pass n+1: RUN_BACKOFF * 2**(n-1), at most RUN_BACKOFF_MAX
RUN_BACKOFF = timedelta(minutes=1)
RUN_BACKOFF_MAX = timedelta(hours=1)
#: the interactive confirmation mail must not hold a web request for long
SIGNUP_SMTP_TIMEOUT = 10.0

MAX_NAME = 120
MAX_TAGLINE = 200
MAX_QUERY = 200
LANGUAGES = ("nl", "en")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewsletterContext:
    """What the newsletter use cases need: storage, the signing key, links' base URL, SMTP."""

    storage: Storage
    #: signs the confirm, unsubscribe and manage links (secretkey.resolve_secret_key)
    secret: str
    #: the reader's public base URL, for links in mails
    public_url: str
    smtp: SmtpSettings
    clock: Callable[[], datetime] = _utcnow
    #: builds the SMTP client; tests and the demo may pass their own
    mailer_factory: Callable[[SmtpSettings], Mailer] = Mailer

    @classmethod
    def from_settings(cls, storage: Storage, settings: object, *, secret: str | None = None,
                      **overrides: object) -> NewsletterContext:
        from ..secretkey import resolve_secret_key
        from ..settings import Settings

        assert isinstance(settings, Settings)
        return cls(
            storage=storage,
            secret=secret or resolve_secret_key(settings),
            public_url=str(settings.public_url).rstrip("/"),
            smtp=SmtpSettings.from_settings(settings),
            **overrides,  # type: ignore[arg-type]
        )


# ------------------------------------------------------------------------------------------ topics


def _reader_url(public_url: str, article_id: int) -> str:
    return f"{public_url.rstrip('/')}/articles/{article_id}"


def articles_for_topic(storage: Storage, newsletter: Newsletter, since: datetime, until: datetime,
                       *, public_url: str = "") -> list[DigestArticle]:
    """The newsletter topic's articles that newsdesk first stored in [since, until).

    By fetch time, not publication time: an article published at 06:50 and collected at 07:05 is
    still in the next digest rather than lost between two periods. Each article carries its story, so
    the digest shows one entry per story with all its outlets.
    """
    items = storage.topic_articles(newsletter.topic_kind, newsletter.topic, since, until)
    return [DigestArticle(id=item.id, story_id=_story_id(storage, item.id), title=item.title, url=item.url,
                          reader_url=_reader_url(public_url, item.id), source_title=item.source_title,
                          published=item.sort_at, summary=item.summary) for item in items]


def _story_id(storage: Storage, article_id: int) -> int | None:
    member = storage.story_of_article(article_id)
    return member.story_id if member is not None else None


def newsletters_for_article(storage: Storage, article: Article) -> list[Newsletter]:
    """The newsletters whose topic the article belongs to (whose sign-up box its page shows)."""
    found = []
    for newsletter in storage.list_newsletters():
        if newsletter.topic_kind is TopicKind.SOURCE:
            if newsletter.topic == str(article.source_id):
                found.append(newsletter)
        elif storage.article_in_topic(article.id, newsletter.topic_kind, newsletter.topic):
            found.append(newsletter)
    return found


def newsletters_for_topic(storage: Storage, topic_kind: TopicKind, topic: str) -> list[Newsletter]:
    """The newsletters that follow exactly this topic (a source page, a search page): their sign-up box
    belongs on the topic's own page."""
    wanted = " ".join(topic.split()).casefold()
    return [n for n in storage.list_newsletters()
            if n.topic_kind is TopicKind(topic_kind) and " ".join(n.topic.split()).casefold() == wanted]


def _entries(articles: Sequence[DigestArticle]) -> list[DigestEntry]:
    if not articles:
        return []
    # membership was decided by fetch time; here only grouping and order by publication
    first = min(a.published for a in articles)
    last = max(a.published for a in articles)
    return select_digest_entries(articles, first, last + timedelta(seconds=1))


# ------------------------------------------------------------------------------------ definitions


def define_newsletter(storage: Storage, *, name: str, tagline: str, topic_kind: TopicKind | str, topic: str,
                      language: str = "nl", cadence: Cadence | str = Cadence.DAILY, hour: int = 7,
                      weekday: int = 0, timezone: str = "Europe/Amsterdam",
                      now: datetime | None = None) -> Newsletter:
    """Check and store a newsletter an operator defines. Raises InvalidNewsletterError."""
    clean_name = one_line(name, MAX_NAME + 1)
    if not clean_name or len(clean_name) > MAX_NAME:
        raise InvalidNewsletterError(f"a newsletter needs a name of 1 to {MAX_NAME} characters")
    clean_tagline = one_line(tagline, MAX_TAGLINE + 1)
    if len(clean_tagline) > MAX_TAGLINE:
        raise InvalidNewsletterError(f"the tagline is longer than {MAX_TAGLINE} characters")
    try:
        kind = TopicKind(topic_kind)
    except ValueError:
        raise InvalidNewsletterError(f"unknown topic kind {str(topic_kind)[:20]!r}: use source or search") from None
    try:
        chosen_cadence = Cadence(cadence)
    except ValueError:
        raise InvalidNewsletterError(f"unknown cadence {str(cadence)[:20]!r}: use immediate, daily or weekly") \
            from None
    if language not in LANGUAGES:
        raise InvalidNewsletterError(f"the language must be one of {', '.join(LANGUAGES)}")
    if not 0 <= hour <= 23:
        raise InvalidNewsletterError("the hour must be 0 to 23")
    if not 0 <= weekday <= 6:
        raise InvalidNewsletterError("the weekday must be 0 (Monday) to 6 (Sunday)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidNewsletterError(f"unknown time zone {timezone[:60]!r} (use a name like Europe/Amsterdam)") \
            from None
    topic = topic.strip()
    if kind is TopicKind.SOURCE:
        if not topic.isdigit() or len(topic) > 18:
            raise InvalidNewsletterError(f"a source topic is a source id, not {topic[:40]!r}")
        try:
            storage.get_source(int(topic))
        except NotFoundError:
            raise InvalidNewsletterError(f"there is no source {topic}") from None
    else:
        topic = " ".join(topic.split())
        if len(topic) > MAX_QUERY or not words(topic):
            raise InvalidNewsletterError(f"a search topic needs 1 to {MAX_QUERY} characters with words in them")
    newsletter = Newsletter(id=0, name=clean_name, tagline=clean_tagline, topic_kind=kind, topic=topic,
                            language=language, cadence=chosen_cadence, hour=hour, weekday=weekday,
                            timezone=timezone)
    return storage.add_newsletter(newsletter, now or _utcnow())


def remove_newsletter(storage: Storage, newsletter_id: int) -> None:
    """Delete a newsletter, its subscriptions and its digest records. Raises NotFoundError."""
    storage.delete_newsletter(newsletter_id)


# ---------------------------------------------------------------------------------------- sign-up


@dataclass(frozen=True)
class SignUpResult:
    newsletter: Newsletter
    address: str
    #: False when no mail was sent because the address is subscribed already
    mailed: bool


def sign_up(ctx: NewsletterContext, newsletter_id: int, raw_address: str, client: str | None) -> SignUpResult:
    """Sign an address up (pending) and mail it the confirm link.

    Raises RateLimitedError, InvalidAddressError, NotFoundError (no such newsletter), SettingsError
    (mail disabled) or MailError (the confirmation mail could not be sent; the sign-up stays pending
    and may be repeated).
    """
    storage = ctx.storage
    now = ctx.clock()
    client = (client or "unknown")[:64]
    if storage.count_signup_events("signup", now - timedelta(hours=1), client=client) >= CLIENT_SIGNUPS_PER_HOUR:
        raise RateLimitedError("Too many sign-ups from your connection. Try again in an hour.", 3600)
    storage.log_signup_event("signup", None, client, now, prune_before=now - SIGNUP_LOG_KEEP)
    address = normalize_address(raw_address)
    newsletter = storage.get_newsletter(newsletter_id)
    if not ctx.smtp.enabled:
        raise SettingsError("newsletters are not available: this server has no mail server configured")
    subscription = storage.subscribe_pending(newsletter.id, address, now)
    if subscription.status is SubscriptionStatus.ACTIVE:
        return SignUpResult(newsletter, address, mailed=False)
    recent = storage.count_signup_events("confirm_mail", now - ADDRESS_MAIL_GAP, address=address)
    today = storage.count_signup_events("confirm_mail", now - timedelta(days=1), address=address)
    if recent or today >= ADDRESS_MAILS_PER_DAY:
        raise RateLimitedError("A confirmation mail went to this address a short while ago. Check your mailbox "
                               "(and spam folder), or try again later.",
                               ADDRESS_MAIL_GAP.total_seconds() if today < ADDRESS_MAILS_PER_DAY else 86400)
    # counted before sending: a failing server must not be a way around the limit
    storage.log_signup_event("confirm_mail", address, client, now)
    link = make_link(ctx.public_url, ctx.secret, "confirm", subscription)
    message = render_confirmation(newsletter, address, link, from_address=ctx.smtp.from_address, now=now)
    smtp = dataclasses.replace(ctx.smtp, timeout=min(ctx.smtp.timeout, SIGNUP_SMTP_TIMEOUT), max_attempts=2,
                               backoff=0.5)
    with ctx.mailer_factory(smtp) as mailer:
        try:
            mailer.send(message)
        except MailError as exc:
            log.warning("confirmation mail for newsletter %d could not be sent: %s", newsletter.id, exc)
            raise
    return SignUpResult(newsletter, address, mailed=True)


# ------------------------------------------------------------------------------ links from mails


@dataclass(frozen=True)
class TokenPage:
    """What a confirm or unsubscribe link's page shows."""

    newsletter: Newsletter
    subscription: Subscription
    #: for confirm: already active; for unsubscribe: already unsubscribed
    done: bool


def _subscription_for(ctx: NewsletterContext, purpose: Purpose, token: str) -> tuple[Subscription, Newsletter]:
    data = read_token(ctx.secret, purpose, token)
    try:
        subscription = ctx.storage.get_subscription(data.subscription_id)
        newsletter = ctx.storage.get_newsletter(subscription.newsletter_id)
    except NotFoundError:
        raise InvalidTokenError("this link is no longer valid") from None
    if data.purpose == "confirm" and subscription.status is SubscriptionStatus.ACTIVE \
            and data.subscription_id == subscription.id and data.address == subscription.address:
        # a second click on a link that already worked
        return subscription, newsletter
    check_token(data, subscription)
    return subscription, newsletter


def read_confirm_link(ctx: NewsletterContext, token: str) -> TokenPage:
    """Check a confirm link without using it (the page shows a button). Raises InvalidTokenError."""
    subscription, newsletter = _subscription_for(ctx, "confirm", token)
    return TokenPage(newsletter, subscription, subscription.status is SubscriptionStatus.ACTIVE)


def confirm(ctx: NewsletterContext, token: str) -> TokenPage:
    """Activate the subscription a confirm link is for. Idempotent. Raises InvalidTokenError."""
    subscription, newsletter = _subscription_for(ctx, "confirm", token)
    if subscription.status is SubscriptionStatus.ACTIVE:
        return TokenPage(newsletter, subscription, True)
    if not ctx.storage.confirm_subscription(subscription.id, subscription.token_version, ctx.clock()):
        current = ctx.storage.get_subscription(subscription.id)
        if current.status is not SubscriptionStatus.ACTIVE:
            raise InvalidTokenError("this link is no longer valid")
    return TokenPage(newsletter, ctx.storage.get_subscription(subscription.id), False)


def read_unsubscribe_link(ctx: NewsletterContext, token: str) -> TokenPage:
    subscription, newsletter = _subscription_for(ctx, "unsubscribe", token)
    return TokenPage(newsletter, subscription, subscription.status is SubscriptionStatus.UNSUBSCRIBED)


def unsubscribe(ctx: NewsletterContext, token: str) -> TokenPage:
    """Unsubscribe at once (RFC 8058 one-click). Idempotent. Raises InvalidTokenError."""
    subscription, newsletter = _subscription_for(ctx, "unsubscribe", token)
    was = subscription.status is SubscriptionStatus.UNSUBSCRIBED
    updated = ctx.storage.unsubscribe(subscription.id, ctx.clock())
    log.info("unsubscribed subscription %d from newsletter %d", subscription.id, newsletter.id)
    return TokenPage(newsletter, updated, was)


@dataclass(frozen=True)
class ManageItem:
    newsletter: Newsletter
    #: None: never subscribed
    status: SubscriptionStatus | None


@dataclass(frozen=True)
class ManageView:
    address: str
    items: tuple[ManageItem, ...]


def manage(ctx: NewsletterContext, token: str) -> ManageView:
    """Every newsletter with this address's subscription state. Raises InvalidTokenError."""
    subscription, _ = _subscription_for(ctx, "manage", token)
    mine = {s.newsletter_id: s.status for s in ctx.storage.subscriptions_of(subscription.address)}
    items = tuple(ManageItem(n, mine.get(n.id)) for n in ctx.storage.list_newsletters())
    return ManageView(subscription.address, items)


def manage_change(ctx: NewsletterContext, token: str, newsletter_id: int, subscribe: bool) -> ManageView:
    """Subscribe to or unsubscribe from one newsletter from the manage page. Subscribing needs no
    second confirmation: the manage link reached this mailbox, which is what confirmation proves."""
    subscription, _ = _subscription_for(ctx, "manage", token)
    now = ctx.clock()
    if subscribe:
        ctx.storage.activate_subscription(newsletter_id, subscription.address, now)
    else:
        existing = ctx.storage.find_subscription(newsletter_id, subscription.address)
        if existing is not None:
            ctx.storage.unsubscribe(existing.id, now)
    return manage(ctx, token)


# ---------------------------------------------------------------------------------------- digests


@dataclass(frozen=True)
class NewsletterDigestReport:
    newsletter_id: int
    name: str
    #: "not_due", "empty", "sent", "retry", "gave_up", "waiting", "busy", "would_send", "error"
    status: str
    period_key: str | None = None
    entries: int = 0
    #: subscribers due for this period
    recipients: int = 0
    sent: int = 0
    #: sent or settled by an earlier pass
    already: int = 0
    failed: int = 0
    rejected: int = 0
    retry_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class DigestReport:
    newsletters: tuple[NewsletterDigestReport, ...]

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.newsletters)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.newsletters)

    @property
    def problems(self) -> list[NewsletterDigestReport]:
        return [r for r in self.newsletters if r.status in ("retry", "gave_up", "error") or r.rejected]


def _owner() -> str:
    return f"{socket.gethostname()[:100]}|{os.getpid()}|{secrets.token_hex(4)}"


def _dead_owner(owner: str | None) -> str | None:
    """`owner` if it is a process on this machine that no longer runs (a crashed sender), else None."""
    if not owner:
        return None
    host, _, rest = owner.partition("|")
    pid_text = rest.partition("|")[0]
    if host != socket.gethostname()[:100] or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return owner
    except PermissionError:
        return None
    return None


def _backoff(attempts: int) -> timedelta:
    wait: timedelta = RUN_BACKOFF * (2 ** max(0, attempts - 1))
    return min(wait, RUN_BACKOFF_MAX)


def _period_entries(ctx: NewsletterContext, newsletter: Newsletter, period: DigestPeriod) -> list[DigestEntry]:
    return _entries(articles_for_topic(ctx.storage, newsletter, period.start, period.end,
                                       public_url=ctx.public_url))


def send_due_digests(ctx: NewsletterContext, *, dry_run: bool = False,
                     newsletter_ids: Sequence[int] | None = None) -> DigestReport:
    """Send every due digest once per subscriber and period; resume interrupted runs. See the module
    docstring for the exactly-once design. With `dry_run` nothing is sent or recorded: the report says
    what would be. A failure of one newsletter is reported and does not stop the others."""
    if not dry_run and not ctx.smtp.enabled:
        raise SettingsError("mail is disabled: set NEWSDESK_SMTP_HOST to send digests")
    reports = []
    for newsletter in ctx.storage.list_newsletters():
        if newsletter_ids is not None and newsletter.id not in newsletter_ids:
            continue
        try:
            reports.append(_newsletter_digest(ctx, newsletter, dry_run))
        except (MailError, SettingsError, ValueError) as exc:
            log.error("digest of newsletter %d (%s) failed: %s", newsletter.id, newsletter.name, exc)
            reports.append(NewsletterDigestReport(newsletter.id, newsletter.name, "error", error=str(exc)))
    return DigestReport(tuple(reports))


def _newsletter_digest(ctx: NewsletterContext, newsletter: Newsletter, dry_run: bool) -> NewsletterDigestReport:
    storage = ctx.storage
    now = ctx.clock()
    name = newsletter.name
    run = storage.open_digest_run(newsletter.id)
    if run is None:
        period = digest_period(newsletter.cadence, newsletter.hour, newsletter.weekday, newsletter.timezone,
                               storage.last_digest_end(newsletter.id), now)
        if period is None:
            return NewsletterDigestReport(newsletter.id, name, "not_due")
        entries = _period_entries(ctx, newsletter, period)
        if not entries:
            # nothing to say: no mail. Daily and weekly periods are closed (one row a day at most);
            # an immediate newsletter's window just keeps growing until news comes (bounded by lookback)
            if not dry_run and newsletter.cadence is not Cadence.IMMEDIATE:
                storage.start_digest_run(newsletter.id, period, now)
                storage.update_digest_run(newsletter.id, period.key, state="done", finished_at=now)
            return NewsletterDigestReport(newsletter.id, name, "empty", period.key)
        if dry_run:
            due = storage.active_subscriptions(newsletter.id, confirmed_before=period.end)
            return NewsletterDigestReport(newsletter.id, name, "would_send", period.key, len(entries), len(due))
        run = storage.start_digest_run(newsletter.id, period, now)
    else:
        entries = _period_entries(ctx, newsletter, run.period)
        if dry_run:
            due = storage.active_subscriptions(newsletter.id, confirmed_before=run.period.end)
            sends = storage.digest_sends_for(newsletter.id, run.period.key)
            settled = sum(1 for s in due if s.id in sends and sends[s.id].state in ("sent", "rejected"))
            return NewsletterDigestReport(newsletter.id, name, "would_send", run.period.key, len(entries),
                                          len(due), already=settled, retry_at=run.next_attempt_at)
        if run.next_attempt_at is not None and run.next_attempt_at > now:
            return NewsletterDigestReport(newsletter.id, name, "waiting", run.period.key, len(entries),
                                          retry_at=run.next_attempt_at, error=run.last_error)
    owner = _owner()
    stale = None
    if run.lock_owner and run.lock_until is not None and run.lock_until >= now:
        stale = _dead_owner(run.lock_owner)
    if not storage.lock_digest_run(newsletter.id, run.period.key, owner, now + LOCK_LEASE, now, steal_from=stale):
        return NewsletterDigestReport(newsletter.id, name, "busy", run.period.key,
                                      error="another sender is working on this digest")
    if stale:
        log.warning("newsletter %d: taking over digest %s from a sender that stopped (%s)",
                    newsletter.id, run.period.key, stale)
    try:
        return _send_run(ctx, newsletter, run, entries, owner)
    except BaseException:
        # release so a retry need not wait for the lease; rows in `sending` are resumed then
        storage.update_digest_run(newsletter.id, run.period.key, attempts=run.attempts,
                                  next_attempt_at=run.next_attempt_at, last_error=run.last_error,
                                  release_lock=True, owner=owner)
        raise


def _send_run(ctx: NewsletterContext, newsletter: Newsletter, run: DigestRun, entries: list[DigestEntry],
              owner: str) -> NewsletterDigestReport:
    storage = ctx.storage
    period = run.period
    key = period.key
    if not entries:
        now = ctx.clock()
        storage.update_digest_run(newsletter.id, key, state="done", finished_at=now, release_lock=True, owner=owner)
        return NewsletterDigestReport(newsletter.id, newsletter.name, "empty", key)
    due = storage.active_subscriptions(newsletter.id, confirmed_before=period.end)
    sends = storage.digest_sends_for(newsletter.id, key)
    todo = [s for s in due if s.id not in sends or sends[s.id].state in ("sending", "failed")]
    already = len(due) - len(todo)
    prepared = prepare_digest(newsletter, entries, from_address=ctx.smtp.from_address, period=period,
                              now=ctx.clock())
    in_flight: deque[Subscription] = deque()
    counts = {"sent": 0, "failed": 0, "rejected": 0}
    last_error: str | None = None
    #: the last temporary failure: what a retry is about
    last_failure: str | None = None
    lease_renewed = ctx.clock()

    def mails() -> Iterator[OutgoingMail]:
        nonlocal lease_renewed, last_error
        for subscription in todo:
            now = ctx.clock()
            if now - lease_renewed > LOCK_LEASE / 3:
                if not storage.lock_digest_run(newsletter.id, key, owner, now + LOCK_LEASE, now):
                    raise MailError("lost the digest lock to another sender; stopping")
                lease_renewed = now
            try:
                mail = prepared.mail_for(subscription.address, digest_links(ctx.public_url, ctx.secret, subscription),
                                         now=now)
            except MailError as exc:  # an address or link that cannot go in a header: never sendable
                storage.mark_digest_send(subscription.id, newsletter.id, key, "rejected", now, error=str(exc))
                counts["rejected"] += 1
                last_error = str(exc)
                continue
            # written BEFORE the mail leaves: a crash from here on leaves `sending`, which is resent
            storage.mark_digest_send(subscription.id, newsletter.id, key, "sending", now)
            in_flight.append(subscription)
            yield mail

    with ctx.mailer_factory(ctx.smtp) as mailer:
        for result in mailer.send_many(mails()):
            subscription = in_flight.popleft()
            now = ctx.clock()
            if result.ok:
                storage.mark_digest_send(subscription.id, newsletter.id, key, "sent", now,
                                         message_id=result.message_id)
                counts["sent"] += 1
            elif isinstance(result.error, MailRejectedError):
                storage.mark_digest_send(subscription.id, newsletter.id, key, "rejected", now, error=str(result.error))
                counts["rejected"] += 1
                last_error = str(result.error)
            else:
                storage.mark_digest_send(subscription.id, newsletter.id, key, "failed", now, error=str(result.error))
                counts["failed"] += 1
                last_failure = str(result.error)
    now = ctx.clock()
    base = NewsletterDigestReport(newsletter.id, newsletter.name, "sent", key, entries=len(entries),
                                  recipients=len(due), sent=counts["sent"], already=already,
                                  failed=counts["failed"], rejected=counts["rejected"])
    if counts["failed"]:
        attempts = run.attempts + 1
        if attempts >= MAX_RUN_ATTEMPTS:
            message = f"gave up after {attempts} passes; {counts['failed']} digests not delivered: {last_failure}"
            storage.update_digest_run(newsletter.id, key, state="done", attempts=attempts, finished_at=now,
                                      last_error=message, release_lock=True, owner=owner)
            log.error("newsletter %d digest %s: %s", newsletter.id, key, message)
            return dataclasses.replace(base, status="gave_up", error=message)
        retry_at = now + _backoff(attempts)
        storage.update_digest_run(newsletter.id, key, attempts=attempts, next_attempt_at=retry_at,
                                  last_error=last_failure, release_lock=True, owner=owner)
        log.warning("newsletter %d digest %s: %d sent, %d failed (%s); retrying at %s",
                    newsletter.id, key, counts["sent"], counts["failed"], last_failure, retry_at.isoformat())
        return dataclasses.replace(base, status="retry", retry_at=retry_at, error=last_failure)
    storage.update_digest_run(newsletter.id, key, state="done", attempts=run.attempts + 1, finished_at=now,
                              last_error=last_error, release_lock=True, owner=owner)
    if counts["sent"] or counts["rejected"]:
        log.info("newsletter %d digest %s: %d sent, %d refused, %d sent before", newsletter.id, key,
                 counts["sent"], counts["rejected"], already)
    return dataclasses.replace(base, error=last_error)


def send_sample_digest(ctx: NewsletterContext, newsletter_id: int, address: str, *, limit: int = 10) -> str:
    """Send the topic's newest `limit` stories to one ACTIVE subscriber now, outside any period (the
    demo uses it to show a digest at once). Records nothing. Returns the Message-ID.
    Raises NotFoundError for an address that is not an active subscriber: never mail the unconfirmed."""
    newsletter = ctx.storage.get_newsletter(newsletter_id)
    subscription = ctx.storage.find_subscription(newsletter_id, normalize_address(address))
    if subscription is None or subscription.status is not SubscriptionStatus.ACTIVE:
        raise NotFoundError(f"{address} is not an active subscriber of {newsletter.name}")
    now = ctx.clock()
    articles = articles_for_topic(ctx.storage, newsletter, datetime(2000, 1, 1, tzinfo=UTC), now + timedelta(1),
                                  public_url=ctx.public_url)
    entries = _entries(articles)[:max(1, limit)]
    prepared = prepare_digest(newsletter, entries, from_address=ctx.smtp.from_address, now=now)
    mail = prepared.mail_for(subscription.address, digest_links(ctx.public_url, ctx.secret, subscription), now=now)
    with ctx.mailer_factory(ctx.smtp) as mailer:
        result = mailer.send(mail)
    return result.message_id or ""
