"""URL helpers for extraction: resolve links against the page, and one normal form per URL.

Only http and https survive: a `javascript:` or `data:` link in a page must never become a link
or an image in the reader.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "absolute_url", "normalize_url"]

#: query parameters that only tell the publisher where a click came from
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "rb_clickid",
    "s_cid", "ocid", "cmpid", "ref_src", "ref_url", "__twitter_impression", "_ga", "_gl", "spm",
})
#: prefixes of whole families of tracking parameters
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "ns_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL = 4096


def absolute_url(href: str | None, base: str | None) -> str | None:
    """`href` resolved against `base`; None unless the result is an http(s) URL with a host."""
    if not href:
        return None
    # Browsers drop these characters inside URLs, so "java\tscript:" is javascript: to them.
    cleaned = "".join(ch for ch in href.strip() if ch not in "\t\r\n")
    if not cleaned or len(cleaned) > _MAX_URL:
        return None
    try:
        resolved = urljoin(base, cleaned) if base else cleaned
        parts = urlsplit(resolved)
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, parts.fragment))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """One spelling per URL: lowercase scheme and host, no default port, no fragment, no tracking
    parameters, remaining query parameters sorted. The path keeps its case (servers differ there).
    A string that is not a URL comes back stripped but otherwise unchanged."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return url
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    netloc = f"{userinfo}@{host}" if userinfo else host
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(sorted(query_pairs), doseq=False)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))
