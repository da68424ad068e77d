"""A local SMTP server that keeps what it receives in memory: for the demo and the tests.

It listens on 127.0.0.1 only (port 0 picks a free port, read back from `port` after start()), keeps
the last `keep` messages (older ones are dropped, so a long demo cannot eat memory) and refuses
messages over `max_size` bytes. It relays nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["ReceivedMail", "SmtpSink"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes
    received_at: datetime

    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, _class=EmailMessage, policy=default)
        assert isinstance(msg, EmailMessage)
        return msg


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.sink.refuse_rcpt is not None:
            reply = self.sink.refuse_rcpt(address)
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            recipients=tuple(str(r) for r in envelope.rcpt_tos),
            data=bytes(data),
            received_at=datetime.now(UTC),
        )
        if self.sink.refuse_data is not None:
            reply = self.sink.refuse_data(mail)
            if reply:
                return reply
        self.sink._store(mail)
        return "250 OK kept"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # port 0: learn the port the system chose before the controller connects to check readiness
        server: Any = self.server
        if self.port == 0 and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpSink:
    """Start with start(), read messages(), stop with stop(); or use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, keep: int = 100,
                 max_size: int = 10_000_000,
                 refuse_rcpt: Callable[[str], str | None] | None = None,
                 refuse_data: Callable[[ReceivedMail], str | None] | None = None) -> None:
        """`refuse_rcpt` and `refuse_data` may return an SMTP reply ("451 4.3.0 later") to refuse a
        recipient or a message instead of keeping it: how tests play a difficult server."""
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.host = host
        self._requested_port = port
        self._messages: deque[ReceivedMail] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._received = 0
        self._max_size = max_size
        self.refuse_rcpt = refuse_rcpt
        self.refuse_data = refuse_data
        self._handler = _Handler(self)
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("the sink is not running")
        return int(self._controller.port)

    @property
    def received_count(self) -> int:
        """All messages received since start, including those no longer kept."""
        with self._lock:
            return self._received

    def start(self) -> SmtpSink:
        if self._controller is not None:
            return self
        controller = _Controller(self._handler, hostname=self.host, port=self._requested_port,
                                 data_size_limit=self._max_size, server_hostname="newsdesk-sink")
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _store(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)
            self._received += 1

    def messages(self) -> list[ReceivedMail]:
        """The kept messages, oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
