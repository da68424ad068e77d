"""Story assignment behind the collection pass: stored articles are queued and a background thread
puts each into a story (services.stories.assign_article), so polling never waits for clustering and
the event loop is never blocked by it. A pass can wait for the queue to drain (the one-shot `fetch`
and the demo do); the scheduler lets it run on between passes.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time

from ..errors import DatabaseUnavailableError, NewsdeskError, NotFoundError
from ..storage.base import Storage
from .stories import assign_article

__all__ = ["StoryAssigner"]

log = logging.getLogger(__name__)

#: while the database is unavailable, an article's story assignment is retried this often, this many times
RETRY_SECONDS = 1.0
UNAVAILABLE_RETRIES = 60
#: attempts more when other workers kept changing the stories (services.stories.ATTEMPTS each)
CONFLICT_RETRIES = 5


class StoryAssigner:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._rng = random.Random()
        #: articles assigned so far (a failure is logged by assign_article_safely and counted here too)
        self.assigned = 0

    def submit(self, article_id: int) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="newsdesk-stories", daemon=True)
                self._thread.start()
        self._queue.put(article_id)

    @property
    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def wait(self) -> None:
        """Block until every submitted article has been assigned."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            article_id = self._queue.get()
            try:
                if article_id is None:
                    return
                self._assign(article_id)
                self.assigned += 1
            finally:
                self._queue.task_done()

    def _assign(self, article_id: int) -> None:
        """assign_article, retried where waiting helps, so that a stored article does not end up
        outside every story because of a blip: while the database is away (restarting, connection
        dropped, disk full) every RETRY_SECONDS for up to UNAVAILABLE_RETRIES; when other workers
        kept changing the stories meanwhile, after a random pause, CONFLICT_RETRIES times. Any
        other failure is logged; the thread goes on with the next article."""
        unavailable = conflicts = 0
        while True:
            try:
                assign_article(self.storage, article_id)
                return
            except DatabaseUnavailableError as exc:
                unavailable += 1
                if unavailable > UNAVAILABLE_RETRIES:
                    log.error("article %s stays outside a story: the database stayed unavailable (%s)",
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
