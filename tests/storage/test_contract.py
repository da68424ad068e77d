"""The Storage contract (storage/base.py), run against every backend through the `storage` fixture."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from newsdesk.errors import NotFoundError, SourceExistsError, StorageError
from newsdesk.models import (
    Article,
    ArticleCursor,
    ArticleStatus,
    FetchState,
    NewArticle,
    NewSource,
    SourceKind,
)
from newsdesk.storage import ArticleFilter, open_storage
from newsdesk.storage import postgres as postgres_module
from newsdesk.storage import sql as sql_module
from newsdesk.storage.schema import metadata
from newsdesk.storage.sql import MAX_URL_LENGTH, PUBLISHED_SLACK, SqlStorage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))


def add_source(
    storage: SqlStorage, url: str = "https://nos.nl/feed", title: str = "NOS", **kw: object
) -> int:
    return storage.add_source(NewSource(url, title=title, **kw), T0).id  # type: ignore[arg-type]


def add(storage: SqlStorage, source_id: int, n: int | str, **kw: object) -> int:
    fields: dict[str, object] = {"title": f"article {n}", "fetched_at": T0}
    fields.update(kw)
    article_id = storage.add_article(NewArticle(source_id, f"https://nos.nl/a/{n}", **fields))  # type: ignore[arg-type]
    assert article_id is not None
    return article_id


# -- migrations ---------------------------------------------------------------------------------


def _migration_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from newsdesk.storage import sql

    config = Config()
    config.set_main_option("script_location", str(sql._MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_migrate_from_an_empty_database(storage_url: str) -> None:
    storage = SqlStorage(storage_url)
    try:
        storage.migrate()
        storage.migrate()  # a second run is a no-op
        engine = sa.create_engine(storage_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            names = set(sa.inspect(engine).get_table_names())
            with engine.connect() as conn:
                versions = set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        finally:
            engine.dispose()
        assert {"sources", "articles", "pages", "alembic_version"} <= names
        # every branch off 0001 (one per feature) is at its head; a head that another branch
        # depends on (depends_on) is recorded through its dependent, not in a row of its own
        scripts = ScriptDirectory(str(Path(sql_module.__file__).with_name("migrations")))
        applied = {script.revision for script in scripts.iterate_revisions(list(versions), "base")}
        assert versions <= set(scripts.get_heads()) and set(scripts.get_heads()) <= applied
        assert storage.count_articles() == 0
        assert storage.list_sources() == []
    finally:
        storage.close()


def test_concurrent_migrations_of_one_database(storage_url: str) -> None:
    """Two processes' worth of storages starting at once: one migrates, the other finds it done."""
    opened = [SqlStorage(storage_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(storage: SqlStorage) -> None:
        try:
            storage.migrate()
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        add_source(opened[0])
        assert len(opened[1].list_sources()) == 1
    finally:
        for storage in opened:
            storage.close()


def test_migrated_schema_matches_schema_module(storage: SqlStorage, storage_url: str) -> None:
    """schema.py (what the code queries) and the migrations (what the database holds) agree."""

    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        # The search structures are dialect-only and live in the migration alone.
        if type_ == "table":
            return name in metadata.tables
        return not (type_ == "column" and name == "search") and name not in (
            "ix_articles_search", "ix_articles_search_bucket", "ix_articles_search_band")

    engine = sa.create_engine(storage_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": ours, "compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_open_storage_migrates(storage_url: str) -> None:
    storage = open_storage(storage_url)
    try:
        assert storage.url == storage_url
        assert storage.count_articles() == 0
    finally:
        storage.close()


def test_unsupported_url_is_a_storage_error() -> None:
    with pytest.raises(StorageError):
        SqlStorage("mysql://localhost/news")
    with pytest.raises(StorageError):
        SqlStorage("not a url")


# -- sources ------------------------------------------------------------------------------------


def test_source_round_trip_with_fetch_state(storage: SqlStorage) -> None:
    source = storage.add_source(
        NewSource("https://nos.nl/feed", SourceKind.SITEMAP, "NOS", "https://nos.nl", "nieuws"), T0
    )
    assert (source.url, source.kind, source.title, source.site_url, source.category) == (
        "https://nos.nl/feed", SourceKind.SITEMAP, "NOS", "https://nos.nl", "nieuws",
    )
    assert source.paused is False
    assert source.created_at == T0
    # due at once
    assert source.state.next_fetch_at is not None and source.state.next_fetch_at <= T0
    assert storage.get_source(source.id) == source
    assert storage.find_source("https://nos.nl/feed") == source
    assert storage.find_source("https://nos.nl/other") is None

    state = FetchState(
        etag='W/"abc"',
        last_modified="Sun, 01 Mar 2026 11:00:00 GMT",
        last_fetched_at=T0,
        last_success_at=T0 - timedelta(hours=1),
        next_fetch_at=T0 + timedelta(minutes=30),
        error_count=3,
        last_error="the server answered 503 Service Unavailable",
        last_error_kind="http_status",
        interval_seconds=1800,
    )
    storage.update_fetch_state(source.id, state)
    assert storage.get_source(source.id).state == state
    storage.update_fetch_state(source.id, FetchState())
    assert storage.get_source(source.id).state == FetchState()


def test_update_fetch_state_fills_in_title_and_site_url(storage: SqlStorage) -> None:
    untitled = storage.add_source(NewSource("https://a.example/feed"), T0).id
    titled = add_source(storage, "https://b.example/feed", title="Mine", site_url="https://b.example")
    for source_id in (untitled, titled):
        storage.update_fetch_state(source_id, FetchState(), title="Feed Title", site_url="https://feed.example")
    assert (storage.get_source(untitled).title, storage.get_source(untitled).site_url) == (
        "Feed Title", "https://feed.example",
    )
    # what the user gave stays
    assert (storage.get_source(titled).title, storage.get_source(titled).site_url) == ("Mine", "https://b.example")


def test_duplicate_source_url_raises_and_storage_stays_usable(storage: SqlStorage) -> None:
    add_source(storage)
    with pytest.raises(SourceExistsError):
        storage.add_source(NewSource("https://nos.nl/feed", title="again"), T0)
    add_source(storage, "https://nu.nl/rss")
    assert len(storage.list_sources()) == 2


def test_missing_ids_raise_not_found(storage: SqlStorage) -> None:
    with pytest.raises(NotFoundError):
        storage.get_source(999)
    with pytest.raises(NotFoundError):
        storage.update_fetch_state(999, FetchState())
    with pytest.raises(NotFoundError):
        storage.set_source_paused(999, True)
    with pytest.raises(NotFoundError):
        storage.update_source(999, title="x")
    with pytest.raises(NotFoundError):
        storage.update_source(999)
    with pytest.raises(NotFoundError):
        storage.delete_source(999)
    with pytest.raises(NotFoundError):
        storage.get_article(999)


def test_due_sources_most_overdue_first_without_paused(storage: SqlStorage) -> None:
    now = T0 + timedelta(hours=1)
    ids = {name: add_source(storage, f"https://{name}.example/feed", name) for name in "abcde"}
    storage.update_fetch_state(ids["a"], FetchState(next_fetch_at=now - timedelta(minutes=5)))
    storage.update_fetch_state(ids["b"], FetchState(next_fetch_at=now - timedelta(minutes=50)))
    storage.update_fetch_state(ids["c"], FetchState(next_fetch_at=now))  # due: not after now
    storage.update_fetch_state(ids["d"], FetchState(next_fetch_at=now + timedelta(seconds=1)))
    storage.update_fetch_state(ids["e"], FetchState(next_fetch_at=None))  # never scheduled
    assert [s.title for s in storage.due_sources(now)] == ["e", "b", "a", "c"]
    assert [s.title for s in storage.due_sources(now, limit=2)] == ["e", "b"]

    storage.set_source_paused(ids["b"], True)
    assert storage.get_source(ids["b"]).paused is True
    assert [s.title for s in storage.due_sources(now)] == ["e", "a", "c"]
    storage.set_source_paused(ids["b"], False)
    assert "b" in [s.title for s in storage.due_sources(now)]


def test_update_source(storage: SqlStorage) -> None:
    source_id = add_source(storage, category="nieuws")
    storage.update_source(source_id, title="NOS Nieuws")
    source = storage.get_source(source_id)
    assert (source.title, source.category) == ("NOS Nieuws", "nieuws")
    storage.update_source(source_id, category="sport")
    source = storage.get_source(source_id)
    assert (source.title, source.category) == ("NOS Nieuws", "sport")
    storage.update_source(source_id, category="")
    assert storage.get_source(source_id).category is None


def test_list_sources_by_title_with_counts(storage: SqlStorage) -> None:
    nos = add_source(storage, "https://nos.nl/feed", "nos")
    nrc = add_source(storage, "https://nrc.nl/feed", "NRC")
    add_source(storage, "https://ad.nl/feed", "AD")
    for n in range(3):
        add(storage, nos, n)
    add(storage, nrc, "x")
    listed = storage.list_sources()
    assert [s.title for s in listed] == ["AD", "nos", "NRC"]
    assert [s.article_count for s in listed] == [0, 3, 1]


def test_delete_source_cascades_to_articles_pages_and_search(storage: SqlStorage) -> None:
    gone = add_source(storage, "https://gone.example/feed")
    kept = add_source(storage, "https://kept.example/feed")
    doomed = add(storage, gone, "g", text="zeppelin boven de stad", raw_html=b"<p>zeppelin</p>")
    add(storage, kept, "k", text="zeppelin landt")
    assert storage.count_search("zeppelin") == 2

    storage.delete_source(gone)

    with pytest.raises(NotFoundError):
        storage.get_source(gone)
    with pytest.raises(NotFoundError):
        storage.get_article(doomed)
    assert storage.get_raw_html(doomed) is None
    assert [a.url for a in storage.search_articles("zeppelin")] == ["https://nos.nl/a/k"]
    assert storage.count_search("zeppelin") == 1
    assert storage.count_articles() == 1
    assert storage.unknown_urls(["https://nos.nl/a/g"]) == {"https://nos.nl/a/g"}


# -- articles -----------------------------------------------------------------------------------


def test_article_round_trip(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    new = NewArticle(
        source_id=source_id,
        url="https://nos.nl/artikel/1",
        title="Kabinet valt",
        fetched_at=T0,
        status=ArticleStatus.OK,
        guid="nos-1",
        canonical_url="https://nos.nl/artikel/1-kabinet-valt",
        published_at=T0 - timedelta(hours=2),
        author="Jan Jansen",
        language="nl",
        image_url="https://nos.nl/img.jpg",
        image_caption="Het Binnenhof",
        summary="Het kabinet is gevallen.",
        html="<p>Het kabinet is gevallen.</p>",
        text="Het kabinet is gevallen.",
    )
    article_id = storage.add_article(new)
    assert article_id is not None
    assert storage.get_article(article_id) == Article(
        id=article_id, source_id=source_id, source_title="NOS", url=new.url, title=new.title,
        fetched_at=T0, sort_at=T0 - timedelta(hours=2), status=ArticleStatus.OK, guid="nos-1",
        canonical_url=new.canonical_url, published_at=new.published_at, author="Jan Jansen",
        language="nl", image_url=new.image_url, image_caption="Het Binnenhof", summary=new.summary,
        html=new.html, text=new.text, error=None,
    )
    failed = storage.add_article(
        NewArticle(source_id, "https://nos.nl/artikel/2", "Feed title", T0,
                   status=ArticleStatus.FETCH_FAILED, error="the server answered 404 Not Found")
    )
    assert failed is not None
    got = storage.get_article(failed)
    assert (got.status, got.error, got.html, got.text) == (
        ArticleStatus.FETCH_FAILED, "the server answered 404 Not Found", "", "",
    )


def test_source_title_falls_back_to_site_url_then_url(storage: SqlStorage) -> None:
    bare = storage.add_source(NewSource("https://bare.example/feed"), T0).id
    article_id = add(storage, bare, 1)
    assert storage.get_article(article_id).source_title == "https://bare.example/feed"
    assert storage.list_articles()[0].source_title == "https://bare.example/feed"


def test_add_article_is_idempotent_on_url(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    first = add(storage, source_id, 1)
    assert storage.add_article(NewArticle(source_id, "https://nos.nl/a/1", "other title", T0)) is None
    assert storage.get_article(first).title == "article 1"
    assert storage.count_articles() == 1


def test_add_articles_stores_a_batch_in_order_and_skips_known_urls(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    known = add(storage, source_id, 1)
    batch = [NewArticle(source_id, f"https://nos.nl/a/{n}", f"heffing {n}", T0 + timedelta(minutes=n), language="nl")
             for n in (2, 1, 3, 2)]
    ids = storage.add_articles(batch)
    assert ids[1] is None and ids[3] is None  # stored before, and earlier in the same batch
    assert ids[0] is not None and ids[2] is not None and ids[0] != ids[2] != known
    assert storage.count_articles() == 3
    assert {a.id for a in storage.search_articles("heffingen")} == {ids[0], ids[2]}
    assert storage.add_articles([]) == []


def test_add_article_race_on_one_url_stores_it_once(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    results: list[int | None] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def race() -> None:
        try:
            barrier.wait()
            results.append(storage.add_article(NewArticle(source_id, "https://nos.nl/race", "race", T0)))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len([r for r in results if r is not None]) == 1
    assert results.count(None) == 5
    assert storage.count_articles() == 1


def test_unknown_urls_checks_url_and_canonical_url(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    add(storage, source_id, 1, canonical_url="https://nos.nl/canonical/1")
    add(storage, source_id, 2)
    asked = ["https://nos.nl/a/1", "https://nos.nl/canonical/1", "https://nos.nl/a/2", "https://nos.nl/a/3"]
    assert storage.unknown_urls(asked) == {"https://nos.nl/a/3"}
    assert storage.unknown_urls(iter(asked)) == {"https://nos.nl/a/3"}
    assert storage.unknown_urls([]) == set()
    many = [f"https://nos.nl/new/{i}" for i in range(1200)] + ["https://nos.nl/a/2"]
    assert storage.unknown_urls(many) == set(many) - {"https://nos.nl/a/2"}


def test_sort_at_is_published_unless_missing_or_in_the_future(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    past = storage.get_article(add(storage, source_id, 1, published_at=T0 - timedelta(days=2)))
    slack = storage.get_article(add(storage, source_id, 2, published_at=T0 + PUBLISHED_SLACK))
    future = storage.get_article(add(storage, source_id, 3, published_at=T0 + timedelta(hours=3)))
    missing = storage.get_article(add(storage, source_id, 4))
    assert past.sort_at == T0 - timedelta(days=2)
    assert slack.sort_at == T0 + PUBLISHED_SLACK
    assert future.sort_at == T0 and future.published_at == T0 + timedelta(hours=3)
    assert missing.sort_at == T0


def test_aware_utc_datetimes_round_trip(storage: SqlStorage) -> None:
    source = storage.add_source(NewSource("https://nos.nl/feed"), T0.astimezone(CET))
    assert source.created_at == T0 and source.created_at.tzinfo == UTC
    published = datetime(2026, 2, 28, 23, 30, 15, 123456, tzinfo=CET)
    article_id = add(storage, source.id, 1, published_at=published, fetched_at=T0.astimezone(CET))
    article = storage.get_article(article_id)
    for value in (article.published_at, article.fetched_at, article.sort_at):
        assert value is not None and value.tzinfo == UTC
    assert article.published_at == published
    assert article.published_at is not None and article.published_at.microsecond == 123456
    stored = storage.get_source(source.id)
    assert stored.state.next_fetch_at is not None and stored.state.next_fetch_at.tzinfo == UTC


def test_naive_datetimes_are_refused(storage: SqlStorage) -> None:
    with pytest.raises(StorageError, match="naive"):
        storage.add_source(NewSource("https://nos.nl/feed"), datetime(2026, 3, 1, 12, 0))
    assert storage.list_sources() == []


def test_raw_html_round_trip(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    raw = ("<html><body>" + "<p>Één zin met café.</p>" * 5000 + "</body></html>").encode()
    with_page = add(storage, source_id, 1, raw_html=raw)
    without = add(storage, source_id, 2)
    assert storage.get_raw_html(with_page) == raw
    assert storage.get_raw_html(without) is None
    assert storage.get_raw_html(12345) is None


def test_count_articles(storage: SqlStorage) -> None:
    a = add_source(storage, "https://a.example/feed")
    b = add_source(storage, "https://b.example/feed")
    for n in range(4):
        add(storage, a, f"a{n}")
    add(storage, b, "b0")
    assert storage.count_articles() == 5
    assert storage.count_articles(ArticleFilter(source_id=a)) == 4
    assert storage.count_articles(ArticleFilter(source_id=b)) == 1
    assert storage.count_articles(ArticleFilter(source_id=999)) == 0


def _with_ties(storage: SqlStorage) -> tuple[int, int]:
    """Two sources, 23 articles, many sharing one sort_at, inserted out of time order."""
    a = add_source(storage, "https://a.example/feed")
    b = add_source(storage, "https://b.example/feed")
    for n in range(23):
        # 0..22 → only 5 distinct times, so pages split inside runs of equal sort_at
        published = T0 - timedelta(hours=(n * 7) % 5)
        add(storage, a if n % 3 else b, n, published_at=published)
    return a, b


@pytest.mark.parametrize("page_size", [1, 4, 5, 50])
@pytest.mark.parametrize("by_source", [False, True])
def test_keyset_paging_covers_everything_once(storage: SqlStorage, page_size: int, by_source: bool) -> None:
    a, _ = _with_ties(storage)
    filter = ArticleFilter(source_id=a) if by_source else ArticleFilter()
    everything = storage.list_articles(filter, limit=100)
    assert len(everything) == storage.count_articles(filter)
    keys = [ArticleCursor.of(item) for item in everything]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == len(keys)
    assert all(item.source_id == a for item in everything) or not by_source

    # forward with before=last of page
    pages = [storage.list_articles(filter, limit=page_size)]
    while len(pages[-1]) == page_size:
        pages.append(storage.list_articles(filter, before=ArticleCursor.of(pages[-1][-1]), limit=page_size))
    assert [item for page in pages for item in page] == everything

    # back with after=first of page: the same pages, each newest first
    back = [pages[-1]] if pages[-1] else [pages[-2]]
    start = len(pages) - (1 if pages[-1] else 2)
    for expected in reversed(pages[:start]):
        page = storage.list_articles(filter, after=ArticleCursor.of(back[-1][0]), limit=page_size)
        assert page == expected
        back.append(page)
    assert storage.list_articles(filter, after=ArticleCursor.of(everything[0]), limit=page_size) == []


def test_after_returns_the_nearest_newer_items_newest_first(storage: SqlStorage) -> None:
    _with_ties(storage)
    everything = storage.list_articles(limit=100)
    x = ArticleCursor.of(everything[10])
    assert storage.list_articles(after=x, limit=1) == [everything[9]]
    assert storage.list_articles(after=x, limit=3) == everything[7:10]
    assert storage.list_articles(before=x, limit=3) == everything[11:14]
    assert storage.list_articles(after=x, limit=100) == everything[:10]
    with pytest.raises(ValueError):
        storage.list_articles(before=x, after=x)
    assert storage.list_articles(limit=0) == []


# -- search -------------------------------------------------------------------------------------


def _search_fixture(storage: SqlStorage) -> dict[str, int]:
    nl = add_source(storage, "https://nos.nl/feed", "NOS")
    en = add_source(storage, "https://bbc.co.uk/feed", "BBC")
    return {
        "heffing": add(storage, nl, "heffing", title="Kabinet", language="nl",
                       text="De nieuwe heffing op plastic gaat in januari in."),
        "tariff": add(storage, en, "tariff", title="Trade", language="en",
                      text="The tariff on steel rises again next year."),
        "both": add(storage, en, "both", title="Steel and plastic", language="en",
                    text="Steel makers fear the plastic tax."),
    }


def urls(items: list) -> list[str]:  # type: ignore[type-arg]
    return [item.url.rsplit("/", 1)[-1] for item in items]


def test_search_dutch_stemming(storage: SqlStorage) -> None:
    _search_fixture(storage)
    assert urls(storage.search_articles("heffingen")) == ["heffing"]
    assert urls(storage.search_articles("heffing")) == ["heffing"]
    assert urls(storage.search_articles("HEFFINGEN")) == ["heffing"]


def test_search_english_stemming(storage: SqlStorage) -> None:
    _search_fixture(storage)
    assert urls(storage.search_articles("tariffs")) == ["tariff"]
    assert urls(storage.search_articles("rising tariffs")) == ["tariff"]


def test_search_every_word_must_match(storage: SqlStorage) -> None:
    _search_fixture(storage)
    assert set(urls(storage.search_articles("steel"))) == {"tariff", "both"}
    assert urls(storage.search_articles("steel plastic")) == ["both"]
    assert storage.search_articles("steel zeppelin") == []
    assert storage.count_search("steel") == 2
    assert storage.count_search("steel plastic") == 1


def test_search_ranks_title_above_body_then_newest(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    in_body = add(storage, source_id, "body", title="Weather report", language="en",
                  text="Rain all week. A storm is coming in the north, forecasters say.",
                  published_at=T0 - timedelta(hours=1))
    in_title = add(storage, source_id, "title", title="Storm in the north", language="en",
                   text="Rain all week, forecasters say, and wind.", published_at=T0 - timedelta(hours=5))
    assert [a.id for a in storage.search_articles("storm")] == [in_title, in_body]

    # equal matches: newest first
    twin = {"title": "Hail", "text": "hail"}
    older = add(storage, source_id, "twin-old", **twin, published_at=T0 - timedelta(days=2))
    newer = add(storage, source_id, "twin-new", **twin, published_at=T0 - timedelta(days=1))
    assert [a.id for a in storage.search_articles("hail")] == [newer, older]


def test_search_limit_and_offset(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    ids = [add(storage, source_id, n, title="Hail", text="hail", published_at=T0 - timedelta(hours=n))
           for n in range(7)]
    assert [a.id for a in storage.search_articles("hail", limit=3)] == ids[:3]
    assert [a.id for a in storage.search_articles("hail", limit=3, offset=3)] == ids[3:6]
    assert [a.id for a in storage.search_articles("hail", limit=3, offset=6)] == ids[6:]
    assert storage.count_search("hail") == 7


def test_search_ranks_only_the_newest_candidates_and_bounds_the_count(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_module, "SEARCH_CANDIDATES", 3)
    monkeypatch.setattr(sql_module, "SEARCH_COUNT_LIMIT", 4)
    source_id = add_source(storage)
    # stored first: the best match of all, but older than the three newest matches
    add(storage, source_id, "old", title="Hail", text="hail hail hail", published_at=T0 - timedelta(days=9))
    ids = [add(storage, source_id, n, title="Weather", text="Some hail.", published_at=T0 - timedelta(hours=n))
           for n in range(4)]
    best = add(storage, source_id, "best", title="Hail", text="hail", published_at=T0 - timedelta(days=3))
    # among the newest three stored (ids[2], ids[3], best): best match first, then newest first
    assert [a.id for a in storage.search_articles("hail")] == [best, ids[2], ids[3]]
    assert [a.id for a in storage.search_articles("hail", limit=2, offset=1)] == [ids[2], ids[3]]
    assert storage.count_search("hail") == 5  # six matches: "more than 4"
    assert storage.count_search("weather") == 4  # exactly four
    monkeypatch.setattr(sql_module, "SEARCH_COUNT_LIMIT", 10)
    assert storage.count_search("hail") == 6


@pytest.mark.parametrize("matching", [
    (0, 3, 5, 10, 11),  # sparse near the newest ids, denser below
    (0, 6, 9, 10),
    (0, 1, 9, 10, 11),  # the newest 3 in the first bands
    (9, 10, 11),  # the newest matches the oldest articles: the walk goes down to the bottom band
    (1, 2),  # fewer matches than candidates
])
@pytest.mark.parametrize("bucket_bits", [0, 1, 2])
def test_search_candidates_are_the_newest_matches_whichever_band_holds_them(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, matching: tuple[int, ...], bucket_bits: int) -> None:
    # PostgreSQL walks down the id bands (2 ** SEARCH_BUCKET_BITS ids each: 1, 2 or 4 here), newest
    # first, until it has SEARCH_CANDIDATES matches; wherever the band edges fall, the candidates
    # are exactly the newest SEARCH_CANDIDATES matches.
    monkeypatch.setattr(sql_module, "SEARCH_CANDIDATES", 3)
    monkeypatch.setattr(postgres_module, "SEARCH_BUCKET_BITS", bucket_bits)
    source_id = add_source(storage)
    ids = [add(storage, source_id, n, title="Weather", text="hail" if n in matching else "rain",
               published_at=T0 - timedelta(hours=n)) for n in range(12)]
    newest = sorted((ids[n] for n in matching), reverse=True)[:3]
    # equal matches: the newest published first, i.e. the lowest n
    assert [a.id for a in storage.search_articles("hail")] == sorted(newest)
    assert storage.count_search("hail") == len(matching)


@pytest.mark.parametrize("matching", [
    (0, 3, 5, 10, 11), (0, 6, 9, 10), (0, 1, 9, 10, 11), (1, 2), (), tuple(range(12))])
def test_search_and_count_is_search_articles_and_count_search(
        storage: SqlStorage, monkeypatch: pytest.MonkeyPatch, matching: tuple[int, ...]) -> None:
    # what a search page shows: on PostgreSQL one statement finds the matches once for both
    monkeypatch.setattr(sql_module, "SEARCH_CANDIDATES", 3)
    monkeypatch.setattr(postgres_module, "SEARCH_BUCKET_BITS", 1)  # bands of two ids
    source_id = add_source(storage)
    for n in range(12):
        add(storage, source_id, n, title="Weather", text="hail" if n in matching else "rain",
            published_at=T0 - timedelta(hours=n))
    for count_limit in (2, 3, 4, 5, 20):
        monkeypatch.setattr(sql_module, "SEARCH_COUNT_LIMIT", count_limit)
        for query in ("hail", "weather", "rain hail", "zeppelin", "!!!"):
            for limit, offset in ((30, 0), (2, 0), (2, 1), (1, 2), (2, 3), (5, 40), (0, 0)):
                items, count = storage.search_and_count(query, limit=limit, offset=offset)
                assert [a.id for a in items] == [a.id for a in storage.search_articles(
                    query, limit=limit, offset=offset)], (query, limit, offset, count_limit)
                assert count == storage.count_search(query), (query, limit, offset, count_limit)


@pytest.mark.parametrize(("words", "alternatives"), [
    (["kabinet"], {"'kabinet'"}),  # every configuration stems it alike: one alternative, not 16
    (["heffingen"], {"'heffing'", "'heffingen'"}),  # Dutch (and Norwegian) stem it; the rest keep the word
    (["rain", "hail"], {"'rain' & 'hail'"}),
    (["the"], {"'the'"}),  # a stop word in English (no alternative from it, not an empty one)
])
def test_postgres_search_query_holds_each_alternative_once(
        storage: SqlStorage, words: list[str], alternatives: set[str]) -> None:
    # GIN looks up every operand of a tsquery as an entry of its own, so a repeated alternative is
    # read again in every GIN scan of the band walk
    if storage._backend.name != "postgresql":
        pytest.skip("PostgreSQL's tsquery")
    query = postgres_module._query_cte(words)
    with storage._backend.engine.connect() as conn:
        text = conn.execute(sa.select(sa.cast(query.c.q, sa.Text))).scalar_one()
    found = [part.strip().strip("()") for part in text.split(" | ")] if text else []
    assert len(found) == len(set(found))
    assert "" not in found
    assert set(found) >= alternatives


def test_search_finds_summary_of_failed_fetches(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    add(storage, source_id, 1, title="Feed title", summary="Overstromingen in Limburg", language="nl",
        status=ArticleStatus.FETCH_FAILED)
    assert urls(storage.search_articles("overstroming")) == ["1"]


HOSTILE = [
    '"', '""', '"unbalanced', "steel\"", "NEAR(steel plastic)", "steel NEAR plastic", "steel*", "*",
    "title:steel", "body:plastic", "{title body}:steel", "(steel", "steel)", "(((", "steel OR", "AND",
    "NOT steel", "-steel", "steel -plastic", "^steel", "steel + plastic", "'; DROP TABLE articles; --",
    "a\x00b", "\\", "%", "_", "steel & plastic | !tariff", "<->", "steel:*", "😀 steel",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_just_words(storage: SqlStorage, query: str) -> None:
    _search_fixture(storage)
    found = storage.search_articles(query)
    assert storage.count_search(query) == len(found)
    assert storage.count_articles() == 3


def test_hostile_queries_match_their_words_literally(storage: SqlStorage) -> None:
    _search_fixture(storage)
    assert set(urls(storage.search_articles("title:steel"))) == set()  # the word "title" is in no article
    assert set(urls(storage.search_articles("NEAR(steel"))) == set()
    assert set(urls(storage.search_articles('"steel" "plastic"'))) == {"both"}
    assert set(urls(storage.search_articles("steel*"))) == {"tariff", "both"}


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "!!!", "*"])
def test_blank_query_finds_nothing(storage: SqlStorage, query: str) -> None:
    _search_fixture(storage)
    assert storage.search_articles(query) == []
    assert storage.count_search(query) == 0


def test_search_ignores_diacritics_and_case(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    add(storage, source_id, 1, title="Café", text="Het café aan de Coolsingel", language="nl")
    assert urls(storage.search_articles("cafe")) == ["1"]
    assert urls(storage.search_articles("CAFÉ")) == ["1"]


def test_search_other_languages_by_exact_word(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    add(storage, source_id, "es", title="Las casas", text="Las casas nuevas de Madrid", language="es")
    add(storage, source_id, "xx", title="Kitu", text="Nyumba mpya", language="sw")  # not stemmed
    assert urls(storage.search_articles("casas")) == ["es"]
    assert urls(storage.search_articles("nyumba")) == ["xx"]


def test_nul_characters_are_stripped_alike_on_every_backend(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    article_id = add(storage, source_id, 1, title="Nul\x00 titel", text="te\x00kst", summary="\x00")
    article = storage.get_article(article_id)
    assert (article.title, article.text, article.summary) == ("Nul titel", "tekst", "")


def test_overlong_urls_are_refused(storage: SqlStorage) -> None:
    source_id = add_source(storage)
    long_url = "https://nos.nl/" + "a" * 5000
    with pytest.raises(StorageError, match="URL longer"):
        storage.add_article(NewArticle(source_id, long_url, "t", T0))
    with pytest.raises(StorageError, match="URL longer"):
        storage.add_source(NewSource(long_url), T0)
    assert storage.count_articles() == 0
    longest = "https://nos.nl/" + "é" * ((MAX_URL_LENGTH - 15) // 2)  # 2 bytes each
    assert storage.add_article(NewArticle(source_id, longest, "t", T0)) is not None
    assert storage.unknown_urls([longest]) == set()
