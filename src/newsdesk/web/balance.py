"""Spreading connections over the web worker processes (`serve --web-workers N`).

uvicorn's supervisor binds one listening socket and every worker serves it with asyncio's
`loop.create_server(sock=...)`. A new connection wakes every worker; asyncio then accepts up to
`backlog` connections per wake-up, and since each request runs on a thread, the event loop of a busy
worker keeps accepting. Keep-alive connections that arrive together (an app's sync, a benchmark) all
land in one process while the other cores idle: with 2 workers and 2 connections posting Google
Reader contents, one worker used 9.8 s of CPU in 10 s and the other none.

Here each worker accepts for itself, one connection per wake-up. A worker that holds no connection
accepts at once; one that holds k waits FIRST + (min(k, MAX_STEPS) - 1) × STEP first (10 ms for one,
2 ms more for each further one, 20 ms at most). All workers are woken by the same readiness, so a
worker with fewer connections (an idle one at once) takes the connection first; when every worker is
busy, the least busy one takes it after at most 20 ms. No worker refuses or drops a connection: one
that waited accepts whatever is still queued, and the kernel's backlog holds connections meanwhile.
The cost: a new connection waits 10-20 ms when every worker already holds one (keep-alive clients pay
it once per connection).

The hook is uvicorn's `loop` setting, which takes the import string of an event loop factory:
BalancingEventLoop is asyncio's own loop (uvicorn's choice without uvloop, which newsdesk does not
install) whose public `create_server` starts this accept loop instead of asyncio's when it is given
a listening socket, which is how uvicorn's worker processes call it. No uvicorn internal is patched;
what is relied on (the worker calls `loop.create_server(protocol_factory, sock=..., ssl=...,
backlog=...)` on the loop from the factory) is checked by the balance tests of
tests/api/test_web_processes.py: with asyncio's accept loop, both of their checks fail every time.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["FIRST", "MAX_STEPS", "STEP", "BalancingEventLoop", "accept_delay"]

logger = logging.getLogger(__name__)

#: seconds a worker that holds a connection waits before it accepts another: long enough for an idle
#: worker (woken by the same readiness, its event loop free) to get there first even when the cores
#: are busy (the clients, the busy workers' request threads) and it waits a few ms for a core. At
#: 4 ms, with one of two cores kept busy by another process, an idle worker lost one race in about
#: twenty; at 10 ms, none in 50 (30 with one core kept busy, 20 with both).
FIRST = 0.010
#: seconds more for each further connection it holds, so that the less busy of two busy workers
#: tends to take it
STEP = 0.002
#: connections counted at most, so that a new connection waits FIRST + 5 × STEP = 20 ms at most
MAX_STEPS = 6
#: accept() failed for want of file descriptors or memory: asyncio's own pause before it retries
RETRY_AFTER = 1.0


def accept_delay(held: int) -> float:
    """Seconds a worker that holds `held` open connections waits before it accepts another."""
    return 0.0 if held <= 0 else FIRST + (min(held, MAX_STEPS) - 1) * STEP


class BalancingEventLoop(asyncio.SelectorEventLoop):
    """asyncio's event loop, whose servers on an already-bound socket accept as described above."""

    async def create_server(
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], host: Any = None, port: Any = None,
        **kwargs: Any,
    ) -> asyncio.Server:
        sock: socket.socket | None = kwargs.get("sock")
        if sock is None or kwargs.get("start_serving") is False:
            return await super().create_server(protocol_factory, host, port, **kwargs)
        # asyncio's server object still owns the socket: uvicorn's shutdown closes it through
        # server.close(), which also stops our reader; it just does not accept.
        server = await super().create_server(protocol_factory, host, port, **{**kwargs, "start_serving": False})
        # what asyncio's start_serving would have done first (uvicorn's parent binds but does not listen)
        sock.listen(kwargs.get("backlog", 100))
        ssl_options = {name: kwargs[name] for name in ("ssl", "ssl_handshake_timeout", "ssl_shutdown_timeout")
                       if kwargs.get(name) is not None}
        _Acceptor(self, sock, protocol_factory, ssl_options).start()
        return server


class _Acceptor:
    """Accepts on one listening socket for one event loop, waiting its turn when it holds connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 protocol_factory: Callable[[], asyncio.BaseProtocol], ssl_options: dict[str, Any]) -> None:
        self.loop = loop
        self.sock = sock
        self.protocol_factory = protocol_factory
        self.ssl_options = ssl_options
        #: the accepted sockets not closed yet (a transport closes its socket once the connection is
        #: lost); counted from the accept on, before uvicorn's protocol even sees the connection
        self.connections: set[socket.socket] = set()
        #: the handshakes in progress, kept referenced so that they are not collected midway
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.loop.add_reader(self.sock.fileno(), self.readable)

    def open_connections(self) -> int:
        self.connections = {conn for conn in self.connections if conn.fileno() != -1}
        return len(self.connections)

    def readable(self) -> None:
        held = self.open_connections()
        if not held:
            self.accept()
            return
        # Let a less busy worker take it: stop watching, and come back after our turn's wait.
        self.loop.remove_reader(self.sock.fileno())
        self.loop.call_later(accept_delay(held), self.resume)

    def resume(self) -> None:
        if self.sock.fileno() == -1:  # the server was closed while we waited (shutdown)
            return
        # whatever is still queued; nothing if another worker took it meanwhile
        if self.accept():
            # level-triggered: called again at once if more connections are queued, then waits its turn
            self.loop.add_reader(self.sock.fileno(), self.readable)

    def accept(self) -> bool:
        """Accept one connection if one is queued. False: accepting is paused (a resume() is due)."""
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return True  # another worker took it, or the client gave up
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                raise  # the event loop logs it and keeps running, as for asyncio's own accept
            # out of descriptors or memory: the socket stays readable, so pause as asyncio does
            logger.error("accept() failed (%s); accepting again in %s s", exc, RETRY_AFTER)
            self.loop.remove_reader(self.sock.fileno())
            self.loop.call_later(RETRY_AFTER, self.resume)
            return False
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            # uvicorn's supervisor makes its socket with socket.socket(family) (protocol number 0),
            # and asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP: without it, Nagle's
            # algorithm held a response's body until the client acknowledged its headers, and the
            # client's delayed ACK made every small answer of `--web-workers 2` take 40 ms more.
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(conn)
        task = self.loop.create_task(self.connect(conn))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    async def connect(self, conn: socket.socket) -> None:
        """Hand the connection to a new uvicorn protocol, as asyncio's server would."""
        try:
            await self.loop.connect_accepted_socket(self.protocol_factory, conn, **self.ssl_options)
        except OSError as exc:  # a TLS handshake that failed, a client gone already
            logger.debug("connection not set up: %s", exc)
            conn.close()
