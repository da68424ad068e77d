"""Signed, expiring tokens for the links in mails: confirm, unsubscribe, manage.

A token is an itsdangerous URLSafeTimedSerializer payload signed with the site's secret key and a
salt per purpose, so an unsubscribe token can never be used as a confirm token. It binds the
subscription id, the address and the subscription's `token_version`:

- the address, so a token stays tied to the mailbox it was sent to even if a row id were reused;
- the version, because a confirm link lives in a mailbox for ever: after an unsubscribe (which bumps
  the version) a replayed confirm link must not re-activate the subscription. `check_current` is
  the one place that decides whether a token still applies to the stored subscription.

Lifetimes differ by purpose: a confirm link expires after 48 hours; unsubscribe and manage links
sit in old mails and must keep working for a year. Unsubscribe and manage tokens are not bound to the
version: replaying them is harmless, and a link in an old mail must still work after a re-subscribe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import InvalidTokenError
from ..models import Subscription

__all__ = [
    "MAX_AGE",
    "PURPOSES",
    "Purpose",
    "TokenData",
    "LINK_PATHS",
    "check_current",
    "make_link",
    "make_token",
    "read_token",
]

Purpose = Literal["confirm", "unsubscribe", "manage"]
PURPOSES: tuple[str, ...] = ("confirm", "unsubscribe", "manage")

#: default lifetimes in seconds
MAX_AGE: dict[str, int] = {
    "confirm": 48 * 3600,
    "unsubscribe": 366 * 86400,
    "manage": 366 * 86400,
}

#: a token is a short URL path segment; anything longer is refused before it is decoded
MAX_TOKEN_LENGTH = 1024


#: where the web app answers each purpose; mails link to PUBLIC_URL + path + token
LINK_PATHS: dict[str, str] = {
    "confirm": "/newsletters/confirm/",
    "unsubscribe": "/newsletters/unsubscribe/",
    "manage": "/newsletters/manage/",
}


@dataclass(frozen=True)
class TokenData:
    purpose: str
    subscription_id: int
    address: str
    #: the subscription's token_version when the token was made
    version: int
    issued_at: datetime


def _serializer(secret: str | bytes, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if not secret:
        raise ValueError("an empty secret key cannot sign tokens")
    return URLSafeTimedSerializer(secret, salt=f"newsdesk.mail.{purpose}")


def make_token(secret: str | bytes, purpose: Purpose, subscription_id: int, address: str,
               version: int = 0) -> str:
    """A URL-safe token for one subscription and purpose."""
    return str(_serializer(secret, purpose).dumps([subscription_id, address, version]))


def read_token(secret: str | bytes, purpose: Purpose, token: str, max_age: int | None = None) -> TokenData:
    """The token's data, or InvalidTokenError if it is forged, expired or made for another purpose.

    `max_age` defaults to the purpose's lifetime in MAX_AGE (seconds).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidTokenError("this link is not valid")
    age = MAX_AGE[purpose] if max_age is None else max_age
    try:
        payload, signed_at = _serializer(secret, purpose).loads(token, max_age=age, return_timestamp=True)
    except SignatureExpired:
        raise InvalidTokenError("this link has expired") from None
    except BadSignature:
        raise InvalidTokenError("this link is not valid") from None
    if (not isinstance(payload, list) or len(payload) != 3
            or not isinstance(payload[0], int) or isinstance(payload[0], bool)
            or not isinstance(payload[1], str)
            or not isinstance(payload[2], int) or isinstance(payload[2], bool)):
        # only reachable with the secret key; checked anyway so a bug elsewhere cannot crash here
        raise InvalidTokenError("this link is not valid")
    issued = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=UTC)
    return TokenData(purpose, payload[0], payload[1], payload[2], issued.astimezone(UTC))


def check_current(data: TokenData, subscription: Subscription) -> None:
    """Raise InvalidTokenError unless the token still applies to this stored subscription.

    Every purpose needs the same id and address; a confirm link also needs the current
    token_version, so a confirm link replayed after an unsubscribe does nothing.
    """
    if data.subscription_id != subscription.id or data.address != subscription.address:
        raise InvalidTokenError("this link is not valid")
    if data.purpose == "confirm" and data.version != subscription.token_version:
        raise InvalidTokenError("this link is no longer valid")



def make_link(public_url: str, secret: str | bytes, purpose: Purpose, subscription: Subscription) -> str:
    """The absolute URL a mail links to for this purpose, e.g. https://news.example/newsletters/confirm/TOKEN."""
    token = make_token(secret, purpose, subscription.id, subscription.address, subscription.token_version)
    return public_url.rstrip("/") + LINK_PATHS[purpose] + token
