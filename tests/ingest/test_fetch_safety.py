"""SSRF safety of the Fetcher: the address actually connected to is the one checked.

Tests cannot reach the public internet, so "public" is played by 127.0.0.1 made allowed with
allowed_networks=127.0.0.1/32, and "private" by 127.0.0.2, which stays forbidden. Every hostile case
asserts that the forbidden listener saw zero connections, not only that an error was raised.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from fetch_servers import FakeDNS, Request, Server, policy, run, send

from newsdesk import errors
from newsdesk.ingest.fetch import Fetcher, check_url


async def ok(req: Request, w: asyncio.StreamWriter) -> bool:
    return await send(w, 200, [], b"secret internal data")


@pytest.mark.parametrize("host", [
    "127.0.0.1",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.1",  # hex, short form
    "0177.0.0.1",  # octal
    "0177.0.0.01",
    "127.1",  # short form
    "127.0.1",
    "127.0.0.1.",  # fully qualified spelling
])
def test_ip_literals_in_any_notation_are_checked_as_the_ip_they_mean(host: str) -> None:
    async def main() -> None:
        async with Server(ok) as server:
            dns = FakeDNS({})
            url = f"http://{host}:{server.port}/admin"
            async with Fetcher(policy(allowed_networks=()), resolver=dns) as fetcher:
                with pytest.raises(errors.BlockedAddressError, match="127.0.0.1 is a loopback address"):
                    await fetcher.get(url)
            assert server.connections == 0
            # The same notation, once 127.0.0.1 is allowed, reaches that very listener: it was read as
            # the address 127.0.0.1, and never handed to a resolver as a name.
            async with Fetcher(policy(), resolver=dns) as fetcher:
                assert (await fetcher.get(url)).content == b"secret internal data"
            assert server.connections == 1
            assert dns.calls == []

    run(main())


@pytest.mark.parametrize("url", [
    "http://[::1]:{port}/",
    "http://[::ffff:10.0.0.1]:{port}/",  # IPv4-mapped private
    "http://[::ffff:7f00:2]:{port}/",
    "http://[::127.0.0.2]:{port}/",  # IPv4-compatible
    "http://[64:ff9b::7f00:2]:{port}/",  # NAT64 with an embedded loopback
    "http://[2002:7f00:2::1]:{port}/",  # 6to4 with an embedded loopback
    "http://[fe80::1%25lo]:{port}/",  # link-local with a zone
    "http://169.254.169.254:{port}/latest/meta-data/",  # cloud metadata
    "http://10.0.0.1:{port}/",
    "http://0.0.0.0:{port}/",
    "http://0:{port}/",
])
def test_non_public_literals_are_blocked_without_connecting(url: str) -> None:
    async def main() -> None:
        async with Server(ok, host="127.0.0.2") as server, Fetcher(policy()) as fetcher:
            with pytest.raises(errors.BlockedAddressError, match="newsdesk only fetches public"):
                await fetcher.get(url.format(port=server.port))
            assert server.connections == 0

    run(main())


def test_nothing_non_public_is_fetched_when_no_network_is_allowed() -> None:
    async def main() -> None:
        async with Server(ok) as server, Fetcher(policy(allowed_networks=())) as fetcher:
            with pytest.raises(errors.BlockedAddressError) as exc:
                await fetcher.get(server.url())
            assert exc.value.kind == "blocked_address"
            assert server.connections == 0

    run(main())


def test_name_resolving_to_a_forbidden_address_is_blocked() -> None:
    async def main() -> None:
        dns = FakeDNS({"intranet.test": [["127.0.0.2"]], "mapped.test": [["::ffff:127.0.0.2"]]})
        async with Server(ok, host="127.0.0.2") as server, Fetcher(policy(), resolver=dns) as fetcher:
            with pytest.raises(errors.BlockedAddressError) as exc:
                await fetcher.get(f"http://intranet.test:{server.port}/")
            assert str(exc.value).startswith("intranet.test resolves to 127.0.0.2, a loopback address")
            with pytest.raises(errors.BlockedAddressError):
                await fetcher.get(f"http://mapped.test:{server.port}/")
            assert server.connections == 0

    run(main())


def test_only_the_allowed_addresses_of_a_mixed_answer_are_connected_to() -> None:
    async def main() -> None:
        async with Server(ok, host="127.0.0.2") as private:
            public = Server(ok, host="127.0.0.1", port=private.port)
            async with public:
                dns = FakeDNS({"mixed.test": [["127.0.0.2", "127.0.0.1"]]})
                async with Fetcher(policy(), resolver=dns) as fetcher:
                    await fetcher.get(f"http://mixed.test:{private.port}/")
                assert public.connections == 1
                assert private.connections == 0

    run(main())


def test_redirect_from_an_allowed_server_to_a_forbidden_address_is_blocked() -> None:
    async def main() -> None:
        async with Server(ok, host="127.0.0.2") as private:
            dns = FakeDNS({"internal.test": [["127.0.0.2"]]})
            targets = [f"http://127.0.0.2:{private.port}/",
                       f"http://internal.test:{private.port}/",
                       f"http://2130706434:{private.port}/"]  # 127.0.0.2 in decimal

            async def redirector(req: Request, w: asyncio.StreamWriter) -> bool:
                return await send(w, 302, [("Location", targets[int(req.path.strip("/"))])])

            async with Server(redirector) as public, Fetcher(policy(), resolver=dns) as fetcher:
                for i in range(len(targets)):
                    with pytest.raises(errors.BlockedAddressError):
                        await fetcher.get(public.url(f"/{i}"))
                assert len(public.requests) == 3
            assert private.connections == 0

    run(main())


def test_dns_rebinding_cannot_slip_between_check_and_connect() -> None:
    """The resolver answers an allowed address first and a forbidden one on the next lookup.

    A check-then-connect design resolves twice (once to check, once inside the HTTP client to connect)
    and ends up on the forbidden address. Here every connection is made from the one lookup that was
    checked, so the forbidden listener is never reached.
    """

    async def close_after(req: Request, w: asyncio.StreamWriter) -> bool:
        await send(w, 200, [("Connection", "close")], b"public page")
        return False

    async def main() -> None:
        async with Server(ok, host="127.0.0.2") as private:
            public = Server(close_after, host="127.0.0.1", port=private.port)
            async with public:
                dns = FakeDNS({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
                url = f"http://rebind.test:{private.port}/"
                async with Fetcher(policy(), resolver=dns) as fetcher:
                    assert (await fetcher.get(url)).content == b"public page"
                    assert dns.calls == ["rebind.test"]  # one lookup per connection: nothing to rebind
                    with pytest.raises(errors.BlockedAddressError):
                        await fetcher.get(url)  # new connection, new lookup, now forbidden
                    assert dns.calls == ["rebind.test", "rebind.test"]
                assert public.connections == 1
                assert private.connections == 0

    run(main())


def test_allowed_networks_open_exactly_their_range() -> None:
    async def main() -> None:
        async with Server(ok, host="127.0.0.2") as server:
            wide = policy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
            async with Fetcher(wide) as fetcher:
                assert (await fetcher.get(server.url())).status == 200
            async with Fetcher(policy()) as fetcher:  # 127.0.0.1/32 only
                with pytest.raises(errors.BlockedAddressError):
                    await fetcher.get(server.url())
            assert server.connections == 1

    run(main())


def test_check_url_rewrites_numeric_hosts_to_dotted_form() -> None:
    allowed = (ipaddress.ip_network("127.0.0.0/8"),)
    assert str(check_url("http://0x7f.1:8080/a?b=1#c", allowed)) == "http://127.0.0.1:8080/a?b=1#c"
    assert str(check_url("HTTP://2130706433/", allowed)) == "http://127.0.0.1/"
    assert check_url("https://news.example/feed", ()).host == "news.example"
    with pytest.raises(errors.BlockedAddressError):
        check_url("http://0x7f.1/", ())
    with pytest.raises(errors.BlockedAddressError):
        check_url("http://[::ffff:10.1.2.3]/", ())


# --- TLS: the pinned address still gets SNI and a certificate check for the host name ---------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=news.test",
         "-addext", "subjectAltName=DNS:news.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_tls_uses_the_host_name_for_sni_and_the_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    seen_sni: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment,misc,func-returns-value]
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        server = await asyncio.start_server(_tls_page, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        dns = FakeDNS({"news.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
        try:
            async with Fetcher(policy(), resolver=dns, ssl_context=client_ctx) as fetcher:
                resp = await fetcher.get(f"https://news.test:{port}/")
                assert resp.content == b"over tls"
                assert seen_sni == ["news.test"]
                # same address, other name: the certificate does not match, so it is refused
                with pytest.raises(errors.TLSError) as exc:
                    await fetcher.get(f"https://other.test:{port}/")
                assert "secure connection to other.test failed" in str(exc.value)
                assert "other.test" in str(exc.value)
        finally:
            server.close()
            await server.wait_closed()

    run(main())


async def _tls_page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nover tls")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()
