"""The polite, safe HTTP layer every fetch of newsdesk goes through.

    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        response = await fetcher.get(url, etag=state.etag, last_modified=state.last_modified)

Every URL newsdesk fetches comes from someone else (a feed, a page, a user's form), so:

- Only public internet addresses are reached (see `addresses`), and the check is made on the address
  that is actually connected to: our own httpcore network backend resolves the name, checks every
  address, and connects to the checked address itself. A DNS answer that changes between a check and
  the connect (DNS rebinding) therefore cannot slip through: there is no second lookup. TLS still
  verifies the certificate for, and sends SNI of, the host name in the URL.
- Redirects are followed by hand, each hop validated and checked again.
- One deadline covers the whole request (connect, every redirect, the whole body), so a server that
  trickles one byte a second is cut; the body is counted after decompression, in bounded steps, so a
  gzip or brotli bomb is cut after at most `max_bytes` of output.
- At most `per_host_connections` requests run against one host at once, and `concurrency` overall.
- Failures are raised as the `errors.FetchError` tree with plain-words messages; httpx and httpcore
  exceptions never leak out.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import http
import ipaddress
import re
import socket
import ssl
import typing
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import urlsplit, urlunsplit

import brotli
import httpcore
import httpx

from .. import errors
from ..models import HTTPResponse
from .addresses import IPAddress, Network, address_allowed, blocked_reason, parse_host_literal
from .robots import RobotsCache

if typing.TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "MAX_URL_LENGTH",
    "FetchPolicy",
    "Fetcher",
    "Resolver",
    "check_url",
    "parse_retry_after",
    "system_resolver",
]

#: Longest URL newsdesk fetches; longer ones are almost always tracking junk or an attack.
MAX_URL_LENGTH = 2048

#: Decoded bytes taken out of a decompressor per step: bounds memory while a bomb is being cut.
_DECODE_STEP = 64 * 1024

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: seconds an idle connection (and an origin's pool) is kept for the next request to that origin
_KEEPALIVE_SECONDS = 5.0

#: a control character (C0 or DEL): never in a URL or a header value we send
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: What an ASCII (IDNA-encoded) host name may consist of.
_HOST_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Turns (host, port) into the addresses to try, in order. Raises OSError (socket.gaierror) when the
name does not resolve. Injectable so tests can play DNS without a DNS server."""


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver (getaddrinfo), run off the event loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[IPAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in found:
            found.append(ip)
    return found


@dataclass(frozen=True)
class FetchPolicy:
    """How politely and how safely newsdesk fetches. Built once from the settings."""

    #: networks that may be fetched although they are not public (e.g. 127.0.0.0/8 for a test site)
    allowed_networks: tuple[Network, ...] = ()
    #: sent with every request and matched against robots.txt
    user_agent: str = "newsdesk/0.1 (self-hosted news aggregator)"
    #: whole-request deadline in seconds: connect, redirects and body together
    timeout: float = 20.0
    #: largest body accepted, counted after decompression
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    #: requests in flight at once to one host
    per_host_connections: int = 2
    #: requests in flight at once overall
    concurrency: int = 64

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise errors.SettingsError("the fetch timeout must be more than 0 seconds")
        if self.max_bytes < 1:
            raise errors.SettingsError("the largest response must be at least 1 byte")
        if self.max_redirects < 0:
            raise errors.SettingsError("the number of redirects cannot be negative")
        if self.per_host_connections < 1 or self.concurrency < 1:
            raise errors.SettingsError("connection limits must be at least 1")
        if not self.user_agent or any(c in self.user_agent for c in "\r\n"):
            raise errors.SettingsError("the user agent must be one non-empty line")

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            allowed_networks=tuple(settings.allowed_networks),
            user_agent=str(settings.user_agent),
            timeout=float(settings.fetch_timeout),
            max_bytes=int(settings.max_response_bytes),
            max_redirects=int(settings.max_redirects),
            per_host_connections=int(settings.per_host_connections),
            concurrency=int(settings.fetch_concurrency),
        )


# ---------------------------------------------------------------------------------------------------
# Messages


def _size(n: int) -> str:
    """10_000_000 -> "10 MB": limits shown the way the settings write them."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


def _endpoint(ip: IPAddress, port: int) -> str:
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _blocked_message(host: str, ip: IPAddress) -> str:
    reason = blocked_reason(ip) or "not allowed"
    where = f"{host} is" if host == str(ip) else f"{host} resolves to {ip},"
    return (f"{where} {reason}; newsdesk only fetches public internet addresses "
            "(the allowed_networks setting can open a range)")


def _status_message(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return f"server answered {status}"
    return f"server answered {status} {phrase}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value)) if len(value) <= 12 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are always GMT
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


# ---------------------------------------------------------------------------------------------------
# URLs


def check_url(url: str, allowed_networks: Iterable[Network] = ()) -> httpx.URL:
    """Validate a URL before any network IO; return it parsed.

    Raises InvalidURLError for anything but a plain http(s) URL with a host (user info, control
    characters, over-long), and BlockedAddressError when the host is a literal IP address in any
    notation (2130706433, 0x7f.1, ...) that is not allowed. Such a host is rewritten to its dotted form,
    so it is connected to as the address it means and never looked up as a name.
    """
    url = url.strip()
    if not url:
        raise errors.InvalidURLError("the address is empty")
    if len(url) > MAX_URL_LENGTH:
        raise errors.InvalidURLError(f"the address is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url):
        raise errors.InvalidURLError("the address contains control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise errors.InvalidURLError(f"not a valid address: {url[:200]}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise errors.InvalidURLError(f"only http and https addresses are fetched, not {shown}")
    if "@" in parts.netloc:
        raise errors.InvalidURLError("addresses with a user name or password are not fetched")
    host = parts.hostname or ""
    if not host:
        raise errors.InvalidURLError("the address has no host name")
    if port == 0:
        raise errors.InvalidURLError("port 0 cannot be fetched")
    allowed = tuple(allowed_networks)
    literal = parse_host_literal(host)
    if literal is not None:
        if not address_allowed(literal, allowed):
            raise errors.BlockedAddressError(_blocked_message(str(literal), literal))
        if literal.version == 4 and str(literal) != host:
            netloc = str(literal) if port is None else f"{literal}:{port}"
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise errors.InvalidURLError(f"not a valid address: {exc}") from exc
    # httpx is the parser whose reading gets connected to, so its view is checked once more.
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise errors.InvalidURLError(f"not a valid address: {url[:200]}")
    if parsed.userinfo:
        raise errors.InvalidURLError("addresses with a user name or password are not fetched")
    literal = parse_host_literal(parsed.host)
    if literal is not None and not address_allowed(literal, allowed):
        raise errors.BlockedAddressError(_blocked_message(str(literal), literal))
    if literal is None and not _HOST_CHARS.issuperset(parsed.raw_host):
        # percent signs, spaces and the like: no real host has them, and a resolver might read them oddly
        raise errors.InvalidURLError(
            f"the host name {parsed.host[:100]!r} contains characters not allowed there")
    return parsed


# ---------------------------------------------------------------------------------------------------
# The network backend: resolve, check, connect to the checked address


def _root_oserror(exc: BaseException) -> OSError | None:
    """The innermost OSError with an errno in an exception's cause chain."""
    found: OSError | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            found = current
        current = current.__cause__ or current.__context__
    return found


class _GuardedBackend(httpcore.AnyIOBackend):
    """httpcore's anyio backend, but it resolves names itself and connects only to allowed addresses.

    httpcore hands `connect_tcp` the URL's host; TLS (`start_tls`) is then started by httpcore with
    that same host name as SNI and for the certificate check, so only the TCP target is pinned here.
    """

    def __init__(self, resolver: Resolver, allowed_networks: tuple[Network, ...]) -> None:
        self._resolver = resolver
        self._allowed = allowed_networks

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = parse_host_literal(host)
        if literal is not None:
            candidates: Sequence[IPAddress] = [literal]
        else:
            try:
                candidates = await self._resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise errors.DNSError(f"DNS lookup failed for {host}") from exc
            if not candidates:
                raise errors.DNSError(f"DNS lookup found no address for {host}")
        allowed = [ip for ip in candidates if address_allowed(ip, self._allowed)]
        if not allowed:
            raise errors.BlockedAddressError(_blocked_message(host, candidates[0]))
        return allowed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: tuple[IPAddress, OSError | None] | None = None
        for ip in await self._addresses(host, port):
            try:
                stream = await super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = (ip, _root_oserror(exc))
                continue
            # Belt and braces: the socket's peer must be the address that was checked.
            peer = stream.get_extra_info("server_addr")
            if peer is None or ipaddress.ip_address(str(peer[0]).split("%")[0]) != ip:
                await stream.aclose()
                raise errors.BlockedAddressError(f"connected to an unexpected address for {host}")
            return stream
        assert failure is not None  # _addresses never returns an empty list
        ip, cause = failure
        target = _endpoint(ip, port)
        named = target if parse_host_literal(host) is not None else f"{host} ({target})"
        if isinstance(cause, ConnectionRefusedError):
            raise errors.ConnectError(f"connection refused by {named}")
        reason = (cause.strerror if cause is not None else None) or "no connection could be made"
        raise errors.ConnectError(f"could not connect to {named}: {reason}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise errors.BlockedAddressError("local sockets are never fetched")


# ---------------------------------------------------------------------------------------------------
# Bounded decompression


class _Decoder(Protocol):
    def feed(self, data: bytes) -> None: ...

    def pull(self, max_length: int) -> bytes:
        """Up to about max_length decoded bytes; b"" when more input is needed."""
        ...

    def finished(self) -> bool: ...


class _Identity:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> None:
        self._pending += data

    def pull(self, max_length: int) -> bytes:
        out, self._pending = self._pending, b""
        return out

    def finished(self) -> bool:
        return True


class _Zlib:
    """gzip or deflate, inflated at most max_length bytes at a time (`unconsumed_tail` keeps the rest)."""

    def __init__(self, wbits: int, fallback_wbits: int | None = None) -> None:
        self._wbits = wbits
        self._fallback = fallback_wbits
        self._d = zlib.decompressobj(wbits)
        self._pending = b""
        self._started = False
        # zlib may hold decoded output back once max_length is reached, even with all input consumed
        self._output_waiting = False

    def feed(self, data: bytes) -> None:
        self._pending += data

    def pull(self, max_length: int) -> bytes:
        if self._d.eof or not (self._pending or self._output_waiting):
            return b""
        try:
            out = self._d.decompress(self._pending, max_length)
        except zlib.error:
            if self._started or self._fallback is None:
                raise
            # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
            self._d = zlib.decompressobj(self._fallback)
            self._fallback = None
            out = self._d.decompress(self._pending, max_length)
        self._started = True
        self._pending = self._d.unconsumed_tail
        self._output_waiting = len(out) >= max_length
        return out

    def finished(self) -> bool:
        return self._d.eof


class _Brotli:
    """brotli, with `output_buffer_limit` bounding each step (brotli 1.2).

    After a step that filled its limit, more output may be waiting even when the decompressor says it
    can accept more data, so the next pull drains it with empty input before feeding more.
    """

    def __init__(self) -> None:
        self._d = brotli.Decompressor()
        self._pending = b""
        self._output_waiting = False

    def feed(self, data: bytes) -> None:
        self._pending += data

    def pull(self, max_length: int) -> bytes:
        if self._d.is_finished():
            return b""
        if self._output_waiting or not self._d.can_accept_more_data():
            out = bytes(self._d.process(b"", output_buffer_limit=max_length))
        elif self._pending:
            data, self._pending = self._pending, b""
            out = bytes(self._d.process(data, output_buffer_limit=max_length))
        else:
            return b""
        self._output_waiting = len(out) >= max_length
        if not out and self._pending and self._d.can_accept_more_data():
            return self.pull(max_length)  # the drain was empty: go on with the input waiting
        return out

    def finished(self) -> bool:
        return bool(self._d.is_finished())


def _decoder_for(content_encoding: str) -> _Decoder:
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1:
        if codings[0] in ("gzip", "x-gzip"):
            return _Zlib(16 + zlib.MAX_WBITS)
        if codings[0] == "deflate":
            return _Zlib(zlib.MAX_WBITS, -zlib.MAX_WBITS)
        if codings[0] == "br":
            return _Brotli()
    raise errors.FetchError(
        f"the server sent the body in an encoding newsdesk cannot read ({content_encoding[:100]})")


# ---------------------------------------------------------------------------------------------------
# The fetcher


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The system's trust store (via httpx/certifi), built once on first use: loading it is slow."""
    return httpx.create_ssl_context()


_Origin = tuple[bytes, bytes, int | None]


class _CountedStream:
    """A response body that tells its pool when it is closed: the pool is in use until then."""

    def __init__(self, stream: typing.AsyncIterable[bytes], done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        done, self._done = self._done, None
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            if done is not None:
                done()


@dataclass
class _OriginPool:
    pool: httpcore.AsyncConnectionPool
    active: int = 0
    last_used: float = 0.0


class _OriginPools:
    """One small httpcore pool per origin (scheme, host, port), in place of one pool for all.

    httpcore's pool scans every connection it holds for every request, and closes idle connections
    beyond one overall keep-alive bound. Polling hundreds of hosts, that is both slow (the scan is
    quadratic in the connections held) and wasteful (with fewer idle connections kept than hosts,
    nearly every poll opens a new connection). Per origin, a pool holds at most `per_origin`
    connections, kept alive `keepalive_expiry` seconds; a pool unused that long is closed and
    forgotten, so hosts not polled again hold no sockets and the dict does not grow without bound.
    """

    def __init__(self, make_pool: Callable[[], httpcore.AsyncConnectionPool], keepalive_expiry: float) -> None:
        self._make_pool = make_pool
        self._expiry = keepalive_expiry
        self._pools: dict[_Origin, _OriginPool] = {}
        self._next_sweep = 0.0

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        now = asyncio.get_running_loop().time()
        if now >= self._next_sweep:
            self._next_sweep = now + self._expiry
            await self._sweep(now)
        key = (request.url.scheme, request.url.host, request.url.port)
        entry = self._pools.get(key)
        if entry is None:
            entry = self._pools[key] = _OriginPool(self._make_pool())
        entry.active += 1
        entry.last_used = now

        def done() -> None:
            entry.active -= 1
            entry.last_used = asyncio.get_running_loop().time()

        try:
            # A kept-alive connection may have been closed by the server just as we reuse it (its
            # keep-alive timeout racing ours): the request then fails before any answer. A GET is
            # safe to send again, so it is, once, on another connection; a fresh connection that
            # fails is the server's answer and is not retried.
            reused = any(connection.is_idle() for connection in entry.pool.connections)
            try:
                response = await entry.pool.handle_async_request(request)
            except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError):
                if not reused or request.method != b"GET":
                    raise
                response = await entry.pool.handle_async_request(request)
        except BaseException:
            done()
            raise
        assert isinstance(response.stream, typing.AsyncIterable)
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_CountedStream(response.stream, done), extensions=response.extensions)

    async def _sweep(self, now: float) -> None:
        idle = [key for key, entry in self._pools.items()
                if entry.active == 0 and now - entry.last_used >= self._expiry]
        closing = [self._pools.pop(key).pool for key in idle]
        for pool in closing:
            await pool.aclose()

    @property
    def origins(self) -> int:
        """Origins with a pool (for tests)."""
        return len(self._pools)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for entry in pools:
            await entry.pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """Polite, safe HTTP GETs. Use as `async with Fetcher(policy) as fetcher:`.

    `resolver` replaces the system resolver (tests play DNS with it); `ssl_context` replaces the
    default certificate store (tests trust their own CA with it).
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.policy = policy
        self._backend = _GuardedBackend(resolver or system_resolver, policy.allowed_networks)
        self._ssl_context = ssl_context
        self._client: httpx.AsyncClient | None = None
        self._overall = asyncio.Semaphore(policy.concurrency)
        self._hosts: dict[str, _HostSlot] = {}
        self._pools: _OriginPools | None = None
        self.robots = robots if robots is not None else RobotsCache()

    async def __aenter__(self) -> Self:
        if self._client is not None:
            raise RuntimeError("this Fetcher is already open")
        self._client = self._build_client()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _build_client(self) -> httpx.AsyncClient:
        ssl_context = self._ssl_context or _default_ssl_context()
        transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False, retries=0)
        # Pinned-version assumption (httpx 0.28.1, httpcore 1.0.9): AsyncHTTPTransport has no parameter
        # for httpcore's network backend, and keeps its connection pool in `_pool`, which
        # handle_async_request calls. We install a pool built on our guarded backend there. The check
        # below fails loudly if an httpx upgrade moves it, rather than silently fetching unguarded.
        if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("httpx.AsyncHTTPTransport no longer keeps its pool in _pool; see fetch.py")
        per_origin = min(self.policy.per_host_connections, self.policy.concurrency)

        def origin_pool() -> httpcore.AsyncConnectionPool:
            return httpcore.AsyncConnectionPool(
                ssl_context=ssl_context,
                max_connections=per_origin,
                max_keepalive_connections=per_origin,
                keepalive_expiry=_KEEPALIVE_SECONDS,
                http1=True,
                http2=False,
                retries=0,
                network_backend=self._backend,
            )

        # Same pinned-version assumption: the transport only calls handle_async_request, aclose,
        # __aenter__ and __aexit__ on its pool, which _OriginPools provides.
        self._pools = _OriginPools(origin_pool, _KEEPALIVE_SECONDS)
        transport._pool = self._pools  # type: ignore[assignment]  # see the comment above
        return httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # no proxies or .netrc from the environment: they would bypass the guard
            timeout=httpx.Timeout(self.policy.timeout),  # per step; the whole-request deadline is ours
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip, deflate, br"},
        )

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        """One of the host's `per_host_connections` slots, shared by every caller of this Fetcher."""
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self.policy.per_host_connections))
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._hosts[host]  # forget idle hosts, so a long run does not grow without bound

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        max_bytes: int | None = None,
        ready: Callable[[str], None] | None = None,
    ) -> HTTPResponse:
        """GET `url`, following redirects; 304 is returned (see HTTPResponse.not_modified).

        `ready`, if given, is called with each hop's address once the request holds a slot of its
        host, right before it is sent: the caller's last say (a worker checks its host lease there,
        after any wait for the slot). Whatever it raises ends the request unsent.

        Raises errors.FetchError subclasses only: HTTPStatusError for 4xx/5xx (with Retry-After),
        BlockedAddressError, DNSError, ConnectError, TLSError, FetchTimeoutError, TooLargeError,
        TooManyRedirectsError, InvalidURLError, and FetchError for a broken response.
        """
        client = self._client
        if client is None:
            raise RuntimeError("use the Fetcher as `async with Fetcher(policy) as fetcher:`")
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        if limit < 0:
            raise ValueError("max_bytes cannot be negative")
        current = check_url(url, self.policy.allowed_networks)
        headers: dict[bytes, bytes] = {}
        if accept:
            encoded = _header_value(accept)
            if encoded is None:
                raise errors.FetchError("the Accept value to send is not a valid header")
            headers[b"Accept"] = encoded
        # The validators came from an earlier response; one that cannot be sent back only costs a full GET.
        for name, value in ((b"If-None-Match", etag), (b"If-Modified-Since", last_modified)):
            encoded = _header_value(value) if value else None
            if encoded is not None:
                headers[name] = encoded
        async with self._overall:
            try:
                async with asyncio.timeout(None) as deadline:
                    return await self._follow(client, current, headers, limit, deadline, ready)
            except TimeoutError:
                raise errors.FetchTimeoutError(
                    f"no answer within {self.policy.timeout:g} s from {current.host}") from None

    async def robots_allowed(self, url: str) -> bool:
        """Whether robots.txt of the URL's site lets our user agent fetch it (see RobotsCache)."""
        return await self.robots.allowed(self, url)

    async def _follow(
        self,
        client: httpx.AsyncClient,
        current: httpx.URL,
        headers: dict[bytes, bytes],
        limit: int,
        deadline: asyncio.Timeout,
        ready: Callable[[str], None] | None,
    ) -> HTTPResponse:
        loop = asyncio.get_running_loop()
        for _hop in range(self.policy.max_redirects + 1):
            async with self._host_slot(current.host):
                if ready is not None:
                    ready(str(current))
                # The deadline starts once a slot is ours: waiting for a busy host is not the server's fault.
                if deadline.when() is None:
                    deadline.reschedule(loop.time() + self.policy.timeout)
                with _mapped_errors(current.host, self.policy.timeout):
                    response = await client.send(client.build_request("GET", current, headers=headers),
                                                 stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.status_code not in _REDIRECT_STATUSES or not location:
                            return await _finish(response, limit)
                    finally:
                        await response.aclose()
            try:
                target = current.join(location.strip())
            except httpx.InvalidURL as exc:
                raise errors.InvalidURLError(f"the server redirected to an invalid address: {exc}") from exc
            current = check_url(str(target), self.policy.allowed_networks)
        raise errors.TooManyRedirectsError(f"gave up after {self.policy.max_redirects} redirects")


def _header_value(value: str) -> bytes | None:
    """A header value as bytes, or None when it cannot be one (control characters, too long, not latin-1)."""
    if len(value) > 1024 or _CONTROL.search(value):
        return None
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None


async def _finish(response: httpx.Response, limit: int) -> HTTPResponse:
    status = response.status_code
    if status >= 400:
        raise errors.HTTPStatusError(_status_message(status), status,
                                     parse_retry_after(response.headers.get("retry-after")))
    encoding = response.headers.get("content-encoding", "")
    decoder = _decoder_for(encoding)
    declared = response.headers.get("content-length", "")
    too_long = declared.isdigit() and (len(declared) > 18 or int(declared) > limit)
    if too_long and isinstance(decoder, _Identity):
        raise errors.TooLargeError(f"response over the {_size(limit)} limit")
    total = 0
    received = 0
    parts: list[bytes] = []
    async for chunk in response.aiter_raw():
        received += len(chunk)
        decoder.feed(chunk)
        while True:
            try:
                piece = decoder.pull(min(_DECODE_STEP, limit - total + 1))
            except (zlib.error, brotli.error) as exc:
                raise errors.FetchError(f"the server's {encoding} data is corrupt") from exc
            if not piece:
                break
            total += len(piece)
            if total > limit:
                raise errors.TooLargeError(f"response over the {_size(limit)} limit")
            parts.append(piece)
    if received and not decoder.finished():  # an empty body (304, 204) has nothing to decode
        raise errors.FetchError(f"the server's {encoding} data ended early")
    headers = {k: v for k, v in response.headers.items() if k not in ("content-encoding", "content-length")}
    charset = response.charset_encoding
    return HTTPResponse(
        url=str(response.url),
        status=status,
        headers=headers,
        content=b"".join(parts),
        charset=(charset.strip()[:64] or None) if charset else None,
    )


def _is_tls_failure(exc: BaseException) -> ssl.SSLError | None:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def _mapped_errors(host: str, timeout: float) -> Iterator[None]:
    """httpx/httpcore/socket failures → the errors tree, in words a user understands."""
    try:
        yield
    except errors.FetchError:
        raise
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise errors.FetchTimeoutError(f"no answer within {timeout:g} s from {host}") from exc
    except httpx.ConnectError as exc:
        tls = _is_tls_failure(exc)
        if tls is not None:
            detail = getattr(tls, "verify_message", None) or tls.reason or str(tls)
            raise errors.TLSError(f"secure connection to {host} failed: {detail}") from exc
        raise errors.ConnectError(f"could not connect to {host}: {exc}") from exc
    except httpx.RemoteProtocolError as exc:
        raise errors.FetchError(f"{host} broke off the response or sent an invalid one ({exc})") from exc
    except (httpx.ReadError, httpx.WriteError, httpx.CloseError) as exc:
        raise errors.FetchError(f"the connection to {host} broke off") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise errors.InvalidURLError(f"not a valid address: {exc}") from exc
    except (httpx.HTTPError, httpx.StreamError, httpcore.ConnectionNotAvailable) as exc:
        raise errors.FetchError(f"fetching from {host} failed: {exc}") from exc
    except ssl.SSLError as exc:
        raise errors.TLSError(f"secure connection to {host} failed: {exc.reason or exc}") from exc
    except OSError as exc:
        raise errors.FetchError(f"the connection to {host} failed: {exc.strerror or exc}") from exc
