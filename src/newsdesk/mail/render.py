"""Digest and confirmation mails as email.message.EmailMessage objects. No IO but reading templates.

Article titles, summaries, outlet names and URLs come from foreign sites, and newsletter names from
an operator's form: all of it is untrusted. Bodies are rendered by Jinja2 with autoescaping (HTML)
and whitespace-collapsing (text); URLs are kept only if they are plain http(s); every header value
goes through `header_text` (CR, LF and other control characters become spaces) or, for addresses
and URLs, is refused with MailHeaderError. The mails carry no images, scripts, remote resources or
tracking of any kind.

A digest's stories are the same for every subscriber, so `prepare_digest` renders them once and
`PreparedDigest.mail_for` adds only the per-subscriber footer and headers; `render_digest`
does both for one subscriber. Mails are assembled as wire bytes (CRLF, quoted-printable UTF-8 parts)
because the email package's header objects cost ~10 ms a mail; `to_message` turns them into an
EmailMessage that serializes back to the same bytes.
"""

from __future__ import annotations

import binascii
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2

from ..errors import MailHeaderError
from ..models import DigestEntry, DigestPeriod, Newsletter, Subscription
from .addresses import normalize_address
from .tokens import make_link

__all__ = [
    "DigestLinks",
    "OutgoingMail",
    "PreparedDigest",
    "digest_links",
    "header_address",
    "header_text",
    "prepare_digest",
    "render_confirmation",
    "render_digest",
    "safe_url",
    "to_message",
]

MAX_TITLE = 300
MAX_SUMMARY = 400
MAX_NAME = 120
MAX_URL = 2048

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "read": "Read",
        "original": "original",
        "manage": "Manage subscriptions",
        "unsubscribe": "Unsubscribe",
        "empty": "No new stories in this period.",
        "why": "You receive this because {address} subscribed to {name}.",
        "confirm_subject": "Confirm your subscription to {name}",
        "hello": "Hello,",
        "asked": "You (or someone using your address) asked to receive the newsletter {name} at {address}.",
        "to_confirm": "To confirm, open this link within 48 hours:",
        "not_you": "If that was not you, ignore this mail: nothing is sent without your confirmation.",
    },
    "nl": {
        "read": "Lees",
        "original": "origineel",
        "manage": "Abonnementen beheren",
        "unsubscribe": "Afmelden",
        "empty": "Geen nieuwe verhalen in deze periode.",
        "why": "Je ontvangt dit omdat {address} zich heeft aangemeld voor {name}.",
        "confirm_subject": "Bevestig je aanmelding voor {name}",
        "hello": "Hallo,",
        "asked": "Jij (of iemand anders met jouw adres) vroeg om de nieuwsbrief {name} te ontvangen "
                 "op {address}.",
        "to_confirm": "Open deze link binnen 48 uur om te bevestigen:",
        "not_you": "Was jij dit niet? Negeer deze mail dan: zonder jouw bevestiging sturen we niets.",
    },
}

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"),
}

_SPACE_RE = re.compile(r"\s+")


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


_ENV: jinja2.Environment | None = None


def _env() -> jinja2.Environment:
    # built on first use, not at import (importing does nothing)
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def one_line(value: str | None, limit: int) -> str:
    """Text on one line: controls and line breaks become spaces, runs of space collapse, cut at `limit`."""
    if not value:
        return ""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    cleaned = _SPACE_RE.sub(" ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def header_text(value: str, limit: int = 200) -> str:
    """A header value that cannot start another header: CR, LF and control characters become spaces,
    and bidi overrides and zero-width characters (which can disguise a subject) are dropped."""
    return one_line("".join(c for c in value if unicodedata.category(c) != "Cf"), limit)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) URL without spaces or control characters, else None."""
    if not url or len(url) > MAX_URL:
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _header_url(url: str) -> str:
    checked = safe_url(url)
    if checked is None or len(checked) > 900 or any(c in checked for c in "<>,\"'"):
        raise MailHeaderError(f"not a URL that can go in a mail header: {url[:100]!r}")
    return checked


def header_address(address: str) -> str:
    """An address for From/To: refused, not repaired, if it could inject anything."""
    if (not address or len(address) > 254 or not address.isascii() or address.count("@") != 1
            or any(c.isspace() or not c.isprintable() or c in '<>,;:"()[]\\' for c in address)):
        raise MailHeaderError(f"not an address that can go in a mail header: {address[:100]!r}")
    return address


def _format_date(day: date, language: str) -> str:
    months = _MONTHS.get(language, _MONTHS["en"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def _labels(language: str) -> Mapping[str, str]:
    return LABELS.get(language, LABELS["en"])


@dataclass(frozen=True)
class DigestLinks:
    """The per-subscriber links of a digest's footer and List-Unsubscribe header."""

    #: one-click unsubscribe (RFC 8058: the web answers a POST here without a confirmation step)
    unsubscribe_url: str
    manage_url: str
    #: optional mailto: alternative in List-Unsubscribe
    unsubscribe_mailto: str | None = None


def digest_links(public_url: str, secret: str | bytes, subscription: Subscription) -> DigestLinks:
    """A subscriber's footer links: signed unsubscribe and manage URLs under the reader's public URL."""
    return DigestLinks(
        unsubscribe_url=make_link(public_url, secret, "unsubscribe", subscription),
        manage_url=make_link(public_url, secret, "manage", subscription),
    )


@dataclass(frozen=True)
class OutgoingMail:
    """A mail ready for the wire: one recipient, CRLF bytes. What Mailer sends."""

    recipient: str
    data: bytes
    message_id: str | None = None

    @classmethod
    def of(cls, message: EmailMessage | OutgoingMail) -> OutgoingMail:
        if isinstance(message, OutgoingMail):
            return message
        recipients = message.get_all("To") or []
        if len(recipients) != 1 or message.get_all("Cc") or message.get_all("Bcc"):
            raise MailHeaderError("newsdesk mails go to exactly one recipient in To (no Cc or Bcc)")
        data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        return cls(header_address(str(recipients[0]).strip()), data, message.get("Message-ID"))


@dataclass(frozen=True)
class _OutletView:
    name: str
    url: str | None


@dataclass(frozen=True)
class _EntryView:
    title: str
    summary: str
    reader_url: str | None
    outlets: tuple[_OutletView, ...]


def _entry_view(entry: DigestEntry) -> _EntryView:
    outlets = tuple(_OutletView(one_line(o.source_title, MAX_NAME) or "?", safe_url(o.url))
                    for o in entry.outlets)
    if not outlets:
        outlets = (_OutletView("?", safe_url(entry.url)),)
    return _EntryView(
        title=one_line(entry.title, MAX_TITLE) or "(untitled)",
        summary=one_line(entry.summary, MAX_SUMMARY),
        reader_url=safe_url(entry.reader_url) or safe_url(entry.url),
        outlets=outlets,
    )


def _qp(text: str) -> bytes:
    """Quoted-printable body with CRLF line ends. Line by line, so qp(a + b) == qp(a) + qp(b) when `a`
    ends in a newline: the shared part of a digest is encoded once, the footer per subscriber."""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _encoded_header(name: str, value: str) -> bytes:
    """One header line, folded, non-ASCII as RFC 2047 encoded words. `value` is already one line."""
    if "\r" in value or "\n" in value:  # every caller cleaned it; this is the last line of defence
        raise MailHeaderError(f"header {name} would contain a line break")
    if value.isascii() and len(name) + len(value) < 990:
        folded = value
    else:
        folded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=78)
    return f"{name}: {folded}\r\n".encode("ascii")


_PARSE_POLICY = SMTP.clone(refold_source="none")

_QP = b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
_PART_HEADERS = {
    "plain": b'Content-Type: text/plain; charset="utf-8"\r\n' + _QP,
    "html": b'Content-Type: text/html; charset="utf-8"\r\n' + _QP,
}


def _assemble(head: bytes, boundary: bytes, text_qp: bytes, html_qp: bytes) -> bytes:
    """A multipart/alternative message on the wire (CRLF), from its encoded pieces."""
    return b"".join((
        head,
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"", boundary, b"\"\r\n\r\n",
        b"--", boundary, b"\r\n", _PART_HEADERS["plain"], text_qp,
        b"" if text_qp.endswith(b"\r\n") else b"\r\n",
        b"--", boundary, b"\r\n", _PART_HEADERS["html"], html_qp,
        b"" if html_qp.endswith(b"\r\n") else b"\r\n",
        b"--", boundary, b"--\r\n",
    ))


def _boundary() -> bytes:
    # "=" never appears unencoded at the start of a quoted-printable line, so no body line can match
    return b"==newsdesk-" + secrets.token_hex(12).encode("ascii") + b"=="


def to_message(data: bytes) -> EmailMessage:
    """The wire bytes as an EmailMessage whose as_bytes() gives them back unchanged."""
    msg = message_from_bytes(data, _class=EmailMessage, policy=_PARSE_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg


@dataclass(frozen=True)
class PreparedDigest:
    """A digest rendered once; `for_subscriber` makes each subscriber's mail from it.

    The shared head of the mail and the stories are encoded once; per subscriber only a few headers
    and the footer are: that is what makes 10,000 personalised digests cheap.
    """

    newsletter: Newsletter
    subject: str
    language: str
    #: encoded From, Subject, List-Id header lines
    shared_headers: bytes
    msgid_domain: str
    boundary: bytes
    #: quoted-printable text and HTML up to the footer
    text_qp: bytes
    html_qp: bytes

    def mail_for(self, address: str, links: DigestLinks, *, now: datetime | None = None) -> OutgoingMail:
        """One subscriber's digest as wire bytes: the fast path the bulk sender uses."""
        to = header_address(normalize_address(address))
        unsubscribe = _header_url(links.unsubscribe_url)
        manage = safe_url(links.manage_url)
        if manage is None:
            raise MailHeaderError(f"not a usable manage URL: {links.manage_url[:100]!r}")
        list_unsubscribe = f"<{unsubscribe}>"
        if links.unsubscribe_mailto:
            mailto = links.unsubscribe_mailto
            if (not mailto.startswith("mailto:") or len(mailto) > 300 or not mailto.isascii()
                    or any(c in mailto for c in "<>,\"' ") or not mailto.isprintable()):
                raise MailHeaderError(f"not a usable mailto link: {mailto[:100]!r}")
            list_unsubscribe += f",\r\n <{mailto}>"
        labels = _labels(self.language)
        context = {
            "why": labels["why"].format(address=to, name=one_line(self.newsletter.name, MAX_NAME)),
            "labels": labels,
            "manage_url": manage,
            "unsubscribe_url": unsubscribe,
        }
        env = _env()
        text = env.get_template("digest_footer.txt").render(context)
        html = env.get_template("digest_footer.html").render(context)
        message_id = make_msgid("digest", domain=self.msgid_domain)
        head = b"".join((
            self.shared_headers,
            _encoded_header("To", to),
            _encoded_header("Date", format_datetime(now or datetime.now(UTC))),
            _encoded_header("Message-ID", message_id),
            b"List-Unsubscribe: ", list_unsubscribe.encode("ascii"), b"\r\n",
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        ))
        data = _assemble(head, self.boundary, self.text_qp + _qp(text), self.html_qp + _qp(html))
        return OutgoingMail(to, data, message_id)

    def for_subscriber(self, address: str, links: DigestLinks, *,
                       now: datetime | None = None) -> EmailMessage:
        """One subscriber's digest as an EmailMessage (see `mail_for`)."""
        return to_message(self.mail_for(address, links, now=now).data)


def _from_header(newsletter: Newsletter, from_address: str) -> tuple[bytes, str]:
    addr = header_address(from_address)
    domain = addr.rsplit("@", 1)[1].lower()
    name = header_text(newsletter.name, MAX_NAME) or "newsdesk"
    # Address quotes or encodes the display name: commas, colons and angle brackets in it stay text
    value = Address(display_name=name, addr_spec=addr)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = value
    return msg.as_bytes().split(b"\r\n\r\n", 1)[0] + b"\r\n", domain


def prepare_digest(newsletter: Newsletter, entries: Sequence[DigestEntry], *, from_address: str,
                   period: DigestPeriod | None = None, now: datetime | None = None) -> PreparedDigest:
    """Render the shared part of a digest once: its headers and the stories in text and HTML."""
    language = newsletter.language if newsletter.language in LABELS else "en"
    when = period.end if period is not None else (now or datetime.now(UTC))
    try:
        local_day = when.astimezone(ZoneInfo(newsletter.timezone)).date()
    except (KeyError, ValueError):
        local_day = when.astimezone(UTC).date()
    date_label = _format_date(local_day, language)
    name = header_text(newsletter.name, MAX_NAME) or "newsdesk"
    subject = header_text(f"{name} — {date_label}", 250)
    from_line, domain = _from_header(newsletter, from_address)
    context: dict[str, Any] = {
        "newsletter": {"name": name, "tagline": one_line(newsletter.tagline, 200)},
        "entries": [_entry_view(e) for e in entries],
        "labels": _labels(language),
        "date_label": date_label,
        "subject": subject,
        "lang": language,
    }
    env = _env()
    return PreparedDigest(
        newsletter=newsletter,
        subject=subject,
        language=language,
        shared_headers=b"".join((
            from_line,
            _encoded_header("Subject", subject),
            _encoded_header("List-Id", f"<newsletter-{int(newsletter.id)}.{domain}>"),
            b"Auto-Submitted: auto-generated\r\n",
        )),
        msgid_domain=domain,
        boundary=_boundary(),
        text_qp=_qp(env.get_template("digest_body.txt").render(context)),
        html_qp=_qp(env.get_template("digest_body.html").render(context)),
    )


def render_digest(newsletter: Newsletter, entries: Sequence[DigestEntry], subscriber: Subscription | str,
                  links: DigestLinks, *, from_address: str, period: DigestPeriod | None = None,
                  now: datetime | None = None) -> EmailMessage:
    """One subscriber's digest: multipart/alternative (text and HTML) with List-Unsubscribe headers.

    `subscriber` is a Subscription or an address; the address is normalized again here and refused
    if it fails. For many subscribers, call prepare_digest once and PreparedDigest.mail_for each.
    """
    address = subscriber.address if isinstance(subscriber, Subscription) else subscriber
    prepared = prepare_digest(newsletter, entries, from_address=from_address, period=period, now=now)
    return prepared.for_subscriber(address, links, now=now)


def render_confirmation(newsletter: Newsletter, address: str, confirm_url: str, *, from_address: str,
                        now: datetime | None = None) -> EmailMessage:
    """The double opt-in mail: "you (or someone) asked...", with the confirm link."""
    language = newsletter.language if newsletter.language in LABELS else "en"
    labels = dict(_labels(language))
    to = header_address(normalize_address(address))
    url = safe_url(confirm_url)
    if url is None:
        raise MailHeaderError(f"not a usable confirm URL: {confirm_url[:100]!r}")
    name = header_text(newsletter.name, MAX_NAME) or "newsdesk"
    labels["asked"] = labels["asked"].format(name=name, address=to)
    subject = header_text(labels["confirm_subject"].format(name=name), 250)
    from_line, domain = _from_header(newsletter, from_address)
    context = {"labels": labels, "confirm_url": url, "lang": language, "subject": subject}
    env = _env()
    head = b"".join((
        from_line,
        _encoded_header("To", to),
        _encoded_header("Subject", subject),
        _encoded_header("Date", format_datetime(now or datetime.now(UTC))),
        _encoded_header("Message-ID", make_msgid("confirm", domain=domain)),
        b"Auto-Submitted: auto-generated\r\n",
    ))
    data = _assemble(head, _boundary(), _qp(env.get_template("confirm.txt").render(context)),
                     _qp(env.get_template("confirm.html").render(context)))
    return to_message(data)
