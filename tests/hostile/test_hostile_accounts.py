"""Figure 7, accounts and mail links: login return URLs, login brute force and user enumeration,
session cookie flags, the newsletters' confirm/unsubscribe/manage tokens, and the routes that take
an id (huge, negative, another user's). Always a 4xx (or the page itself), never a 5xx, never a
redirect to another host, never a leak. The API's own bad-input cases are tests/api/test_api_bad_input.py
(wrong, expired and stale credentials, malformed ids and stream ids, another user's state, the
ClientLogin rate limit); this file adds what it does not cover.
"""

from __future__ import annotations

import html
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from unittest import mock
from urllib.parse import quote, urljoin, urlsplit

import pytest
from fastapi.routing import APIRoute
from hostile_helpers import NOW
from test_hostile_web import LEAKS, Services, TestClient, assert_clean

from newsdesk.mail.tokens import make_token
from newsdesk.models import NewArticle, NewSource, SubscriptionStatus
from newsdesk.services import newsletters as nl
from newsdesk.services.accounts import Accounts
from newsdesk.settings import load_settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app
from newsdesk.web.auth import SESSION_COOKIE

SECRET = "hostile-accounts-secret"
ALICE, ALICE_PASSWORD = "alice", "alice-password-1"
BOB, BOB_PASSWORD = "bob", "bob-password-22"
BASE = "http://testserver"


@pytest.fixture
def world(storage: Storage) -> Storage:
    source = storage.add_source(NewSource(url="https://news.example/feed", title="Nieuws"), NOW)
    for i in range(3):
        storage.add_article(NewArticle(source_id=source.id, url=f"https://news.example/{i}", title=f"Artikel {i}",
                                       fetched_at=NOW, published_at=NOW, html=f"<p>Tekst {i}</p>", text=f"Tekst {i}"))
    accounts = Accounts(storage, SECRET)
    accounts.create_user(ALICE, ALICE_PASSWORD, is_admin=True)
    accounts.create_user(BOB, BOB_PASSWORD)
    return storage


def client_for(storage: Storage, host: str = "127.0.0.1", scheme: str = "http", **settings: object) -> TestClient:
    app = create_app(storage, load_settings({}, secret_key=SECRET, language="en", **settings), Services(storage))
    return TestClient(app, base_url=f"{scheme}://testserver", client=(host, 50000), raise_server_exceptions=False)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def log_in(client: TestClient, name: str, password: str, next_url: str = "/") -> object:
    return client.post("/login", data={"csrf_token": csrf_of(client), "name": name, "password": password,
                                       "next": next_url}, follow_redirects=False)


def browser_target(location: str) -> tuple[str, str]:
    """(scheme, host) a browser goes to for this Location, read the way browsers read it (WHATWG URL):
    leading/trailing controls and spaces dropped, tabs and newlines removed, `\\` taken for `/`."""
    cleaned = location.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"
                             "\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    target = urlsplit(urljoin(BASE + "/login", cleaned))
    return target.scheme, target.netloc


RETURN_URLS = [
    "https://evil.example/", "http://evil.example", "//evil.example/", "///evil.example/", "////evil.example",
    "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "\\/evil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "/%2F%2Fevil.example", "%2F%2Fevil.example", "/%5Cevil.example", "%5C%5Cevil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "\x00//evil.example",
    "/ /evil.example", "https:evil.example", "https:/evil.example", "http:\\\\evil.example", "@evil.example",
    "/@evil.example", "/.//evil.example", "/..//evil.example", "/%09/evil.example", "/%0d%0aSet-Cookie:x=1",
    "/\u3002evil.example", "/\uff0f/evil.example", "//evil%2Eexample", "/" + "a" * 5000,
    '/"><script>alert(1)</script>',
]


@pytest.mark.parametrize("raw", RETURN_URLS)
def test_login_return_url_never_leaves_the_site(world: Storage, raw: str) -> None:
    with client_for(world) as client:
        page = client.get("/login?next=" + quote(raw, safe=""))
        assert page.status_code == 200 and "content-security-policy" in page.headers  # the language links
        shown = re.search(r'name="next" value="([^"]*)"', page.text)
        assert shown and browser_target(html.unescape(shown.group(1))) == ("http", "testserver"), shown
        assert "<script>alert" not in page.text
        response = log_in(client, ALICE, ALICE_PASSWORD, raw)
        assert response.status_code == 303, response.text[:300]
        location = response.headers["location"]
        assert browser_target(location) == ("http", "testserver"), (raw, location)
        assert "\r" not in location and "\n" not in location and "set-cookie" not in {
            k.lower() for k in response.headers if k.lower() != "set-cookie"}
        # and the same in the read/starred form's return field
        token = csrf_of(client, "/account")
        moved = client.post("/articles/1/state", data={"csrf_token": token, "action": "read", "next": raw},
                            follow_redirects=False)
        assert moved.status_code == 303
        assert browser_target(moved.headers["location"]) == ("http", "testserver"), (raw, moved.headers["location"])


def test_a_local_return_url_is_kept(world: Storage) -> None:
    with client_for(world) as client:
        response = log_in(client, ALICE, ALICE_PASSWORD, "/search?q=groenland&page=2")
        assert response.headers["location"] == "/search?q=groenland&page=2"


def test_login_brute_force_is_limited_per_client_and_per_name(world: Storage) -> None:
    with client_for(world, host="203.0.113.7") as attacker:
        statuses = [log_in(attacker, ALICE, f"guess-{i}").status_code for i in range(14)]
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
        locked = log_in(attacker, ALICE, ALICE_PASSWORD)  # even the right password: guessing on learns nothing
        assert_clean(locked, allowed={429})
        assert int(locked.headers["retry-after"]) > 0 and SESSION_COOKIE not in attacker.cookies
        # spraying other names from the same client is limited too (per address)
        assert log_in(attacker, BOB, BOB_PASSWORD).status_code == 429
    with client_for(world, host="203.0.113.8") as sprayer:
        names = [f"user{i}" for i in range(12)]
        assert [log_in(sprayer, name, "password-1").status_code for name in names][-1] == 429
    # another client, another account: unaffected
    with client_for(world, host="198.51.100.9") as owner:
        assert log_in(owner, BOB, BOB_PASSWORD).status_code == 303


def test_login_does_not_tell_which_half_was_wrong(world: Storage) -> None:
    with client_for(world, login_attempts=1000) as client:
        def attempt(name: str, password: str) -> tuple[int, str, float]:
            token = csrf_of(client)
            started = time.perf_counter()
            response = client.post("/login", data={"csrf_token": token, "name": name, "password": password})
            elapsed = time.perf_counter() - started
            body = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
            return response.status_code, body.replace(name, "NAME"), elapsed

        unknown = [attempt(f"nobody{i}", "wrong-password") for i in range(9)]
        wrong = [attempt(ALICE, f"wrong-password{i}") for i in range(9)]
        invalid_name = [attempt("<b>x</b>" * 20, "wrong-password") for i in range(3)]
    assert {(s, b) for s, b, _ in unknown + wrong + invalid_name} == {(unknown[0][0], unknown[0][1])}
    assert unknown[0][0] == 401
    # an unknown name runs the same password hash as a wrong password (argon2id, tens of ms)
    ratio = statistics.median(t for *_, t in unknown) / statistics.median(t for *_, t in wrong)
    print(f"\nlogin timing: unknown name / wrong password = {ratio:.2f}")
    assert 0.5 < ratio < 2.0, ratio


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_session_and_csrf_cookies_carry_their_flags(world: Storage, scheme: str) -> None:
    with client_for(world, scheme=scheme) as client:
        page = client.get("/login")
        response = log_in(client, ALICE, ALICE_PASSWORD)
        cookies: dict[str, dict[str, str]] = {}
        for header in [*page.headers.get_list("set-cookie"), *response.headers.get_list("set-cookie")]:
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                cookies[name] = {"httponly": str(morsel["httponly"]), "secure": str(morsel["secure"]),
                                 "samesite": str(morsel["samesite"]).lower(), "max-age": str(morsel["max-age"])}
    session, csrf = cookies[SESSION_COOKIE], cookies["newsdesk_csrf"]
    assert session["httponly"] and csrf["httponly"]
    assert session["samesite"] == "lax" and csrf["samesite"] == "strict"
    assert bool(session["secure"]) == bool(csrf["secure"]) == (scheme == "https")
    assert 0 < int(session["max-age"]) <= 30 * 86400


def test_a_forged_or_foreign_session_cookie_is_anonymous(world: Storage) -> None:
    accounts = Accounts(world, SECRET)
    alice = world.find_user(ALICE)
    assert alice is not None
    real = accounts.issue_token(alice, "session")
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 31 * 86400):
        expired = accounts.issue_token(alice, "session")
    forged = [real[:-2] + ("AA" if not real.endswith("AA") else "BB"), Accounts(world, "another-key").issue_token(
        alice, "session"), accounts.issue_token(alice, "greader"), expired, "x" * 5000, "", "\x00", "..%2f"]
    for value in forged:
        with client_for(world) as client:
            client.cookies.set(SESSION_COOKIE, value)
            account = client.get("/account", follow_redirects=False)
            assert account.status_code == 303 and account.headers["location"].startswith("/login"), value[:40]
        with client_for(world, host="203.0.113.50") as remote:  # not loopback, which the admin lets in
            remote.cookies.set(SESSION_COOKIE, value)
            assert_clean(remote.get("/admin/sources"), allowed={401, 403})
    with client_for(world) as client:
        client.cookies.set(SESSION_COOKIE, real)
        assert client.get("/account").status_code == 200


def test_one_user_cannot_revoke_or_read_another_users_keys(world: Storage) -> None:
    accounts = Accounts(world, SECRET)
    alice, bob = world.find_user(ALICE), world.find_user(BOB)
    assert alice is not None and bob is not None
    alice_key, secret = accounts.create_api_key(alice.id, "alice's reader")
    with client_for(world) as client:
        log_in(client, BOB, BOB_PASSWORD)
        page = client.get("/account")
        assert "alice's reader" not in page.text and secret[:10] not in page.text
        token = csrf_of(client, "/account")
        for key_id in (alice_key.id, 99999999999999999999, -1, 0):
            response = client.post(f"/account/keys/{key_id}/revoke", data={"csrf_token": token},
                                   follow_redirects=False)
            assert response.status_code in (303, 400, 404, 422), (key_id, response.status_code)
            assert not LEAKS.search(response.text)
    assert accounts.authenticate_key(secret).id == alice.id  # still active


# -- the routes that take an id: huge, negative, zero, text ----------------------------------------------


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []

    def walk(routes: list, prefix: str) -> None:  # type: ignore[type-arg]
        for route in routes:
            if isinstance(route, APIRoute) and "{" in route.path:
                found.extend((method, prefix + route.path) for method in sorted(route.methods - {"HEAD"}))
            elif hasattr(route, "original_router"):  # FastAPI's included routers
                walk(route.original_router.routes, prefix + route.include_context.prefix)

    walk(client.app.routes, "")  # type: ignore[attr-defined]
    return found


@pytest.fixture
def logged_in(world: Storage) -> Iterator[tuple[TestClient, str, str]]:
    accounts = Accounts(world, SECRET)
    alice = world.find_user(ALICE)
    assert alice is not None
    _, key = accounts.create_api_key(alice.id, "k")
    with client_for(world) as client:
        log_in(client, ALICE, ALICE_PASSWORD)
        yield client, csrf_of(client, "/account"), key


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "-1", "0", "abc", "1e3",
                                   "%2e%2e", "1%00"])
def test_every_route_with_an_id_answers_4xx_for_a_bad_one(logged_in: tuple[TestClient, str, str],
                                                          value: str) -> None:
    client, token, key = logged_in
    routes = _routes(client)
    assert len(routes) >= 30  # pages, admin, stories, newsletters, account, three APIs, Atom
    failures: list[str] = []
    for method, template in routes:
        path = re.sub(r"\{([a-z_]+)(:path)?\}", lambda m: value if m.group(1) != "host" else "x.example", template)
        headers = {"X-Auth-Token": key} if template.startswith("/v1/") else (
            {"Authorization": f"Bearer {key}"} if template.startswith("/api/v1/") else {})
        data = {"csrf_token": token, "action": "read", "newsletter_id": value, "email": "a@example.org",
                "into": value}
        response = client.request(method, path, headers=headers,
                                  data=data if method == "POST" else None, follow_redirects=False)
        if response.status_code >= 500 or LEAKS.search(response.text):
            failures.append(f"{method} {path}: {response.status_code}")
    assert failures == [], "\n".join(failures)


# -- newsletter links: the signed token is their only authority ------------------------------------------


@pytest.fixture
def subscription(world: Storage) -> tuple[int, int, str]:
    letter = nl.define_newsletter(world, name="Groenland", tagline="", topic_kind="search", topic="Groenland")
    sub = world.subscribe_pending(letter.id, "lezer@example.org", datetime.now(UTC))
    return letter.id, sub.id, sub.address


def forge_signature(token: str) -> str:
    """The token with its signature's first character changed.

    Not the last one: base64's last character carries spare bits, so changing it can leave the
    decoded signature as it was (the test then met a valid token about one run in sixteen).
    """
    head, _, signature = token.rpartition(".")
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def test_forged_expired_and_foreign_mail_tokens_change_nothing(world: Storage,
                                                               subscription: tuple[int, int, str]) -> None:
    letter_id, sub_id, address = subscription
    good = {purpose: make_token(SECRET, purpose, sub_id, address) for purpose in ("confirm", "unsubscribe", "manage")}
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 49 * 3600):
        expired_confirm = make_token(SECRET, "confirm", sub_id, address)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 367 * 86400):
        expired_unsubscribe = make_token(SECRET, "unsubscribe", sub_id, address)
    bad: dict[str, list[str]] = {}
    for purpose, token in good.items():
        other = [p for p in good if p != purpose]
        bad[purpose] = [
            forge_signature(token),  # signature changed
            token[:20],  # truncated
            token.replace(".", "..", 1),
            make_token("another-site-key", purpose, sub_id, address),  # right shape, wrong key
            make_token(SECRET, purpose, sub_id, "other@example.org"),  # another address
            make_token(SECRET, purpose, sub_id + 1, address),  # another subscription
            good[other[0]], good[other[1]],  # a token for another purpose
            "x" * 5000, "%00", "..%2f..%2fetc%2fpasswd", quote("<script>alert(1)</script>", safe=""),
        ]
    bad["confirm"].append(expired_confirm)
    bad["unsubscribe"].append(expired_unsubscribe)
    with client_for(world, smtp_host="") as client:
        for purpose, tokens in bad.items():
            for token in tokens:
                for method in ("GET", "POST"):
                    data = {"newsletter_id": str(letter_id), "action": "unsubscribe"} if purpose == "manage" else None
                    response = client.request(method, f"/newsletters/{purpose}/{token}", data=data,
                                              follow_redirects=False)
                    assert_clean(response, allowed={400, 404})
                    assert "location" not in response.headers
                    assert "<script>alert" not in response.text
        assert world.get_subscription(sub_id).status is SubscriptionStatus.PENDING  # nothing changed
        # the real links work (the refusals above are not simply "everything is refused")
        assert client.post(f"/newsletters/confirm/{good['confirm']}").status_code == 200
        assert world.get_subscription(sub_id).status is SubscriptionStatus.ACTIVE
        assert client.post(f"/newsletters/unsubscribe/{good['unsubscribe']}").status_code == 200
        assert world.get_subscription(sub_id).status is SubscriptionStatus.UNSUBSCRIBED
        # a confirm link replayed after the unsubscribe does not re-activate the subscription
        assert_clean(client.post(f"/newsletters/confirm/{good['confirm']}"), allowed={400})
        assert world.get_subscription(sub_id).status is SubscriptionStatus.UNSUBSCRIBED


def test_sign_up_form_abuse(world: Storage, subscription: tuple[int, int, str]) -> None:
    letter_id, _, _ = subscription
    with client_for(world, smtp_host="") as client:
        token = csrf_of(client)
        for letter, address in ((str(letter_id), "a@example.org\r\nBcc: victim@example.org"),
                                (str(letter_id), "<script>alert(1)</script>@example.org"),
                                (str(letter_id), "a" * 5000 + "@example.org"),
                                ("99999999999999999999", "a@example.org"), ("-1", "a@example.org")):
            response = client.post(f"/newsletters/{letter}/subscribe", data={"csrf_token": token, "email": address},
                                   follow_redirects=False)
            assert_clean(response, allowed=set(range(400, 500)) | {503})
            assert "<script>alert" not in response.text and "location" not in response.headers
