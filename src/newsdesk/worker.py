"""The collection scheduler behind `newsdesk run` and `newsdesk worker`: poll due sources, sleep, repeat."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .ingest.fetch import Fetcher, FetchPolicy
from .ingest.schedule import SchedulePolicy
from .services.refresh import PassSummary, RefreshContext, refresh_pass
from .settings import Settings
from .storage.base import Storage

__all__ = ["run_scheduler", "send_digests_tick", "start_scheduler_thread"]

log = logging.getLogger(__name__)


async def run_scheduler(storage: Storage, settings: Settings, stop: threading.Event,
                        on_pass: Callable[[PassSummary], None] | None = None) -> None:
    """Run passes until `stop` is set. A pass that fails as a whole is logged and retried next tick."""
    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        ctx = RefreshContext(storage=storage, fetcher=fetcher, schedule=SchedulePolicy.from_settings(settings),
                             articles_per_feed=settings.articles_per_feed)
        while not stop.is_set():
            try:
                summary = await refresh_pass(ctx)
                if summary.feeds:
                    log.info("pass: %d feeds, %d new articles, %d not modified, errors %s in %.1fs",
                             summary.feeds, summary.new_articles, summary.not_modified,
                             dict(summary.feed_errors) or "none", summary.seconds)
                if on_pass:
                    on_pass(summary)
            except Exception:  # the scheduler must outlive a broken pass (e.g. the database restarting)
                log.exception("collection pass failed; retrying at the next tick")
            # --- newsletters: due digests, one call per tick ---
            await send_digests_tick(storage, settings)
            await _sleep_until_due(storage, settings, stop)


async def _sleep_until_due(storage: Storage, settings: Settings, stop: threading.Event) -> None:
    """Sleep until the next source is due, at most one tick, waking early when asked to stop."""
    tick = float(settings.scheduler_tick)
    now = datetime.now(UTC)
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
    thread = threading.Thread(target=lambda: asyncio.run(run_scheduler(storage, settings, stop)),
                              name="newsdesk-scheduler", daemon=True)
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
