"""The web reader: create_app() builds everything from what it is given (no globals), and maps errors
to HTTP in one place. Pages never show a stack trace; every response carries the security headers.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from ..errors import NewsdeskError, NotFoundError, SourceExistsError, StorageError
from ..errors_accounts import AuthenticationError, PermissionDeniedError, RateLimitedError
from ..models import Source
from ..secretkey import resolve_secret_key
from ..services.reading import BadListParameterError
from ..settings import Settings
from ..storage.base import Storage
from .admin import CsrfRejected, ServicesUnavailable, admin_router
from .api_common import api_error_response, is_api_path
from .auth import install_accounts
from .newsletters import register_newsletters
from .pages import STATIC_DIR, Renderer, reader_router
from .security import SECURITY_HEADERS, AdminDenied, CsrfTokens, FailedLogins, SecurityHeadersMiddleware
from .slowpool import SlowPool
from .stories import stories_router

__all__ = ["AdminServices", "create_app", "freeze_startup_objects"]

log = logging.getLogger(__name__)


class AdminServices(Protocol):
    """What the sources admin needs from the services layer (services.admin.SourceAdmin)."""

    def add_source(self, url: str, category: str | None = None) -> Source:
        """Discover what to follow at `url` and store it. Raises DiscoveryError, FetchError,
        ParseError or SourceExistsError, whose messages the page shows."""

    def pause(self, source_id: int) -> object: ...

    def resume(self, source_id: int) -> object: ...

    def remove(self, source_id: int) -> None:
        """Remove a source and its articles. Raises NotFoundError."""


class CachedStaticFiles(StaticFiles):
    """Static files with a long cache: their URLs carry a content hash (pages.Renderer.static)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=604800"
        return response


# status -> (title label, text label) of its error page; _status_for below is the one error -> HTTP map.
_ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "bad_request_text"),
    401: ("forbidden", "forbidden_text"),
    403: ("forbidden", "forbidden_text"),
    404: ("not_found", "not_found_text"),
    405: ("bad_request", "bad_request_text"),
    409: ("conflict", "bad_request_text"),
    429: ("forbidden", "forbidden_text"),
    503: ("unavailable", "admin_unavailable"),
    500: ("error_title", "server_error_text"),
}


def _status_for(exc: Exception) -> int:
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, AdminDenied):
        return exc.status
    if isinstance(exc, CsrfRejected):
        return 403
    if isinstance(exc, ServicesUnavailable):
        return 503
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return 403  # on pages: a 401 would make the browser ask for the admin's Basic password
    if isinstance(exc, RateLimitedError):
        return 429
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, SourceExistsError):
        return 409
    if isinstance(exc, (BadListParameterError, RequestValidationError)):
        return 400
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, NewsdeskError):
        return 400
    return 500


#: objects allocated (net) before the collector's young pass; see freeze_startup_objects
GC_YOUNG_THRESHOLD = 50_000


def freeze_startup_objects() -> None:
    """Called once the app is built, just before serving: what exists by then (modules, the app,
    its routes and caches) lives as long as the process, so the garbage collector's full passes
    stop walking it. A 1,000-entry page allocates enough to trigger those passes; frozen, its p95
    CPU time in-process fell from 144 to 47 ms (median unchanged at about 40; bench/api.py). And the
    young collections start later (GC_YOUNG_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    # A 1,000-item contents page makes ~9,000 containers that all live until its response is
    # written: at the default first-generation threshold of 700 that was a dozen young collections
    # and a middle one per call, walking objects that are still alive (a tenth of the call's CPU,
    # bench/api.py). At 50,000 a page's objects mostly die by reference count before a collection
    # looks at them; what the collector may leave unvisited meanwhile is a few MB at most.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def create_app(storage: Storage, settings: Settings, services: AdminServices | None = None) -> FastAPI:
    """The web reader over `storage`. Without `services` the admin shows sources read-only."""
    # An empty secret_key means the generated one kept in the data directory (links in mails last).
    secret_key = resolve_secret_key(settings)
    renderer = Renderer(settings, clock=lambda: datetime.now(UTC))
    csrf = CsrfTokens(secret_key)
    slow = SlowPool()  # remote fetches, mail, password hashes: never on the request threads

    # No trailing-slash redirects: Starlette builds them from the Host header, an open redirect.
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in the event loop's thread pool. Several CPU-bound requests at once in
        # one process contend for the GIL, and that costs throughput: at 8 connections, 2 processes
        # answered 191 ids requests a second with 40 threads each and 312 with 1 (bench/api.py
        # --client wrk). Requests that wait on a remote site run on threads of their own (slow), so
        # one thread is safe. The limiter belongs to the running loop, hence here.
        if settings.web_threads > 0:
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        yield

    app = FastAPI(title="newsdesk", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False,
                  lifespan=lifespan)
    app.add_middleware(SecurityHeadersMiddleware)
    # wrong admin passwords, counted in the database: one count for every route and web process
    app.state.admin_failed_logins = FailedLogins(storage)
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(reader_router(storage, renderer))
    app.include_router(admin_router(storage, services, renderer, csrf, secret_key, slow))
    register_newsletters(app, storage, renderer, csrf, settings, secret_key, slow)
    install_accounts(app, storage, settings, renderer, csrf, secret_key, services, slow)
    app.include_router(stories_router(storage, renderer, csrf))

    def error_page(request: Request, exc: Exception) -> Response:
        status = _status_for(exc)
        if status >= 500 and not isinstance(exc, (StarletteHTTPException, ServicesUnavailable)):
            log.error("error serving %s %s", request.method, request.url.path, exc_info=exc)
        title, text = _ERROR_PAGES.get(status, _ERROR_PAGES[400 if status < 500 else 500])
        headers = dict(SECURITY_HEADERS)  # also here: a 500 is answered outside the middleware
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="newsdesk admin", charset="UTF-8"'
        if isinstance(exc, AdminDenied) and exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        try:
            return renderer.render(request, "error.html", status=status, headers=headers,
                                   status_code=status, title_key=title, text_key=text)
        except Exception:  # the error page itself failed: answer plainly, never a trace
            log.exception("error page failed")
            return HTMLResponse("<!doctype html><title>Error</title><p>Error</p>", status_code=status,
                                headers=headers)

    async def handle(request: Request, exc: Exception) -> Response:
        if is_api_path(request.url.path):  # the APIs answer in their own shape (web/api_common.py)
            return api_error_response(request, exc)
        return error_page(request, exc)

    async def gone(request: Request, exc: Exception) -> Response:
        # The client left while sending its request (an app closed, a load generator stopped): no
        # fault of ours, and nobody to answer, so no error is logged. The answer goes nowhere.
        return Response(status_code=400)

    app.add_exception_handler(ClientDisconnect, gone)
    handler: Callable[[Request, Exception], Awaitable[Response]] = handle
    for exc_class in (StarletteHTTPException, RequestValidationError, NewsdeskError, BadListParameterError,
                      AdminDenied, CsrfRejected, ServicesUnavailable, Exception):
        app.add_exception_handler(exc_class, handler)
    app.state.renderer = renderer
    app.state.slow_pool = slow
    return app
