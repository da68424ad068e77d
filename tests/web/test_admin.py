"""The sources admin: who may reach it, CSRF on every POST, and add/pause/resume/remove via forms."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import lxml.html
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from newsdesk.errors import NotFoundError
from newsdesk.web.app import create_app


def form_token(client: TestClient) -> str:
    response = client.get("/admin/sources")
    assert response.status_code == 200
    doc = lxml.html.fromstring(response.text)
    return doc.cssselect("input[name=csrf_token]")[0].get("value")


def flash(client: TestClient) -> str:
    doc = lxml.html.fromstring(client.get("/admin/sources").text)
    found = doc.cssselect(".flash")
    if not found:
        return ""
    kind = "error" if "error" in found[0].get("class").split() else "ok"
    return f"{kind}: {found[0].text_content()}"


@pytest.fixture
def remote(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.9", 1234)) as test_client:
        yield test_client


def test_admin_refuses_non_loopback_clients(remote: TestClient, seeded) -> None:
    assert remote.get("/admin/sources").status_code == 403
    response = remote.post(f"/admin/sources/{seeded.nrc.id}/pause", data={"csrf_token": "x"})
    assert response.status_code == 403
    assert not seeded.storage.get_source(seeded.nrc.id).paused
    assert "Forbidden" in response.text
    # the reader pages stay public
    assert remote.get("/").status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1"])
def test_admin_answers_loopback_clients(app: FastAPI, host: str) -> None:
    with TestClient(app, client=(host, 1234)) as local:
        assert local.get("/admin/sources").status_code == 200


def test_admin_table_shows_source_state(client: TestClient, seeded) -> None:
    from newsdesk.models import FetchState

    seeded.storage.update_fetch_state(seeded.other.id, FetchState(
        last_fetched_at=seeded.other.created_at, error_count=3,
        last_error="The server answered 503 Service Unavailable.", last_error_kind="http_status"))
    response = client.get("/admin/sources")
    assert response.headers["cache-control"] == "no-store"
    doc = lxml.html.fromstring(response.text)
    rows = {row.cssselect("th a")[0].text_content(): row for row in doc.cssselect("tbody tr")}
    assert set(rows) == {"NRC", "Example News"}
    other = rows["Example News"].text_content()
    assert "503 Service Unavailable" in other and "×3" in other and "Active" in other
    assert rows["NRC"].cssselect("td")[0].text_content() == str(len(seeded.by_source[seeded.nrc.id]))
    assert "never" in rows["NRC"].text_content()


def test_post_without_a_valid_csrf_token_is_refused(client: TestClient, seeded) -> None:
    sid = seeded.nrc.id
    token = form_token(client)
    assert client.post(f"/admin/sources/{sid}/pause").status_code == 403
    assert client.post(f"/admin/sources/{sid}/pause", data={"csrf_token": "forged"}).status_code == 403
    assert client.post(f"/admin/sources/{sid}/pause", data={"csrf_token": token + "x"}).status_code == 403
    # a valid token without the cookie it was made for (another browser's token) is refused too
    cookie = client.cookies.get("newsdesk_csrf")
    client.cookies.delete("newsdesk_csrf")
    assert client.post(f"/admin/sources/{sid}/pause", data={"csrf_token": token}).status_code == 403
    client.cookies.set("newsdesk_csrf", "another-value")
    assert client.post(f"/admin/sources/{sid}/pause", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/sources", data={"csrf_token": token, "url": "https://x.example/"}
                       ).status_code == 403
    assert not seeded.storage.get_source(sid).paused
    assert seeded.storage.find_source("https://x.example/") is None
    client.cookies.set("newsdesk_csrf", cookie)
    response = client.post(f"/admin/sources/{sid}/pause", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert seeded.storage.get_source(sid).paused


def test_token_from_another_secret_is_refused(storage, settings, seeded, services) -> None:
    other = create_app(storage, settings.replace(secret_key="another-secret"), services)
    with TestClient(other, client=("127.0.0.1", 1)) as elsewhere:
        foreign = form_token(elsewhere)
        foreign_cookie = elsewhere.cookies.get("newsdesk_csrf")
    app = create_app(storage, settings, services)
    with TestClient(app, client=("127.0.0.1", 1)) as local:
        local.cookies.set("newsdesk_csrf", foreign_cookie)
        response = local.post(f"/admin/sources/{seeded.nrc.id}/pause", data={"csrf_token": foreign})
        assert response.status_code == 403


def test_add_pause_resume_remove_via_forms(client: TestClient, seeded) -> None:
    token = form_token(client)
    response = client.post("/admin/sources", data={"csrf_token": token, "url": "https://blog.example.net/",
                                                   "category": "tech"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/sources"
    added = seeded.storage.find_source("https://blog.example.net/")
    assert added is not None and added.category == "tech"
    assert "Added: Added blog.example.net" in flash(client)
    assert flash(client) == ""  # shown once

    doc = lxml.html.fromstring(client.get("/admin/sources").text)
    assert f"/admin/sources/{added.id}/pause" in [f.get("action") for f in doc.cssselect("form")]

    response = client.post(f"/admin/sources/{added.id}/pause", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert seeded.storage.get_source(added.id).paused
    doc = lxml.html.fromstring(client.get("/admin/sources").text)
    assert f"/admin/sources/{added.id}/resume" in [f.get("action") for f in doc.cssselect("form")]

    client.post(f"/admin/sources/{added.id}/resume", data={"csrf_token": token})
    assert not seeded.storage.get_source(added.id).paused

    response = client.post(f"/admin/sources/{seeded.nrc.id}/remove", data={"csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    with pytest.raises(NotFoundError):
        seeded.storage.get_source(seeded.nrc.id)
    assert client.get(f"/sources/{seeded.nrc.id}").status_code == 404
    assert client.get(f"/articles/{seeded.by_source[seeded.nrc.id][0]}").status_code == 404
    assert "Removed." in flash(client)


def test_add_errors_are_shown_in_plain_words(client: TestClient, seeded) -> None:
    token = form_token(client)

    def post(url: str, data: dict[str, str]) -> str:
        response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 303
        return flash(client)

    message = post("/admin/sources", {"url": "https://nofeed.example/"})
    assert "No feed, sitemap or article links were found at https://nofeed.example/." in message
    # the SourceExistsError's own words are shown, as an error
    assert post("/admin/sources", {"url": seeded.nrc.url}).startswith("error:")
    assert len(seeded.storage.list_sources()) == 2
    assert "Give the web address" in post("/admin/sources", {"url": "  "})
    assert "nothing at this address" in post("/admin/sources/99999/pause", {})


def test_admin_with_password_uses_basic_auth(storage, settings, seeded) -> None:
    app = create_app(storage, settings.replace(admin_password="s3cret"))
    good = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"admin:wrong").decode()
    wrong_user = "Basic " + base64.b64encode(b"root:s3cret").decode()
    with TestClient(app, client=("203.0.113.9", 1234)) as remote:
        response = remote.get("/admin/sources")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert remote.get("/admin/sources", headers={"Authorization": bad}).status_code == 401
        assert remote.get("/admin/sources", headers={"Authorization": wrong_user}).status_code == 401
        assert remote.get("/admin/sources", headers={"Authorization": "Basic !!!"}).status_code == 401
        assert remote.get("/admin/sources", headers={"Authorization": good}).status_code == 200


def test_admin_without_services_is_read_only(storage, settings, seeded) -> None:
    with TestClient(create_app(storage, settings), client=("127.0.0.1", 1)) as local:
        doc = lxml.html.fromstring(local.get("/admin/sources").text)
        assert not doc.cssselect("form[method=post]")
        assert len(doc.cssselect("tbody tr")) == 2
        # a forged form still needs a token; with one, the missing services answer 503
        local.cookies.set("newsdesk_csrf", "v")
        from newsdesk.web.security import CsrfTokens
        token = CsrfTokens("test-secret").token_for("v")
        assert local.post(f"/admin/sources/{seeded.nrc.id}/pause", data={"csrf_token": token}
                          ).status_code == 503
