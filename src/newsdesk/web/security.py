"""Response headers, CSRF tokens and the admin gate.

- Every response carries a strict Content-Security-Policy: no inline script or style anywhere, so
  an injected tag in a stored article cannot run even if sanitizing missed it.
- CSRF is a double submit: a random value in a cookie, and the same value signed (itsdangerous,
  settings.secret_key) in every form. A POST must carry both, matching.
- The admin answers HTTP Basic (user "admin") when a password is set, else only loopback clients.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Path
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors_accounts import RateLimitedError
from ..services.accounts import LoginLimiter
from ..storage.base import Storage

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CsrfTokens",
    "SECURITY_HEADERS",
    "AdminDenied",
    "FailedLogins",
    "RowId",
    "SecurityHeadersMiddleware",
    "check_admin",
    "safe_url",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

#: a database id in a path: bounded, so 99999999999999999999 is a 400, not an overflow (500) in the driver
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

CSRF_COOKIE = "newsdesk_csrf"
CSRF_FIELD = "csrf_token"
#: a form older than this must be reloaded
CSRF_MAX_AGE = 12 * 3600


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every HTTP response, error pages and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfTokens:
    """Issues and checks double-submit tokens signed with the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="newsdesk-csrf")

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(32)

    def token_for(self, cookie_value: str) -> str:
        return self._serializer.dumps(cookie_value)

    def is_valid(self, cookie_value: str | None, form_token: str | None) -> bool:
        if not cookie_value or not form_token or len(form_token) > 512:
            return False
        try:
            signed_value = self._serializer.loads(form_token, max_age=CSRF_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(signed_value, str) and hmac.compare_digest(signed_value, cookie_value)


class AdminDenied(Exception):
    """The admin gate said no: 401 asks for the password, 403 refuses outright, 429 says wait."""

    def __init__(self, status: int, retry_after: int | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _basic_password(header: str | None) -> tuple[str, str] | None:
    if not header or len(header) > 1024:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class FailedLogins:
    """Wrong admin passwords per client address: after `limit` within `window` seconds the client is
    locked out (429) until the window has passed, even with the right password, so guessing on
    learns nothing. Counted in the database under `admin:<address>` (services.accounts.LoginLimiter),
    so every web process sees every failure."""

    def __init__(self, storage: Storage, limit: int = 10, window: float = 300.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._limiter = LoginLimiter(storage, limit, window, clock=clock)

    def retry_after(self, client: str) -> int:
        """Seconds until the client may try again; 0 when it may now."""
        try:
            self._limiter.check([f"admin:{client}"])
        except RateLimitedError as exc:
            return int(exc.retry_after) + 1
        return 0

    def failed(self, client: str) -> None:
        self._limiter.failed([f"admin:{client}"])


def _app_failed_logins(request: Request) -> FailedLogins:
    # create_app sets it: one count per app, over its storage
    found: FailedLogins = request.app.state.admin_failed_logins
    return found


def check_admin(request: Request, admin_password: str, failed_logins: FailedLogins | None = None) -> None:
    """Raises AdminDenied unless the request may reach the admin pages: a logged-in admin user
    (web/auth.py sets app.state.current_user), else the operator's password or loopback."""
    resolve = getattr(request.app.state, "current_user", None)
    user = resolve(request) if resolve is not None else None
    if user is not None and getattr(user, "is_admin", False):
        return
    if admin_password:
        # One count per app, shared by every admin route (sources, sites, stories, mails).
        failed_logins = failed_logins or _app_failed_logins(request)
        client = request.client.host if request.client else ""
        wait = failed_logins.retry_after(client)
        if wait:
            raise AdminDenied(429, retry_after=wait)
        given = _basic_password(request.headers.get("authorization"))
        if given is None:
            raise AdminDenied(401)
        user_ok = hmac.compare_digest(given[0].encode(), b"admin")
        password_ok = hmac.compare_digest(given[1].encode(), admin_password.encode())
        if not (user_ok and password_ok):
            failed_logins.failed(client)
            raise AdminDenied(401)
        return
    # No password: only someone on this machine. (Behind a reverse proxy every client looks local,
    # so such a setup must set a password.)
    if not _is_loopback(request.client.host if request.client else None):
        raise AdminDenied(403)


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a stored `javascript:` link must never become an href."""
    if not url or len(url) > 4096:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None
