"""Fetcher against real (and hostile) HTTP servers on 127.0.0.1: protocol behaviour and limits."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli
import pytest
from fetch_servers import FakeDNS, Request, Server, free_port, policy, run, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk import errors
from newsdesk.ingest import fetch
from newsdesk.ingest.fetch import Fetcher, FetchPolicy, parse_retry_after
from newsdesk.settings import load_settings

PAGE = "<html><body>Caf\u00e9 de Paris</body></html>".encode("latin-1")


# --- ordinary responses ----------------------------------------------------------------------------


def test_gzip_200_is_decoded_with_charset_and_plain_headers() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [("Content-Type", "text/html; charset=ISO-8859-1"),
                                   ("Content-Encoding", "gzip"), ("X-Custom", "yes"), ("ETag", '"v1"')],
                          gzip.compress(PAGE))

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            resp = await fetcher.get(server.url("/page"), accept="text/html")
            assert resp.status == 200
            assert resp.content == PAGE
            assert resp.charset == "iso-8859-1"  # as declared, lowercased
            assert resp.url == server.url("/page")
            assert not resp.not_modified
            assert isinstance(resp.headers, dict)
            assert resp.headers["x-custom"] == "yes" and resp.headers["etag"] == '"v1"'
            assert all(k == k.lower() for k in resp.headers)
            # the body is decoded, so the headers describing the coded body are gone
            assert "content-encoding" not in resp.headers and "content-length" not in resp.headers
            sent = server.requests[0].headers
            assert sent["accept-encoding"] == "gzip, deflate, br"
            assert sent["user-agent"] == policy().user_agent
            assert sent["accept"] == "text/html"
            assert "if-none-match" not in sent and "if-modified-since" not in sent

    run(main())


@pytest.mark.parametrize("coding,encode", [
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("identity", lambda b: b),
])
def test_other_content_encodings_are_decoded(coding: str, encode) -> None:  # type: ignore[no-untyped-def]
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [("Content-Encoding", coding)], encode(PAGE * 50))

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            assert (await fetcher.get(server.url())).content == PAGE * 50

    run(main())


def test_unknown_or_corrupt_encoding_is_a_clean_fetch_error() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/zstd":
            return await send(w, 200, [("Content-Encoding", "zstd")], b"\x28\xb5\x2f\xfd garbage")
        if req.path == "/truncated":
            return await send(w, 200, [("Content-Encoding", "gzip")], gzip.compress(PAGE * 100)[:40])
        return await send(w, 200, [("Content-Encoding", "gzip")], b"this is not gzip at all")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.FetchError, match="cannot read"):
                await fetcher.get(server.url("/zstd"))
            with pytest.raises(errors.FetchError, match="ended early"):
                await fetcher.get(server.url("/truncated"))
            with pytest.raises(errors.FetchError, match="corrupt"):
                await fetcher.get(server.url("/corrupt"))

    run(main())


def test_conditional_get_returns_304_instead_of_raising() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if (req.headers.get("if-none-match") == '"abc"'
                and req.headers.get("if-modified-since") == "Wed, 21 Oct 2026 07:28:00 GMT"):
            return await send(w, 304, [("ETag", '"abc"')])
        return await send(w, 200, [("ETag", '"abc"')], b"feed")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            first = await fetcher.get(server.url())
            assert first.status == 200 and first.content == b"feed"
            again = await fetcher.get(server.url(), etag=first.headers["etag"],
                                      last_modified="Wed, 21 Oct 2026 07:28:00 GMT")
            assert again.status == 304 and again.not_modified and again.content == b""
            assert server.requests[1].headers["if-none-match"] == '"abc"'

    run(main())


def test_4xx_and_5xx_raise_http_status_error_with_retry_after() -> None:
    later = datetime.now(UTC) + timedelta(seconds=300)

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/gone":
            return await send(w, 404, [], b"not here")
        if req.path == "/busy":
            return await send(w, 503, [("Retry-After", "120")], b"later")
        if req.path == "/busy-date":
            return await send(w, 429, [("Retry-After", format_datetime(later, usegmt=True))])
        return await send(w, 599, [("Retry-After", "soon")])

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.HTTPStatusError) as gone:
                await fetcher.get(server.url("/gone"))
            assert gone.value.status == 404 and gone.value.retry_after is None
            assert str(gone.value) == "server answered 404 Not Found"
            assert gone.value.kind == "http_status"

            with pytest.raises(errors.HTTPStatusError) as busy:
                await fetcher.get(server.url("/busy"))
            assert busy.value.status == 503 and busy.value.retry_after == 120.0
            assert str(busy.value) == "server answered 503 Service Unavailable"

            with pytest.raises(errors.HTTPStatusError) as dated:
                await fetcher.get(server.url("/busy-date"))
            assert dated.value.status == 429
            assert dated.value.retry_after is not None and 290 <= dated.value.retry_after <= 300

            with pytest.raises(errors.HTTPStatusError) as odd:
                await fetcher.get(server.url("/odd"))
            assert odd.value.status == 599 and odd.value.retry_after is None
            assert str(odd.value) == "server answered 599"

    run(main())


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("0", now) == 0.0
    assert parse_retry_after(" 3600 ", now) == 3600.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0  # in the past: now
    for junk in (None, "", "-5", "1.5", "soon", "9" * 40, "Thu, 99 Foo 2026"):
        assert parse_retry_after(junk, now) is None


# --- time and size limits ----------------------------------------------------------------------------


def test_slowloris_body_is_cut_by_the_whole_request_deadline() -> None:
    # Each byte comes well within any per-read timeout; only a whole-request deadline can cut this.
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            w.write(b"x")
            await w.drain()
            await asyncio.sleep(0.1)
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(timeout=0.8)) as fetcher:
            started = time.monotonic()
            with pytest.raises(errors.FetchTimeoutError) as exc:
                await fetcher.get(server.url())
            elapsed = time.monotonic() - started
            assert 0.7 <= elapsed < 1.3
            assert str(exc.value) == "no answer within 0.8 s from 127.0.0.1"

    run(main())


def test_slow_headers_are_cut_by_the_deadline_too() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 1000:
            w.write(bytes([byte]))
            await w.drain()
            await asyncio.sleep(0.05)
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(timeout=0.5)) as fetcher:
            started = time.monotonic()
            with pytest.raises(errors.FetchTimeoutError):
                await fetcher.get(server.url())
            assert time.monotonic() - started < 1.0

    run(main())


def test_endless_body_is_cut_at_max_bytes() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 8192
        while True:
            w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await w.drain()

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_bytes=200_000)) as fetcher:
            with pytest.raises(errors.TooLargeError) as exc:
                await fetcher.get(server.url())
            assert str(exc.value) == "response over the 200 kB limit"
            # a per-call cap overrides the policy's
            with pytest.raises(errors.TooLargeError, match="over the 10 kB limit"):
                await fetcher.get(server.url(), max_bytes=10_000)

    run(main())


def test_declared_oversize_body_is_refused_before_reading_it() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n")
        await w.drain()
        await asyncio.sleep(10)  # never sends the body: only the header can have triggered the error
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_bytes=10_000_000)) as fetcher:
            started = time.monotonic()
            with pytest.raises(errors.TooLargeError, match="over the 10 MB limit"):
                await fetcher.get(server.url())
            assert time.monotonic() - started < 0.5

    run(main())


def test_body_exactly_at_the_limit_is_accepted() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [("Content-Encoding", "gzip")], gzip.compress(b"a" * 5000))

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_bytes=5000)) as fetcher:
            assert len((await fetcher.get(server.url())).content) == 5000
            with pytest.raises(errors.TooLargeError):
                await fetcher.get(server.url(), max_bytes=4999)

    run(main())


BOMB_SIZE = 64 * 1024 * 1024  # 64 MB of zeros, a few hundred kB on the wire


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    gzip_bomb = b"".join(gz.compress(block) for _ in range(BOMB_SIZE // len(block))) + gz.flush()
    br = brotli.Compressor(quality=1)
    br_bomb = b"".join(br.process(block) for _ in range(BOMB_SIZE // len(block))) + br.finish()
    return {"gzip": gzip_bomb, "br": br_bomb}


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_decompression_bomb_is_cut_quickly_with_bounded_memory(coding: str, bombs: dict[str, bytes]) -> None:
    bomb = bombs[coding]
    assert len(bomb) < 200_000  # what travels is small...

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [("Content-Encoding", coding)], bomb)

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_bytes=1_000_000)) as fetcher:
            tracemalloc.start()
            try:
                started = time.monotonic()
                with pytest.raises(errors.TooLargeError, match="over the 1 MB limit"):
                    await fetcher.get(server.url())
                elapsed = time.monotonic() - started
                _current, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            # ...what it would inflate to is 64 MB; we never hold much more than the 1 MB cap.
            assert peak < 8_000_000, peak
            assert elapsed < 2.0

    run(main())


# --- redirects ---------------------------------------------------------------------------------------


def test_redirects_are_followed_and_the_final_url_reported() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/a":
            return await send(w, 301, [("Location", "/b")])
        if req.path == "/b":
            return await send(w, 302, [("Location", f"http://127.0.0.1:{server.port}/c?x=1")])
        if req.path == "/c?x=1":
            return await send(w, 307, [("Location", "d")])
        return await send(w, 200, [], b"landed at " + req.path.encode())

    async def main() -> None:
        nonlocal server
        async with Server(handler) as server, Fetcher(policy(max_redirects=3)) as fetcher:
            resp = await fetcher.get(server.url("/a"), etag='"e"')
            assert resp.content == b"landed at /d"
            assert resp.url == server.url("/d")
            assert [r.path for r in server.requests] == ["/a", "/b", "/c?x=1", "/d"]

    server: Server
    run(main())


def test_redirect_loop_gives_up() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 302, [("Location", "/loop" if req.path != "/loop" else "/")])

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(max_redirects=5)) as fetcher:
            with pytest.raises(errors.TooManyRedirectsError) as exc:
                await fetcher.get(server.url())
            assert str(exc.value) == "gave up after 5 redirects"
            assert len(server.requests) == 6  # the first request and five redirects, no more

    run(main())


def test_redirect_to_another_scheme_is_refused() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 302, [("Location", "file:///etc/passwd")])

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.InvalidURLError, match="only http and https"):
                await fetcher.get(server.url())

    run(main())


# --- broken servers and networks ---------------------------------------------------------------------


def test_short_body_against_content_length_is_a_clean_fetch_error() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly ten b")
        await w.drain()
        return False  # closes the connection with 990 bytes missing

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.FetchError) as exc:
                await fetcher.get(server.url())
            assert type(exc.value) is errors.FetchError
            assert "127.0.0.1 broke off the response" in str(exc.value)
            assert exc.value.__cause__ is not None  # the httpx error is kept as the cause, not leaked

    run(main())


def test_garbage_instead_of_http_is_a_clean_fetch_error() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await w.drain()
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.FetchError, match="127.0.0.1"):
                await fetcher.get(server.url())

    run(main())


def test_connection_refused() -> None:
    port = free_port()

    async def main() -> None:
        async with Fetcher(policy()) as fetcher:
            with pytest.raises(errors.ConnectError) as exc:
                await fetcher.get(f"http://127.0.0.1:{port}/")
            assert str(exc.value) == f"connection refused by 127.0.0.1:{port}"

        dns = FakeDNS({"news.test": [["127.0.0.1"]]})
        async with Fetcher(policy(), resolver=dns) as fetcher:
            with pytest.raises(errors.ConnectError) as named:
                await fetcher.get(f"http://news.test:{port}/")
            assert str(named.value) == f"connection refused by news.test (127.0.0.1:{port})"

    run(main())


def test_unresolvable_name_is_a_dns_error() -> None:
    async def main() -> None:
        dns = FakeDNS({})
        async with Fetcher(policy(), resolver=dns) as fetcher:
            with pytest.raises(errors.DNSError) as exc:
                await fetcher.get("https://example.invalid/feed.xml")
            assert str(exc.value) == "DNS lookup failed for example.invalid"
            assert dns.calls == ["example.invalid"]
        async with Fetcher(policy(), resolver=FakeDNS({"empty.test": [[]]})) as fetcher:
            with pytest.raises(errors.DNSError, match="no address for empty.test"):
                await fetcher.get("http://empty.test/")

    run(main())


def test_system_resolver_failure_is_a_dns_error() -> None:
    # .invalid never resolves (RFC 6761); the system resolver answers without the internet.
    async def main() -> None:
        async with Fetcher(policy()) as fetcher:
            with pytest.raises(errors.DNSError, match="DNS lookup failed for nothing.invalid"):
                await fetcher.get("http://nothing.invalid/")

    run(main())


@pytest.mark.parametrize("url,message", [
    ("ftp://127.0.0.1/", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("/relative/path", "only http and https addresses are fetched, not no scheme"),
    ("http://user:secret@127.0.0.1/", "user name or password"),
    ("http://public.example@127.0.0.1/", "user name or password"),
    ("http:///just/a/path", "no host name"),
    ("http://127.0.0.1:99999/", "not a valid address"),
    ("http://127.0.0.1/" + "a" * 2050, "longer than 2048"),
    ("http://127.0.0.1/\r\nX-Injected: 1", "control characters"),
    ("", "empty"),
])
def test_invalid_urls_are_refused_before_any_connection(url: str, message: str) -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [], b"reached")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.InvalidURLError, match=message):
                await fetcher.get(url.replace("127.0.0.1/", f"127.0.0.1:{server.port}/"))
            assert server.connections == 0

    run(main())


def test_header_injection_through_validators_is_not_sent() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [], repr(sorted(req.headers)).encode())

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            # a validator that cannot be sent back costs a full GET, never a smuggled header
            resp = await fetcher.get(server.url(), etag='"x"\r\nX-Evil: 1', last_modified="caf\u00e9 \u2603")
            assert resp.status == 200
            sent = server.requests[0].headers
            assert "x-evil" not in sent and "if-none-match" not in sent and "if-modified-since" not in sent
            with pytest.raises(errors.FetchError, match="not a valid header"):
                await fetcher.get(server.url(), accept="text/html\r\nX-Evil: 1")
            assert len(server.requests) == 1

    run(main())


def test_empty_bodies_with_a_content_encoding_are_fine() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        if req.path == "/304":
            return await send(w, 304, [("Content-Encoding", "gzip"), ("ETag", '"a"')])
        return await send(w, 200, [("Content-Encoding", "br")])

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            assert (await fetcher.get(server.url("/304"), etag='"a"')).not_modified
            assert (await fetcher.get(server.url("/empty"))).content == b""

    run(main())


def test_odd_characters_in_a_host_name_are_refused() -> None:
    async def main() -> None:
        async with Fetcher(policy(), resolver=FakeDNS({})) as fetcher:
            for url in ("http://%31%32%37.0.0.1/", "http://ex ample.com/", "http://a;b.test/"):
                with pytest.raises(errors.InvalidURLError):
                    await fetcher.get(url)
            with pytest.raises(RuntimeError, match="already open"):
                await fetcher.__aenter__()

    run(main())


# --- concurrency -------------------------------------------------------------------------------------


def test_at_most_per_host_connections_requests_at_once_to_one_host() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.1)
        return await send(w, 200, [], b"ok")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(per_host_connections=2)) as fetcher:
            results = await asyncio.gather(*(fetcher.get(server.url(f"/{i}")) for i in range(8)))
            assert all(r.content == b"ok" for r in results)
            assert server.max_in_flight == 2  # two at once (so it is concurrent), never three
            assert server.max_open_connections <= 2

    run(main())


def test_per_host_limit_counts_the_host_not_the_port_and_overall_limit_holds() -> None:
    active = 0
    peak = 0

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        active -= 1
        return await send(w, 200, [], b"ok")

    async def main() -> None:
        names = {f"site{i}.test": [["127.0.0.1"]] for i in range(6)}
        dns = FakeDNS(names)
        async with Server(handler) as server, \
                Fetcher(policy(per_host_connections=5, concurrency=3), resolver=dns) as fetcher:
            urls = [server.url("/", host=name) for name in names for _ in range(2)]
            await asyncio.gather(*(fetcher.get(url) for url in urls))
            assert peak == 3  # the overall limit, across six host names

    run(main())


def test_policy_from_settings_and_validation() -> None:
    settings = load_settings({"NEWSDESK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128",
                              "NEWSDESK_FETCH_TIMEOUT": "7.5", "NEWSDESK_MAX_RESPONSE_BYTES": "1234",
                              "NEWSDESK_PER_HOST_CONNECTIONS": "3"})
    p = FetchPolicy.from_settings(settings)
    assert [str(n) for n in p.allowed_networks] == ["127.0.0.0/8", "::1/128"]
    assert (p.timeout, p.max_bytes, p.per_host_connections) == (7.5, 1234, 3)
    assert (p.max_redirects, p.concurrency) == (5, 64)
    assert p.user_agent.startswith("newsdesk/")
    with pytest.raises(errors.SettingsError):
        FetchPolicy(timeout=0)
    with pytest.raises(errors.SettingsError):
        FetchPolicy(user_agent="x\r\nEvil: 1")


def test_fetcher_must_be_entered() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="async with"):
            await Fetcher(policy()).get("http://127.0.0.1/")

    run(main())


def test_keep_alive_connection_is_reused() -> None:
    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 200, [], b"ok")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            for _ in range(3):
                await fetcher.get(server.url())
            assert server.connections == 1

    run(main())


def test_a_kept_alive_connection_the_server_closed_meanwhile_is_retried_once() -> None:
    """The server drops a reused connection without answering (its keep-alive timeout raced ours):
    the GET is sent again on a new connection. A new connection failing so is not retried."""
    served: dict[int, int] = {}

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        n = served[id(w)] = served.get(id(w), 0) + 1
        if n == 2 or req.path == "/always":
            return False  # hang up without a word
        return await send(w, 200, [], b"ok")

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy()) as fetcher:
            assert (await fetcher.get(server.url("/a"))).content == b"ok"
            assert (await fetcher.get(server.url("/b"))).content == b"ok"
            assert server.connections == 2 and len(server.requests) == 3
            with pytest.raises(errors.FetchError, match="broke off"):
                await fetcher.get(server.url("/always"))  # reuses the second connection: one retry
            with pytest.raises(errors.FetchError, match="broke off"):
                await fetcher.get(server.url("/always"))  # a fresh connection: no retry
            assert len(server.requests) == 6

    run(main())


def test_connections_to_many_hosts_are_kept_alive_and_idle_ones_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool per origin: polling 50 hosts twice opens one connection per host, not one per request
    (one shared pool kept at most 32 idle, so each round reopened most), and a host left idle past
    the keep-alive time has its connection closed and its pool forgotten."""
    monkeypatch.setattr(fetch, "_KEEPALIVE_SECONDS", 0.5)

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        return await send(w, 304, [("ETag", '"x"')])

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            servers = [await stack.enter_async_context(Server(handler, host=f"127.0.0.{n}")) for n in range(2, 52)]
            fetcher = await stack.enter_async_context(
                Fetcher(policy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), concurrency=64)))
            for _ in range(2):
                answers = await asyncio.gather(*(fetcher.get(s.url("/feed"), etag='"x"') for s in servers))
                assert all(a.not_modified for a in answers)
            assert [s.connections for s in servers] == [1] * 50
            assert fetcher._pools is not None and fetcher._pools.origins == 50
            await asyncio.sleep(0.6)
            await fetcher.get(servers[0].url("/feed"))  # any request sweeps the idle pools
            await asyncio.sleep(0.1)
            assert fetcher._pools.origins == 1
            assert sum(s.open_connections for s in servers[1:]) == 0

    run(main())




# --- whatever a server sends, only our errors come out ---------------------------------------------

_FRAGMENTS = st.sampled_from([
    b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 302 Found\r\n", b"HTTP/1.0 500 X\r\n", b"HTTP/2 200\r\n",
    b"HTTP/1.1 99\r\n",
    b"Content-Length: 5\r\n", b"Content-Length: -1\r\n", b"Content-Length: 99999999999999999999999\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Content-Encoding: gzip\r\n", b"Content-Encoding: br\r\n",
    b"Location: http://[::1/\r\n", b"Location: //\r\n", b"Location: http://2130706433/\r\n",
    b"Retry-After: Mon, 99 Jan\r\n", b"Content-Type: text/html; charset=\"\xff\xfe\"\r\n",
    b"\r\n", b"\r\n\r\n", b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"\x1f\x8b\x08\x00", b"\x00\xff" * 8,
    b"hello", b"X-" + b"a" * 300 + b": b\r\n",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FRAGMENTS, st.binary(max_size=40)), max_size=8))
def test_any_bytes_from_a_server_give_a_response_or_a_fetch_error(fragments: list[bytes]) -> None:
    payload = b"".join(fragments)

    async def handler(req: Request, w: asyncio.StreamWriter) -> bool:
        w.write(payload)
        await w.drain()
        return False

    async def main() -> None:
        async with Server(handler) as server, Fetcher(policy(timeout=1.0, max_redirects=1)) as fetcher:
            try:
                result = await fetcher.get(server.url())
            except errors.FetchError:
                return
            assert result.status < 400

    run(main())
