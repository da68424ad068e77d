"""Figure 5: hostile servers on 127.0.0.x, met by a whole collection pass.

Every hostile server is its own source in ONE pass next to a healthy feed. Each must be cut by a bound
(the whole-request deadline, the byte cap, the redirect cap), its failure recorded on its source with
the right kind, and the healthy source must still be collected: the pass goes on and ends in bounded
time. The fetcher-level proofs of each bound are tests/ingest/test_fetch.py.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import brotli
from hostile_helpers import ConnectionCounter, article_page, pass_over, policy, rss

from ingest.fetch_servers import Request, Server, send
from newsdesk.models import ArticleStatus, NewSource
from newsdesk.storage import ArticleFilter

Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]
MAX_BYTES = 2_000_000
TIMEOUT = 2.0


def _bomb(coding: str, size: int = 60_000_000) -> bytes:
    zeros = b"\0" * size
    return gzip.compress(zeros, compresslevel=9) if coding == "gzip" else brotli.compress(zeros, quality=5)


GZIP_BOMB = _bomb("gzip")
BROTLI_BOMB = _bomb("br")


async def slowloris(req: Request, w: asyncio.StreamWriter) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(60):  # one byte a second, for a minute
        w.write(b"<")
        await w.drain()
        await asyncio.sleep(1)
    return False


async def slow_headers(req: Request, w: asyncio.StreamWriter) -> bool:
    for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60:
        w.write(bytes([ch]))
        await w.drain()
        await asyncio.sleep(1)
    return False


SENT: dict[str, int] = {}


async def endless(req: Request, w: asyncio.StreamWriter) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"<item><title>" + b"x" * 65000 + b"</title></item>"
    SENT["endless"] = 0
    while True:  # until the client hangs up
        w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        SENT["endless"] += len(chunk)
        await w.drain()


def bomb(body: bytes, coding: str) -> Handler:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [("Content-Type", "application/rss+xml"), ("Content-Encoding", coding)], body)
    return handler


async def redirect_loop(req: Request, w: asyncio.StreamWriter) -> bool:
    return await send(w, 302, [("Location", "/a" if req.path != "/a" else "/b")])


async def redirect_chain(req: Request, w: asyncio.StreamWriter) -> bool:
    n = int(req.path.strip("/") or 0)
    return await send(w, 301, [("Location", f"/{n + 1}")])


async def too_many_requests(req: Request, w: asyncio.StreamWriter) -> bool:
    return await send(w, 429, [("Retry-After", "3600"), ("Content-Type", "text/plain")], b"slow down")


async def short_body(req: Request, w: asyncio.StreamWriter) -> bool:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<rss>")
    await w.drain()
    return False  # hang up after 5 of the 5000 bytes promised


async def long_body(req: Request, w: asyncio.StreamWriter) -> bool:
    # Content-Length says 10, the server sends a whole feed and more: only 10 bytes are read as the body.
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 10\r\n\r\n" + b"<rss>" * 1000)
    await w.drain()
    return False


async def garbage(req: Request, w: asyncio.StreamWriter) -> bool:
    w.write(b"\x16\x03\x01 this is not HTTP at all \x00\xff" * 50)
    await w.drain()
    return False


def test_hostile_servers_are_each_cut_recorded_and_the_pass_goes_on(site, storage) -> None:
    # The healthy outlet: 3 articles on 127.0.0.1 through tests/localsite.
    items = [(f"Gezond bericht {i}", f"/ok/{i}.html") for i in range(3)]
    for i, (title, path) in enumerate(items):
        site.add(path, article_page(title, i))
    healthy_url = site.add("/ok/feed.xml", rss(site.base, items), content_type="application/rss+xml")

    cases: dict[str, tuple[Handler, str, str]] = {
        # name: (handler, path to poll, expected error kind on the source)
        "slowloris": (slowloris, "/feed", "timeout"),
        "slow_headers": (slow_headers, "/feed", "timeout"),
        "endless": (endless, "/feed", "too_large"),
        "gzip_bomb": (bomb(GZIP_BOMB, "gzip"), "/feed", "too_large"),
        "brotli_bomb": (bomb(BROTLI_BOMB, "br"), "/feed", "too_large"),
        "redirect_loop": (redirect_loop, "/a", "redirects"),
        "redirect_chain": (redirect_chain, "/0", "redirects"),
        "429": (too_many_requests, "/feed", "http_status"),
        "short_body": (short_body, "/feed", "fetch"),
        "long_body": (long_body, "/feed", "malformed"),
        "garbage": (garbage, "/feed", "fetch"),
    }

    async def go() -> tuple[dict[str, Server], float, object]:
        servers: dict[str, Server] = {}
        try:
            for n, (name, (handler, _, _)) in enumerate(cases.items()):
                # its own loopback address each, so the per-host limit does not serialise them
                servers[name] = await Server(handler, host=f"127.0.0.{20 + n}").__aenter__()
            # TLS to a server that answers the handshake with plain HTTP: the handshake fails at once
            # (a server waiting for a request line would turn this into a timeout instead)
            for name, (_, path, _) in cases.items():
                storage.add_source(NewSource(servers[name].url(path), title=name), datetime.now(UTC))
            storage.add_source(NewSource(f"https://127.0.0.60:{plain.port}/feed", title="tls"), datetime.now(UTC))
            storage.add_source(NewSource(healthy_url, title="healthy"), datetime.now(UTC))
            started = time.monotonic()
            summary = await pass_over(storage, fetch_policy=policy(timeout=TIMEOUT, max_bytes=MAX_BYTES))
            return servers, time.monotonic() - started, summary
        finally:
            for server in servers.values():
                await server.__aexit__(None, None, None)

    plain = ConnectionCounter(host="127.0.0.60")
    try:
        servers, seconds, summary = asyncio.run(go())
    finally:
        plain.close()
    by_title = {s.title: s for s in storage.list_sources()}
    expected = {name: kind for name, (_, _, kind) in cases.items()} | {"tls": "tls"}
    recorded = {name: by_title[name].state.last_error_kind for name in expected}
    assert recorded == expected
    for name in expected:
        state = by_title[name].state
        assert state.error_count == 1 and state.last_error and state.next_fetch_at is not None
        assert "Traceback" not in state.last_error
    # Retry-After is obeyed: the source is not polled again within the hour it asked for.
    assert by_title["429"].state.next_fetch_at >= datetime.now(UTC) + timedelta(seconds=3500)
    # Bounded: a redirect chain stops at max_redirects; the endless body at about max_bytes.
    assert len(servers["redirect_chain"].requests) == 4
    assert len(servers["redirect_loop"].requests) == 4
    assert SENT["endless"] < MAX_BYTES + 8 * 1024 * 1024  # socket buffers aside, reading stopped at the cap
    # The healthy outlet in the same pass is collected in full.
    healthy = by_title["healthy"]
    assert healthy.state.last_error is None
    assert storage.count_articles(ArticleFilter(source_id=healthy.id)) == 3
    assert summary.new_articles == 3
    # The pass is bounded by the deadline, not by the slowest attacker (a minute of slowloris).
    assert seconds < TIMEOUT * 3 + 5


def test_hostile_article_pages_and_a_100_mb_robots_txt_do_not_stop_a_feed(storage) -> None:
    """The feed is fine; its article pages are hostile, and its host's robots.txt is 100 MB."""
    robots_sent = {"bytes": 0}

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        base = f"http://{req.headers['host']}"
        if req.path == "/robots.txt":
            total = 100_000_000
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % total)
            line = b"User-agent: *\nDisallow: /nothing\n" * 2000
            while robots_sent["bytes"] < total:
                w.write(line)
                robots_sent["bytes"] += len(line)
                await w.drain()
            return False
        if req.path == "/feed.xml":
            items = [("Bom", "/bomb.html"), ("Traag", "/slow.html"), ("Weg", "/gone.html"),
                     ("Lus", "/loop.html"), ("Goed", "/good.html")]
            return await send(w, 200, [("Content-Type", "application/rss+xml")], rss(base, items).encode())
        if req.path == "/bomb.html":
            return await send(w, 200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], GZIP_BOMB)
        if req.path == "/slow.html":
            return await slowloris(req, w)
        if req.path == "/gone.html":
            return await send(w, 410, [("Content-Type", "text/plain")], b"gone")
        if req.path == "/loop.html":
            return await send(w, 302, [("Location", "/loop.html")])
        if req.path == "/good.html":
            return await send(w, 200, [("Content-Type", "text/html; charset=utf-8")],
                              article_page("Goed", 1).encode())
        return await send(w, 404, [], b"")

    async def go() -> float:
        async with Server(handler, host="127.0.0.70") as server:
            storage.add_source(NewSource(server.url("/feed.xml"), title="pages"), datetime.now(UTC))
            started = time.monotonic()
            await pass_over(storage, fetch_policy=policy(timeout=TIMEOUT, max_bytes=MAX_BYTES))
            return time.monotonic() - started

    seconds = asyncio.run(go())
    assert seconds < TIMEOUT * 4 + 5
    source = storage.list_sources()[0]
    assert source.state.last_error is None  # the feed itself was fine
    stored = {a.title: storage.get_article(a.id) for a in storage.list_articles(ArticleFilter(source_id=source.id))}
    # a robots.txt over the 512 kB cap is cut and treated as allowing everything (RFC 9309)
    assert robots_sent["bytes"] < 20_000_000
    assert stored["Goed"].status is ArticleStatus.OK and "gemeenteraad" in stored["Goed"].text
    # permanent page failures keep the feed's own text; the timed-out page is left for the next poll
    assert stored["Bom"].status is ArticleStatus.FETCH_FAILED and "limit" in (stored["Bom"].error or "")
    assert stored["Weg"].status is ArticleStatus.FETCH_FAILED
    assert "Traag" not in stored and stored["Lus"].status is ArticleStatus.FETCH_FAILED
    # ... and the next pass picks the transient ones up again, without storing anything twice
    assert len(stored) == 4
