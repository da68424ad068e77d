"""Web accounts: login and logout with a session cookie, the account page (password, API keys), and
the read/starred buttons of the reader; plus install_accounts(), which wires the account objects
and every API router into the app.

The session cookie is a signed token (services.accounts) carrying the user id and a fingerprint of
the password hash: HttpOnly, SameSite=Lax, Secure over https, valid `session_days`. Every form
carries the double-submit CSRF token of web/security.py. Login failures are rate limited per client
address and per user name.

The admin gate (web/security.check_admin) lets a logged-in admin user in, besides the operator's
NEWSDESK_ADMIN_PASSWORD (HTTP Basic) or, without a password, a loopback client.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency annotations at runtime.

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import NotFoundError
from ..errors_accounts import AuthenticationError, InvalidRequestError, RateLimitedError
from ..models import NewSource, Source
from ..models_accounts import User
from ..services import feedreader
from ..services.accounts import Accounts
from ..services.feedreader import SourceDirectory
from ..settings import Settings
from ..storage.base import Storage
from ..storage.users import EntryQuery
from .admin import CsrfRejected
from .api_common import ApiContext, client_address
from .pages import Renderer
from .security import CSRF_COOKIE, CSRF_FIELD, CsrfTokens, RowId
from .slowpool import SlowPool

__all__ = ["SESSION_COOKIE", "account_router", "current_user", "install_accounts"]

SESSION_COOKIE = "newsdesk_session"
_SESSION = "session"


def current_user(request: Request) -> User | None:
    """The logged-in user of a request, or None (anonymous, or a stale or forged cookie)."""
    if "newsdesk_user" in request.scope:
        return request.scope["newsdesk_user"]  # type: ignore[no-any-return]
    user: User | None = None
    accounts: Accounts | None = getattr(request.app.state, "accounts", None)
    token = request.cookies.get(SESSION_COOKIE)
    if accounts is not None and token:
        try:
            user = accounts.check_token(token, _SESSION)
        except AuthenticationError:
            user = None
    request.scope["newsdesk_user"] = user
    return user


def _safe_next(raw: str | None) -> str:
    """Only a local path: a login link must not bounce the user to another site."""
    if not raw or len(raw) > 500 or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    parts = urlsplit(raw)
    return "/" if parts.scheme or parts.netloc else raw


def account_router(ctx: ApiContext, renderer: Renderer, csrf: CsrfTokens) -> APIRouter:
    storage, accounts = ctx.storage, ctx.accounts

    def csrf_pair(request: Request) -> tuple[str, bool]:
        value = request.cookies.get(CSRF_COOKIE) or ""
        if not value or len(value) > 100:
            return csrf.new_cookie_value(), True
        return value, False

    def page(request: Request, template: str, status: int = 200, **values: Any) -> Response:
        cookie_value, fresh = csrf_pair(request)
        response = renderer.render(request, template, status=status, headers={"Cache-Control": "no-store"},
                                   csrf_field=CSRF_FIELD, csrf_token=csrf.token_for(cookie_value),
                                   user=current_user(request), **values)
        if fresh:
            response.set_cookie(CSRF_COOKIE, cookie_value, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

    async def form_fields(request: Request) -> dict[str, str]:
        form = await request.form(max_files=0, max_fields=10, max_part_size=16 * 1024)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not csrf.is_valid(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            raise CsrfRejected()
        return fields

    Form = Annotated[dict[str, str], Depends(form_fields)]

    def need_user(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise AuthenticationError("log in first")
        return user

    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return page(request, "login.html", next=_safe_next(request.query_params.get("next")), error=None)

    @router.post("/login")
    @ctx.slow.endpoint
    def login(request: Request, fields: Form) -> Response:
        target = _safe_next(fields.get("next"))
        labels = renderer.labels(request)
        try:
            user = accounts.login(fields.get("name", "")[:100], fields.get("password", "")[:1100],
                                  client_address(request))
        except RateLimitedError as exc:
            response = page(request, "login.html", status=429, next=target, error=labels["login_limited"])
            response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
            return response
        except AuthenticationError:
            return page(request, "login.html", status=401, next=target, error=labels["login_failed"])
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, accounts.issue_token(user, _SESSION), max_age=accounts.session_max_age,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.post("/logout")
    def logout(request: Request, fields: Form) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.get("/account", response_class=HTMLResponse)
    def account_page(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login?next=/account", status_code=303)
        return page(request, "account.html", keys=accounts.list_api_keys(user.id), new_key=None, message=None,
                    public_url=ctx.public_url.rstrip("/"))

    @router.post("/account/password")
    @ctx.slow.endpoint
    def change_password(request: Request, fields: Form) -> Response:
        user = need_user(request)
        labels = renderer.labels(request)
        try:
            accounts.login(user.name, fields.get("password", "")[:1100], client_address(request))
            accounts.change_password(user.id, fields.get("new_password", "")[:1100])
        except RateLimitedError:
            message = labels["login_limited"]
        except (AuthenticationError, InvalidRequestError) as exc:
            message = labels["login_failed"] if isinstance(exc, AuthenticationError) else str(exc)
        else:
            fresh = storage.get_user(user.id)
            response = page(request, "account.html", keys=accounts.list_api_keys(user.id), new_key=None,
                            message=labels["password_changed"], public_url=ctx.public_url.rstrip("/"))
            response.set_cookie(SESSION_COOKIE, accounts.issue_token(fresh, _SESSION),
                                max_age=accounts.session_max_age, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
            return response
        return page(request, "account.html", status=400, keys=accounts.list_api_keys(user.id), new_key=None,
                    message=message, public_url=ctx.public_url.rstrip("/"))

    @router.post("/account/keys")
    def create_key(request: Request, fields: Form) -> Response:
        user = need_user(request)
        _, key = accounts.create_api_key(user.id, fields.get("name", "")[:64])
        return page(request, "account.html", keys=accounts.list_api_keys(user.id), new_key=key, message=None,
                    public_url=ctx.public_url.rstrip("/"))

    @router.post("/account/keys/{key_id}/revoke")
    def revoke_key(request: Request, key_id: RowId, fields: Form) -> Response:
        user = need_user(request)
        accounts.revoke_api_key(key_id, user_id=user.id)
        return RedirectResponse("/account", status_code=303)

    @router.post("/articles/{article_id}/state")
    def article_state(request: Request, article_id: RowId, fields: Form) -> Response:
        user = need_user(request)
        action = fields.get("action", "")
        changes: dict[str, tuple[bool | None, bool | None]] = {
            "read": (True, None), "unread": (False, None), "star": (None, True), "unstar": (None, False)}
        if action not in changes:
            raise InvalidRequestError("unknown action")
        read, starred = changes[action]
        if not feedreader.set_state(storage, user, [article_id], read=read, starred=starred, totals=ctx.totals):
            raise NotFoundError(f"no article with id {article_id}")
        return RedirectResponse(_safe_next(fields.get("next")) if fields.get("next") else
                                f"/articles/{article_id}", status_code=303)

    return router


def install_accounts(app: FastAPI, storage: Storage, settings: Settings, renderer: Renderer, csrf: CsrfTokens,
                     secret_key: str, services: Any = None, slow: SlowPool | None = None) -> Accounts:
    """Users, sessions and every API (Google Reader, Miniflux, own JSON API, Atom) on `app`."""
    from .api_greader import greader_router
    from .api_miniflux import miniflux_router
    from .api_own import own_api_router
    from .atom import atom_router

    accounts = Accounts(storage, secret_key, login_attempts=int(settings.login_attempts),
                        login_window=float(settings.login_window), session_days=int(settings.session_days))
    ctx = ApiContext(storage=storage, accounts=accounts, directory=SourceDirectory(storage),
                     public_url=str(settings.public_url or "http://127.0.0.1:8000"), slow=slow or SlowPool())
    app.state.accounts = accounts
    app.state.current_user = current_user
    app.state.api = ctx

    add_source: Callable[[str, str | None], Source] | None = services.add_source if services is not None else None

    def discover(url: str) -> NewSource:
        return feedreader.discover(settings, url)

    def article_state(request: Request, article_id: int) -> dict[str, Any] | None:
        """For the reader's templates: the user's state of an article and a CSRF token, or None
        for an anonymous reader (who sees no buttons)."""
        user = current_user(request)
        if user is None:
            return None
        found = storage.query_user_articles(EntryQuery(user_id=user.id, article_ids=(article_id,), limit=1),
                                            with_body=False)
        value = request.cookies.get(CSRF_COOKIE) or ""
        token = csrf.token_for(value) if value and len(value) <= 100 else None
        return {"read": bool(found and found[0].read), "starred": bool(found and found[0].starred),
                "csrf_field": CSRF_FIELD, "csrf_token": token, "user": user}

    def list_states(request: Request, items: Any) -> dict[int, Any]:
        """For list pages: the logged-in user's read/starred per listed article (one query), or
        nothing for an anonymous reader."""
        user = current_user(request)
        ids = tuple(item.id for item in items)
        if user is None or not ids:
            return {}
        found = storage.query_user_articles(EntryQuery(user_id=user.id, article_ids=ids, limit=len(ids)),
                                            with_body=False)
        return {e.id: e for e in found}

    renderer.env.globals["article_state"] = article_state
    renderer.env.globals["list_states"] = list_states
    renderer.env.globals["current_user"] = current_user

    app.include_router(account_router(ctx, renderer, csrf))
    app.include_router(greader_router(ctx, add_source))
    app.include_router(greader_router(ctx, add_source), prefix="/api/greader")
    app.include_router(miniflux_router(ctx, add_source=add_source, discover=discover))
    app.include_router(own_api_router(ctx))
    app.include_router(atom_router(ctx))
    return accounts
