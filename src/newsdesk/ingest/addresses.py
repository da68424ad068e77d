"""Which IP addresses newsdesk may connect to: pure decisions, no IO.

A feed URL is foreign input, so a fetch must never reach the machine's own services (loopback), the
home or office network (RFC 1918, IPv6 ULA), the cloud metadata endpoint (link-local 169.254.169.254)
or anything else that is not the public internet. The operator can open chosen ranges with the
`allowed_networks` setting (for a test site on 127.0.0.1, say).

The checks are written as explicit tables instead of leaning on `ipaddress.is_global`, whose answers
changed between Python patch releases; the tables are the policy, and the tests pin them.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable

__all__ = [
    "IPAddress",
    "Network",
    "address_allowed",
    "blocked_reason",
    "is_public_address",
    "parse_host_literal",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: IPv4 ranges that are never the public internet, with the reason shown to the user.
_BLOCKED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "a reserved protocol address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a reserved relay address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)

# IPv6 forms that carry an IPv4 address; the embedded address decides.
_MAPPED = _V6("::ffff:0:0/96")  # IPv4-mapped: a dual-stack socket connects to the IPv4 address itself
_NAT64 = _V6("64:ff9b::/96")  # well-known NAT64 prefix: the gateway connects to the embedded IPv4
_SIX_TO_FOUR = _V6("2002::/16")  # 6to4: the embedded IPv4 is the tunnel end point
_GLOBAL_UNICAST = _V6("2000::/3")

#: IPv6 ranges that are never the public internet. Checked before the embedded-IPv4 forms above.
_BLOCKED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("::/96"), "an IPv4-compatible address (deprecated)"),
    (_V6("::ffff:0:0:0/96"), "an IPv4-translated address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/32"), "a Teredo tunnel address"),
    (_V6("2001::/23"), "a reserved protocol address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("5f00::/16"), "a segment-routing address"),
    (_V6("fc00::/7"), "a unique local (private) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)


def _as_ip(ip: IPAddress | str) -> IPAddress:
    return ip if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else ipaddress.ip_address(ip)


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, for the forms that carry one."""
    if ip in _MAPPED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress | str) -> str | None:
    """Why `ip` is not a public internet address, in plain words; None when it is public."""
    ip = _as_ip(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        for net, reason in _BLOCKED_V4:
            if ip in net:
                return reason
        return None
    if ip.scope_id:
        # A zone index only means something on a local link.
        return "an address scoped to a local network interface"
    for net6, reason in _BLOCKED_V6:
        if ip in net6:
            return reason
    embedded = _embedded_v4(ip)
    if embedded is not None:
        inner = blocked_reason(embedded)
        return None if inner is None else f"{inner} ({embedded}) inside an IPv6 address"
    if ip not in _GLOBAL_UNICAST:
        return "a reserved address"
    return None


def is_public_address(ip: IPAddress | str) -> bool:
    """True when `ip` is an address on the public internet (including the IPv6 forms of one)."""
    return blocked_reason(ip) is None


def address_allowed(ip: IPAddress | str, allowed_networks: Iterable[Network] = ()) -> bool:
    """True when newsdesk may connect to `ip`: it is public, or inside an operator-allowed network.

    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is the IPv4 address itself on a dual-stack socket,
    so an allowed IPv4 network admits it too.
    """
    ip = _as_ip(ip)
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for net in allowed_networks:
        if any(candidate in net for candidate in candidates):
            return True
    return is_public_address(ip)


# Dots that IDNA (UTS 46) maps to ".", so "127。0。0。1" means 127.0.0.1 to a resolver.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _inet_aton_part(part: str) -> int | None:
    """One part of a BSD inet_aton address: decimal, octal (leading 0) or hex (0x).

    Leading zeros are dropped before converting, so a part padded with hundreds of zeros still reads
    as the C library reads it, and anything longer than 32 bits can hold is refused unconverted.
    """
    if part[:2] in ("0x", "0X"):
        digits = part[2:].lstrip("0")
        if not all(c in "0123456789abcdefABCDEF" for c in digits):
            return None
        return int(digits, 16) if 0 < len(digits) <= 8 else (0 if not digits else 1 << 32)
    if not part.isascii() or not part.isdigit():
        return None
    base = 8 if len(part) > 1 and part[0] == "0" else 10
    if base == 8 and not all(c in "01234567" for c in part):
        return None
    digits = part.lstrip("0")
    if not digits:
        return 0
    return int(digits, base) if len(digits) <= 12 else 1 << 32


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not p for p in parts):
        return None
    values = [_inet_aton_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [v for v in values if v is not None]
    # a.b.c.d, a.b.c (c fills 16 bits), a.b (b fills 24 bits), a (32 bits)
    *head, last = nums
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for v in head:
        value = value << 8 | v
    value = value << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(value)


def parse_host_literal(host: str) -> IPAddress | None:
    """The IP address a URL host names literally, or None when it is a name to resolve.

    Besides dotted quads and IPv6 literals (with or without brackets) this reads every form the C
    resolver accepts as a number, so such hosts are checked as the address they mean instead of being
    handed to getaddrinfo as a "name": 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 are all 127.0.0.1.
    Full-width digits and ideographic dots are folded first, as IDNA would.
    """
    host = unicodedata.normalize("NFKC", host).translate(_DOTS).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    if host.endswith("."):
        host = host[:-1]  # a fully qualified spelling of the same literal
    if not host.isascii():
        return None
    return _parse_inet_aton(host)
