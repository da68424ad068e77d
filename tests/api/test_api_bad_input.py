"""Bad input to the APIs: wrong or missing credentials, expired and forged tokens, another user's
ids, malformed ids and stream ids, giant `n`, unknown parameters, rate limits, and concurrent
mark-read. Clear 4xx answers, never a 5xx, never a leak across users."""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
from datetime import UTC, datetime
from unittest import mock

import httpx
import pytest
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, Server

from newsdesk.models_accounts import ReadFilter
from newsdesk.services.accounts import Accounts
from newsdesk.storage.users import EntryQuery

GR = "/reader/api/0"


def _login(http: httpx.Client, name: str, password: str) -> dict[str, str]:
    response = http.post("/accounts/ClientLogin", data={"Email": name, "Passwd": password})
    assert response.status_code == 200, response.text
    token = dict(line.split("=", 1) for line in response.text.strip().splitlines())["Auth"]
    return {"Authorization": f"GoogleLogin auth={token}"}


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_wrong_and_missing_credentials_are_401_without_detail(http: httpx.Client, server: Server) -> None:
    unknown = http.post("/accounts/ClientLogin", data={"Email": "nobody", "Passwd": "whatever-pass"})
    wrong = http.post("/accounts/ClientLogin", data={"Email": READER, "Passwd": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.text == wrong.text == "unauthorized"
    for path in (f"{GR}/user-info", f"{GR}/subscription/list", f"{GR}/stream/items/ids?s=feed/1"):
        assert http.get(path).status_code == 401
        assert http.get(path, headers={"Authorization": "GoogleLogin auth=forged"}).status_code == 401
    assert http.get("/v1/me").status_code == 401
    assert http.get("/v1/me", headers=_basic(READER, "nope-nope")).json() == {"error_message": "unauthorized"}
    assert http.get("/v1/me", headers={"X-Auth-Token": "nd_forged"}).status_code == 401
    assert http.get("/api/v1/articles").status_code == 401
    assert http.get("/api/v1/articles", headers={"Authorization": "Bearer nd_x"}).json()["error"] == "unauthenticated"
    # An API key is tied to its user: bob's key does not log in as alice.
    assert http.get("/v1/me", headers=_basic(ADMIN, server.reader_key)).status_code == 401


def test_expired_and_stale_tokens(http: httpx.Client, server: Server) -> None:
    accounts = Accounts(server.storage, "api-test-secret")
    fresh = accounts.issue_token(server.reader, "greader")
    # The same token signed 60 days ago (tokens live 30 days): itsdangerous stamps time.time().
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 60 * 86400):
        expired = accounts.issue_token(server.reader, "greader")
    assert http.get(f"{GR}/user-info", headers={"Authorization": f"GoogleLogin auth={expired}"}).status_code == 401
    assert http.get(f"{GR}/user-info", headers={"Authorization": f"GoogleLogin auth={fresh}"}).status_code == 200
    # A token for another purpose (a web session) is not a GReader token.
    session = accounts.issue_token(server.reader, "session")
    assert http.get(f"{GR}/user-info", headers={"Authorization": f"GoogleLogin auth={session}"}).status_code == 401
    # A password change retires every token issued before it.
    Accounts(server.storage, "api-test-secret").change_password(server.reader.id, "a-new-password")
    assert http.get(f"{GR}/user-info", headers={"Authorization": f"GoogleLogin auth={fresh}"}).status_code == 401
    # A revoked API key stops working at once.
    key = accounts.list_api_keys(server.admin.id)[0]
    assert http.get("/v1/me", headers={"X-Auth-Token": server.admin_key}).status_code == 200
    accounts.revoke_api_key(key.id)
    assert http.get("/v1/me", headers={"X-Auth-Token": server.admin_key}).status_code == 401


def test_malformed_ids_streams_and_parameters(http: httpx.Client, server: Server) -> None:
    auth = _login(http, READER, READER_PASSWORD)
    for bad in ("tag:google.com,2005:reader/item/zzzz", "12abc", "", "tag:google.com,2005:reader/item/" + "f" * 17,
                "99999999999999999999999"):
        response = http.post(f"{GR}/edit-tag", headers=auth, data={"i": bad, "a": "user/-/state/com.google/read"})
        assert response.status_code == 400, bad
    for stream in ("bogus", "user/-/state/com.google/nothing", "user/99/label/x", "feed/"):
        assert http.get(f"{GR}/stream/items/ids", headers=auth, params={"s": stream}).status_code in (400, 404)
    assert http.get(f"{GR}/stream/items/ids", headers=auth, params={"s": "feed/999999"}).status_code == 404
    assert http.get(f"{GR}/stream/items/ids", headers=auth,
                    params={"s": "user/-/state/com.google/reading-list", "c": "garbage"}).status_code == 400
    assert http.get(f"{GR}/stream/items/ids", headers=auth,
                    params={"s": "user/-/state/com.google/reading-list", "n": "ten"}).status_code == 400
    # A giant n is capped, not an error; unknown parameters are ignored.
    giant = http.get(f"{GR}/stream/items/ids", headers=auth,
                     params={"s": "user/-/state/com.google/reading-list", "n": "9" * 20, "zzz": "1"})
    assert giant.status_code == 200 and len(giant.json()["itemRefs"]) == len(server.articles)
    # ot/nt filter by time; an absurd time is clamped.
    cutoff = int(datetime(2026, 1, 20, 0, 0, tzinfo=UTC).timestamp())
    newer = http.get(f"{GR}/stream/items/ids", headers=auth,
                     params={"s": "user/-/state/com.google/reading-list", "ot": cutoff, "n": 1000}).json()["itemRefs"]
    older = http.get(f"{GR}/stream/items/ids", headers=auth,
                     params={"s": "user/-/state/com.google/reading-list", "nt": cutoff, "n": 1000}).json()["itemRefs"]
    assert len(newer) + len(older) == len(server.articles) and newer and older
    assert http.get(f"{GR}/stream/items/ids", headers=auth,
                    params={"s": "user/-/state/com.google/reading-list", "ot": "9" * 18}).status_code == 200
    key = {"X-Auth-Token": server.reader_key}
    assert http.get("/v1/entries", headers=key, params={"limit": "99999999999"}).status_code == 200
    assert http.get("/v1/entries", headers=key, params={"limit": "-1"}).status_code == 400
    assert http.get("/v1/entries", headers=key, params={"direction": "sideways"}).status_code == 400
    assert http.get("/v1/entries/abc", headers=key).status_code == 400
    assert http.put("/v1/entries", headers=key, content=b"{not json").status_code == 400
    assert http.put("/v1/entries", headers=key, json={"entry_ids": ["1"], "status": "read"}).status_code == 400
    assert http.put("/v1/entries", headers=key, json={"entry_ids": [1], "status": "gone"}).status_code == 400
    bearer = {"Authorization": f"Bearer {server.reader_key}"}
    assert http.get("/api/v1/articles/0", headers=bearer).status_code == 400
    assert http.get("/api/v1/articles/99999999999999999999999", headers=bearer).status_code == 400
    assert http.get("/api/v1/articles", headers=bearer, params={"cursor": "x_y"}).status_code == 400


def test_another_users_state_is_never_visible_or_writable(http: httpx.Client, server: Server) -> None:
    alice = _login(http, ADMIN, ADMIN_PASSWORD)
    bob = _login(http, READER, READER_PASSWORD)
    target = server.articles[0]
    assert http.post(f"{GR}/edit-tag", headers=alice,
                     data={"i": str(target),
                           "a": ["user/-/state/com.google/starred", "user/-/label/secret"]}).text == "OK"
    bob_items = http.post(f"{GR}/stream/items/contents", headers=bob, data={"i": str(target)}).json()["items"]
    assert "user/-/state/com.google/starred" not in bob_items[0]["categories"]
    assert "user/-/label/secret" not in str(bob_items)
    assert "secret" not in http.get(f"{GR}/tag/list", headers=bob).text
    assert http.get(f"{GR}/stream/items/ids", headers=bob,
                    params={"s": "user/-/state/com.google/starred"}).json()["itemRefs"] == []
    assert http.get(f"{GR}/stream/items/ids", headers=bob,
                    params={"s": "user/-/label/secret"}).json()["itemRefs"] == []
    # bob marking read touches only bob's rows.
    http.post(f"{GR}/mark-all-as-read", headers=bob, data={"s": "user/-/state/com.google/reading-list"})
    assert server.storage.count_user_articles(EntryQuery(user_id=server.admin.id, read=ReadFilter.READ)) == 0
    # Subscriptions are the operator's: a reader cannot change them.
    assert http.post(f"{GR}/subscription/quickadd", headers=bob,
                     data={"quickadd": "https://x.example.org/feed"}).status_code == 403
    assert http.post(f"{GR}/subscription/edit", headers=bob,
                     data={"ac": "unsubscribe", "s": f"feed/{server.sources[0].id}"}).status_code == 403
    reader_key = {"X-Auth-Token": server.reader_key}
    assert http.delete(f"/v1/feeds/{server.sources[0].id}", headers=reader_key).status_code == 403


def test_login_rate_limit(http: httpx.Client, server: Server) -> None:
    # The fixture allows 5 failures per window, per address and per user name.
    statuses = [http.post("/accounts/ClientLogin", data={"Email": ADMIN, "Passwd": f"wrong-{i}"}).status_code
                for i in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    limited = http.post("/accounts/ClientLogin", data={"Email": ADMIN, "Passwd": ADMIN_PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert http.get("/v1/me", headers=_basic(ADMIN, ADMIN_PASSWORD)).status_code == 429
    # The API keys do not go through the password limiter.
    assert http.get("/v1/me", headers={"X-Auth-Token": server.admin_key}).status_code == 200


def test_concurrent_mark_read_from_two_clients(server: Server) -> None:
    errors: list[int] = []

    def worker(ids: list[int], status: str) -> None:
        with httpx.Client(base_url=server.url, headers={"X-Auth-Token": server.reader_key}, timeout=30) as client:
            for _ in range(15):
                response = client.put("/v1/entries", json={"entry_ids": ids, "status": status})
                if response.status_code != 204:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(server.articles[:20], "read")),
               threading.Thread(target=worker, args=(server.articles[10:], "read"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.READ)) == 30


@pytest.mark.parametrize("path", ["/api/greader/reader/api/0/user-info", "/reader/api/0/user-info"])
def test_both_greader_mounts(http: httpx.Client, path: str) -> None:
    auth = _login(http, READER, READER_PASSWORD)
    assert http.get(path, headers=auth).json()["userName"] == READER


def test_a_client_that_leaves_mid_body_is_no_server_error(http: httpx.Client, server: Server,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """A client that goes away while sending a form (an app closed, a load generator stopped) is no
    fault of the server: nothing is logged as an error, and the server goes on answering."""
    headers = _login(http, READER, READER_PASSWORD)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep(level=logging.ERROR)
    logging.getLogger("uvicorn").addHandler(keep)  # uvicorn's loggers do not reach the root logger
    try:
        host, port = server.url.removeprefix("http://").split(":")
        for _ in range(3):
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall((f"POST {GR}/stream/items/contents HTTP/1.1\r\nHost: {host}\r\n"
                              f"Authorization: {headers['Authorization']}\r\n"
                              "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
                              "i=1&i=2&i=").encode())
                time.sleep(0.2)  # the server is reading the body when the client goes
        time.sleep(0.3)
        assert http.get(f"{GR}/user-info", headers=headers).status_code == 200
    finally:
        logging.getLogger("uvicorn").removeHandler(keep)
    errors = [r for r in [*seen, *caplog.records] if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
