"""Newsletter pages: the sign-up box and its form, the links in mails, and the received-mails admin page.

    POST /newsletters/{id}/subscribe     the sign-up form (CSRF double submit, like the admin forms)
    GET  /newsletters/confirm/{token}    shows what the link confirms, with a Confirm button
    POST /newsletters/confirm/{token}    confirms
    GET  /newsletters/unsubscribe/{token}  shows an Unsubscribe button
    POST /newsletters/unsubscribe/{token}  unsubscribes at once: RFC 8058 one-click, and the button
    GET  /newsletters/manage/{token}     every newsletter with this address's state
    POST /newsletters/manage/{token}     subscribe to / unsubscribe from one of them
    GET  /admin/mails                    what the demo's local SMTP sink received (admin gate)

Why a GET never changes anything: mail security scanners fetch every link in a mail. If a GET
confirmed, a scanner would confirm a sign-up the owner never made; if a GET unsubscribed, it would
unsubscribe people at random. So the links open a page whose button POSTs.

Why the token POSTs need no CSRF token: they carry no cookie and no session; their only authority
is the signed token in the URL, which only the mailbox it was sent to has (and which is bound to
one subscription, one purpose, and an expiry). A cross-site page can only POST a token it already
knows, and whoever knows it could POST it themselves. A mail client's one-click POST (RFC 8058) has
no cookies at all, so these routes must work without them. The sign-up form, which has no token,
does use the double-submit CSRF check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import (
    InvalidAddressError,
    InvalidTokenError,
    MailError,
    NotFoundError,
    RateLimitedError,
    SettingsError,
)
from ..mail.send import SmtpSettings
from ..models import Article, Newsletter, TopicKind
from ..services import newsletters as service
from ..settings import Settings
from ..storage.base import Storage
from .pages import Renderer
from .security import CSRF_COOKIE, CSRF_FIELD, CsrfTokens, RowId, check_admin
from .slowpool import SlowPool

__all__ = ["register_newsletters"]

log = logging.getLogger(__name__)

#: request.state key of a CSRF cookie value minted while rendering a sign-up box
_STATE_KEY = "newsdesk_new_csrf_cookie"
_NO_STORE = {"Cache-Control": "no-store"}
#: a form post bigger than this is refused unread (an address is at most 254 characters)
MAX_FORM_BYTES = 32 * 1024
#: the mails page shows at most this much of each part
MAX_PART_CHARS = 100_000


class _CsrfCookieMiddleware:
    """Sets the CSRF cookie on responses whose page minted one (a sign-up box on an article page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = (scope.get("state") or {}).get(_STATE_KEY)
                if value:
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    MutableHeaders(scope=message).append(
                        "set-cookie", f"{CSRF_COOKIE}={value}; HttpOnly; Path=/; SameSite=strict{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


@dataclass(frozen=True)
class _MailView:
    received_at: str
    mail_from: str
    recipients: str
    subject: str
    headers: list[tuple[str, str]]
    text: str
    html: str


def _part(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None or not isinstance(part, EmailMessage):
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    return str(content)[:MAX_PART_CHARS]


def _mail_view(mail: Any) -> _MailView:
    message = mail.message()
    return _MailView(
        received_at=mail.received_at.isoformat(timespec="seconds"),
        mail_from=mail.mail_from,
        recipients=", ".join(mail.recipients),
        subject=str(message.get("Subject", "")),
        headers=[(name, str(value)[:2000]) for name, value in list(message.items())[:60]],
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )


def register_newsletters(app: FastAPI, storage: Storage, renderer: Renderer, csrf: CsrfTokens,
                         settings: Settings, secret_key: str, slow: SlowPool) -> None:
    """Add the newsletter routes, the sign-up box's template helpers and its cookie middleware. A
    sign-up sends its confirmation mail on the `slow` threads."""
    try:
        ctx = service.NewsletterContext.from_settings(storage, settings, secret=secret_key)
    except (SettingsError, MailError) as exc:
        # a broken mail setting must not take the reader down: sign-ups say mail is unavailable
        log.error("newsletter mail is disabled: %s", exc)
        ctx = service.NewsletterContext(storage=storage, secret=secret_key,
                                        public_url=str(settings.public_url).rstrip("/"), smtp=SmtpSettings(host=""))
    admin_password = str(settings.admin_password or "")

    def csrf_for_form(request: Request) -> str:
        cookie_value = request.cookies.get(CSRF_COOKIE) or ""
        if not cookie_value or len(cookie_value) > 100:
            cookie_value = getattr(request.state, _STATE_KEY, None) or csrf.new_cookie_value()
            setattr(request.state, _STATE_KEY, cookie_value)
        return csrf.token_for(cookie_value)

    def boxes_for(article: Article) -> list[Newsletter]:
        try:
            return service.newsletters_for_article(storage, article)
        except Exception:  # a broken box must never break the article page
            log.exception("newsletter boxes for article %s", getattr(article, "id", "?"))
            return []

    def boxes_for_list(context: Any) -> list[Newsletter]:
        """A source page shows the boxes of newsletters on that source; a search page those on that search."""
        try:
            if getattr(context, "kind", None) == "source" and context.source_id is not None:
                return service.newsletters_for_topic(storage, TopicKind.SOURCE, str(context.source_id))
            if getattr(context, "kind", None) == "search" and context.query:
                return service.newsletters_for_topic(storage, TopicKind.SEARCH, context.query)
        except Exception:  # a broken box must never break the list page
            log.exception("newsletter boxes for a list")
        return []

    renderer.env.globals["newsletter_boxes"] = boxes_for
    renderer.env.globals["newsletter_boxes_for_list"] = boxes_for_list
    renderer.env.globals["newsletter_csrf"] = csrf_for_form
    renderer.env.globals["newsletter_csrf_field"] = CSRF_FIELD
    app.add_middleware(_CsrfCookieMiddleware)

    def page(request: Request, title_key: str, text: str = "", *, status: int = 200,
             headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
        return renderer.render(request, "newsletter_page.html", status=status,
                               headers={**_NO_STORE, **(headers or {})}, title_key=title_key, text=text,
                               **{"form_action": None, "button_key": None, "newsletter": None, **values})

    def bad_link(request: Request, exc: InvalidTokenError) -> HTMLResponse:
        return page(request, "nl_invalid_link_title", str(exc), status=400)

    async def read_form(request: Request) -> dict[str, str] | None:
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
            return None
        form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_FORM_BYTES)
        return {key: value for key, value in form.items() if isinstance(value, str)}

    router = APIRouter()

    @router.post("/newsletters/{newsletter_id}/subscribe", name="newsletter_subscribe")
    async def subscribe(request: Request, newsletter_id: RowId) -> Response:
        fields = await read_form(request)
        if fields is None:
            return page(request, "bad_request", renderer.labels(request)["bad_request_text"], status=413)
        if not csrf.is_valid(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            return page(request, "forbidden", renderer.labels(request)["nl_form_expired"], status=403)
        client = request.client.host if request.client else None
        return await slow.run(_subscribe, request, newsletter_id, fields.get("email", ""), client)

    def _subscribe(request: Request, newsletter_id: int, raw: str, client: str | None) -> Response:
        labels = renderer.labels(request)
        try:
            result = service.sign_up(ctx, newsletter_id, raw[:2000], client)
        except RateLimitedError as exc:
            retry = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else {}
            return page(request, "nl_rate_limited_title", str(exc), status=429, headers=retry)
        except InvalidAddressError as exc:
            return page(request, "nl_invalid_address_title", str(exc), status=400)
        except NotFoundError:
            return page(request, "not_found", labels["nl_unknown_newsletter"], status=404)
        except SettingsError as exc:
            return page(request, "nl_unavailable_title", str(exc), status=503)
        except MailError:
            return page(request, "nl_unavailable_title", labels["nl_mail_failed"], status=503)
        text = labels["nl_check_mail"].format(address=result.address, name=result.newsletter.name)
        return page(request, "nl_check_mail_title", text, newsletter=result.newsletter)

    @router.get("/newsletters/confirm/{token}", name="newsletter_confirm_page")
    def confirm_page(request: Request, token: str) -> Response:
        labels = renderer.labels(request)
        try:
            view = service.read_confirm_link(ctx, token)
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        names = {"address": view.subscription.address, "name": view.newsletter.name}
        if view.done:
            return page(request, "nl_confirmed_title", labels["nl_confirmed_text"].format(**names),
                        newsletter=view.newsletter)
        return page(request, "nl_confirm_title", labels["nl_confirm_text"].format(**names),
                    newsletter=view.newsletter, form_action=request.url.path, button_key="nl_confirm_button")

    @router.post("/newsletters/confirm/{token}", name="newsletter_confirm")
    def confirm_post(request: Request, token: str) -> Response:
        labels = renderer.labels(request)
        try:
            view = service.confirm(ctx, token)
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        names = {"address": view.subscription.address, "name": view.newsletter.name}
        return page(request, "nl_confirmed_title", labels["nl_confirmed_text"].format(**names),
                    newsletter=view.newsletter)

    @router.get("/newsletters/unsubscribe/{token}", name="newsletter_unsubscribe_page")
    def unsubscribe_page(request: Request, token: str) -> Response:
        labels = renderer.labels(request)
        try:
            view = service.read_unsubscribe_link(ctx, token)
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        names = {"address": view.subscription.address, "name": view.newsletter.name}
        if view.done:
            return page(request, "nl_unsubscribed_title", labels["nl_unsubscribed_text"].format(**names),
                        newsletter=view.newsletter)
        return page(request, "nl_unsubscribe_title", labels["nl_unsubscribe_text"].format(**names),
                    newsletter=view.newsletter, form_action=request.url.path, button_key="nl_unsubscribe_button")

    @router.post("/newsletters/unsubscribe/{token}", name="newsletter_unsubscribe")
    def unsubscribe_post(request: Request, token: str) -> Response:
        # RFC 8058: the body is "List-Unsubscribe=One-Click"; nothing in it is needed, so it is not read
        labels = renderer.labels(request)
        try:
            view = service.unsubscribe(ctx, token)
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        names = {"address": view.subscription.address, "name": view.newsletter.name}
        return page(request, "nl_unsubscribed_title", labels["nl_unsubscribed_text"].format(**names),
                    newsletter=view.newsletter)

    @router.get("/newsletters/manage/{token}", name="newsletter_manage_page")
    def manage_page(request: Request, token: str) -> Response:
        try:
            view = service.manage(ctx, token)
        except InvalidTokenError as exc:
            return bad_link(request, exc)
        return renderer.render(request, "newsletter_manage.html", headers=_NO_STORE, view=view,
                               form_action=request.url.path)

    @router.post("/newsletters/manage/{token}", name="newsletter_manage")
    async def manage_post(request: Request, token: str) -> Response:
        fields = await read_form(request) or {}
        raw_id = fields.get("newsletter_id", "")
        action = fields.get("action", "")
        if not raw_id.isdigit() or len(raw_id) > 18 or action not in ("subscribe", "unsubscribe"):
            return page(request, "bad_request", renderer.labels(request)["bad_request_text"], status=400)
        def change() -> Response:
            try:
                view = service.manage_change(ctx, token, int(raw_id), action == "subscribe")
            except InvalidTokenError as exc:
                return bad_link(request, exc)
            except NotFoundError:
                return page(request, "not_found", renderer.labels(request)["nl_unknown_newsletter"], status=404)
            return renderer.render(request, "newsletter_manage.html", headers=_NO_STORE, view=view,
                                   form_action=request.url.path, changed=True)

        return await run_in_threadpool(change)

    @router.get("/admin/mails", name="admin_mails")
    def admin_mails(request: Request) -> Response:
        check_admin(request, admin_password)
        sink = getattr(request.app.state, "mail_sink", None)
        mails = [_mail_view(m) for m in reversed(sink.messages())] if sink is not None else []
        return renderer.render(request, "admin_mails.html", headers=_NO_STORE, mails=mails,
                               has_sink=sink is not None)

    app.include_router(router)
