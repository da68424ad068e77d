"""The web side of accounts: login and logout, the session cookie's flags, CSRF on every form,
login rate limiting, API keys on the account page, read/starred buttons, and the admin gate."""

from __future__ import annotations

import re

import httpx
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, Server

from newsdesk.models_accounts import ReadFilter
from newsdesk.storage.users import EntryQuery


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _login(http: httpx.Client, name: str, password: str) -> httpx.Response:
    token = _csrf(http.get("/login").text)
    return http.post("/login", data={"csrf_token": token, "name": name, "password": password, "next": "/account"})


def test_login_session_and_logout(http: httpx.Client, server: Server) -> None:
    assert http.get("/account").status_code == 303
    response = _login(http, READER, READER_PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "newsdesk_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    page = http.get("/account")
    assert page.status_code == 200 and READER in page.text
    http.post("/logout", data={"csrf_token": _csrf(page.text)})
    assert http.get("/account").status_code == 303


def test_login_refuses_without_csrf_and_with_a_wrong_password(http: httpx.Client, server: Server) -> None:
    http.get("/login")
    no_token = http.post("/login", data={"name": READER, "password": READER_PASSWORD})
    assert no_token.status_code == 403 and "newsdesk_session" not in no_token.headers.get("set-cookie", "")
    wrong = _login(http, READER, "not-my-password")
    assert wrong.status_code == 401 and "newsdesk_session" not in wrong.headers.get("set-cookie", "")
    # The fixture allows five failures per window; the sixth is refused before the password counts.
    for _ in range(4):
        _login(http, READER, "still-wrong")
    limited = _login(http, READER, READER_PASSWORD)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert _login(http, "only-the-name-differs", "x" * 8).status_code == 429  # same address


def test_account_forms_need_a_login(http: httpx.Client, server: Server) -> None:
    token = _csrf(http.get("/login").text)
    refused = http.post("/account/keys", data={"csrf_token": token, "name": "x"})
    assert refused.status_code == 403 and "www-authenticate" not in refused.headers
    assert server.storage.list_api_keys(server.reader.id)[0].name == "tests"


def test_open_redirect_is_refused(http: httpx.Client, server: Server) -> None:
    token = _csrf(http.get("/login").text)
    response = http.post("/login", data={"csrf_token": token, "name": READER, "password": READER_PASSWORD,
                                         "next": "//evil.example.org/"})
    assert response.headers["location"] == "/"


def test_api_keys_on_the_account_page(http: httpx.Client, server: Server) -> None:
    _login(http, READER, READER_PASSWORD)
    page = http.get("/account").text
    created = http.post("/account/keys", data={"csrf_token": _csrf(page), "name": "phone"})
    key = re.search(r'class="new-key">(nd_[^<]+)<', created.text)
    assert key
    assert httpx.get(f"{server.url}/v1/me", headers={"X-Auth-Token": key.group(1)}).json()["username"] == READER
    keys = server.storage.list_api_keys(server.reader.id)
    phone = next(k for k in keys if k.name == "phone")
    http.post(f"/account/keys/{phone.id}/revoke", data={"csrf_token": _csrf(created.text)})
    assert httpx.get(f"{server.url}/v1/me", headers={"X-Auth-Token": key.group(1)}).status_code == 401
    # Another user's key cannot be revoked from here.
    alice_key = server.storage.list_api_keys(server.admin.id)[0]
    assert http.post(f"/account/keys/{alice_key.id}/revoke",
                     data={"csrf_token": _csrf(created.text)}).status_code == 404
    assert server.storage.list_api_keys(server.admin.id)[0].active


def test_read_and_starred_buttons(http: httpx.Client, server: Server) -> None:
    article = server.articles[0]
    anonymous = http.get(f"/articles/{article}").text
    assert "/state" not in anonymous
    _login(http, READER, READER_PASSWORD)
    page = http.get(f"/articles/{article}").text
    assert 'value="read"' in page and 'value="star"' in page
    http.post(f"/articles/{article}/state", data={"csrf_token": _csrf(page), "action": "read"})
    http.post(f"/articles/{article}/state", data={"csrf_token": _csrf(page), "action": "star"})
    assert server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.READ)) == 1
    assert server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, starred=True)) == 1
    page = http.get(f"/articles/{article}").text
    assert 'value="unread"' in page and 'value="unstar"' in page
    home = http.get("/").text
    assert 'class="item is-read is-starred"' in home and home.count('class="unread-mark"') == len(server.articles) - 1
    assert "unread-mark" not in httpx.get(server.url + "/").text  # anonymous: no marks
    assert http.post(f"/articles/{article}/state", data={"action": "read"}).status_code == 403  # no CSRF
    assert http.post("/articles/999999/state", data={"csrf_token": _csrf(page), "action": "read"}).status_code == 404


def test_admin_gate_lets_admin_users_in(server: Server) -> None:
    # Over a non-loopback address the gate refuses anonymous visitors; an admin user gets in, a
    # reader does not. (The test client connects from 127.0.0.1, so check with the ASGI app.)
    import warnings

    with warnings.catch_warnings():  # as tests/web/conftest.py: the project pins httpx, not httpx2
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    from newsdesk.settings import load_settings
    from newsdesk.web.app import create_app

    app = create_app(server.storage, load_settings({}, secret_key="api-test-secret"))
    with TestClient(app, client=("203.0.113.9", 4000)) as client:
        assert client.get("/admin/sources").status_code == 403
        for name, password, status in ((READER, READER_PASSWORD, 403), (ADMIN, ADMIN_PASSWORD, 200)):
            client.cookies.clear()
            token = _csrf(client.get("/login").text)
            client.post("/login", data={"csrf_token": token, "name": name, "password": password})
            assert client.get("/admin/sources").status_code == status
