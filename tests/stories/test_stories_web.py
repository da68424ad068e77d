"""Stories in the product: assignment through the use case, dedupe, overrides, and the web pages
(story, home toggle, entity, topic, Atom feeds, Previous/Next in a story, split/merge forms)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.etree
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from newsdesk.errors import NotFoundError
from newsdesk.models import NewArticle, NewSource
from newsdesk.services import stories as story_service
from newsdesk.settings import load_settings
from newsdesk.storage import open_storage
from newsdesk.storage.sql import SqlStorage
from newsdesk.stories.records import AssignmentRecord
from newsdesk.web.app import create_app

T0 = datetime(2026, 1, 20, 18, 0, tzinfo=UTC)
BODY_NL = ("De Amerikaanse president Donald Trump heeft dinsdagavond met NAVO-chef Mark Rutte gebeld over "
           "Groenland. Volgens het Witte Huis ging het gesprek over de veiligheid in het Noordpoolgebied en "
           "de wens van Washington om het eiland te kopen. Denemarken reageerde afwijzend op de plannen "
           "en zei dat Groenland niet te koop is. Rutte wilde na afloop niet ingaan op de inhoud.")
BODY_EN = ("US President Donald Trump called NATO secretary general Mark Rutte on Tuesday evening to "
           "discuss Greenland. The White House said the call covered Arctic security and Washington's "
           "wish to buy the island. Denmark rejected the plans and said Greenland is not for sale. "
           "Rutte declined to comment on the content of the call afterwards.")
BODY_STORM = ("Storm Jorien brought floods to Zeeland and Limburg on Thursday, and the Dutch railways halted "
              "all trains across the country for hours while water stood in the streets of several towns. "
              "The KNMI issued a code red warning for the coast and told people to stay at home.")


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqlStorage]:
    story_service.forget_engines()
    opened = open_storage(f"sqlite:///{tmp_path / 'stories.sqlite'}")
    assert isinstance(opened, SqlStorage)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()
        story_service.forget_engines()


def _add(storage: SqlStorage, source_id: int, url: str, title: str, text: str, lang: str, at: datetime) -> int:
    article_id = storage.add_article(NewArticle(
        source_id=source_id, url=url, title=title, fetched_at=at, published_at=at, language=lang,
        text=text, html="".join(f"<p>{p}</p>" for p in text.split(". ")), summary=text[:100]))
    assert article_id is not None
    return article_id


@pytest.fixture
def world(storage: SqlStorage) -> dict[str, int]:
    nos = storage.add_source(NewSource(url="https://nos.example/feed", title="NOS"), T0).id
    bbc = storage.add_source(NewSource(url="https://bbc.example/feed", title="BBC"), T0).id
    wire = storage.add_source(NewSource(url="https://wire.example/feed", title="Wire"), T0).id
    ids = {
        "nl": _add(storage, nos, "https://nos.example/1", "Trump belt met NAVO-chef Rutte over Groenland", BODY_NL,
                   "nl", T0),
        "en": _add(storage, bbc, "https://bbc.example/2?utm_source=x",
                   "Trump and NATO chief Rutte discuss Greenland in late-night call", BODY_EN, "en",
                   T0 + timedelta(hours=1)),
        # the same BBC article again, through another feed with other tracking parameters
        "en_again": _add(storage, wire, "https://www.bbc.example/2?fbclid=abc",
                         "Trump and NATO chief Rutte discuss Greenland", BODY_EN, "en", T0 + timedelta(hours=2)),
        # a syndicated copy with a new headline and a changed last sentence
        "en_copy": _add(storage, wire, "https://wire.example/9", "Trump, Rutte talk Greenland",
                        BODY_EN.replace("afterwards", "after the call ended"), "en", T0 + timedelta(hours=3)),
        "storm": _add(storage, bbc, "https://bbc.example/3", "Storm Jorien floods Dutch towns and halts trains",
                      BODY_STORM, "en", T0 + timedelta(hours=4)),
    }
    for article_id in ids.values():
        story_service.assign_article(storage, article_id)
    return ids


def test_assignment_groups_languages_and_dedupes(storage: SqlStorage, world: dict[str, int]) -> None:
    nl, en = storage.story_of_article(world["nl"]), storage.story_of_article(world["en"])
    assert nl is not None and en is not None
    assert nl.how == "new" and en.story_id == nl.story_id and en.how == "cluster"
    assert "Greenland" in en.shared_entities or "Mark Rutte" in en.shared_entities
    again = storage.story_of_article(world["en_again"])
    assert again is not None and again.how == "duplicate"
    assert (again.duplicate_of, again.duplicate_how) == (world["en"], "url")
    copy = storage.story_of_article(world["en_copy"])
    assert copy is not None and copy.duplicate_of == world["en"] and copy.duplicate_how == "near"
    storm = storage.story_of_article(world["storm"])
    assert storm is not None and storm.story_id != nl.story_id
    # idempotent: assigning again changes nothing
    assert story_service.assign_article(storage, world["en"]).story_id == nl.story_id


def test_a_restarted_process_continues_the_same_stories(storage: SqlStorage, world: dict[str, int]) -> None:
    story_service.forget_engines()  # as after a restart: the clusterer is rebuilt from the window
    src = storage.add_source(NewSource(url="https://nu.example/feed", title="NU"), T0).id
    late = _add(storage, src, "https://nu.example/5", "Telefoongesprek Trump en Rutte over Groenland",
                BODY_NL.replace("dinsdagavond", "gisteravond") + " Het gesprek duurde een uur.", "nl",
                T0 + timedelta(hours=5))
    result = story_service.assign_article(storage, late)
    member = storage.story_of_article(world["nl"])
    assert member is not None and result.story_id == member.story_id


def test_a_target_story_that_is_gone_starts_a_new_one(storage: SqlStorage, world: dict[str, int]) -> None:
    """The clusterer's story maps to a stored story that is not there (storage follows merged_into
    and raises NotFoundError in the write): the article starts a story, as when the clusterer says so."""
    storm_sid = storage.story_of_article(world["storm"]).story_id  # type: ignore[union-attr]
    engine = story_service._engines[storage.url]
    engine.to_db = {k: (987_654 if v == storm_sid else v) for k, v in engine.to_db.items()}
    src = storage.add_source(NewSource(url="https://nu.example/feed", title="NU"), T0).id
    later = _add(storage, src, "https://nu.example/7", "Storm Jorien floods Dutch towns, trains halted",
                 BODY_STORM.replace("Thursday", "Friday"), "en", T0 + timedelta(hours=6))
    refused: list[int | None] = []
    record = storage.record_assignment

    def recording(rec: AssignmentRecord, generation: int) -> tuple[int, int] | None:
        try:
            return record(rec, generation)
        except NotFoundError:
            refused.append(rec.story_id)
            raise

    storage.record_assignment = recording  # type: ignore[method-assign]
    result = story_service.assign_article(storage, later)
    assert refused == [987_654]  # the clusterer did put it into the storm story
    assert (result.how, result.score) == ("new", 0.0)
    assert result.story_id not in (storm_sid, 987_654)
    member = storage.story_of_article(later)
    assert member is not None and (member.story_id, member.how) == (result.story_id, "new")
    assert storage.get_story(result.story_id).size == 1


def test_split_and_merge_are_kept(storage: SqlStorage, world: dict[str, int]) -> None:
    sid = storage.story_of_article(world["nl"]).story_id  # type: ignore[union-attr]
    new_id = story_service.split_article(storage, world["en"])
    assert new_id != sid
    moved = storage.story_of_article(world["en_again"])
    assert moved is not None and moved.story_id == new_id  # duplicates follow their article
    assert storage.get_story(new_id).locked
    storm_sid = storage.story_of_article(world["storm"]).story_id  # type: ignore[union-attr]
    story_service.merge_stories(storage, storm_sid, sid)
    assert storage.story_of_article(world["storm"]).story_id == sid  # type: ignore[union-attr]
    assert storage.get_story(storm_sid).merged_into == sid
    # a new similar article does not undo the split: the generation moved, the clusterer rebuilt
    src = storage.add_source(NewSource(url="https://nu.example/feed", title="NU"), T0).id
    later = _add(storage, src, "https://nu.example/6", "Storm Jorien: trains halted, floods in Zeeland",
                 BODY_STORM.replace("Thursday", "Friday"), "en", T0 + timedelta(hours=6))
    story_service.assign_article(storage, later)
    assert storage.story_of_article(world["en"]).story_id == new_id  # type: ignore[union-attr]
    assert [k for k, *_ in storage.story_overrides()] == ["split", "merge"]


@pytest.fixture
def client(storage: SqlStorage, world: dict[str, int]) -> Iterator[TestClient]:
    settings = load_settings({}, secret_key="test-secret", language="en", admin_password="pw")
    with TestClient(create_app(storage, settings)) as c:
        yield c


def test_story_page_lists_outlets_first_timeline_and_why(client: TestClient, storage: SqlStorage,
                                                         world: dict[str, int]) -> None:
    sid = storage.story_of_article(world["nl"]).story_id  # type: ignore[union-attr]
    page = client.get(f"/stories/{sid}")
    assert page.status_code == 200
    html = page.text
    assert "Trump belt met NAVO-chef Rutte over Groenland" in html
    assert "Trump and NATO chief Rutte discuss Greenland in late-night call" in html
    assert re.search(r"Reported first: <strong>NOS</strong>", html)
    assert "data-timeline" in html and "+1h 0m" in html
    assert "Also published by" in html and "Wire</a> (url)" in html and "(near)" in html
    assert "shares" in html and "Split out" not in html  # no admin forms for readers
    assert "/entities/" in html
    assert f"from=story%3A{sid}" in html


def test_previous_next_walk_the_story(client: TestClient, storage: SqlStorage, world: dict[str, int]) -> None:
    sid = storage.story_of_article(world["nl"]).story_id  # type: ignore[union-attr]
    page = client.get(f"/articles/{world['nl']}", params={"from": f"story:{sid}"})
    assert page.status_code == 200
    assert re.search(rf'rel="next" href="/articles/{world["en"]}\?from=story%3A{sid}"', page.text)
    assert re.search(rf'rel="prev" href="/stories/{sid}"', page.text)


def test_home_toggle_is_remembered(client: TestClient) -> None:
    page = client.get("/", params={"view": "stories"})
    assert page.status_code == 200 and "data-story=" in page.text
    assert client.cookies.get("newsdesk_view") == "stories"
    again = client.get("/")
    assert "data-story=" in again.text
    back = client.get("/", params={"view": "articles"})
    assert back.status_code == 200 and "data-story=" not in back.text


def test_entity_page(client: TestClient, storage: SqlStorage) -> None:
    greenland = storage.find_entity("place:greenland")
    assert greenland is not None
    page = client.get(f"/entities/{greenland.id}")
    assert page.status_code == 200
    assert "Trump belt met NAVO-chef Rutte over Groenland" in page.text
    assert client.get("/entities/999999").status_code == 404


def _atom(text: str) -> lxml.etree._Element:
    root = lxml.etree.fromstring(text.encode())
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    for required in ("a:id", "a:title", "a:updated"):
        assert root.find(required, ns) is not None
    for entry in root.findall("a:entry", ns):
        for required in ("a:id", "a:title", "a:updated", "a:link", "a:content"):
            assert entry.find(required, ns) is not None
    return root


def test_topic_page_and_atom_feeds(client: TestClient, storage: SqlStorage, world: dict[str, int]) -> None:
    topic = story_service.add_topic(storage, "Greenland crisis", entities=("place:greenland",),
                                    keywords=("Jorien",))
    assert topic.slug == "greenland-crisis"
    page = client.get("/topics/greenland-crisis")
    assert page.status_code == 200
    assert "Trump belt met NAVO-chef Rutte over Groenland" in page.text and "Storm Jorien" in page.text
    feed = client.get("/topics/greenland-crisis/atom.xml")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    root = _atom(feed.text)
    contents = root.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert any("<p>" in (c.text or "") for c in contents)  # full (sanitized) HTML, escaped
    sid = storage.story_of_article(world["nl"]).story_id  # type: ignore[union-attr]
    story_feed = client.get(f"/stories/{sid}/atom.xml")
    assert len(_atom(story_feed.text).findall("{http://www.w3.org/2005/Atom}entry")) == 2
    assert client.get("/topics/nope").status_code == 404
    nav = client.get(f"/articles/{world['storm']}", params={"from": "topic:greenland-crisis"})
    assert 'href="/topics/greenland-crisis"' in nav.text or "from=topic%3Agreenland-crisis" in nav.text


def test_admin_split_and_merge_forms(client: TestClient, storage: SqlStorage, world: dict[str, int]) -> None:
    sid = storage.story_of_article(world["nl"]).story_id  # type: ignore[union-attr]
    auth = ("admin", "pw")
    # without a token: refused
    refused = client.post(f"/stories/{sid}/split", data={"article_id": str(world["en"])}, auth=auth)
    assert refused.status_code == 403
    page = client.get(f"/stories/{sid}", auth=auth)
    assert "Split out" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text) or re.search(
        r'type="hidden" name="[^"]+" value="([^"]+)"', page.text)
    assert token is not None
    field = re.search(r'type="hidden" name="([^"]+)" value="' + re.escape(token.group(1)), page.text)
    assert field is not None
    done = client.post(f"/stories/{sid}/split", data={field.group(1): token.group(1), "article_id": str(world["en"])},
                       auth=auth, follow_redirects=False)
    assert done.status_code == 303
    new_id = int(done.headers["location"].rsplit("/", 1)[1])
    assert storage.story_of_article(world["en"]).story_id == new_id  # type: ignore[union-attr]
    merged = client.post(f"/stories/{new_id}/merge", data={field.group(1): token.group(1), "into": str(sid)},
                         auth=auth, follow_redirects=False)
    assert merged.status_code == 303
    assert storage.story_of_article(world["en"]).story_id == sid  # type: ignore[union-attr]
    # readers cannot post
    assert client.post(f"/stories/{sid}/split", data={"article_id": "1"}).status_code in (401, 403)


def test_prepared_articles_assign_as_unprepared_ones(tmp_path: Path, world: dict[str, int],
                                                     storage: SqlStorage) -> None:
    """prepare_article (the article-only part, run outside the lock, here in threads at once) gives
    the same stories, duplicates and scores as assign_article computing it itself."""
    from concurrent.futures import ThreadPoolExecutor

    other = open_storage(f"sqlite:///{tmp_path / 'prepared.sqlite'}")
    assert isinstance(other, SqlStorage)
    other.migrate()
    try:
        ids = {}
        for key, article_id in world.items():
            a = storage.get_article(article_id)
            src = other.add_source(NewSource(url=f"https://{key}.example/feed", title=key), T0).id
            ids[key] = _add(other, src, a.url, a.title or "", a.text or "", a.language or "", a.fetched_at)
        with ThreadPoolExecutor(3) as pool:
            prepared = list(pool.map(lambda i: story_service.prepare_article(other.get_article(i)), ids.values()))
        # one prepared for another article is not used for this one
        assert story_service.assign_article(other, ids["nl"], prepared=prepared[1]).how == "new"
        for article_id, p in zip(ids.values(), prepared, strict=True):
            story_service.assign_article(other, article_id, prepared=p)

        def shape(s: SqlStorage, by_key: dict[str, int]) -> list[tuple[str, str, float, str | None, str | None]]:
            first = {}
            out = []
            for key, article_id in by_key.items():
                m = s.story_of_article(article_id)
                assert m is not None
                first.setdefault(m.story_id, key)
                dup = next((k for k, v in by_key.items() if v == m.duplicate_of), None)
                out.append((first[m.story_id], m.how, m.score, dup, m.duplicate_how))
            return out

        assert shape(other, ids) == shape(storage, world)
    finally:
        other.close()
