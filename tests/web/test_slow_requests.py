"""Requests that fetch a remote site run on threads of their own (web/slowpool.py): with the default
`web_threads` (one request thread per process), a site that takes its time to answer an "add this
feed" holds up that request only, never the API reads of the same process.

Served for real: uvicorn on a loopback port with the app's lifespan (which sets the request pool to
`web_threads`), the real admin services and discovery, and a local site that answers only when the
test lets it."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import anyio.to_thread
import httpx
import lxml.html
import pytest

from appserver import serve_app
from localsite import LocalSite
from newsdesk.models import NewArticle, NewSource
from newsdesk.services import newsletters
from newsdesk.services.accounts import Accounts
from newsdesk.services.admin import SourceAdmin
from newsdesk.settings import SETTINGS, Settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app
from newsdesk.web.slowpool import SlowPool

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Slow News</title><link>{base}/</link><description>Slow</description>
<item><title>First</title><link>{base}/news/1</link><guid>{base}/news/1</guid>
<pubDate>Tue, 20 Jan 2026 10:00:00 GMT</pubDate></item></channel></rss>"""

#: how long a read may take while a slow request is pending (it takes milliseconds)
READ_DEADLINE = 5.0


@dataclass
class Served:
    base: str
    storage: Storage
    key: str
    site: LocalSite
    #: set when the slow site has a request waiting; set `release` to let it answer
    arrived: threading.Event
    release: threading.Event
    smtp: StallingSmtp
    newsletter_id: int
    #: an article whose page has the newsletter's sign-up box
    article_id: int

    def slow_url(self, name: str) -> str:
        """A feed URL on the local site that answers only once `release` is set."""
        def handler(request: BaseHTTPRequestHandler) -> None:
            self.arrived.set()
            self.release.wait(30)
            body = RSS.format(base=self.site.base).encode()
            request.send_response(200)
            request.send_header("content-type", "application/rss+xml")
            request.send_header("content-length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

        self.site.routes[f"/{name}.xml"] = handler
        return self.site.url(f"/{name}.xml")


class StallingSmtp:
    """An SMTP server on loopback that greets nobody until `release` is set, then hangs up."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.arrived = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._stall, args=(conn,), daemon=True).start()

    def _stall(self, conn: socket.socket) -> None:
        self.arrived.set()
        self.release.wait(30)
        conn.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def served(storage: Storage, settings: Settings, site: LocalSite) -> Iterator[Served]:
    release = threading.Event()
    smtp = StallingSmtp(release)
    settings = settings.replace(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), fetch_timeout=30.0,
                                smtp_host="127.0.0.1", smtp_port=smtp.port, mail_from="news@newsdesk.example")
    source = storage.add_source(NewSource(url="https://news.example.org/feed", title="Example"), NOW)
    newsletter = newsletters.define_newsletter(storage, name="Example daily", tagline="", topic_kind="source",
                                               topic=str(source.id))
    article_ids = []
    for i in range(20):
        article_ids.append(storage.add_article(NewArticle(
            source_id=source.id, url=f"https://news.example.org/{i}", title=f"Item {i}", fetched_at=NOW,
            published_at=NOW, html=f"<p>Body {i}</p>", text=f"Body {i}")))
    accounts = Accounts(storage, "test-secret")
    admin = accounts.create_user("alice", "alice-password-1", is_admin=True)
    _, key = accounts.create_api_key(admin.id, "tests")
    app = create_app(storage, settings, SourceAdmin(storage, settings))
    try:
        # the lifespan sets the request pool to `web_threads`: these tests are about its default
        with serve_app(app, lifespan="on") as base:
            try:
                yield Served(base, storage, key, site, threading.Event(), release, smtp, newsletter.id,
                             article_ids[0] or 0)
            finally:
                release.set()  # before the server stops: it waits for the requests the slow site holds
    finally:
        smtp.close()


def _greader_auth(client: httpx.Client, key: str) -> dict[str, str]:
    login = client.post("/accounts/ClientLogin", data={"Email": "alice", "Passwd": key})
    token = dict(line.split("=", 1) for line in login.text.strip().splitlines())["Auth"]
    return {"Authorization": f"GoogleLogin auth={token}"}


def _admin_add(client: httpx.Client, url: str) -> httpx.Response:
    page = lxml.html.fromstring(client.get("/admin/sources").text)
    token = page.cssselect("input[name=csrf_token]")[0].get("value")
    return client.post("/admin/sources", data={"csrf_token": token, "url": url})


#: each request that fetches a remote site: (name, call, expected status)
SLOW_REQUESTS: list[tuple[str, Callable[[httpx.Client, Served, str], httpx.Response], int]] = [
    ("miniflux discover", lambda c, s, url: c.post("/v1/discover", json={"url": url},
                                                   headers={"X-Auth-Token": s.key}), 200),
    ("miniflux create feed", lambda c, s, url: c.post("/v1/feeds", json={"feed_url": url},
                                                      headers={"X-Auth-Token": s.key}), 201),
    ("greader quickadd", lambda c, s, url: c.post("/reader/api/0/subscription/quickadd", data={"quickadd": url},
                                                  headers=_greader_auth(c, s.key)), 200),
    ("greader subscribe", lambda c, s, url: c.post("/api/greader/reader/api/0/subscription/edit",
                                                   data={"ac": "subscribe", "s": f"feed/{url}"},
                                                   headers=_greader_auth(c, s.key)), 200),
    ("admin add source", lambda c, s, url: _admin_add(c, url), 303),
]


def _reads(served: Served) -> list[int]:
    """An API read of each kind; their statuses."""
    with httpx.Client(base_url=served.base, timeout=READ_DEADLINE) as client:
        miniflux = {"X-Auth-Token": served.key}
        return [client.get("/v1/entries", params={"limit": 100}, headers=miniflux).status_code,
                client.get("/reader/api/0/stream/items/ids", headers=_greader_auth(client, served.key),
                           params={"s": "user/-/state/com.google/reading-list", "n": 100}).status_code,
                client.get("/v1/me", headers=miniflux).status_code]


def _start_slow(served: Served, call: Callable[[httpx.Client, Served, str], httpx.Response],
                name: str) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []

    def slow() -> None:
        with httpx.Client(base_url=served.base, timeout=60, follow_redirects=False) as client:
            answers.append(call(client, served, served.slow_url(name.replace(" ", "-"))))

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    assert served.arrived.wait(10), "the slow request never reached the site"
    return thread, answers


def test_the_default_is_one_request_thread() -> None:
    assert next(s for s in SETTINGS if s.name == "web_threads").default == 1


@pytest.mark.parametrize(("name", "call", "status"), SLOW_REQUESTS, ids=[r[0] for r in SLOW_REQUESTS])
def test_a_slow_remote_site_does_not_hold_up_api_reads(served: Served, name: str, call: Callable[..., httpx.Response],
                                                       status: int) -> None:
    slow, answers = _start_slow(served, call, name)
    started = time.monotonic()
    assert _reads(served) == [200, 200, 200]
    # the reads answered while the slow request was still waiting for the site
    assert slow.is_alive() and not answers and not served.release.is_set()
    assert time.monotonic() - started < READ_DEADLINE
    served.release.set()
    slow.join(30)
    assert [a.status_code for a in answers] == [status]
    if name != "miniflux discover":  # the others follow the feed they found
        assert any(s.title == "Slow News" for s in served.storage.list_sources())


def test_on_the_request_threads_the_same_request_would_hold_the_reads_up(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: the slow pool replaced by the request pool (one thread by default), the reads
    # wait for the site. This is what the slow pool prevents, and shows the test above can fail.
    monkeypatch.setattr(SlowPool, "limiter", lambda self: anyio.to_thread.current_default_thread_limiter())
    slow, answers = _start_slow(served, SLOW_REQUESTS[0][1], "held")
    with pytest.raises(httpx.TimeoutException), httpx.Client(base_url=served.base, timeout=1.5) as client:
        client.get("/v1/me", headers={"X-Auth-Token": served.key})
    served.release.set()
    slow.join(30)
    assert [a.status_code for a in answers] == [200]


def test_a_password_not_remembered_yet_is_checked_on_a_slow_thread(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    # Miniflux clients send the password with every request; argon2 runs for the first one only
    # (then it is remembered), and on the slow threads, since it takes 20-40 ms
    on_slow: list[str] = []
    run = SlowPool.run

    async def counting(self: SlowPool, func: Callable[..., object], *args: object) -> object:
        on_slow.append(getattr(func, "__name__", "?"))
        return await run(self, func, *args)

    monkeypatch.setattr(SlowPool, "run", counting)
    with httpx.Client(base_url=served.base, timeout=10, auth=("alice", "alice-password-1")) as client:
        assert client.get("/v1/me").status_code == 200
        assert on_slow == ["find_user"]
        assert client.get("/v1/me").status_code == 200
        assert client.get("/v1/me", headers={"X-Auth-Token": served.key}).status_code == 200
        assert on_slow == ["find_user"]
    with httpx.Client(base_url=served.base, timeout=10, auth=("alice", "wrong-password")) as client:
        assert client.get("/v1/me").status_code == 401
        assert on_slow == ["find_user", "find_user"]


def test_a_slow_mail_server_does_not_hold_up_api_reads(served: Served) -> None:
    # a newsletter sign-up sends its confirmation mail while the request waits
    answers: list[httpx.Response] = []

    def sign_up() -> None:
        with httpx.Client(base_url=served.base, timeout=60) as client:
            action = f"/newsletters/{served.newsletter_id}/subscribe"
            page = lxml.html.fromstring(client.get(f"/articles/{served.article_id}").text)
            token = page.cssselect(f'form[action="{action}"] input[name=csrf_token]')[0].get("value")
            answers.append(client.post(action,
                                       data={"csrf_token": token, "email": "reader@example.org"}))

    slow = threading.Thread(target=sign_up, daemon=True)
    slow.start()
    assert served.smtp.arrived.wait(10), "the sign-up never reached the mail server"
    assert _reads(served) == [200, 200, 200]
    assert slow.is_alive() and not answers
    served.release.set()
    slow.join(60)
    assert [a.status_code for a in answers] == [503]  # the mail server hung up: mail is unavailable
