"""`newsdesk stories cluster` and `newsdesk topics add|list|remove`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsdesk.cli import app
from newsdesk.storage import open_storage

ITEMS = [
    {"id": "a", "title": "Trump belt met NAVO-chef Rutte over Groenland", "url": "https://nos.example/1",
     "publisher": "NOS", "timestamp": "2026-01-20T18:00:00Z", "lang": "nl"},
    {"id": "b", "title": "Trump and NATO chief Rutte discuss Greenland in late-night call",
     "url": "https://bbc.example/2", "publisher": "BBC", "timestamp": "2026-01-20T19:00:00Z", "lang": "en"},
    {"id": "c", "title": "Storm Jorien floods Dutch towns and halts trains", "url": "https://bbc.example/3",
     "publisher": "BBC", "timestamp": 1768935600000, "lang": "en"},
    # the same URL again (another feed): the same article, hence the same story
    {"id": "d", "title": "Trump and NATO chief Rutte discuss Greenland", "url": "https://bbc.example/2",
     "publisher": "Wire", "timestamp": "2026-01-20T20:00:00Z", "lang": "en"},
    # bad input: no title, unknown language, no time
    {"id": "e", "title": "", "publisher": "X", "lang": "xx"},
    {"id": "f", "title": "Hoi", "text": None},
]


def test_stories_cluster_prints_a_story_per_line(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\nnot json\n\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["stories", "cluster", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    story = {r["id"]: r["story"] for r in rows}
    assert list(story) == ["a", "b", "c", "d", "e", "f"]
    assert story["a"] == story["b"] == story["d"]
    assert story["c"] != story["a"]
    assert story["e"] != story["a"] and story["f"] != story["a"]


def test_topics_add_list_remove(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'topics.sqlite'}"
    env = {"NEWSDESK_DATABASE_URL": url}
    storage = open_storage(url)
    storage.migrate()
    storage.close()
    runner = CliRunner()
    added = runner.invoke(app, ["topics", "add", "Dutch politics", "--keyword", "kabinet", "--keyword", "Kamer",
                                "--query", "coalitie"], env=env)
    assert added.exit_code == 0, added.output
    assert "/topics/dutch-politics" in added.output
    listed = runner.invoke(app, ["topics", "list"], env=env)
    row = json.loads(listed.stdout.strip())
    assert row["slug"] == "dutch-politics" and row["definition"]["keywords"] == ["kabinet", "Kamer"]
    unknown = runner.invoke(app, ["topics", "add", "X", "--entity", "place:atlantis"], env=env)
    assert unknown.exit_code == 1
    assert runner.invoke(app, ["topics", "remove", "dutch-politics"], env=env).exit_code == 0
    assert runner.invoke(app, ["topics", "remove", "dutch-politics"], env=env).exit_code == 1
    assert runner.invoke(app, ["topics", "list"], env=env).stdout.strip() == ""
