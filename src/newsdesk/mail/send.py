"""Sending mail over SMTP: one connection per batch, bounded retries, a result per recipient.

`Mailer.send_many` streams: it takes mails from an iterable one at a time (a generator of 10,000
personalised digests is never built in memory) and yields a `SendResult` for each. Failures are
data: a permanent refusal (5xx) is a result with a MailRejectedError and is not retried; a temporary
one (4xx, the connection dropped, the server stalled past `timeout`) is retried with exponential
backoff up to `max_attempts`, then reported as MailTemporaryError, MailConnectionError or
MailTimeoutError. `Mailer.send` sends one mail and raises instead.

Every socket operation is bounded by `timeout` (smtplib sets it on the socket), and attempts are
bounded, so a server that stalls mid-DATA costs at most about max_attempts × timeout plus the
backoff, never a hang. One duplicate is possible and unavoidable in SMTP: if the connection drops
after the message's final dot but before the server's reply, the retry sends it again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from ..errors import (
    MailConnectionError,
    MailError,
    MailRejectedError,
    MailTemporaryError,
    MailTimeoutError,
    SettingsError,
)
from .render import OutgoingMail, header_address

__all__ = ["Mailer", "OutgoingMail", "SendResult", "SmtpSettings", "send_concurrently"]

log = logging.getLogger("newsdesk.mail")

Security = Literal["none", "starttls", "tls"]
_SECURITY = ("none", "starttls", "tls")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. The password never appears in repr() or logs."""

    #: empty means mail is disabled
    host: str
    port: int = 25
    security: Security = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    #: From and envelope sender
    from_address: str = "newsdesk@localhost"
    #: seconds for each socket operation (connect, each command, the data transfer)
    timeout: float = 30.0
    #: attempts per mail for temporary failures, the first included
    max_attempts: int = 3
    #: delay before the first retry, doubled for each further one, capped at max_backoff
    backoff: float = 1.0
    max_backoff: float = 60.0
    #: a fresh connection after this many mails (servers often limit mails per connection)
    max_per_connection: int = 500
    #: the name sent in EHLO; empty means the From address's domain (no reverse DNS lookup)
    local_hostname: str = ""

    def __post_init__(self) -> None:
        if self.security not in _SECURITY:
            raise SettingsError(f"smtp security must be one of {', '.join(_SECURITY)}, not {self.security!r}")
        if self.max_attempts < 1:
            raise SettingsError("smtp max_attempts must be at least 1")
        if self.timeout <= 0:
            raise SettingsError("smtp timeout must be positive")
        header_address(self.from_address)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> SmtpSettings:
        """From the settings table (smtp_host, smtp_port, smtp_security, smtp_username, smtp_password,
        mail_from); keyword arguments override (timeout, max_attempts, ...)."""
        values: dict[str, Any] = {
            "host": settings.smtp_host,
            "port": int(settings.smtp_port),
            "security": str(settings.smtp_security).strip().lower(),
            "username": settings.smtp_username,
            "password": settings.smtp_password,
            "from_address": settings.mail_from,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class SendResult:
    recipient: str
    message_id: str | None
    #: attempts made (0: not tried because the server was already known to be unreachable)
    attempts: int
    error: MailError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Retry(Exception):
    """An attempt failed in a way worth retrying; carries the error to report if none succeeds."""

    def __init__(self, error: MailError, reconnect: bool, connecting: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.reconnect = reconnect
        #: the failure was in reaching the server, not in sending this mail
        self.connecting = connecting


def _classify_reply(code: int, text: bytes | str, recipient: str, what: str) -> MailError:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = " ".join(message.split())[:300]
    if 500 <= code < 600:
        return MailRejectedError(f"{what} refused by the mail server: {code} {message}", code, recipient)
    return MailTemporaryError(f"{what} temporarily refused by the mail server: {code} {message}",
                              code, recipient)


class Mailer:
    """Sends mails over one reused SMTP connection. Use as a context manager, or call close()."""

    def __init__(self, settings: SmtpSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.enabled:
            raise SettingsError("mail is disabled: set NEWSDESK_SMTP_HOST")
        self.settings = settings
        self._sleep = sleep
        self._conn: smtplib.SMTP | None = None
        self._sent_on_conn = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        hostname = s.local_hostname or s.from_address.rsplit("@", 1)[1]
        conn: smtplib.SMTP
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(s.host, s.port, local_hostname=hostname, timeout=s.timeout,
                                        context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(s.host, s.port, local_hostname=hostname, timeout=s.timeout)
            try:
                conn.ehlo()
                if s.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
                if s.username:
                    if not conn.has_extn("auth"):
                        raise MailConnectionError(f"{s.host}:{s.port} offers no login (AUTH) on this "
                                                  f"connection; check smtp_security")
                    conn.login(s.username, s.password)
            except BaseException:
                conn.close()
                raise
        except smtplib.SMTPNotSupportedError as exc:
            raise MailConnectionError(
                f"{s.host}:{s.port} does not support {s.security.upper()}: {exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailConnectionError(f"login to {s.host}:{s.port} as {s.username!r} failed: {exc.smtp_code}",
                                      exc.smtp_code) from None
        except smtplib.SMTPResponseException as exc:
            err = _classify_reply(exc.smtp_code, exc.smtp_error, "", f"the connection to {s.host}:{s.port}")
            if isinstance(err, MailRejectedError):
                raise MailConnectionError(str(err), exc.smtp_code) from None
            raise _Retry(err, reconnect=True, connecting=True) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, ssl.SSLError, OSError) as exc:
            raise _Retry(self._connection_error(exc, "connecting"), reconnect=True, connecting=True) from None
        self._sent_on_conn = 0
        return conn

    def _connection_error(self, exc: BaseException, during: str) -> MailError:
        s = self.settings
        # smtplib reports a read that timed out as "SMTPServerDisconnected: ... timed out"
        if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
            return MailTimeoutError(f"the mail server {s.host}:{s.port} did not answer within "
                                    f"{s.timeout:g} s while {during}")
        if isinstance(exc, ssl.SSLError):
            return MailConnectionError(f"TLS with {s.host}:{s.port} failed while {during}: {exc}")
        return MailConnectionError(f"the connection to {s.host}:{s.port} failed while {during}: "
                                   f"{exc.__class__.__name__}: {exc}")

    def _attempt(self, mail: OutgoingMail) -> None:
        if self._conn is not None and self._sent_on_conn >= self.settings.max_per_connection:
            self.close()
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            refused = conn.sendmail(self.settings.from_address, [mail.recipient], mail.data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(mail.recipient, (550, b"refused"))
            err = _classify_reply(code, text, mail.recipient, f"the recipient {mail.recipient}")
            if isinstance(err, MailRejectedError):
                raise err from None
            raise _Retry(err, reconnect=False) from None
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise _Retry(self._connection_error(exc, "sending"), reconnect=True) from None
        except smtplib.SMTPResponseException as exc:
            # sender refused, data refused, or 421 "closing channel"
            err = _classify_reply(exc.smtp_code, exc.smtp_error, mail.recipient,
                                  f"the mail to {mail.recipient}")
            if exc.smtp_code == 421:
                self._drop()
            if isinstance(err, MailRejectedError):
                raise err from None
            raise _Retry(err, reconnect=exc.smtp_code == 421) from None
        except (TimeoutError, ssl.SSLError, OSError) as exc:
            self._drop()
            raise _Retry(self._connection_error(exc, "sending"), reconnect=True) from None
        self._sent_on_conn += 1
        if refused:  # only possible with several recipients; kept for completeness
            code, text = refused[mail.recipient]
            raise _classify_reply(code, text, mail.recipient, f"the recipient {mail.recipient}")

    def _deliver(self, mail: OutgoingMail) -> tuple[SendResult, bool]:
        """The mail's result, and whether its last failure was in reaching the server."""
        s = self.settings
        attempts = 0
        last: MailError | None = None
        connecting = False
        while attempts < s.max_attempts:
            reused = self._conn is not None
            attempts += 1
            try:
                self._attempt(mail)
                return SendResult(mail.recipient, mail.message_id, attempts), False
            except _Retry as retry:
                last = retry.error
                connecting = retry.connecting
                if reused and retry.reconnect and attempts == 1:
                    # a kept-alive connection the server had closed: retry at once, uncounted
                    attempts -= 1
                    reused = False
                    log.info("mail: reconnecting to %s:%s after %s", s.host, s.port, retry.error)
                    continue
                if attempts < s.max_attempts:
                    delay = min(s.backoff * 2 ** (attempts - 1), s.max_backoff)
                    log.warning("mail: attempt %d for %s failed (%s); retrying in %.2f s",
                                attempts, mail.recipient, retry.error, delay)
                    self._sleep(delay)
            except MailRejectedError as err:
                log.warning("mail: %s", err)
                return SendResult(mail.recipient, mail.message_id, attempts, err), False
        assert last is not None
        last.recipient = mail.recipient
        log.warning("mail: giving up on %s after %d attempts: %s", mail.recipient, attempts, last)
        return SendResult(mail.recipient, mail.message_id, attempts, last), connecting

    def send_many(self, messages: Iterable[EmailMessage | OutgoingMail]) -> Iterator[SendResult]:
        """Send each mail in turn over one connection, yielding its result; never raises for one mail.

        When a mail fails because the server cannot be reached at all (connect or login failed after
        every retry), the remaining mails are yielded as failed with the same error, untried.
        """
        unreachable: MailError | None = None
        for message in messages:
            try:
                mail = OutgoingMail.of(message)
            except MailError as err:
                yield SendResult(str(message.get("To", "")) if isinstance(message, EmailMessage) else "",
                                 None, 0, err)
                continue
            if unreachable is not None:
                yield SendResult(mail.recipient, mail.message_id, 0,
                                 type(unreachable)(str(unreachable), unreachable.code, mail.recipient))
                continue
            try:
                result, connecting = self._deliver(mail)
            except MailConnectionError as err:  # not retryable: TLS unsupported, login refused, 5xx greeting
                err.recipient = mail.recipient
                unreachable = err
                result = SendResult(mail.recipient, mail.message_id, 1, err)
            else:
                if connecting and result.error is not None:
                    unreachable = result.error
            yield result

    def send(self, message: EmailMessage | OutgoingMail) -> SendResult:
        """Send one mail; raise its MailError if it could not be delivered."""
        result = next(iter(self.send_many([message])))
        if result.error is not None:
            raise result.error
        return result



def send_concurrently(settings: SmtpSettings, messages: Iterable[EmailMessage | OutgoingMail], *,
                      connections: int = 4) -> Iterator[SendResult]:
    """Like Mailer.send_many, over `connections` SMTP connections at once (one thread each).

    SMTP is a conversation of round trips (MAIL, RCPT, DATA, the message, the reply), so one
    connection mostly waits; a few in parallel keep the server busy. Mails are still pulled from
    `messages` one at a time, as each connection is ready for the next, so memory stays flat; results
    come in completion order. An exception raised by `messages` itself is raised here.
    """
    if connections < 1:
        raise ValueError("connections must be at least 1")
    if connections == 1:
        with Mailer(settings) as mailer:
            yield from mailer.send_many(messages)
        return
    source = iter(messages)
    source_lock = threading.Lock()
    results: queue.Queue[SendResult | BaseException | None] = queue.Queue(maxsize=connections * 4)
    stop = threading.Event()

    def pull() -> Iterator[EmailMessage | OutgoingMail]:
        while not stop.is_set():
            with source_lock:
                try:
                    item = next(source)
                except StopIteration:
                    return
            yield item

    def worker() -> None:
        try:
            with Mailer(settings) as mailer:
                for result in mailer.send_many(pull()):
                    results.put(result)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            stop.set()
            results.put(exc)
        finally:
            results.put(None)

    threads = [threading.Thread(target=worker, name=f"newsdesk-mail-{i}", daemon=True)
               for i in range(connections)]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            item = results.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        # drain so no worker blocks on a full queue, then wait for them
        while any(t.is_alive() for t in threads):
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.1)
        for thread in threads:
            thread.join()
