"""The address policy: which IPs newsdesk may connect to, and how numeric hosts are read."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from newsdesk.ingest.addresses import address_allowed, blocked_reason, is_public_address, parse_host_literal

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address

BLOCKED_V4 = {
    "0.0.0.0/8": "unspecified",
    "10.0.0.0/8": "private",
    "100.64.0.0/10": "carrier-grade NAT",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private",
    "192.0.0.0/24": "reserved protocol",
    "192.0.2.0/24": "documentation",
    "192.88.99.0/24": "relay",
    "192.168.0.0/16": "private",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}

BLOCKED_V6 = {
    "::/128": "unspecified",
    "::1/128": "loopback",
    "::/96": "IPv4-compatible",
    "64:ff9b:1::/48": "NAT64",
    "100::/64": "discard",
    "2001::/32": "Teredo",
    "2001::/23": "reserved protocol",
    "2001:db8::/32": "documentation",
    "fc00::/7": "unique local",
    "fe80::/10": "link-local",
    "fec0::/10": "site-local",
    "ff00::/8": "multicast",
    "4000::/3": "reserved",  # outside global unicast 2000::/3
}

PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
          "172.32.0.0", "192.169.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.255",
          "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808",
          "2002:808:808::1"]


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses(ip: str) -> None:
    assert is_public_address(ip)
    assert blocked_reason(ip) is None
    assert address_allowed(ipaddress.ip_address(ip), ())


@pytest.mark.parametrize("net,word", list(BLOCKED_V4.items()) + list(BLOCKED_V6.items()))
def test_edges_of_every_blocked_range(net: str, word: str) -> None:
    network = ipaddress.ip_network(net)
    for ip in (network.network_address, network.broadcast_address):
        assert not is_public_address(ip)
        reason = blocked_reason(ip)
        assert reason is not None
    # the reason names the range (first address; a wider range may name its own kind at the edge)
    assert word.lower() in (blocked_reason(network.network_address) or "").lower() or net in (
        "::/96", "2001::/23", "4000::/3")


@given(st.sampled_from(sorted(BLOCKED_V4)), st.integers(min_value=0, max_value=2**32 - 1))
def test_every_address_of_a_blocked_v4_range_is_blocked(net: str, n: int) -> None:
    network = ipaddress.IPv4Network(net)
    ip = V4(int(network.network_address) + n % network.num_addresses)
    assert not is_public_address(ip)
    assert not address_allowed(ip, ())
    # ... and every IPv6 spelling of it as well
    for form in (V6(0xFFFF << 32 | int(ip)),  # ::ffff:a.b.c.d, IPv4-mapped
                 V6(int(ip)),  # ::a.b.c.d, IPv4-compatible
                 V6(0x0064FF9B << 96 | int(ip)),  # 64:ff9b::a.b.c.d, NAT64
                 V6(0x2002 << 112 | int(ip) << 80 | 1)):  # 2002:aabb:ccdd::1, 6to4
        assert not is_public_address(form), form


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv6_forms_of_a_v4_address_follow_the_v4_address(n: int) -> None:
    ip = V4(n)
    mapped, nat64 = V6(0xFFFF << 32 | n), V6(0x0064FF9B << 96 | n)
    six_to_four = V6(0x2002 << 112 | n << 80 | 0xABCD)
    assert is_public_address(mapped) == is_public_address(ip)
    assert is_public_address(nat64) == is_public_address(ip)
    assert is_public_address(six_to_four) == is_public_address(ip)
    assert not is_public_address(V6(n))  # IPv4-compatible is deprecated: never fetched


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_at_least_as_strict_as_python_for_ipv4(n: int) -> None:
    ip = V4(n)
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local:
        assert not is_public_address(ip)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_at_least_as_strict_as_python_for_ipv6(n: int) -> None:
    ip = V6(n)
    assume(ip.ipv4_mapped is None and ip not in ipaddress.ip_network("2002::/16")
           and ip not in ipaddress.ip_network("64:ff9b::/96"))
    if not ip.is_global or ip.is_multicast or ip.is_link_local or ip.is_site_local or ip.is_reserved:
        assert not is_public_address(ip)
    if ip.teredo is not None:
        assert not is_public_address(ip)


def test_teredo_and_zone_scoped_addresses_are_blocked() -> None:
    assert "Teredo" in (blocked_reason("2001:0:4136:e378:8000:63bf:3fff:fdd2") or "")
    assert "interface" in (blocked_reason(V6("2606:4700::1%eth0")) or "")


def test_reason_for_embedded_addresses_names_the_inner_address() -> None:
    assert blocked_reason("::ffff:10.1.2.3") == "a private address (10.1.2.3) inside an IPv6 address"
    assert blocked_reason("64:ff9b::a9fe:a9fe") == (
        "a link-local address (169.254.169.254) inside an IPv6 address")


def test_allowed_networks_admit_exactly_their_range() -> None:
    lo32 = (ipaddress.ip_network("127.0.0.1/32"),)
    assert address_allowed("127.0.0.1", lo32)
    assert not address_allowed("127.0.0.2", lo32)
    assert address_allowed("::ffff:127.0.0.1", lo32)  # the same address on a dual-stack socket
    assert not address_allowed("64:ff9b::7f00:1", lo32)  # a NAT64 gateway's loopback is not ours
    lan = (ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("fd00::/8"))
    assert address_allowed("192.168.1.77", lan) and address_allowed("fd12::1", lan)
    assert not address_allowed("192.168.2.1", lan) and not address_allowed("fe80::1", lan)
    assert address_allowed("8.8.8.8", lan)  # public stays allowed


@given(st.lists(st.integers(0, 255), min_size=4, max_size=4), st.integers(0, 32))
def test_anything_inside_an_allowed_network_is_allowed(octets: list[int], prefix: int) -> None:
    ip = V4(bytes(octets))
    network = ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
    assert address_allowed(ip, (network,))


# --- parse_host_literal ----------------------------------------------------------------------------


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F000001", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0177.00.00.01", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("169.254.43518", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("127.0.0.1.", "127.0.0.1"),
    ("\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11", "127.0.0.1"),  # full-width, IDNA dots
    ("0" * 200 + "10.0.0.1", "8.0.0.1"),  # leading zeros make it octal, however many
    ("[::1]", "::1"),
    ("::1", "::1"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ("fe80::1%eth0", "fe80::1%eth0"),
])
def test_numeric_hosts_are_read_as_the_address_they_mean(host: str, expected: str) -> None:
    assert parse_host_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", [
    "example.com", "localhost", "127.0.0.1.nip.io", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1.16777216",
    "4294967296", "0x100000000", "08", "09.1.1.1", "0xg", "1..1", ".1.1.1", "1.1.1..", "", "[::1",
    "::zz", "1e3", "١٢٧.٠.٠.١", "9" * 5000,
])
def test_names_and_malformed_numbers_are_not_literals(host: str) -> None:
    assert parse_host_literal(host) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_32_bit_number_in_every_base(n: int) -> None:
    expected = V4(n)
    assert parse_host_literal(str(n)) == expected
    assert parse_host_literal(hex(n)) == expected
    assert parse_host_literal("0" + oct(n)[2:]) == expected
    assert parse_host_literal(str(expected)) == expected


_PART = st.one_of(
    st.integers(0, 2**32 - 1).map(str),
    st.integers(0, 2**32 - 1).map(hex),
    st.integers(0, 2**32 - 1).map(lambda n: "0" + oct(n)[2:]),
    st.integers(0, 255).map(str),
    st.integers(0, 255).map(lambda n: f"0x{n:02X}"),
    st.integers(0, 255).map(lambda n: f"0{n:o}"),
)


@settings(max_examples=300)
@given(st.lists(_PART, min_size=1, max_size=4))
def test_agrees_with_the_c_library_inet_aton(parts: list[str]) -> None:
    """Whatever the system's inet_aton (what getaddrinfo uses for numeric hosts) reads as an address,
    parse_host_literal reads as the same address; what it refuses, we refuse too."""
    host = ".".join(parts)
    try:
        c_result: V4 | None = V4(socket.inet_aton(host))
    except OSError:
        c_result = None
    assert parse_host_literal(host) == c_result


@given(st.text(alphabet="0123456789abcdefxX.", max_size=30))
def test_reads_every_address_inet_aton_reads_in_random_strings(host: str) -> None:
    try:
        c_result: V4 | None = V4(socket.inet_aton(host))
    except OSError:
        c_result = None
    if c_result is not None:
        assert parse_host_literal(host) == c_result
