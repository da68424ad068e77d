"""Writes the small hostile feed corpus in feeds/ (run from anywhere; the files are committed).

The big documents (50,000-deep nesting, 100,000 items, a 10 MB title) are not committed: the tests
build them with `big_documents()` below, so the repository stays small.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

HERE = Path(__file__).parent / "feeds"
ITEM = ("<item><title>{title}</title><link>https://news.example/{key}/{n}</link><guid>https://news.example/{key}/{n}</guid>"
        "<description>{desc}</description></item>")


def rss(items: str, decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return f"{decl}<rss version=\"2.0\"><channel><title>Corpus</title><link>https://news.example/</link>{items}</channel></rss>"


_KEYS = itertools.count()


def items(n: int, title: str = "Bericht {n}", desc: str = "Tekst {n}", key: str | None = None) -> str:
    """n items; a fresh `key` per call keeps each document's links its own, so a pass stores each."""
    key = key if key is not None else f"k{next(_KEYS)}"
    return "".join(ITEM.format(title=title.format(n=i), desc=desc.format(n=i), n=i, key=key) for i in range(n))


def small_documents() -> dict[str, bytes]:
    global _KEYS
    _KEYS = itertools.count()  # the same keys on every call, so the committed files can be compared
    def three() -> str:
        return rss(items(3))

    def accents() -> str:
        return rss(items(2, title="Café crème {n}", desc="Één, twee, drie {n}"), decl="")

    return {
        "truncated.xml": three().encode()[:-90],
        "truncated_in_tag.xml": three().encode()[:200],
        "wrong_encoding_declared_utf8.xml": ('<?xml version="1.0" encoding="utf-8"?>' + accents()).encode("latin-1"),
        "missing_encoding_latin1.xml": accents().encode("latin-1"),
        "unknown_encoding.xml": ('<?xml version="1.0" encoding="x-no-such-charset"?>'
                                 + rss(items(2), decl="")).encode(),
        "bom_utf8.xml": b"\xef\xbb\xbf" + rss(items(2, title="Café {n}")).encode(),
        "bom_utf8_declares_latin1.xml": b"\xef\xbb\xbf" + rss(
            items(2, title="Café {n}"), decl='<?xml version="1.0" encoding="iso-8859-1"?>').encode(),
        "utf16le_bom.xml": rss(items(2, title="Café {n}"),
                               decl='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16"),
        "utf16be_bom.xml": b"\xfe\xff" + rss(items(2, title="Café {n}"),
                                             decl='<?xml version="1.0" encoding="utf-16"?>').encode("utf-16-be"),
        "utf16le_no_bom.xml": rss(items(2, title="Café {n}"), decl='<?xml version="1.0" encoding="utf-16le"?>'
                                  ).encode("utf-16-le"),
        "utf32_bom.xml": rss(items(2), decl='<?xml version="1.0" encoding="utf-32"?>').encode("utf-32"),
        "html_as_feed.xml": (b"<!doctype html><html><head><title>Not a feed</title></head>"
                             b"<body><p>Hello</p></body></html>"),
        "empty.xml": b"",
        "whitespace.xml": b" \n\t\r\n   ",
        "junk_before_declaration.xml": b"\x00\x01garbage" + three().encode(),
        "nul_and_control_chars.xml": rss(items(2, title="Nul\x00 en \x07bel {n}")).encode(),
        "invalid_utf8_bytes.xml": rss(items(2)).encode().replace(b"Bericht 1", b"Bericht \xff\xfe 1"),
        "duplicate_items.xml": rss(items(2, key="dup") * 3).encode(),
        "entries_without_links.xml": rss("<item><title>No link</title></item>" * 3 + items(1)).encode(),
        "javascript_links.xml": rss('<item><title>js</title><link>javascript:alert(1)</link></item>'
                                    '<item><title>data</title><link>data:text/html,x</link></item>'
                                    + items(1)).encode(),
        "atom_mixed_content.xml": (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            b'<entry><title type="html">&lt;b&gt;bold&lt;/b&gt; &amp;amp; more</title>'
            b'<link href="https://news.example/atom1"/><id>urn:1</id>'
            b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">hi</p>'
            b'<script>alert(1)</script></div></content></entry></feed>'),
        "json_feed_broken.json": b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": ',
        "json_feed_wrong_types.json": json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": 5,
                                                  "items": [{"url": 7, "title": ["x"]}, "nope", None,
                                                            {"url": "https://news.example/j1", "title": "ok",
                                                             "content_html": {"a": 1}}]}).encode(),
        "rss_huge_attribute_count.xml": rss('<item a0="1" ' + " ".join(f'a{i}="{i}"' for i in range(1, 5000))
                                            + "><title>attrs</title><link>https://news.example/attrs</link></item>").encode(),
        "sitemap_as_feed.xml": (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                b"<url><loc>https://news.example/s1</loc></url></urlset>"),
    }


def big_documents() -> dict[str, bytes]:
    deep = 50_000
    return {
        "deep_nesting_50000.xml": rss("<item><title>Deep</title><link>https://news.example/deep</link><description>"
                                      + "<x>" * deep + "y" + "</x>" * deep + "</description></item>").encode(),
        "deep_nesting_escaped_html_50000.xml": rss(
            "<item><title>Deep html</title><link>https://news.example/deep-html</link><description>"
            + "&lt;div&gt;" * deep + "y" + "&lt;/div&gt;" * deep + "</description></item>").encode(),
        "deep_json_50000.json": (b'{"version": "https://jsonfeed.org/version/1.1", "title": "deep", "items": '
                                 + b"[" * deep + b"]" * deep + b"}"),
        "items_100000.xml": rss(items(100_000, key="many")).encode(),
        "title_10mb.xml": rss(ITEM.format(title="T" * 10_000_000, desc="big title", n="big", key="title")).encode(),
    }


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, content in small_documents().items():
        (HERE / name).write_bytes(content)
    print(f"wrote {len(small_documents())} documents to {HERE}")
