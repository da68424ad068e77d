"""web/balance.py in one process, over real loopback sockets: a loop that holds connections waits
its turn before it accepts another, and still answers every one. How connections spread over
`serve --web-workers` processes is tests/api/test_web_processes.py's."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import socket
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from newsdesk.web.balance import FIRST, MAX_STEPS, RETRY_AFTER, STEP, BalancingEventLoop, accept_delay


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _round_trip(port: int) -> tuple[asyncio.StreamWriter, float]:
    """A new connection and its first echo; the connection (left open) and the seconds it took."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    assert await reader.readexactly(4) == b"ping"
    return writer, time.monotonic() - started


def _run_on_balancing_loop(main: Coroutine[Any, Any, None]) -> None:
    loop = BalancingEventLoop()
    try:
        loop.run_until_complete(main)
    finally:
        loop.close()


def test_the_wait_grows_with_the_connections_held_up_to_a_bound() -> None:
    assert accept_delay(0) == 0
    assert accept_delay(1) == FIRST
    assert accept_delay(2) == FIRST + STEP
    assert accept_delay(MAX_STEPS) == accept_delay(1000) <= 0.020


def test_a_loop_that_holds_connections_waits_its_turn_but_answers_each() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:  # bound, not listening: as uvicorn's supervisor hands it over
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = await loop.create_server(Echo, sock=sock, backlog=16)
            held = []
            for count in range(4):
                writer, seconds = await _round_trip(port)
                held.append(writer)
                # the accept came no sooner than this loop's turn (an upper bound would time the machine)
                assert seconds >= accept_delay(count)
            for writer in held:
                writer.close()
                await writer.wait_closed()
            server.close()
            await server.wait_closed()
            assert sock.fileno() == -1  # closed by the server, as asyncio's own server does

    _run_on_balancing_loop(main())


def test_a_server_it_binds_itself_is_asyncio_s_own() -> None:
    """Without a socket handed over (single-process use of the loop), create_server is asyncio's."""
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        writers = [(await _round_trip(port))[0] for _ in range(3)]
        assert server.is_serving()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()

    _run_on_balancing_loop(main())


def test_out_of_descriptors_pauses_accepting_and_then_accepts(caplog: pytest.LogCaptureFixture) -> None:
    """accept() failing with EMFILE (a real one: the process's descriptor limit lowered) pauses
    accepting for RETRY_AFTER, once, instead of retrying on every turn; then the connection is served."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = await loop.create_server(Echo, sock=sock, backlog=16)
            held, _ = await _round_trip(port)  # so that the next accept goes through resume()
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            client = socket.socket()  # made before the limit: the server's accept is what must fail
            client.setblocking(False)
            # the limit caps descriptor numbers: at the lowest free one, the next descriptor fails
            with socket.socket() as probe:
                lowest_free = probe.fileno()
            resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
            try:
                started = time.monotonic()
                with contextlib.suppress(BlockingIOError):
                    client.connect(("127.0.0.1", port))  # queued by the kernel; accept() will fail
                # long enough for the first accept (after FIRST) to fail; short, as the whole test
                # process is at its descriptor limit meanwhile
                await asyncio.sleep(FIRST * 10)
            finally:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            reader, writer = await asyncio.open_connection(sock=client)
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            assert time.monotonic() - started >= RETRY_AFTER
            for w in (writer, held):
                w.close()
                await w.wait_closed()
            server.close()
            await server.wait_closed()

    with caplog.at_level(logging.ERROR, logger="newsdesk.web.balance"):
        _run_on_balancing_loop(main())
    assert [r.getMessage() for r in caplog.records].count(
        f"accept() failed ([Errno {errno.EMFILE}] Too many open files); accepting again in {RETRY_AFTER} s") == 1


def test_accepted_connections_send_without_delay() -> None:
    """uvicorn's supervisor makes its socket with socket.socket(family), whose protocol number is 0,
    so asyncio does not set TCP_NODELAY on the connections; the loop does (without it, Nagle's
    algorithm and the client's delayed ACK added 40 ms to every small answer)."""
    seen: list[int] = []

    class Check(Echo):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            seen.append(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    async def main() -> None:
        with socket.socket(family=socket.AF_INET) as sock:  # as uvicorn's Config.bind_socket makes it
            sock.bind(("127.0.0.1", 0))
            assert sock.proto == 0
            server = await asyncio.get_running_loop().create_server(Check, sock=sock, backlog=16)
            writer, _ = await _round_trip(sock.getsockname()[1])
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()

    _run_on_balancing_loop(main())
    assert seen and all(seen), seen
