"""The threads of slow requests: those that wait on another server (adding or discovering a source
fetches it; a newsletter sign-up sends a mail) or hash a password (argon2, 20-40 ms).

A web process works on its other requests in the event loop's thread pool, whose size is
`web_threads` (1 by default: CPU-bound Python threads of one process only contend for the GIL).
A request that waits up to the fetch timeout for a slow site must not hold that pool's only thread,
so these run on a pool of their own, SlowPool, bounded by its own anyio CapacityLimiter: a slow
site holds up at most the other slow requests, never the API reads. Their waiting releases the GIL,
as does argon2, so the two pools do not contend.

An endpoint joins the slow pool with `@slow.endpoint` under its route decorator: FastAPI then sees an
async endpoint, still resolves its parameters and dependencies from the wrapped function, and the
function's body runs on a slow thread.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

__all__ = ["SLOW_THREADS", "SlowPool"]

#: slow requests one web process works on at once; more wait for a free thread, among themselves
SLOW_THREADS = 8

P = ParamSpec("P")
T = TypeVar("T")


class SlowPool:
    """A thread pool for slow requests, separate from the one of the other requests. Its limiter
    belongs to the running event loop (as anyio's default one does), so one SlowPool serves an app
    under any number of loops in turn (test clients start one each)."""

    def __init__(self, threads: int = SLOW_THREADS) -> None:
        self.threads = threads
        self._limiter: RunVar[CapacityLimiter] = RunVar("newsdesk_slow_pool")  # keyed by the object

    def limiter(self) -> CapacityLimiter:
        """This pool's limiter in the running event loop."""
        try:
            return self._limiter.get()
        except LookupError:
            limiter = CapacityLimiter(self.threads)
            self._limiter.set(limiter)
            return limiter

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """func(*args) on a slow thread."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self.limiter())

    def endpoint(self, func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
        """A sync endpoint as an async one whose body runs on a slow thread."""

        @functools.wraps(func)
        async def on_slow_thread(*args: P.args, **kwargs: P.kwargs) -> T:
            return await self.run(functools.partial(func, *args, **kwargs))

        return on_slow_thread
