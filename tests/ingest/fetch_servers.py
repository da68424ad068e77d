"""Real, hostile HTTP servers on 127.0.0.x for the fetch tests, plus a DNS the tests control.

The server speaks HTTP/1.1 by hand over asyncio streams, so a test can do what a friendly framework
would refuse to: trickle bytes, lie about Content-Length, stream forever, count connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from newsdesk.ingest.addresses import IPAddress
from newsdesk.ingest.fetch import FetchPolicy

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one test's async body in a fresh event loop (no pytest-asyncio in the pinned stack)."""
    return asyncio.run(coro)


LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)


def policy(**changes: Any) -> FetchPolicy:
    """A policy for tests: 127.0.0.1 (only) allowed, and small limits so hostile cases end fast."""
    base: dict[str, Any] = {
        "allowed_networks": LOOPBACK_ONLY,
        "timeout": 2.0,
        "max_bytes": 1_000_000,
        "max_redirects": 3,
        "per_host_connections": 2,
        "concurrency": 16,
    }
    base.update(changes)
    return FetchPolicy(**base)


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  #: lowercase names

    @property
    def path(self) -> str:
        return self.target


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]
"""Writes a response; returns True to keep the connection open for another request."""


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        line = await reader.readline()
    except (ConnectionError, ValueError):
        return None
    if not line:
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, target, headers)


def response_bytes(status: int, headers: Sequence[tuple[str, str]] = (), body: bytes = b"",
                   *, content_length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{k}: {v}" for k, v in headers]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def send(writer: asyncio.StreamWriter, status: int, headers: Sequence[tuple[str, str]] = (),
               body: bytes = b"") -> bool:
    writer.write(response_bytes(status, headers, body))
    await writer.drain()
    return True


@dataclass
class Server:
    """A raw HTTP/1.1 server. Counts connections, requests, and requests in flight at once."""

    handler: Handler
    host: str = "127.0.0.1"
    port: int = 0
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    open_connections: int = 0
    max_open_connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._server.wait_closed()

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    keep = await self.handler(request, writer)
                finally:
                    self.in_flight -= 1
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the test is over (__aexit__); ending quietly keeps asyncio from logging the cancel
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class FakeDNS:
    """A resolver the tests control. Each entry is a list of answers, one per lookup (the last repeats)."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        rounds = self.answers[host]
        answer = rounds[min(len(self.calls_for(host)) - 1, len(rounds) - 1)]
        return [ipaddress.ip_address(a) for a in answer]

    def calls_for(self, host: str) -> list[str]:
        return [h for h in self.calls if h == host]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
