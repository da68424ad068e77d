"""RobotsCache against real robots.txt servers on 127.0.0.1 (RFC 9309 behaviour)."""

from __future__ import annotations

import asyncio
import time

from fetch_servers import FakeDNS, Request, Server, policy, run, send

from newsdesk.ingest.fetch import Fetcher
from newsdesk.ingest.robots import ROBOTS_MAX_BYTES, RobotsCache, product_token

ROBOTS = b"""\
User-agent: *
Disallow: /private/

User-agent: newsdesk
Disallow: /no-news/
Allow: /no-news/except-this
"""


def robots_server(status: int, body: bytes = b"", delay: float = 0.0) -> Server:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/robots.txt":
            if delay:
                await asyncio.sleep(delay)
            return await send(w, status, [("Content-Type", "text/plain")], body)
        return await send(w, 200, [], b"page")

    return Server(handler)


def robots_requests(server: Server) -> int:
    return sum(1 for r in server.requests if r.path == "/robots.txt")


def test_rules_for_our_user_agent_are_obeyed_and_fetched_once() -> None:
    async def main() -> None:
        async with robots_server(200, ROBOTS) as server, Fetcher(policy()) as fetcher:
            assert await fetcher.robots_allowed(server.url("/news/today"))
            assert not await fetcher.robots_allowed(server.url("/no-news/secret"))
            assert await fetcher.robots_allowed(server.url("/no-news/except-this"))
            # our own group applies, not the "*" group
            assert await fetcher.robots_allowed(server.url("/private/x"))
            assert robots_requests(server) == 1
            assert server.requests[0].headers["user-agent"] == policy().user_agent

    run(main())


def test_star_group_applies_to_a_user_agent_without_its_own_group() -> None:
    async def main() -> None:
        async with robots_server(200, ROBOTS) as server, \
                Fetcher(policy(user_agent="otherbot/2.0 (+https://example.org)")) as fetcher:
            cache = RobotsCache()
            assert not await cache.allowed(fetcher, server.url("/private/x"))
            assert await cache.allowed(fetcher, server.url("/no-news/secret"))

    run(main())


def test_concurrent_questions_share_one_fetch() -> None:
    async def main() -> None:
        async with robots_server(200, ROBOTS, delay=0.1) as server, Fetcher(policy()) as fetcher:
            answers = await asyncio.gather(*(fetcher.robots_allowed(server.url(f"/no-news/{i}"))
                                             for i in range(10)))
            assert answers == [False] * 10
            assert robots_requests(server) == 1

    run(main())


def test_missing_robots_txt_allows_everything() -> None:
    async def main() -> None:
        for status in (404, 403, 410):
            async with robots_server(status, b"Disallow: /") as server, Fetcher(policy()) as fetcher:
                assert await fetcher.robots_allowed(server.url("/anything"))
                assert await fetcher.robots_allowed(server.url("/else"))
                assert robots_requests(server) == 1

    run(main())


def test_server_error_disallows_everything_for_the_cache_lifetime() -> None:
    async def main() -> None:
        async with robots_server(500, b"oops") as server:
            async with Fetcher(policy()) as fetcher:
                assert not await fetcher.robots_allowed(server.url("/a"))
                assert not await fetcher.robots_allowed(server.url("/b"))
                assert robots_requests(server) == 1  # remembered, not asked again
            async with Fetcher(policy()) as fetcher:  # a new pass asks again
                assert not await fetcher.robots_allowed(server.url("/a"))
                assert robots_requests(server) == 2

    run(main())


def test_timeout_disallows_everything() -> None:
    async def main() -> None:
        async with robots_server(200, ROBOTS, delay=5) as server, Fetcher(policy(timeout=0.3)) as fetcher:
            started = time.monotonic()
            assert not await fetcher.robots_allowed(server.url("/news"))
            assert time.monotonic() - started < 1.0

    run(main())


def test_unreachable_host_disallows_everything() -> None:
    async def main() -> None:
        async with Fetcher(policy(), resolver=FakeDNS({})) as fetcher:
            assert not await fetcher.robots_allowed("http://gone.test/page")

    run(main())


def test_huge_robots_txt_is_cut_and_then_allows_everything() -> None:
    sent = 0

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        nonlocal sent
        # 100 MB of "Disallow: /", streamed (chunked, no Content-Length to refuse it by).
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"User-agent: *\nDisallow: /\n" * 2000
        while sent < 100_000_000:
            w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await w.drain()
        w.write(b"0\r\n\r\n")
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_bytes=200_000_000)) as fetcher:
            started = time.monotonic()
            assert await fetcher.robots_allowed(server.url("/page"))
            assert time.monotonic() - started < 2.0
            assert sent < 10_000_000  # the server was cut off long before 100 MB

    run(main())


def test_robots_txt_at_the_cap_is_still_read() -> None:
    body = b"User-agent: *\nDisallow: /x\n" + b"#" * (ROBOTS_MAX_BYTES - 40) + b"\n"
    assert len(body) <= ROBOTS_MAX_BYTES

    async def main() -> None:
        async with robots_server(200, body) as server, Fetcher(policy()) as fetcher:
            assert not await fetcher.robots_allowed(server.url("/x"))

    run(main())


def test_redirected_robots_txt_is_followed() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/robots.txt":
            return await send(w, 301, [("Location", "/real-robots.txt")])
        if req.path == "/real-robots.txt":
            return await send(w, 200, [], b"User-agent: *\nDisallow: /\n")
        return await send(w, 200, [], b"page")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            assert not await fetcher.robots_allowed(server.url("/page"))

    run(main())


def test_each_scheme_host_and_port_has_its_own_rules() -> None:
    async def main() -> None:
        async with robots_server(200, b"User-agent: *\nDisallow: /\n") as closed, \
                robots_server(404) as open_, Fetcher(policy()) as fetcher:
            assert not await fetcher.robots_allowed(closed.url("/a"))
            assert await fetcher.robots_allowed(open_.url("/a"))
            assert robots_requests(closed) == 1 and robots_requests(open_) == 1

    run(main())


def test_cache_forgets_the_oldest_site_beyond_its_bound() -> None:
    async def main() -> None:
        async with robots_server(200, ROBOTS) as one, robots_server(200, ROBOTS) as two, \
                Fetcher(policy(), robots=RobotsCache(max_sites=1)) as fetcher:
            await fetcher.robots_allowed(one.url("/a"))
            await fetcher.robots_allowed(two.url("/a"))
            await fetcher.robots_allowed(one.url("/b"))
            assert robots_requests(one) == 2 and robots_requests(two) == 1

    run(main())


def test_product_token() -> None:
    assert product_token("newsdesk/0.1 (self-hosted news aggregator)") == "newsdesk"
    assert product_token("Googlebot") == "Googlebot"
    assert product_token("  spaced/1 x") == "spaced"
