"""`newsdesk extract FILE...`: several saved pages of one site are extracted with what the site's
other pages teach (per-site learning), as the service does; --no-learn extracts each on its own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from newsdesk.cli import app

SITE = Path(__file__).resolve().parent / "data" / "sites" / "nl_waterkant"
PAGES = sorted(SITE.glob("page*.html"))
BOX = "Meer over dit onderwerp"
ARTICLE_SENTENCE = "De brug over de Vliet bij Hoekdam gaat vanaf maandag drie maanden dicht"


def run(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["extract", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.strip()]


def test_several_pages_learn_the_site_and_lose_the_repeated_box() -> None:
    assert len(PAGES) >= 4
    records = run(*map(str, PAGES))
    assert [r["file"] for r in records] == [str(p) for p in PAGES]
    for record in records:
        assert "error" not in record, record
        assert BOX not in record["text"] and BOX not in record["html"]
        # the page's URL is the canonical one it declares
        assert record["url"].startswith("https://www.dewaterkant.example/regio/")
        for key in ("updated", "section", "image_credit", "published", "image_caption"):
            assert key in record
    assert ARTICLE_SENTENCE in records[0]["text"]


def test_no_learn_keeps_the_box() -> None:
    records = run("--no-learn", *map(str, PAGES))
    assert len(records) == len(PAGES)
    assert all(BOX in record["text"] for record in records)
    assert ARTICLE_SENTENCE in records[0]["text"]


def test_one_page_alone_cannot_learn() -> None:
    (record,) = run(str(PAGES[0]))
    assert BOX in record["text"]


def test_pages_without_a_declared_url_are_taken_as_one_site(tmp_path: Path) -> None:
    copies = []
    for page in PAGES:
        copy = tmp_path / page.name
        copy.write_text(re.sub(r'<link rel="canonical"[^>]*>', "", page.read_text("utf-8")), "utf-8")
        copies.append(copy)
    learned = run(*map(str, copies))
    assert all(r["url"].startswith("file://") for r in learned)
    assert all(BOX not in r["text"] for r in learned)
    assert all(BOX in r["text"] for r in run("--no-learn", *map(str, copies)))


def test_one_url_for_all_pages_groups_them(tmp_path: Path) -> None:
    records = run("--url", "https://www.dewaterkant.example/regio/", *map(str, PAGES))
    assert all(r["url"] == "https://www.dewaterkant.example/regio/" for r in records)
    assert all(BOX not in r["text"] for r in records)


def test_new_fields_are_printed(tmp_path: Path) -> None:
    page = tmp_path / "meta.html"
    page.write_text(
        '<html lang="nl"><head><title>Parkeren wordt duurder | Krant</title>'
        '<meta property="article:published_time" content="2025-03-14T08:00:00Z">'
        '<meta property="article:modified_time" content="2025-03-14T10:30:00Z">'
        '<meta property="article:section" content="Binnenland"></head><body><article>'
        '<h1>Parkeren wordt duurder</h1><figure><img src="https://krant.example/brug.jpg">'
        '<figcaption>De brug over de Vliet. Foto: Jan de Vries</figcaption></figure>'
        + "<p>Het college wil de parkeertarieven in de binnenstad volgend jaar met twintig procent verhogen.</p>" * 3
        + "</article></body></html>", "utf-8")
    (record,) = run(str(page))
    assert record["updated"] == "2025-03-14T10:30:00+00:00"
    assert record["section"] == "Binnenland"
    assert (record["image_caption"], record["image_credit"]) == ("De brug over de Vliet.", "Jan de Vries")


def test_a_page_without_an_article_is_reported_in_place(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>", "utf-8")
    records = run(str(PAGES[0]), str(empty), str(PAGES[1]))
    assert [("error" in r) for r in records] == [False, True, False]
    assert records[1]["error"] == "no_article"
