"""Page bytes to text without mojibake.

Order of trust: a byte-order mark; then UTF-8 if the bytes are valid UTF-8 (a page that decodes as
UTF-8 is UTF-8 in practice, whatever its meta tag claims, and legacy single-byte text almost never
is valid UTF-8); then the declared charset (HTTP header, then <meta>); then charset-normalizer's
guess; finally windows-1252, which decodes any byte.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["declared_charset", "decode_html"]

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: how far into the page a <meta charset> is looked for (the spec says 1024 bytes; sites are sloppy)
_SNIFF_BYTES = 8192
#: how much charset-normalizer gets to look at; its cost grows with the input
_DETECT_BYTES = 65536


def declared_charset(data: bytes) -> str | None:
    """The charset a <meta> tag near the top of the page declares, if it names a known codec."""
    match = _META_CHARSET.search(data[:_SNIFF_BYTES])
    if not match:
        return None
    return _codec(match.group(1).decode("ascii", "ignore"))


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    # As browsers do (WHATWG Encoding): latin-1 and ascii labels mean windows-1252.
    if codec in {"latin-1", "iso8859-1", "ascii"}:
        return "cp1252"
    return codec


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A page cut at our size cap may end inside a character; that alone is no reason to doubt.
        truncated = exc.reason in {"unexpected end of data", "invalid continuation byte"}
        if truncated and exc.start >= len(data) - 3:
            try:
                return data[: exc.start].decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """The text of an HTML page given as bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    text = _utf8(data)
    if text is not None:
        return text
    declared = _codec(http_charset) or declared_charset(data)
    if declared and declared not in {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"}:
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a trafilatura dependency, normally present
        best = None
    else:
        best = from_bytes(data[:_DETECT_BYTES]).best()
    if best is not None and best.encoding:
        return data.decode(best.encoding, errors="replace")
    return data.decode("cp1252", errors="replace")
