"""Fixtures for the mail tests: a real aiosmtpd server and a scripted raw-socket SMTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from newsdesk.mail.sink import SmtpSink
from newsdesk.models import Newsletter, TopicKind


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink(keep=50).start()
    yield s
    s.stop()


class ScriptedSmtp:
    """A raw SMTP server on 127.0.0.1 that misbehaves on purpose.

    mode "drop_mid_data": accepts up to DATA, reads part of the message, then closes the socket.
    mode "stall_mid_data": accepts up to DATA, reads the message and never replies.
    mode "stall_greeting": accepts the connection and never greets.
    Every wait is bounded by `stop()`; the thread ends by itself after `lifetime` seconds.
    """

    def __init__(self, mode: str, lifetime: float = 30.0) -> None:
        self.mode = mode
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._lifetime = lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        deadline = threading.Timer(self._lifetime, self._stop.set)
        deadline.daemon = True
        deadline.start()
        try:
            while not self._stop.is_set():
                try:
                    conn, _ = self._listener.accept()
                except TimeoutError:
                    continue
                self.connections += 1
                threading.Thread(target=self._session, args=(conn,), daemon=True).start()
        finally:
            deadline.cancel()
            self._listener.close()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buf = b""

        def line() -> bytes | None:
            nonlocal buf
            while b"\r\n" not in buf:
                if self._stop.is_set():
                    return None
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return None
                buf += chunk
            out, buf = buf.split(b"\r\n", 1)
            return out

        try:
            if self.mode == "stall_greeting":
                self._stop.wait()
                return
            conn.sendall(b"220 scripted ESMTP\r\n")
            while (cmd := line()) is not None:
                verb = cmd[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-scripted\r\n250 8BITMIME\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    line()  # the first line of the message
                    if self.mode == "drop_mid_data":
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    # stall: swallow whatever comes, never answer
                    while not self._stop.is_set():
                        try:
                            if not conn.recv(65536):
                                break
                        except TimeoutError:
                            continue
                    return
                else:
                    conn.sendall(b"500 what\r\n")
        except OSError:
            return
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def scripted() -> Iterator[type[ScriptedSmtp]]:
    servers: list[ScriptedSmtp] = []

    def make(mode: str) -> ScriptedSmtp:
        server = ScriptedSmtp(mode)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.stop()


@pytest.fixture
def newsletter() -> Newsletter:
    return Newsletter(7, "Klimaat & energie", "Het klimaatnieuws van de dag", TopicKind.SEARCH, "klimaat",
                      language="nl", timezone="Europe/Amsterdam")
