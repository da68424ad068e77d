"""Story assignment behind the collection pass: stored articles are queued and a background thread
puts each into a story (services.stories.assign_article), so polling never waits for clustering and
the event loop is never blocked by it. A pass can wait for the queue to drain (the one-shot `fetch`
and the demo do); the scheduler lets it run on between passes.

The queue is in memory, so it is not what makes assignment durable: the database is. When the
thread starts, and every `sweep_seconds` after, it sweeps the articles of the window that are in no
story (services.stories.sweep_unassigned): what a worker killed with -9 had queued is assigned by
the next worker that runs.

Several workers: with a `worker_id`, only the worker holding the story lease (storage
take_story_lease) assigns; the others leave their articles to its sweep. Correctness does not rest
on the lease (the generation check keeps two writers from opening two stories for one event), but
cost does: each assignment by another process moves the generation, and a clusterer that sees it
moved rebuilds the whole window. One assigner at a time rebuilds once, when it takes over.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from datetime import UTC, datetime

from ..errors import DatabaseUnavailableError, NewsdeskError, NotFoundError
from ..storage.base import Storage
from .stories import assign_article, sweep_unassigned

__all__ = ["StoryAssigner"]

log = logging.getLogger(__name__)

#: while the database is unavailable, an article's story assignment is retried this often, this many times
RETRY_SECONDS = 1.0
UNAVAILABLE_RETRIES = 60
#: attempts more when other workers kept changing the stories (services.stories.ATTEMPTS each)
CONFLICT_RETRIES = 5
#: how often the thread sweeps for articles in no story (and renews its lease), in seconds; at most
#: a third of the lease
SWEEP_SECONDS = 30.0


class StoryAssigner:
    def __init__(self, storage: Storage, *, worker_id: str | None = None, lease_seconds: int = 120,
                 sweep_seconds: float = SWEEP_SECONDS) -> None:
        self.storage = storage
        self.worker_id = worker_id
        self.lease_seconds = max(2, int(lease_seconds))
        # the timer also renews the lease: well within its length
        self.sweep_seconds = min(sweep_seconds, self.lease_seconds / 3)
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._rng = random.Random()
        #: monotonic time until which the lease is known to be ours without asking again
        self._lease_fresh_until = 0.0
        #: articles handed to assignment so far (a failure is logged by _assign and counted here too)
        self.assigned = 0
        #: articles assigned by sweeps (stored earlier, by this worker or another, and in no story)
        self.swept = 0

    def start(self) -> None:
        """Start the thread now: it sweeps at once (a worker's start) and then every sweep_seconds."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="newsdesk-stories", daemon=True)
                self._thread.start()

    def submit(self, article_id: int) -> None:
        self.start()
        self._queue.put(article_id)

    @property
    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def wait(self) -> None:
        """Block until every submitted article has been assigned (or left to the lease holder)."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
            # A last sweep before giving the lease back: articles skipped while the lease could not
            # be read (the database away) would otherwise wait for the next worker's sweep.
            self.sweep()
        if self.worker_id is not None:
            try:
                self.storage.release_story_lease(self.worker_id)
            except Exception:  # it runs out by itself
                log.warning("worker %s could not release the story lease", self.worker_id)

    def holds_lease(self) -> bool:
        """True when this process may assign: no worker id (one process), or the story lease is ours."""
        if self.worker_id is None:
            return True
        now = time.monotonic()
        if now < self._lease_fresh_until:
            return True
        try:
            held = self.storage.take_story_lease(self.worker_id, datetime.now(UTC), self.lease_seconds)
        except Exception:
            log.exception("worker %s could not take the story lease", self.worker_id)
            held = False
        # renewed well before it runs out; a worker that loses it stops assigning at the next check
        self._lease_fresh_until = now + self.lease_seconds / 3 if held else 0.0
        return held

    def sweep(self) -> int:
        """Assign the window's articles that are in no story, if this worker may. Never raises."""
        if not self.holds_lease():
            return 0
        try:
            done = sweep_unassigned(self.storage, may_continue=self.holds_lease)
        except Exception:  # the database restarting, say: the next sweep tries again
            log.exception("story sweep failed")
            return 0
        if done:
            log.info("story sweep: %d articles that were in no story assigned", done)
        self.swept += done
        return done

    def _run(self) -> None:
        self.sweep()
        while True:
            try:
                article_id = self._queue.get(timeout=self.sweep_seconds)
            except queue.Empty:
                self.sweep()
                continue
            try:
                if article_id is None:
                    return
                if self.holds_lease():
                    self._assign(article_id)
                    self.assigned += 1
                # else: the lease holder's sweep assigns it
            finally:
                self._queue.task_done()

    def _assign(self, article_id: int) -> None:
        """assign_article, retried where waiting helps, so that a stored article does not end up
        outside every story because of a blip: while the database is away (restarting, connection
        dropped, disk full) every RETRY_SECONDS for up to UNAVAILABLE_RETRIES; when other workers
        kept changing the stories meanwhile, after a random pause, CONFLICT_RETRIES times. Any
        other failure is logged; the thread goes on with the next article, and the next sweep
        (sweep_unassigned) tries that one again."""
        unavailable = conflicts = 0
        while True:
            try:
                assign_article(self.storage, article_id)
                return
            except DatabaseUnavailableError as exc:
                unavailable += 1
                if unavailable > UNAVAILABLE_RETRIES:
                    log.error("article %s is left to the next story sweep: the database stayed unavailable (%s)",
                              article_id, exc)
                    return
                log.warning("article %s waits for its story, the database is unavailable: %s", article_id, exc)
                time.sleep(RETRY_SECONDS)
            except NotFoundError:
                return  # deleted meanwhile (its source was removed)
            except NewsdeskError as exc:
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    log.error("could not put article %s into a story: %s", article_id, exc)
                    return
                time.sleep(self._rng.uniform(0.1, 1.0))
            except Exception:
                log.exception("could not put article %s into a story", article_id)
                return
