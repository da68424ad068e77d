"""The reader in a real browser (Debian's chromium via Playwright), served by uvicorn on 127.0.0.1:
home → article → Next → Previous → the Source link → search, the j/k/o keys, and no console errors
or CSP violations anywhere. Images come from a second local server, so nothing leaves the machine."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appserver import serve_app
from browser import CHROMIUM, CHROMIUM_ARGS, watched_page
from newsdesk.models import NewArticle
from newsdesk.web.app import create_app

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/newsdesk-article.png")

PHOTO_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#4a6b8a"/>
<stop offset="1" stop-color="#c9d6df"/></linearGradient></defs>
<rect width="1200" height="675" fill="url(#g)"/><circle cx="850" cy="260" r="120" fill="#f2e6c9"/>
<rect x="0" y="480" width="1200" height="195" fill="#2f3e4c"/></svg>"""

REFERENCE_TITLE = ("Trump heeft ‘zeer goed telefoongesprek’ met Rutte over Groenland, deelt opnieuw "
                   "privébericht van NAVO-baas")
REFERENCE_CAPTION = ("NAVO-secretaris-generaal Mark Rutte verlaat het Élysée-paleis in Parijs, Frankrijk, "
                     "na de top van de Coalition of the Willing op 6 januari 2026.")
REFERENCE_BODY = [
    "De Amerikaanse president Donald Trump heeft „een zeer goed telefoongesprek” gevoerd met "
    "NAVO-secretaris-generaal Mark Rutte over Groenland. Dat schrijft Trump dinsdag in een bericht op "
    "sociale media. Ook meldt hij te hebben ingestemd met een gesprek over Groenland met andere landen bij "
    "het World Economic Forum in het Zwitserse Davos, dat maandag is begonnen en waar Trump woensdag "
    "spreekt.",
    "De afgelopen dagen liepen de spanningen tussen de Verenigde Staten en Europese landen verder op nadat "
    "Trump zijn dreigementen over Groenland, autonoom gebied binnen het Deense koninkrijk, verder had "
    "opgevoerd. Zaterdag kondigde de Amerikaanse president aan per 1 februari 10 procent extra heffingen op "
    "te leggen aan Nederland en een reeks andere Europese landen.",
    "Europese leiders lijken hun hoop te vestigen op Trumps bezoek aan Davos om hem op andere gedachten te "
    "brengen.",
]


class PhotoHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml")
        self.send_header("Content-Length", str(len(PHOTO_SVG)))
        self.end_headers()
        self.wfile.write(PHOTO_SVG)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Served:
    base: str
    seeded: Any
    reference_id: int


@pytest.fixture
def served(storage, settings, seeded, services) -> Iterator[Served]:
    photos = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PhotoHandler)
    threading.Thread(target=photos.serve_forever, daemon=True).start()
    photo_url = f"http://127.0.0.1:{photos.server_address[1]}/rutte.svg"
    newest = storage.get_article(seeded.home[0])
    reference_id = storage.add_article(NewArticle(
        source_id=seeded.nrc.id, url="https://www.nrc.nl/nieuws/2026/01/20/trump-rutte-groenland",
        title=REFERENCE_TITLE, fetched_at=newest.fetched_at,
        published_at=newest.sort_at + timedelta(minutes=5),
        author="NRC", language="nl", image_url=photo_url, image_caption=REFERENCE_CAPTION,
        summary=REFERENCE_BODY[0][:200], html="".join(f"<p>{p}</p>" for p in REFERENCE_BODY),
        text="\n\n".join(REFERENCE_BODY)))
    assert reference_id is not None
    seeded.home.insert(0, reference_id)
    seeded.by_source[seeded.nrc.id].insert(0, reference_id)

    with serve_app(create_app(storage, settings, services)) as base:
        yield Served(base, seeded, reference_id)
    photos.shutdown()
    photos.server_close()


@pytest.fixture
def browser_page(served: Served) -> Iterator[tuple[Any, list[str]]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 1400}, locale="en-GB")
        # Only the local servers may be reached. The seeded thumbnails (img.example.org) are answered
        # here with the test photo; any other outside request is a failure.
        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith("http://127.0.0.1:"):
                route.continue_()
            elif url.startswith("https://img.example.org/"):
                route.fulfill(status=200, content_type="image/svg+xml", body=PHOTO_SVG)
            else:
                problems.append("external request: " + url)
                route.abort()

        context.route("**/*", guard)
        page = watched_page(context, problems)
        yield page, problems
        context.close()
        browser.close()


def at(page: Any, expected: str, timeout: float = 10.0) -> str:
    """Wait until the document's own location is `expected` (a path with query, or a prefix ending in
    '*'), and loaded. Asked of the page itself: with Debian's chromium, Playwright's page.url can miss
    a navigation started by script."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            last = page.evaluate(
                "document.readyState === 'complete' ? location.pathname + location.search : ''")
        except Exception:  # the context was replaced by the navigation; ask again
            last = ""
        if last and (last == expected or (expected.endswith("*") and last.startswith(expected[:-1]))):
            return last
        time.sleep(0.05)
    raise AssertionError(f"expected to be at {expected}, still at {last or page.url}")


def article_id(url: str) -> int:
    return int(url.split("/articles/")[1].split("?")[0])


def test_reading_flow_in_a_browser(served: Served, browser_page: tuple[Any, list[str]]) -> None:
    page, problems = browser_page
    seeded = served.seeded
    page.goto(served.base + "/")
    assert page.locator("a.item-link").first.inner_text() == REFERENCE_TITLE

    page.locator("a.item-link").first.click()
    assert article_id(at(page, "/articles/*")) == served.reference_id
    assert page.locator("h1").inner_text() == REFERENCE_TITLE
    assert page.locator("figcaption").inner_text() == REFERENCE_CAPTION
    assert page.locator("figure img").evaluate("img => img.naturalWidth") == 1200  # the photo loaded
    column = page.locator("article.column").bounding_box()
    photo = page.locator("figure img").bounding_box()
    assert column and photo and abs(photo["width"] - column["width"]) < 2 and column["width"] <= 42 * 16 + 1
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="Next", exact=True).click()
    at(page, f"/articles/{seeded.home[1]}?from=home")
    page.get_by_role("link", name="Previous", exact=True).click()
    at(page, f"/articles/{served.reference_id}?from=home")

    source = page.locator("p.source a")
    assert page.locator("p.source").inner_text() == "Source: NRC"
    assert source.get_attribute("href") == "https://www.nrc.nl/nieuws/2026/01/20/trump-rutte-groenland"

    page.locator("header input[name=q]").fill("Davos")
    page.locator("header input[name=q]").press("Enter")
    at(page, "/search?q=Davos")
    assert "results for" in page.locator(".count").inner_text()
    assert page.locator("#q2").input_value() == "Davos"
    titles = page.locator("a.item-link").all_inner_texts()
    assert titles and all("Davos" in t for t in titles if t != REFERENCE_TITLE)

    page.goto(served.base + "/?lang=nl")
    assert page.locator("header button").inner_text() == "Zoeken"
    assert problems == []


def test_keyboard_navigation(served: Served, browser_page: tuple[Any, list[str]]) -> None:
    page, problems = browser_page
    seeded = served.seeded
    page.goto(served.base + f"/sources/{seeded.nrc.id}")
    items = page.locator("li[data-item]")
    page.keyboard.press("j")
    assert items.nth(0).get_attribute("class") == "item selected"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert items.nth(1).get_attribute("class") == "item selected"
    assert page.locator(".item.selected").count() == 1
    page.keyboard.press("o")
    at(page, f"/articles/{seeded.by_source[seeded.nrc.id][1]}?from=source*")
    page.keyboard.press("j")
    at(page, f"/articles/{seeded.by_source[seeded.nrc.id][2]}?from=source*")
    page.keyboard.press("k")
    at(page, f"/articles/{seeded.by_source[seeded.nrc.id][1]}?from=source*")
    page.keyboard.press("k")
    at(page, f"/articles/{seeded.by_source[seeded.nrc.id][0]}?from=source*")
    page.keyboard.press("k")  # before the first: back to the list
    at(page, f"/sources/{seeded.nrc.id}")

    # typing in the search box is not navigation
    page.locator("header input[name=q]").click()
    page.keyboard.type("jko")
    assert page.locator("header input[name=q]").input_value() == "jko"
    assert page.evaluate("location.pathname") == f"/sources/{seeded.nrc.id}"
    assert problems == []
