"""Story assignment behind the collection pass: stored articles are queued and a background thread
puts each into a story (services.stories.assign_article), so polling never waits for clustering and
the event loop is never blocked by it. A pass can wait for the queue to drain (the one-shot `fetch`
and the demo do); the scheduler lets it run on between passes.
"""

from __future__ import annotations

import queue
import threading

from ..storage.base import Storage
from .stories import assign_article_safely

__all__ = ["StoryAssigner"]


class StoryAssigner:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
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
                assign_article_safely(self.storage, article_id)
                self.assigned += 1
            finally:
                self._queue.task_done()
