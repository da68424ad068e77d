"""The `newsdesk` command as a user runs it, against a local site and a real SQLite file."""

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from newsdesk.cli import app
from newsdesk.settings import settings_markdown

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>De Testkrant</title>
<link>{base}/</link><description>Nieuws</description>
<item><title>Kabinet valt over heffingen</title><link>{base}/a/1.html</link>
<pubDate>Tue, 20 Jan 2026 12:00:00 +0000</pubDate><description>Het kabinet is gevallen.</description></item>
</channel></rss>"""

PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Kabinet valt | Testkrant</title></head>
<body><nav><a href="/">Home</a></nav><article><h1>Kabinet valt over heffingen</h1>
<p>Het kabinet is dinsdagavond gevallen na een urenlang debat over de nieuwe heffingen op import uit de
Verenigde Staten. De premier bood zijn ontslag aan bij de koning, die het in beraad hield.</p>
<p>Volgens ingewijden was de breuk onvermijdelijk nadat de grootste coalitiepartij weigerde in te stemmen
met de compromistekst. Nieuwe verkiezingen worden in het voorjaar verwacht.</p>
<p>De oppositie reageerde verheugd. Een Kamerlid sprak van een bevrijding voor het land, een ander van een
dieptepunt in de parlementaire geschiedenis van de afgelopen tien jaar.</p></article>
<footer>Alle rechten voorbehouden</footer></body></html>"""


@pytest.fixture
def env(tmp_path, site):
    site.add("/", f'<html><head><title>Testkrant</title><link rel="alternate" type="application/rss+xml" '
                  f'href="{site.base}/feed.xml"></head><body>Home</body></html>')
    site.add("/feed.xml", FEED.format(base=site.base), content_type="application/rss+xml")
    site.add("/a/1.html", PAGE)
    return {"NEWSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
            "NEWSDESK_ALLOWED_NETWORKS": "127.0.0.0/8", "COLUMNS": "200"}


def invoke(env, *args):
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_add_fetch_list_export_pause_remove(env, site, tmp_path):
    out = invoke(env, "sources", "add", site.url("/"), "--category", "Nieuws")
    assert "following De Testkrant (feed: " + site.url("/feed.xml") in out
    out = invoke(env, "fetch")
    assert re.search(r"1 feeds polled in [\d.]+ s: 1 new articles, 0 not modified", out)
    assert "no feed errors" in out
    out = invoke(env, "sources", "list")
    assert "De Testkrant" in out and re.search(r"│ 1\s+│ ok", out)
    out = invoke(env, "fetch", "--all")
    assert "0 new articles, 1 not modified" in out
    opml = invoke(env, "sources", "export")
    assert 'text="Nieuws"' in opml and site.url("/feed.xml") in opml
    invoke(env, "sources", "pause", "1")
    assert "paused" in invoke(env, "sources", "list")
    invoke(env, "sources", "resume", site.url("/feed.xml"))
    invoke(env, "sources", "remove", "1")
    assert "De Testkrant" not in invoke(env, "sources", "list")
    (tmp_path / "back.opml").write_text(opml)
    assert "imported 1 sources, 0 followed already" in invoke(env, "sources", "import", str(tmp_path / "back.opml"))
    assert "imported 0 sources, 1 followed already" in invoke(env, "sources", "import", str(tmp_path / "back.opml"))


def test_errors_are_plain_words_and_exit_non_zero(env, site):
    result = CliRunner().invoke(app, ["sources", "add", site.url("/nothing-here")], env=env)
    assert result.exit_code == 1 and "404" in result.output
    env_blocked = {**env, "NEWSDESK_ALLOWED_NETWORKS": ""}
    result = CliRunner().invoke(app, ["sources", "add", site.url("/")], env=env_blocked)
    assert result.exit_code == 1 and "cannot follow" in result.output
    result = CliRunner().invoke(app, ["fetch", "--port", "eighty"], env=env)
    assert result.exit_code == 2 and "NEWSDESK_PORT" in result.output
    invoke(env, "sources", "add", site.url("/feed.xml"))
    site.add("/feed.xml", "down", status=500)
    out = invoke(env, "fetch")
    assert "feed errors (1): http_status: 1" in out
    assert "server answered 500" in invoke(env, "sources", "list")


def test_every_setting_is_an_option_of_every_command(env):
    out = invoke(env, "fetch", "--help")
    for option in ("--database", "--allowed-networks", "--port", "--fetch-timeout"):
        assert option in out
    assert invoke(env, "settings", "--markdown") == settings_markdown()


def test_extract_prints_json_lines(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE)
    out = invoke({}, "extract", str(page))
    assert '"title": "Kabinet valt over heffingen"' in out and "Alle rechten" not in out


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "newsdesk", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "sources" in result.stdout
