"""E-mail address checking and normalization. Pure: no DNS, no IO.

An address typed into a sign-up form ends up in a To: header and in an SMTP RCPT command, so it is
treated as hostile: anything that could inject a header or a command, hide text (bidi, zero-width)
or impersonate another domain (mixed scripts) is refused rather than repaired.

Deliberate restrictions, stricter than RFC 5321/5322, because they keep the header and SMTP edges
simple and almost no real subscriber needs them:

- the local part is a dot-atom of ASCII characters (RFC 5322 `atext`); quoted local parts
  (`"john doe"@example.org`) are refused, since they allow spaces, backslashes and `@`, which
  must then be quoted correctly in every header and SMTP command along the way;
- non-ASCII local parts (RFC 6531 SMTPUTF8) are refused, since many relays do not support them;
- the domain is a host name with at least two labels: no IP literals, no `localhost`;
- internationalized domains are accepted and converted to their ASCII (punycode) form with IDNA
  2008 / UTS 46, but a domain whose letters mix scripts (Latin `paypal` with a Cyrillic `а`) is
  refused as a likely look-alike.

The local part keeps its case (RFC 5321 says it may matter); the domain is lowercased.
"""

from __future__ import annotations

import re
import unicodedata

import idna

from ..errors import InvalidAddressError

__all__ = ["MAX_ADDRESS_LENGTH", "MAX_LOCAL_LENGTH", "normalize_address"]

#: RFC 5321: a path is at most 256 octets including the angle brackets
MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_LENGTH = 64
MAX_DOMAIN_LENGTH = 253
MAX_LABEL_LENGTH = 63

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")
_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")

#: Unicode categories never allowed anywhere: controls (CR, LF, NUL...), format characters (bidi
#: overrides and isolates, zero-width space/joiners, BOM), separators, private use, surrogates and
#: unassigned code points
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs"})

#: scripts that legitimately share a label: Japanese writes Han with kana, Korean Han with Hangul
_SCRIPT_GROUPS = {
    "CJK": "Han",
    "HIRAGANA": "Han",
    "KATAKANA": "Han",
    "KATAKANA-HIRAGANA": "Han",
    "IDEOGRAPHIC": "Han",
    "HANGUL": "Han",
}


def _refuse(reason: str) -> InvalidAddressError:
    return InvalidAddressError(f"not a usable e-mail address: {reason}")


def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name; None for digits, hyphens and the like."""
    if not char.isalpha():
        return None
    if char.isascii():
        return "LATIN"
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _SCRIPT_GROUPS.get(first, first)


def _check_domain_scripts(domain: str) -> None:
    scripts = {s for s in map(_script, domain) if s is not None}
    if len(scripts) > 1:
        raise _refuse("the domain mixes scripts (" + ", ".join(sorted(scripts)).lower() + "), "
                      "which is how look-alike domains are made")


def _ascii_domain(domain: str) -> str:
    if not domain:
        raise _refuse("the domain is empty")
    if domain.endswith(".") or domain.startswith(".") or ".." in domain:
        raise _refuse("the domain has an empty label")
    if domain.startswith("["):
        raise _refuse("IP-address domains are not accepted")
    if domain.isascii():
        ascii_domain = domain.lower()
    else:
        # NFC first so that a decomposed "é" and a composed one give the same address
        domain = unicodedata.normalize("NFC", domain)
        _check_domain_scripts(domain)
        try:
            ascii_domain = idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
        except idna.IDNAError as exc:
            raise _refuse(f"the domain is not a valid internationalized name ({exc})") from None
        except UnicodeError:
            raise _refuse("the domain is not a valid internationalized name") from None
    if len(ascii_domain) > MAX_DOMAIN_LENGTH:
        raise _refuse("the domain is too long")
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        raise _refuse("the domain needs a dot (like example.org)")
    for label in labels:
        if not _LABEL_RE.match(label):
            raise _refuse(f"the domain label {label[:70]!r} is not a valid host name label")
        if label.startswith("xn--"):
            # a punycode label typed directly must decode to a valid name that passes the same checks
            try:
                decoded = idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                raise _refuse(f"the domain label {label!r} is not valid punycode") from None
            _check_domain_scripts(decoded)
    if labels[-1].isdigit():
        raise _refuse("the top-level domain cannot be a number")
    return ascii_domain


def normalize_address(raw: str) -> str:
    """The address in the form newsdesk stores and mails, or InvalidAddressError.

    Surrounding spaces are trimmed (forms add them); everything else that is wrong is refused, not
    repaired. The result is pure ASCII: a dot-atom local part and a lowercase punycode domain.
    """
    if not isinstance(raw, str):
        raise _refuse("not text")
    # length first: a 10 kB "address" is refused before any per-character work
    if len(raw) > MAX_ADDRESS_LENGTH * 2:
        raise _refuse("it is far too long")
    address = raw.strip(" \t")
    if not address:
        raise _refuse("it is empty")
    for char in address:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise _refuse(f"it contains the invisible or control character U+{ord(char):04X}")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise _refuse(f"it is longer than {MAX_ADDRESS_LENGTH} characters")
    if address.count("@") != 1:
        raise _refuse("it needs exactly one @")
    local, domain = address.split("@")
    if not local:
        raise _refuse("the part before @ is empty")
    if local.startswith('"'):
        raise _refuse("quoted names before @ are not accepted")
    if len(local) > MAX_LOCAL_LENGTH:
        raise _refuse(f"the part before @ is longer than {MAX_LOCAL_LENGTH} characters")
    if not local.isascii():
        raise _refuse("the part before @ must be plain ASCII")
    if not _LOCAL_RE.match(local):
        raise _refuse("the part before @ has characters or dots that are not allowed")
    result = f"{local}@{_ascii_domain(domain)}"
    if len(result) > MAX_ADDRESS_LENGTH:
        raise _refuse(f"it is longer than {MAX_ADDRESS_LENGTH} characters")
    return result
