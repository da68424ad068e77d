"""The sanitizer against an XSS corpus, and the markup it must keep."""

from __future__ import annotations

import re

import lxml.html
import pytest

from newsdesk.extract import html_to_text, sanitize_html

BASE = "https://news.example/section/story.html"

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"https://ok.example/a.png\" ONERROR=\"alert(1)\">",
    "<p onclick=\"alert(1)\" onmouseover='alert(2)'>text</p>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"java\tscript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript&#x3A;alert(1)\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"VBScript:msgbox(1)\">x</a>",
    "<img src=\"javascript:alert(1)\">",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<img src=\"mailto:x@example.com\">",
    "<p style=\"width:expression(alert(1))\">styled</p>",
    "<div style=\"background:url(javascript:alert(1))\">bg</div>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<svg onload=alert(1)><circle r=1></circle></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<math href=\"javascript:alert(1)\">x</math>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><input type=submit></form>",
    "<button formaction=\"javascript:alert(1)\">go</button>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<audio src=x onerror=alert(1)>",
    "<template><img src=x onerror=alert(1)></template>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<title><img src=x onerror=alert(1)></title>",
    "<a href=\"https://ok.example\" target=\"_blank\" rel=\"opener\">x</a>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<p><a href=\"//evil.example/\">protocol-relative</a></p>",
    "\"><script>alert(1)</script>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    "<blockquote cite=\"javascript:alert(1)\">q</blockquote>",
]

_DANGEROUS = re.compile(r"javascript:|vbscript:|data:|<script|<iframe|<svg|<math|<object|<embed|<form|<style"
                        r"|<meta|<base|<link|\son\w+\s*=|style=|expression\(|srcdoc|formaction", re.I)


@pytest.mark.parametrize("payload", XSS)
def test_nothing_dangerous_survives(payload: str) -> None:
    cleaned = sanitize_html(payload, BASE)
    assert not _DANGEROUS.search(cleaned), cleaned
    # Parsed the way a browser would, no element may carry a handler or a non-http(s) URL.
    if cleaned.strip():
        root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
        for element in root.iter():
            for name, value in element.attrib.items():
                assert not name.lower().startswith("on"), cleaned
                if name in {"href", "src", "cite"}:
                    assert value.startswith(("https://", "http://", "mailto:")), cleaned


@pytest.mark.parametrize("payload", XSS)
def test_sanitizing_is_idempotent(payload: str) -> None:
    once = sanitize_html(payload, BASE)
    assert sanitize_html(once, BASE) == once


def test_allowed_markup_survives() -> None:
    html = (
        "<h2>Kop</h2><h3>Sub</h3><h6>klein</h6><p>Een <em>zin</em> met <strong>nadruk</strong>, <b>vet</b>, "
        "<i>schuin</i>, <code>code</code>, H<sub>2</sub>O, x<sup>2</sup> en <small>klein</small>."
        "<br>Regel</p>"
        "<blockquote>Citaat <q>binnen</q></blockquote><ul><li>een</li></ul><ol><li>twee</li></ol>"
        "<pre>  ingesprongen</pre><hr><time datetime=\"2025-01-01\">1 januari</time>"
        "<figure><img src=\"https://cdn.example/a.jpg\" alt=\"foto\" width=\"640\" height=\"480\">"
        "<figcaption>Bijschrift</figcaption></figure>"
        "<table><caption>T</caption><thead><tr><th>a</th></tr></thead>"
        "<tbody><tr><td colspan=\"2\">b</td></tr>"
        "</tbody><tfoot><tr><td>c</td></tr></tfoot></table>"
    )
    cleaned = sanitize_html(html, BASE)
    for fragment in ("<h2>Kop</h2>", "<h3>Sub</h3>", "<h6>klein</h6>", "<em>zin</em>",
                     "<strong>nadruk</strong>", "<b>vet</b>", "<i>schuin</i>", "<code>code</code>",
                     "<sub>2</sub>", "<sup>2</sup>",
                     "<small>klein</small>", "<br>", "<blockquote>", "<q>binnen</q>", "<ul><li>een</li></ul>",
                     "<ol><li>twee</li></ol>", "<pre>  ingesprongen</pre>", "<hr>",
                     '<time datetime="2025-01-01">', "<figure>", "<figcaption>Bijschrift</figcaption>",
                     'src="https://cdn.example/a.jpg"', 'alt="foto"', 'width="640"', 'height="480"',
                     "<caption>T</caption>", "<thead>", "<th>a</th>", '<td colspan="2">b</td>', "<tfoot>"):
        assert fragment in cleaned, fragment


def test_links_get_rel_and_absolute_urls() -> None:
    cleaned = sanitize_html('<p><a href="../other.html">rel</a> <a href="https://x.example/">abs</a> '
                            '<a href="mailto:tips@news.example">mail</a> <img src="/img/a.png" alt=""></p>',
                            BASE)
    assert '<a href="https://news.example/other.html" rel="nofollow noopener noreferrer">rel</a>' in cleaned
    assert '<a href="https://x.example/" rel="nofollow noopener noreferrer">abs</a>' in cleaned
    assert 'href="mailto:tips@news.example"' in cleaned
    assert '<img src="https://news.example/img/a.png" alt="">' in cleaned


def test_relative_urls_without_base_are_dropped() -> None:
    cleaned = sanitize_html('<p><a href="/x">link</a><img src="y.png"></p>')
    assert "href" not in cleaned and "<img" not in cleaned and "link" in cleaned


def test_h1_div_span_lose_their_tags_but_keep_text() -> None:
    assert sanitize_html("<div><span class='x'>hello</span></div><h1>Kop</h1>") == "helloKop"


def test_empty_paragraphs_are_dropped() -> None:
    cleaned = sanitize_html("<p>a</p><p> </p><p>&nbsp;</p><p><br></p><p><span></span></p><p>b</p>")
    assert cleaned == "<p>a</p><p>b</p>"


def test_script_content_is_dropped_not_shown() -> None:
    assert "alert" not in sanitize_html("<p>ok</p><script>alert(1)</script><style>p{}</style>")


def test_large_input_is_bounded() -> None:
    cleaned = sanitize_html("<p>" + "a" * 6_000_000 + "</p>")
    assert len(cleaned) <= 5_000_010


def test_html_to_text_keeps_paragraph_breaks() -> None:
    html = ("<h2>Kop</h2><p>Eerste  alinea\nmet regel.</p><p>Tweede<br>regel</p>"
            "<ul><li>een</li><li>twee</li></ul>")
    assert html_to_text(html) == "Kop\n\nEerste alinea met regel.\n\nTweede\nregel\n\n• een\n• twee"


def test_html_to_text_handles_nothing() -> None:
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""
    assert html_to_text("<p></p>") == ""
    assert html_to_text("plain & simple") == "plain & simple"
