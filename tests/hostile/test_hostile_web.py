"""Figure 7: web and API abuse. Every state-changing route refuses a request without a matching CSRF
token; the admin password cannot be brute-forced; path traversal, oversized bodies and query strings,
Host header tricks and redirect tricks get a 4xx, never a 5xx, and never leak a file, a trace or the
attacker's host. Routes are enumerated from the app, so routes added later are covered too.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from hostile_helpers import NOW

from newsdesk.models import NewArticle, NewSource
from newsdesk.settings import load_settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
LEAKS = re.compile(r"Traceback|File \"/|root:x:0:0|secret_key|sqlalchemy|psycopg|OverflowError|evil\.example", re.I)


class Services:
    """The admin use cases over storage, without discovery (tests/web/conftest.py does the same)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add_source(self, url: str, category: str | None = None):  # type: ignore[no-untyped-def]
        return self.storage.add_source(NewSource(url=url, title="added"), NOW)

    def pause(self, source_id: int) -> None:
        self.storage.set_source_paused(source_id, True)

    def resume(self, source_id: int) -> None:
        self.storage.set_source_paused(source_id, False)

    def remove(self, source_id: int) -> None:
        self.storage.delete_source(source_id)


@pytest.fixture
def seeded(storage: Storage) -> Storage:
    source = storage.add_source(NewSource(url="https://news.example/feed", title="Nieuws"), NOW)
    for i in range(5):
        storage.add_article(NewArticle(source_id=source.id, url=f"https://news.example/{i}", title=f"Artikel {i}",
                                       fetched_at=NOW, published_at=NOW - timedelta(hours=i),
                                       html=f"<p>Tekst {i}</p>", text=f"Tekst {i}"))
    return storage


def make_client(storage: Storage, host: str = "127.0.0.1", password: str = "") -> TestClient:
    settings = load_settings({}, secret_key="hostile-secret", admin_password=password or None)
    return TestClient(create_app(storage, settings, Services(storage)), client=(host, 50000),
                      raise_server_exceptions=False)


@pytest.fixture
def client(seeded: Storage) -> Iterator[TestClient]:
    with make_client(seeded) as c:
        yield c


def state_changing_routes(client: TestClient) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(routes: list) -> None:  # type: ignore[type-arg]
        for route in routes:
            if isinstance(route, APIRoute):
                for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
                    found.append((method, re.sub(r"\{[a-z_]+\}", "1", route.path)))
            elif hasattr(route, "original_router"):  # FastAPI's included routers
                walk(route.original_router.routes)
            elif hasattr(route, "routes"):
                walk(route.routes)

    walk(client.app.routes)  # type: ignore[attr-defined]
    return found


def assert_clean(response, *, allowed=range(400, 500)) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    assert not LEAKS.search(response.text), response.text[:500]
    assert not LEAKS.search(response.headers.get("location", ""))
    assert "content-security-policy" in response.headers


# Routes that do not act on a cookie session, so CSRF cannot ride on them: the apps' APIs take their
# credentials in each request (401 without), and the mail links carry a signed token as their only
# authority (400 for a forged one; RFC 8058 one-click unsubscribe must work without a cookie).
_API_PREFIXES = ("/reader/api/", "/accounts/ClientLogin", "/api/greader/", "/v1/", "/api/v1/")
_TOKEN_PREFIXES = ("/newsletters/confirm/", "/newsletters/unsubscribe/", "/newsletters/manage/")


def _refusal(path: str) -> int:
    if path.startswith(_API_PREFIXES):
        return 401
    if path.startswith(_TOKEN_PREFIXES):
        return 400
    return 403


def test_every_state_changing_route_refuses_a_missing_or_forged_csrf_token(client: TestClient, seeded) -> None:
    routes = state_changing_routes(client)
    assert len(routes) >= 4  # add, pause, resume, remove; later features add theirs
    page = client.get("/admin/sources")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = [(s.id, s.paused) for s in seeded.list_sources()]
    for method, path in routes:
        attempts = [
            ({}, {}),  # no token, no cookie
            ({"csrf_token": token}, {"newsdesk_csrf": "attacker-cookie"}),  # a real token, another cookie
            ({"csrf_token": "forged." + token[7:]}, None),  # forged signature, the victim's cookie
            ({"csrf_token": token * 50}, None),  # oversized token
        ]
        for data, cookies in attempts:
            fresh = make_client(seeded)
            if cookies is None:
                fresh.cookies.update(client.cookies)
            else:
                fresh.cookies.update(cookies)
            response = fresh.request(method, path, data={"url": "https://evil.example/feed", **data})
            assert_clean(response, allowed={_refusal(path)})
    assert [(s.id, s.paused) for s in seeded.list_sources()] == before
    # and the real form works (the check above is not simply "everything is refused")
    ok = client.post("/admin/sources/1/pause", data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303 and seeded.get_source(1).paused


def test_admin_password_cannot_be_brute_forced(seeded) -> None:
    with make_client(seeded, host="203.0.113.7", password=PASSWORD) as attacker:
        statuses = [attacker.get("/admin/sources", auth=("admin", f"guess{i}")).status_code for i in range(30)]
        assert statuses[0] == 401
        assert statuses[-1] == 429 and statuses.count(401) <= 10
        # once locked out, even the right password waits: guessing on would learn nothing
        locked = attacker.get("/admin/sources", auth=("admin", PASSWORD))
        assert_clean(locked, allowed={429})
        assert int(locked.headers["retry-after"]) > 0
    # another client is not locked out by the attacker
    with make_client(seeded, host="198.51.100.9", password=PASSWORD) as owner:
        assert owner.get("/admin/sources", auth=("admin", PASSWORD)).status_code == 200


@pytest.mark.parametrize("path", [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2f..%2fsettings.py",
    "/static/%2e%2e%2f%2e%2e%2fapp.py", "/static/....//....//etc/passwd", "/static/..\\..\\app.py",
    "/static/%252e%252e/%252e%252e/etc/passwd", "/static/%00", "/static//etc/passwd",
    "/articles/..%2f..%2fetc%2fpasswd", "/sources/%2e%2e", "/..;/admin/sources",
])
def test_path_traversal_finds_nothing(client: TestClient, path: str) -> None:
    assert_clean(client.get(path))


@pytest.mark.parametrize("path", [
    "/articles/99999999999999999999999999", "/articles/-1", "/articles/0", "/articles/1e9", "/sources/abc",
    "/?before=" + "A" * 10_000, "/?after=%00%ff", "/?before=2026-01-01T00:00:00%2B00:00~99999999999999999999",
    "/search?q=" + "x" * 60_000, "/search?q=%22", "/search?q=NEAR(a%20b)", "/search?q=*", "/search?q=a%20OR",
    "/search?q=%00", "/search?q=" + "%C3%A9" * 10_000, "/search?q=" + "+".join(["woord"] * 5000),
    "/search?q=x&page=-1", "/search?q=x&page=99999999999999999999", "/search?q=x&page=abc",
    "/articles/1?from=" + "%7B" * 5000, "/articles/1?from=source:abc", "/?lang=" + "x" * 5000,
    "/?" + "&".join(f"p{i}=v" for i in range(5000)),
])
def test_odd_and_oversized_requests_get_an_answer_never_a_5xx(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert_clean(response, allowed=set(range(200, 500)) - {500})
    assert response.status_code < 500


def test_oversized_bodies_are_refused_quickly(client: TestClient) -> None:
    page = client.get("/admin/sources")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for body, ctype in ((b"url=" + b"a" * 20_000_000 + b"&csrf_token=" + token.encode(),
                         "application/x-www-form-urlencoded"),
                        (b"x" * 20_000_000, "application/json"),
                        (b"--b\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n" + b"a" * 20_000_000
                         + b"\r\n--b--\r\n", "multipart/form-data; boundary=b")):
        started = time.perf_counter()
        response = client.post("/admin/sources", content=body, headers={"content-type": ctype})
        assert_clean(response)
        assert time.perf_counter() - started < 5
    assert len(client.app.state.__dict__) >= 0  # the app still answers:
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1@evil.example",
                                  "evil.example/#", "[::1]", "a" * 5000])
def test_host_header_tricks_never_reach_a_link_or_a_redirect(client: TestClient, seeded, host: str) -> None:
    page = client.get("/admin/sources")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for method, path, data in (("GET", "/", None), ("GET", "/articles/1", None), ("GET", "/sources/1/", None),
                               ("GET", "/search/?q=x", None), ("GET", "/admin/sources/", None),
                               ("POST", "/admin/sources/1/pause", {"csrf_token": token})):
        response = client.request(method, path, data=data, headers={"host": host}, follow_redirects=False)
        assert response.status_code < 500, (path, response.status_code)
        location = response.headers.get("location", "")
        assert "evil" not in location and "evil" not in response.text, (path, location)
        assert not location or location.startswith("/") and not location.startswith("//"), location


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example", "/%2f%2fevil.example", "/%5cevil.example",
                                  "///evil.example/%2e%2e", "/http://evil.example", "/articles/1/"])
def test_no_open_redirect(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code < 500
    location = response.headers.get("location", "")
    assert "evil" not in location and not location.startswith("//"), location


def test_unsafe_methods_on_pages_are_refused(client: TestClient) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        for path in ("/", "/articles/1", "/sources/1", "/admin/sources"):
            assert_clean(client.request(method, path), allowed={405})
