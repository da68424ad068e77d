"""Hostile and odd pages: no crash, bounded time, NoArticleError or a sane result."""

from __future__ import annotations

import codecs
import time

import pytest

from newsdesk.errors import ExtractionError, NoArticleError
from newsdesk.extract import ExtractLimits, decode_html, extract_article
from newsdesk.models import ExtractedArticle

URL = "https://news.example/a/1"
#: generous for a loaded CI machine; a page costs milliseconds, the 20 MB page about a second or two
BOUND_SECONDS = 15.0

PARAGRAPH_NL = ("De gemeenteraad besprak dinsdag opnieuw de plannen voor het stationsgebied, waar de "
                "komende jaren honderden woningen en een nieuw busstation moeten komen. ")


def _timed(page: str | bytes) -> tuple[ExtractedArticle | NoArticleError, float]:
    start = time.perf_counter()
    try:
        result: ExtractedArticle | NoArticleError = extract_article(page, URL)
    except NoArticleError as exc:
        result = exc
    return result, time.perf_counter() - start


def _article(body: str, head: str = "") -> str:
    return f"<html><head>{head}</head><body><article><h1>Kop</h1>{body}</article></body></html>"


def test_20_mb_page_is_cut_and_bounded() -> None:
    paragraphs = "".join(f"<p>{i}: {PARAGRAPH_NL}</p>\n" for i in range(120_000))
    page = _article(paragraphs).encode()
    assert len(page) > 20_000_000
    result, seconds = _timed(page)
    assert seconds < BOUND_SECONDS
    assert isinstance(result, ExtractedArticle)
    assert result.text.startswith("0: De gemeenteraad")
    assert 1000 < len(result.text) <= 5_000_000


def test_10000_deep_nesting() -> None:
    inner = f"<p>{PARAGRAPH_NL * 3}</p>"
    page = "<html><body>" + "<div>" * 10_000 + inner + "</div>" * 10_000 + "</body></html>"
    result, seconds = _timed(page)
    assert seconds < BOUND_SECONDS
    if isinstance(result, ExtractedArticle):
        assert "stationsgebied" in result.text
    else:
        assert str(result) == "no article text found"


def test_deep_inline_nesting_inside_an_article() -> None:
    page = _article(f"<p>{PARAGRAPH_NL * 3}</p>" + "<b><i>" * 5000 + "x" + "</i></b>" * 5000)
    result, seconds = _timed(page)
    assert seconds < BOUND_SECONDS
    assert isinstance(result, ExtractedArticle) and "stationsgebied" in result.text


def test_page_without_body_tag() -> None:
    result, _ = _timed(f"<title>Zonder body</title><p>{PARAGRAPH_NL * 2}</p><p>{PARAGRAPH_NL}</p>")
    assert isinstance(result, ExtractedArticle)
    assert "stationsgebied" in result.text
    assert result.title == "Zonder body"


def test_frameset_page() -> None:
    page = ("<html><head><title>Frames</title></head><frameset cols='20%,80%'><frame src='menu.html'>"
            "<frame src='main.html'><noframes>Your browser does not support frames.</noframes>"
            "</frameset></html>")
    result, _ = _timed(page)
    assert isinstance(result, NoArticleError)
    assert str(result) == "no article text found"


@pytest.mark.parametrize("page", [
    "<html><head><script src='/static/app.js'></script></head><body><div id='root'></div></body></html>",
    "<html><body><div id='__next'></div><script>self.__next_f=[]</script></body></html>",
    "<html><body><noscript>You need to enable JavaScript to run this app.</noscript>"
    "<div id='app'></div></body></html>",
    "<html><body><noscript>Schakel JavaScript in om deze site te gebruiken.</noscript>"
    "<main></main></body></html>",
])
def test_javascript_only_page(page: str) -> None:
    result, _ = _timed(page)
    assert isinstance(result, NoArticleError)
    assert str(result) == "page needs JavaScript"
    assert result.kind == "no_article"


@pytest.mark.parametrize("page", ["", "   \n\t", b"", b"\xef\xbb\xbf", "<html></html>",
                                  "<html><body></body></html>", "<!-- nothing -->",
                                  "<?xml version='1.0' encoding='utf-8'?>"])
def test_empty_page(page: str | bytes) -> None:
    result, _ = _timed(page)
    assert isinstance(result, NoArticleError)
    assert str(result) == "page is empty"


def test_image_only_page() -> None:
    page = ("<html><body><figure><img src='/a.jpg'><figcaption>Foto</figcaption></figure>"
            "<img src='/b.jpg'></body></html>")
    result, _ = _timed(page)
    assert isinstance(result, NoArticleError)
    assert str(result) == "no article text found"


def test_too_short_text_is_no_article() -> None:
    result, _ = _timed(_article("<p>Alleen dit.</p>"))
    assert isinstance(result, NoArticleError)


def test_binary_garbage() -> None:
    garbage = bytes(range(256)) * 4000
    result, seconds = _timed(garbage)
    assert seconds < BOUND_SECONDS
    assert isinstance(result, ExtractedArticle | NoArticleError)


def test_wrong_charset_declaration_does_not_garble_utf8() -> None:
    text = "Café-eigenaar Øygard zegt: „Één ding is zeker — de crème brûlée blijft.” " * 3
    head = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    page = _article(f"<p>{text}</p><p>{PARAGRAPH_NL}</p>", head=head).encode("utf-8")
    result, _ = _timed(page)
    assert isinstance(result, ExtractedArticle)
    assert "Café-eigenaar Øygard" in result.text and "crème brûlée" in result.text
    assert "Ã" not in result.text


def test_declared_legacy_charset_is_honoured() -> None:
    page = _article(f"<p>Een café aan de Oudegracht. {PARAGRAPH_NL}</p>",
                    head='<meta charset="windows-1252">').encode("cp1252")
    result, _ = _timed(page)
    assert isinstance(result, ExtractedArticle) and "Een café aan de Oudegracht" in result.text


def test_undeclared_legacy_charset_is_detected() -> None:
    page = _article(f"<p>Ein Café in München, schön gelegen. {PARAGRAPH_NL}</p>").encode("cp1252")
    result, _ = _timed(page)
    assert isinstance(result, ExtractedArticle) and "Ein Café in München" in result.text


@pytest.mark.parametrize(("bom", "encoding"), [(codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                                               (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_byte_order_mark_wins(bom: bytes, encoding: str) -> None:
    page = bom + _article(f"<p>Zeeuwse ‘bolussen’ — {PARAGRAPH_NL}</p>",
                          head='<meta charset="iso-8859-1">').encode(encoding)
    result, _ = _timed(page)
    assert isinstance(result, ExtractedArticle) and "Zeeuwse ‘bolussen’ —" in result.text


def test_utf8_cut_inside_a_character_still_decodes_as_utf8() -> None:
    data = ("Één café " * 100).encode("utf-8")
    assert decode_html(data[:-1]).startswith("Één café")
    assert "Ã" not in decode_html(data[:-1])


ARABIC = ("أعلنت بلدية المدينة يوم الثلاثاء عن خطة جديدة لتوسيع شبكة الحافلات وإنشاء مسارات خاصة للدراجات في "
          "وسط المدينة، على أن يبدأ التنفيذ في الربيع المقبل بعد موافقة المجلس البلدي. ")
HEBREW = ("עיריית העיר הודיעה ביום שלישי על תוכנית חדשה להרחבת רשת האוטובוסים ולהקמת שבילי אופניים "
          "במרכז העיר, והביצוע צפוי להתחיל באביב הבא לאחר אישור מועצת העיר. ")
CHINESE = ("市政府星期二宣布了一项新计划，将扩大公交网络，并在市中心修建自行车道。"
           "该计划预计在市议会批准后于明年春天开始实施。"
           "官员表示，这将减少交通拥堵并改善空气质量。")
JAPANESE = ("市は火曜日、バス路線網を拡大し、市の中心部に自転車専用道路を整備する新たな計画を発表した。"
            "市議会の承認を経て、来年の春に着工する予定だという。")


@pytest.mark.parametrize(("text", "lang", "direction"), [
    (ARABIC, "ar", "rtl"), (HEBREW, "he", "rtl"), (CHINESE, "zh", "ltr"), (JAPANESE, "ja", "ltr"),
], ids=["arabic", "hebrew", "chinese", "japanese"])
def test_rtl_and_cjk_text(text: str, lang: str, direction: str) -> None:
    page = (f'<html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
            f"<title>{text[:30]}</title></head><body><article><p>{text}</p><p>{text}</p><p>{text[::-1]}</p></article></body></html>")
    result, _ = _timed(page.encode("utf-8"))
    assert isinstance(result, ExtractedArticle)
    assert text.strip()[:40] in result.text
    assert result.language == lang


def test_hostile_markup_in_the_article_is_sanitized() -> None:
    page = _article(f"<p>{PARAGRAPH_NL}<a href='javascript:alert(1)' onclick='x()'>klik</a>"
                    f"<img src=x onerror=alert(1)></p><script>alert(2)</script><p>{PARAGRAPH_NL}</p>")
    result, _ = _timed(page)
    assert isinstance(result, ExtractedArticle)
    for bad in ("javascript:", "onclick", "onerror", "<script", "alert(2)"):
        assert bad not in result.html


def test_deadline_passed_is_reported_plainly() -> None:
    with pytest.raises(NoArticleError, match="too long"):
        extract_article(_article(f"<p>{PARAGRAPH_NL * 3}</p>"), URL,
                        limits=ExtractLimits(deadline_seconds=0.0))


def test_no_article_error_is_an_extraction_error() -> None:
    assert issubclass(NoArticleError, ExtractionError)


def test_http_declared_charset_is_used_for_non_utf8_bytes() -> None:
    text = "Zażółć gęślą jaźń — rada miasta przyjęła nowy plan komunikacji dla śródmieścia. " * 3
    page = _article(f"<p>{text}</p>").encode("iso-8859-2", errors="replace")
    result = extract_article(page, URL, charset="ISO-8859-2")
    assert "Zażółć gęślą jaźń" in result.text
