"""The collection scheduler behind `newsdesk run` and `newsdesk worker`: poll due sources, sleep, repeat."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from .errors import DatabaseUnavailableError
from .ingest.fetch import Fetcher, FetchPolicy
from .ingest.schedule import SchedulePolicy
from .services.refresh import PassSummary, RefreshContext, refresh_pass
from .settings import Settings
from .storage.base import Storage

__all__ = ["COLLECTION_NICENESS", "in_collection_thread", "lower_collection_priority", "new_worker_id",
           "run_scheduler", "send_digests_tick", "start_scheduler_thread"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how much lower than the reader's the CPU priority of collection is (nice(2) steps): on a small
#: machine, extraction would otherwise take the cores from the readers' requests (docs/reliability.md, 8)
COLLECTION_NICENESS = 10


def lower_collection_priority(niceness: int = COLLECTION_NICENESS) -> None:
    """Lower the CPU priority of the calling thread and of every thread it starts afterwards.

    On Linux a nice value belongs to a thread, and new threads inherit it: called at the start of the
    scheduler thread of `newsdesk run`, it lowers the collection (its fetch, parse and extraction
    threads) but not the web server's threads in the same process. Called first thing in `newsdesk
    fetch` and `newsdesk worker`, it lowers the whole process. Elsewhere (a nice value per process would
    lower the web server too) and where it is not allowed, nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, min(19, current + niceness))
    except (AttributeError, OSError) as exc:  # not on this platform, or not permitted
        log.info("collection runs at normal CPU priority: %s", exc)


def in_collection_thread(work: Callable[[], T]) -> T:
    """`work()` in a thread at the collection's lower CPU priority; its result or its exception.

    The CLI's `fetch` and `worker` run their pass here rather than lowering the calling thread, so
    that calling them in-process (tests, embedding) leaves the caller's priority alone. Ctrl-C still
    reaches the caller, which waits in short joins."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        lower_collection_priority()
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller as it is
            error.append(exc)

    thread = threading.Thread(target=target, name="newsdesk-collection", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
    if error:
        raise error[0]
    return result[0]


def new_worker_id() -> str:
    """hostname:pid:random — unique across hosts and restarts, and readable in the logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def run_scheduler(storage: Storage, settings: Settings, stop: threading.Event,
                        on_pass: Callable[[PassSummary], None] | None = None,
                        worker_id: str | None = None) -> None:
    """Run passes until `stop` is set. A pass that fails as a whole is logged and retried next tick.

    Every scheduler leases what it polls (storage/leases.py), so any number of them, in any number
    of processes and hosts, can share one database."""
    worker_id = worker_id or new_worker_id()
    log.info("worker %s started", worker_id)
    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        ctx = RefreshContext(storage=storage, fetcher=fetcher, schedule=SchedulePolicy.from_settings(settings),
                             articles_per_feed=settings.articles_per_feed, worker_id=worker_id,
                             lease_seconds=int(settings.lease_seconds), lease_batch=int(settings.lease_batch))
        if ctx.stories is not None:
            # sweeps at once: articles a killed worker stored but had not put into a story yet
            ctx.stories.start()
        last_prune: datetime | None = None
        skew = _Skew()
        while not stop.is_set():
            try:
                ctx.clock = _database_clock(storage, worker_id, skew)
                # Story assignment runs on behind the pass, in its own thread (services/storyqueue.py).
                summary = await refresh_pass(ctx, wait_for_stories=False)
                if summary.feeds:
                    log.info("pass: %d feeds, %d new articles, %d not modified, errors %s in %.1fs",
                             summary.feeds, summary.new_articles, summary.not_modified,
                             dict(summary.feed_errors) or "none", summary.seconds)
                if on_pass:
                    on_pass(summary)
                last_prune = _prune_daily(storage, settings, last_prune)
            except DatabaseUnavailableError as exc:  # restarting, dropped connection, disk full
                log.error("worker %s: collection pass stopped, the database is unavailable (%s); retrying at "
                          "the next tick", worker_id, exc)
            except Exception:  # the scheduler must outlive a broken pass
                log.exception("collection pass failed; retrying at the next tick")
            # --- newsletters: due digests, one call per tick ---
            await send_digests_tick(storage, settings)
            await _sleep_until_due(storage, settings, stop, ctx.clock)
        if ctx.stories is not None:
            # On a clean stop, the articles already stored still get their stories.
            await asyncio.to_thread(ctx.stories.wait)
            await asyncio.to_thread(ctx.stories.close)
    try:
        storage.release_worker_leases(worker_id)
    except Exception:  # they run out by themselves
        log.warning("worker %s could not release its leases on the way out", worker_id)
    log.info("worker %s stopped", worker_id)


#: a worker clock this far from the database's is reported in the log
CLOCK_SKEW_WARNING = timedelta(seconds=2)


class _Skew:
    """The clock offset last reported, so that a steady skew is logged once, not every tick."""

    reported: timedelta | None = None


def _database_clock(storage: Storage, worker_id: str, skew: _Skew | None = None) -> Callable[[], datetime]:
    """This machine's clock, corrected to the database's: workers on hosts whose clocks differ
    still agree on when a source is due and when a lease ends."""
    skew = skew or _Skew()
    try:
        offset = storage.database_now() - datetime.now(UTC)
    except Exception as exc:
        log.warning("worker %s cannot read the database clock (%s); using its own", worker_id, exc)
        offset = timedelta(0)
    if abs(offset) > CLOCK_SKEW_WARNING and (skew.reported is None
                                             or abs(offset - skew.reported) > CLOCK_SKEW_WARNING):
        log.warning("worker %s: this clock is %.1f s off the database's; using the database's",
                    worker_id, -offset.total_seconds())
        skew.reported = offset
    return lambda: datetime.now(UTC) + offset


def _prune_daily(storage: Storage, settings: Settings, last: datetime | None) -> datetime | None:
    """Apply the raw_html_days retention at most once a day (every worker may; it is idempotent)."""
    from .services.maintenance import prune_raw_html

    now = datetime.now(UTC)
    if int(settings.raw_html_days) <= 0 or (last is not None and now - last < timedelta(days=1)):
        return last
    dropped = prune_raw_html(storage, int(settings.raw_html_days), now)
    if dropped:
        log.info("retention: dropped the raw HTML of %d articles older than %d days", dropped,
                 settings.raw_html_days)
    return now


async def _sleep_until_due(storage: Storage, settings: Settings, stop: threading.Event,
                           clock: Callable[[], datetime]) -> None:
    """Sleep until the next source is due, at most one tick, waking early when asked to stop.
    `clock` is the database's (see _database_clock), as due times are."""
    tick = float(settings.scheduler_tick)
    now = clock()
    wait = tick
    try:
        soonest = storage.due_sources(now + timedelta(seconds=tick), limit=1)
    except Exception:  # a database hiccup must not kill the scheduler; the next tick retries
        log.exception("could not read the next due source")
        soonest = []
    if soonest:
        due_at = soonest[0].state.next_fetch_at or now
        wait = min(tick, max(1.0, (due_at - now).total_seconds()))
    end = asyncio.get_running_loop().time() + wait
    while not stop.is_set() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(min(1.0, end - asyncio.get_running_loop().time()))


def start_scheduler_thread(storage: Storage, settings: Settings) -> tuple[threading.Thread, threading.Event]:
    """The scheduler in a thread of its own, beside the web server of `newsdesk run`."""
    stop = threading.Event()

    def scheduler() -> None:
        lower_collection_priority()  # this thread only: the web server's threads keep their priority
        asyncio.run(run_scheduler(storage, settings, stop))

    thread = threading.Thread(target=scheduler, name="newsdesk-scheduler", daemon=True)
    thread.start()
    return thread, stop


# --- newsletters -----------------------------------------------------------------------------------


async def send_digests_tick(storage: Storage, settings: Settings) -> None:
    """Send due digests (services.newsletters.send_due_digests) in a thread, when mail is configured.
    Never raises: a failure is logged, and the next tick resumes where this one stopped."""
    if not settings.smtp_host:
        return
    from .services.newsletters import NewsletterContext, send_due_digests

    def send() -> None:
        report = send_due_digests(NewsletterContext.from_settings(storage, settings))
        for problem in report.problems:
            log.warning("digest of newsletter %d (%s): %s %s", problem.newsletter_id, problem.name,
                        problem.status, problem.error or "")

    try:
        await asyncio.to_thread(send)
    except Exception:  # the scheduler must outlive a broken send (SMTP settings, the database)
        log.exception("sending digests failed; retrying at the next tick")
