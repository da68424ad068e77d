"""Figure 3, the machine-read outputs: the payload corpus (tests/data/hostile/xss.txt) stored by a real
pass, as test_hostile_xss.py stores it, then read back through every Atom feed (home, source, search,
story, topic) and every JSON API (own /api/v1, Miniflux /v1, Google Reader contents).

Atom: parsed back with lxml; only Atom elements, titles/summaries/names are text constructs (a reader
shows them as text), every content of type="html" is harmless once a browser builds it, every link is
http(s), and the markup sanitizing allows (paragraphs, a plain link) survives. APIs: each HTML field is
exactly the sanitized HTML stored, and harmless; the Google Reader text fields, which several of its
clients render as HTML, carry no markup at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hostile_helpers import assert_harmless
from lxml import etree
from test_hostile_web import TestClient
from test_hostile_xss import PAYLOADS, store_hostile_corpus

from newsdesk.services.accounts import Accounts
from newsdesk.settings import load_settings
from newsdesk.storage import ArticleFilter
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
TEXT_CONSTRUCTS = {"title", "subtitle", "summary", "rights", "name"}
PASSWORD = "reader-password-1"


@pytest.fixture
def corpus(site, storage: Storage) -> Iterator[tuple[TestClient, Storage, dict[str, Any]]]:
    source, topic, _ = store_hostile_corpus(site, storage)
    accounts = Accounts(storage, "outputs-secret")
    user = accounts.create_user("reader", PASSWORD)
    _, key = accounts.create_api_key(user.id, "apps")
    app = create_app(storage, load_settings({}, secret_key="outputs-secret", public_url="https://news.example"))
    with TestClient(app, client=("127.0.0.1", 50000), raise_server_exceptions=False) as client:
        yield client, storage, {"source": source, "topic": topic, "key": key}


def _allowed_markup_survives(contents: list[str]) -> None:
    joined = "\n".join(contents)
    assert "<p>" in joined and '<a href="https://ok.example/"' in joined, joined[:500]


def test_atom_feeds_carry_no_dangerous_markup(corpus) -> None:
    client, storage, ids = corpus
    stories = storage.list_stories(limit=500)
    feeds = ["/atom", f"/sources/{ids['source'].id}/atom", "/search/atom?q=samenvatting",
             "/search/atom?q=xss", "/search/atom?q=%3Cscript%3E", f"/topics/{ids['topic'].slug}/atom.xml",
             *(f"/stories/{s.id}/atom.xml" for s in stories)]
    contents: list[str] = []
    entries = 0
    for path in feeds:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.headers["content-type"].startswith("application/atom+xml"), path
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(response.content, parser)
        assert root.tag == f"{ATOM}feed" and root.getroottree().docinfo.doctype == "", path
        for element in root.iter():
            assert isinstance(element.tag, str), (path, element)  # no processing instruction, no comment
            assert element.tag.startswith(ATOM), (path, element.tag)  # no XHTML, no foreign markup
            name = element.tag[len(ATOM):]
            if name in TEXT_CONSTRUCTS:
                assert element.get("type") in (None, "text"), (path, name, element.get("type"))
                assert len(element) == 0, (path, name)
            if name == "content":
                assert element.get("type") == "html" and len(element) == 0, path
                assert_harmless(element.text or "")
                contents.append(element.text or "")
            if name == "link":
                assert element.get("href", "").startswith(("https://", "http://")), (path, element.get("href"))
            if name == "entry":
                entries += 1
    assert entries >= len(PAYLOADS)  # the source feed alone has 30; the search and story feeds the rest
    _allowed_markup_survives(contents)
    print(f"\nXSS Atom: {len(feeds)} feeds, {entries} entries, {len(contents)} html contents; 0 dangerous")


def test_json_apis_serve_the_sanitized_html_and_nothing_else(corpus) -> None:
    client, storage, ids = corpus
    stored = {a.id: storage.get_article(a.id) for a in
              storage.list_articles(ArticleFilter(source_id=ids["source"].id), limit=500)}
    assert len(stored) == len(PAYLOADS)
    # a source title with markup (an operator's paste, or a feed title kept as text)
    storage.update_source(ids["source"].id, title="<img src=x onerror=__xss('source')>Kwaadaardig")
    bearer = {"Authorization": f"Bearer {ids['key']}"}
    own = [client.get(f"/api/v1/articles/{article_id}", headers=bearer).json() for article_id in stored]
    miniflux = client.get("/v1/entries", params={"limit": 1000}, headers={"X-Auth-Token": ids["key"]}).json()
    login = client.post("/accounts/ClientLogin", data={"Email": "reader", "Passwd": PASSWORD})
    auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=", 1)[1].strip()}
    greader = client.get("/reader/api/0/stream/contents/user/-/state/com.google/reading-list",
                         params={"n": 1000}, headers=auth).json()["items"]
    assert len(own) == miniflux["total"] == len(greader) == len(PAYLOADS)
    subscriptions = client.get("/reader/api/0/subscription/list", params={"output": "json"}, headers=auth).json()
    assert [s["title"] for s in subscriptions["subscriptions"]] == ["\uff1cimg src=x onerror=__xss('source')\uff1e"
                                                                    "Kwaadaardig"]
    contents: list[str] = []
    for item in own:
        assert item["html"] == stored[item["id"]].html, item["id"]
        contents.append(item["html"])
    for entry in miniflux["entries"]:
        assert entry["content"] == (stored[entry["id"]].html or stored[entry["id"]].summary or ""), entry["id"]
        assert entry["url"].startswith(("http://", "https://"))
        contents.append(entry["content"])
    for item in greader:
        article = stored[int(item["id"].rsplit("/", 1)[1], 16)]
        assert item["summary"]["content"] == (article.html or article.summary or ""), item["id"]
        contents.append(item["summary"]["content"])
        # Google Reader clients (News+, Reeder, ...) render these as HTML: no markup may be in them
        for text in (item["title"], item["author"], item["origin"]["title"]):
            assert "<" not in text and ">" not in text, (item["id"], text)
        for link in item["canonical"] + item["alternate"] + item.get("enclosure", []):
            assert link.get("href", link.get("url", "")).startswith(("http://", "https://")), link
    for html in contents:
        assert_harmless(html)
    _allowed_markup_survives(contents)
    print(f"\nXSS APIs: {len(contents)} HTML fields over 3 APIs ({len(PAYLOADS)} payloads), all the sanitized HTML")
