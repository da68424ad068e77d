"""absolute_url and normalize_url."""

from __future__ import annotations

import pytest

from newsdesk.extract import absolute_url, normalize_url

BASE = "https://www.krant.example/regio/zwolle/artikel.html"


@pytest.mark.parametrize(("href", "expected"), [
    ("/sport", "https://www.krant.example/sport"),
    ("foto.jpg", "https://www.krant.example/regio/zwolle/foto.jpg"),
    ("../index.html", "https://www.krant.example/regio/index.html"),
    ("//cdn.example/a.jpg", "https://cdn.example/a.jpg"),
    ("https://other.example/x?y=1#z", "https://other.example/x?y=1#z"),
    ("HTTP://Other.example", "http://Other.example/"),
    ("  /spaces  ", "https://www.krant.example/spaces"),
    ("?page=2", "https://www.krant.example/regio/zwolle/artikel.html?page=2"),
])
def test_absolute_url_resolves(href: str, expected: str) -> None:
    assert absolute_url(href, BASE) == expected


@pytest.mark.parametrize("href", [
    None, "", "javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
    "vbscript:x", "mailto:a@b.example", "ftp://files.example/x", "file:///etc/passwd", "http://",
    "http://[::1", "x" * 5000,
])
def test_absolute_url_refuses(href: str | None) -> None:
    assert absolute_url(href, BASE) is None


def test_absolute_url_without_base_needs_an_absolute_href() -> None:
    assert absolute_url("/x", None) is None
    assert absolute_url("https://a.example/x", None) == "https://a.example/x"


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTPS://WWW.Example.COM/Path/To?b=2&a=1", "https://www.example.com/Path/To?a=1&b=2"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com/a#section", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=x&gclid=y&mc_cid=z&mc_eid=w&_hsenc=v", "https://example.com/a"),
    ("https://example.com/a?UTM_Campaign=x&q=nieuws", "https://example.com/a?q=nieuws"),
    ("https://example.com/a?q=&z=1", "https://example.com/a?q=&z=1"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_is_idempotent() -> None:
    url = "HTTPS://Example.com:443/A/b/?z=1&utm_term=x&a=%20b#frag"
    once = normalize_url(url)
    assert normalize_url(once) == once


@pytest.mark.parametrize("junk", ["not a url", "/relative/path", "http://[::1"])
def test_normalize_url_leaves_non_urls_alone(junk: str) -> None:
    assert normalize_url(junk) == junk
