"""The admin: sources (their state; add, pause, resume, remove) and learned site templates (what each
site's profile removes and why; the operator's override).

Every admin route passes the admin gate (password or loopback); every POST carries a CSRF token and
answers 303 back to the table, with the outcome in a short-lived signed flash cookie.
"""

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..errors import DiscoveryError, FetchError, NewsdeskError, NotFoundError, ParseError, SourceExistsError
from ..services.siteprofiles import SiteOverride, learned_profile, set_override
from ..storage.base import Storage
from .pages import Renderer
from .security import CSRF_COOKIE, CSRF_FIELD, CsrfTokens, RowId, check_admin
from .slowpool import SlowPool

if TYPE_CHECKING:
    from .app import AdminServices

__all__ = ["CsrfRejected", "ServicesUnavailable", "admin_router"]

FLASH_COOKIE = "newsdesk_flash"
MAX_URL_LENGTH = 2048
MAX_CATEGORY_LENGTH = 100
MAX_MESSAGE_LENGTH = 300


class CsrfRejected(Exception):
    """A state-changing request without a matching CSRF token; the web answers 403."""


class ServicesUnavailable(Exception):
    """The app was built without admin services; the web answers 503."""


def admin_router(storage: Storage, services: "AdminServices | None", renderer: Renderer,
                 csrf: CsrfTokens, secret_key: str, slow: SlowPool) -> APIRouter:
    """The admin routes; adding a source (which fetches it) runs on the `slow` threads."""
    flash_signer = URLSafeTimedSerializer(secret_key, salt="newsdesk-flash")
    admin_password = str(renderer.settings.admin_password or "")

    def gate(request: Request) -> None:
        check_admin(request, admin_password)

    async def require_csrf(request: Request) -> dict[str, str]:
        # The form is read here once (starlette caches it on the request), bounded in size.
        form = await request.form(max_files=0, max_fields=10, max_part_size=16 * 1024)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not csrf.is_valid(request.cookies.get(CSRF_COOKIE), fields.get(CSRF_FIELD)):
            raise CsrfRejected()
        return fields

    def need_services() -> "AdminServices":
        if services is None:
            raise ServicesUnavailable()
        return services

    def back(request: Request, kind: str, text: str, to: str = "/admin/sources") -> RedirectResponse:
        response = RedirectResponse(to, status_code=303)
        response.set_cookie(FLASH_COOKIE, flash_signer.dumps([kind, text[:MAX_MESSAGE_LENGTH]]),
                            max_age=120, httponly=True, samesite="strict", path="/admin",
                            secure=request.url.scheme == "https")
        return response

    # (This module does not use postponed annotations: FastAPI must see this local dependency.)
    CsrfForm = Annotated[dict[str, str], Depends(require_csrf)]

    router = APIRouter(prefix="/admin", dependencies=[Depends(gate)])

    def form_page(request: Request, template: str, **context: Any) -> Response:
        """An admin page with forms: a CSRF token (and its cookie when new) and the flash message."""
        cookie_value = request.cookies.get(CSRF_COOKIE) or ""
        fresh = not cookie_value or len(cookie_value) > 100
        if fresh:
            cookie_value = csrf.new_cookie_value()
        flash: Any = None
        raw_flash = request.cookies.get(FLASH_COOKIE)
        if raw_flash:
            try:
                flash = flash_signer.loads(raw_flash, max_age=120)
            except BadSignature:
                flash = None
        response = renderer.render(
            request, template,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf.token_for(cookie_value),
            flash=flash,
            headers={"Cache-Control": "no-store"},
            **context,
        )
        if fresh:
            response.set_cookie(CSRF_COOKIE, cookie_value, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        if raw_flash:
            response.delete_cookie(FLASH_COOKIE, path="/admin")
        return response

    @router.get("/sources", response_class=HTMLResponse, name="admin_sources")
    def sources_page(request: Request) -> Response:
        return form_page(request, "admin_sources.html", sources=storage.list_sources(), can_edit=services is not None)

    @router.get("/sites", response_class=HTMLResponse, name="admin_sites")
    def sites_page(request: Request) -> Response:
        profiles = [(stored, learned_profile(stored)) for stored in storage.list_site_profiles()]
        return form_page(request, "admin_sites.html", profiles=profiles)

    @router.get("/sites/{host}", response_class=HTMLResponse, name="admin_site")
    def site_page(request: Request, host: str) -> Response:
        stored = storage.get_site_profile(host)
        if stored is None:
            raise NotFoundError(f"no profile for {host}")
        return form_page(request, "admin_site.html", stored=stored, profile=learned_profile(stored),
                         override=SiteOverride.from_json(stored.override_json))

    @router.post("/sites/{host}/override", name="admin_site_override")
    def site_override(request: Request, host: str, fields: CsrfForm) -> Response:
        if storage.get_site_profile(host) is None:
            raise NotFoundError(f"no profile for {host}")

        def lines(name: str) -> tuple[str, ...]:
            return tuple(line.strip()[:500] for line in fields.get(name, "").splitlines() if line.strip())[:200]

        override = SiteOverride(lines("keep_texts"), lines("remove_texts"), lines("remove_selectors"))
        to = f"/admin/sites/{quote(host, safe='')}"
        try:
            set_override(storage, host, override)
        except ValueError as exc:  # a CSS selector that does not parse
            return back(request, "error", str(exc), to)
        return back(request, "ok", renderer.labels(request)["saved"], to)

    @router.post("/sources", name="admin_add_source")
    @slow.endpoint
    def add_source(request: Request, fields: CsrfForm) -> Response:
        use = need_services()
        url = fields.get("url", "").strip()[:MAX_URL_LENGTH]
        category = fields.get("category", "").strip()[:MAX_CATEGORY_LENGTH] or None
        labels = renderer.labels(request)
        if not url:
            return back(request, "error", labels["url_missing"])
        try:
            source = use.add_source(url, category)
        except (DiscoveryError, FetchError, ParseError, SourceExistsError) as exc:
            # These carry plain words meant for the user.
            return back(request, "error", str(exc) or exc.kind)
        return back(request, "ok", labels["added"].format(name=source.display_name))

    def change(request: Request, source_id: int, action: str) -> Response:
        use = need_services()
        labels = renderer.labels(request)
        try:
            if action == "pause":
                use.pause(source_id)
            elif action == "resume":
                use.resume(source_id)
            else:
                use.remove(source_id)
        except NotFoundError:
            return back(request, "error", labels["not_found_text"])
        except NewsdeskError as exc:
            return back(request, "error", str(exc) or exc.kind)
        return back(request, "ok", labels["removed" if action == "remove" else "updated"])

    @router.post("/sources/{source_id}/pause", name="admin_pause")
    def pause(request: Request, source_id: RowId, _: CsrfForm) -> Response:
        return change(request, source_id, "pause")

    @router.post("/sources/{source_id}/resume", name="admin_resume")
    def resume(request: Request, source_id: RowId, _: CsrfForm) -> Response:
        return change(request, source_id, "resume")

    @router.post("/sources/{source_id}/remove", name="admin_remove")
    def remove(request: Request, source_id: RowId, _: CsrfForm) -> Response:
        return change(request, source_id, "remove")

    return router
