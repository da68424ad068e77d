"""bench/archive: a realistic synthetic archive, written straight into newsdesk's tables.

usage: python bench/archive.py DATABASE_URL [--articles 100000] [--sources 20000] [--seed 7] [--jobs 2]
       python bench/archive.py DATABASE_URL --append [--articles N] [--batch 50]   (an ingest load)

Articles are perturbed copies of real texts: the 2,225 English BBC articles of
$NEWSDESK_SHARED/data/corpus/bbc-news (default /work/shared) and the articles of the bundled demo
site, about 30 % of them Dutch. Each copy gets two sentences swapped, a sentence dropped or
repeated, its numbers changed and a word or two swapped, so no two bodies are equal (search,
stemming and page sizes stay realistic). They are spread over a year, in publication order (ids
grow with time, as in an archive that was ingested over that year), and over SOURCES sources (a
Zipf-like spread: a few big outlets, a long tail). Each is stored with its zlib raw page, its
search entry (the same stems or tsvector the backend's own insert makes) and its dedupe fingerprint.

Stories: a story is a burst of copies of one base text published within STORY_DAYS of its first
copy; burst sizes are heavy-tailed (most stories one or two articles, a few dozen). They are written
straight into storage/stories.py's tables (stories, story_articles), not by the clusterer: they are
only data for the story page benchmark. Two bursts of the same text are two stories (with only
twelve Dutch base texts, "every copy within a few days" would make giant Dutch stories).

Speed: the plan (times, sources, stories) is drawn with numpy up front; --jobs processes build the
articles (perturbation, HTML, zlib page, stems from a per-word cache: the vocabulary is bounded)
and this process writes them in --batch transactions, on SQLite through the plain sqlite3 module
with bulk-load pragmas (synchronous=OFF, a large page cache), on PostgreSQL with COPY per table
(synchronous_commit off in the writer's session). On PostgreSQL each builder also has the server
compute its articles' tsvectors (the backend's own expression, in the builder's own session, so in
parallel), and a load into empty tables defers the secondary indexes (GIN search index included) to
one CREATE INDEX each at the end. Resumable: the same seed regenerates the same plan and the
articles stored already are skipped; deferred indexes are remembered in the database until built.

--append adds new articles (new URLs, published now) through SqlStorage.add_articles, the ingest's
own code path: what bench/scale.py pages --ingest runs beside the reader.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
import Stemmer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsdesk.models import ArticleStatus, NewArticle  # noqa: E402
from newsdesk.stemming import snowball_language, words  # noqa: E402
from newsdesk.storage.postgres import text_search_config  # noqa: E402
from newsdesk.storage.schema import sources  # noqa: E402
from newsdesk.storage.sql import SqlStorage, _clean, _search_document  # noqa: E402
from newsdesk.stories.fingerprint import canonical_url, content_hash  # noqa: E402
from newsdesk.stories.records import HOW_CLUSTER, HOW_NEW  # noqa: E402

SHARED = Path(os.environ.get("NEWSDESK_SHARED", "/work/shared"))
BBC = SHARED / "data/corpus/bbc-news/bbc_news.jsonl"
DEMO = ROOT / "src/newsdesk/demo/content"
END = datetime(2026, 11, 1, tzinfo=UTC)
YEAR = 365 * 86400
#: share of Dutch articles
DUTCH_SHARE = 0.3
#: a story's copies are published within this many days of its first
STORY_DAYS = 2
#: the largest burst
MAX_STORY = 60
#: characters of text the clusterer fingerprints (services/stories.py TEXT_CHARS)
FINGERPRINT_CHARS = 4000
SWAPS_EN = ["council", "minister", "company", "union", "court", "market", "report", "government", "team", "city"]
SWAPS_NL = ["gemeente", "minister", "bedrijf", "vakbond", "rechter", "markt", "rapport", "kabinet", "ploeg", "stad"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"\d+")
_SEP = "\x00"


class Base:
    """One real text, split once."""

    def __init__(self, language: str, title: str, body: str) -> None:
        self.language = language
        self.title = title
        self.sentences = _SENTENCE.split(body.replace("\n", " "))
        self.swaps = [(w, re.compile(rf"\b{w}\b")) for w in (SWAPS_NL if language == "nl" else SWAPS_EN)]


def load_texts() -> tuple[list[Base], list[Base]]:
    """(English, Dutch) base texts."""
    if not BBC.is_file():
        raise SystemExit(f"bench/archive.py needs the BBC corpus at {BBC} (set NEWSDESK_SHARED to the folder "
                         "holding data/corpus/bbc-news); without it there are no real texts to copy.")
    english, dutch = [], []
    for line in BBC.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        english.append(Base("en", row["title"], row["text"]))
    for file in sorted(DEMO.glob("*.txt")):
        for block in re.split(r"\n(?=slug: )", file.read_text(encoding="utf-8")):
            head, _, body = block.partition("\n\n")
            title = re.search(r"^title: (.+)$", head, re.M)
            if title and body.strip():
                language = "nl" if file.stem in ("dagkrant", "avondblad") else "en"
                (dutch if language == "nl" else english).append(Base(language, title.group(1), body.strip()))
    return english, dutch


# -- the plan: who publishes what, when, in which story ------------------------------------------

class Plan:
    """Per article n (in publication order): time (s since the year's start), base text, source,
    story; per story: size, first and last time. Deterministic for a seed."""

    def __init__(self, count: int, n_sources: int, n_english: int, n_dutch: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        # burst sizes, heavy-tailed: P(size >= k) ~ k^-1.6, capped
        sizes = np.minimum(np.floor(rng.pareto(1.6, count) + 1), MAX_STORY).astype(np.int64)
        total = np.cumsum(sizes)
        n_stories = int(np.searchsorted(total, count) + 1)
        sizes = sizes[:n_stories]
        sizes[-1] -= int(total[n_stories - 1]) - count
        starts = np.sort(rng.uniform(0, YEAR - 1, n_stories))
        story_of = np.repeat(np.arange(n_stories), sizes)
        offsets = rng.uniform(0, STORY_DAYS * 86400, count)
        first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        offsets[first] = 0.0
        times = np.minimum(starts[story_of] + offsets, YEAR - 1)
        order = np.argsort(times, kind="stable")
        self.times = times[order]
        self.story = story_of[order]  # 0-based; story ids are story + 1, in order of first copy
        dutch = rng.random(n_stories) < DUTCH_SHARE
        base = np.where(dutch, n_english + rng.integers(0, max(1, n_dutch), n_stories),
                        rng.integers(0, n_english, n_stories))
        self.base = base[self.story]
        self.story_size = sizes
        self.story_last = np.full(n_stories, -1.0)
        np.maximum.at(self.story_last, self.story, self.times)
        # the first copy of a story is its first article in time order
        self.is_first = np.zeros(count, dtype=bool)
        _, firsts = np.unique(self.story, return_index=True)
        self.is_first[firsts] = True
        weights = 1.0 / (np.arange(n_sources) + 1) ** 0.8
        self.source = rng.choice(n_sources, size=count, p=weights / weights.sum())

    def rows(self, start: int, stop: int) -> list[tuple[int, float, int, int, int, bool, int, float]]:
        """(n, time, base, source index, story, first, story size, story last time) per article."""
        return [(n, float(self.times[n]), int(self.base[n]), int(self.source[n]), int(self.story[n]),
                 bool(self.is_first[n]), int(self.story_size[self.story[n]]), float(self.story_last[self.story[n]]))
                for n in range(start, stop)]


# -- building one article ------------------------------------------------------------------------

_bases: list[Base] = []
_source_ids: list[int] = []
_seed = 0
_stem_cache: dict[str, dict[str, str]] = {}
_stemmers: dict[str, Any] = {}


_database_url = ""
_vectors: Any = None  # a builder's own PostgreSQL connection, for the search vectors


def _init(bases: list[Base], source_ids: list[int], seed: int, database_url: str = "") -> None:
    global _bases, _source_ids, _seed, _database_url
    _bases, _source_ids, _seed, _database_url = bases, source_ids, seed, database_url


#: storage/postgres.py's search_vector, over arrays: the same functions, configuration and weights
#: (the configuration as a cast text instead of an inlined literal: the same regconfig)
SEARCH_VECTORS = (
    "SELECT setweight(to_tsvector(c::regconfig, t), 'A') || setweight(to_tsvector(c::regconfig, b), 'B') "
    "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS u(c, t, b, n) ORDER BY n")


def search_vectors(search: list[tuple[str, str, str]]) -> list[str]:
    """The tsvector (as text) of each (configuration, title, body), computed by the server in this
    builder's own session: the to_tsvector work, the heaviest per article, then runs in as many
    server backends as there are builders instead of in the one writer's."""
    global _vectors
    if _vectors is None:
        import psycopg

        _vectors = psycopg.connect(sa.make_url(_database_url).set(drivername="postgresql").render_as_string(False),
                                   autocommit=True)
    configs, titles, bodies = (list(column) for column in zip(*search, strict=True)) if search else ([], [], [])
    return [row[0] for row in _vectors.execute(SEARCH_VECTORS, (configs, titles, bodies)).fetchall()]


def stems(text: str, language: str | None) -> str:
    """" ".join(stemming.stem_terms(text, language)), from a per-word cache: the same terms."""
    tokens = words(text)
    algorithm = snowball_language(language)
    if algorithm is None:
        return " ".join(tokens)
    cache = _stem_cache.setdefault(algorithm, {})
    try:
        return " ".join([cache[t] for t in tokens])
    except KeyError:
        stemmer = _stemmers.get(algorithm) or _stemmers.setdefault(algorithm, Stemmer.Stemmer(algorithm))
        missing = list({t for t in tokens if t not in cache})
        cache.update(zip(missing, stemmer.stemWords(missing), strict=True))
        return " ".join([cache[t] for t in tokens])


def perturb(rng: random.Random, base: Base) -> tuple[str, list[str]]:
    """A new title and the sentences of a new body."""
    sentences = list(base.sentences)
    if len(sentences) > 4:
        i = rng.randrange(1, len(sentences) - 1)
        sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
        if rng.random() < 0.5:
            del sentences[rng.randrange(1, len(sentences))]
        else:
            sentences.append(sentences[rng.randrange(len(sentences))])
    text = _SEP.join(sentences)
    text = _NUMBER.sub(lambda m: str(max(1, int(m.group()) + rng.randint(-3, 9))), text)
    (_, swap), (word, _) = rng.sample(base.swaps, 2)
    text = swap.sub(word, text, count=2)
    title = _NUMBER.sub(lambda m: str(int(m.group()) + rng.randint(1, 9)), base.title)
    if rng.random() < 0.3:
        title = f"{title} ({rng.choice(base.swaps)[0]})"
    return title, text.split(_SEP)


def page_html(language: str, title: str, sentences: list[str]) -> tuple[str, bytes]:
    """The extracted HTML, and the raw page it came from (zlib, as storage keeps it)."""
    body_html = "".join(f"<p>{escape(' '.join(sentences[i:i + 3]))}</p>" for i in range(0, len(sentences), 3))
    raw = (f"<!doctype html><html lang={language}><head><title>{escape(title)}</title></head><body>"
           f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body_html}</article>"
           f"<footer>© outlet</footer></body></html>").encode()
    return body_html, zlib.compress(raw)


def build(rows: list[tuple[int, float, int, int, int, bool, int, float]], stemmed: bool = True) -> list[dict[str, Any]]:
    """The stored form of each planned article: row values, search text, page, story row; with
    `stemmed`, also the stems SQLite's FTS5 table holds (PostgreSQL stems in to_tsvector instead,
    and stemming here was a third of a builder's time)."""
    start = END - timedelta(seconds=YEAR)
    out = []
    for n, at, base_index, source_index, story, first, size, last in rows:
        rng = random.Random(_seed * 10_000_019 + n)
        base = _bases[base_index]
        title, sentences = perturb(rng, base)
        text = " ".join(sentences)
        published = start + timedelta(seconds=at)
        source_id = _source_ids[source_index]
        url = f"https://s{source_id}.example/{published:%Y/%m/%d}/{n}"
        body_html, raw_zlib = page_html(base.language, title, sentences)
        summary = text[:200]
        values = {
            "id": n + 1, "source_id": source_id, "url": url, "canonical_url": None, "guid": None,
            "title": _clean(title), "author": "Redactie", "published_at": published,
            "fetched_at": published + timedelta(minutes=5), "sort_at": published, "language": base.language,
            "image_url": None, "image_caption": None, "summary": _clean(summary), "html": _clean(body_html),
            "text": _clean(text), "status": ArticleStatus.OK.value, "error": None, "updated_at": None,
            "section": None, "image_credit": None,
        }
        new = NewArticle(source_id=source_id, url=url, title=title, fetched_at=values["fetched_at"],
                         summary=summary, text=text, language=base.language)
        search_title, search_body = _search_document(new)
        story_row = None
        if first:
            story_row = {"id": story + 1, "title": title[:1000], "first_seen": published,
                         "last_seen": start + timedelta(seconds=last), "size": size, "merged_into": None,
                         "locked": False}
        out.append({
            "values": values, "search_title": search_title, "search_body": search_body,
            "stems_title": stems(search_title, base.language) if stemmed else None,
            "stems_body": stems(search_body, base.language) if stemmed else None,
            "page": raw_zlib, "story": story_row,
            "member": {"article_id": n + 1, "story_id": story + 1, "how": HOW_NEW if first else HOW_CLUSTER,
                       "score": 1.0 if first else 0.5, "shared_entities": "[]", "shared_terms": "[]",
                       "duplicate_of": None, "duplicate_how": None,
                       # the time it was stored: the clusterer's rebuild reads what was assigned lately
                       "assigned_at": values["fetched_at"]},
            "fingerprint": {"article_id": n + 1, "canonical_url": canonical_url(url),
                            "content_hash": content_hash(text[:FINGERPRINT_CHARS])},
        })
    return out


def _build_chunk(task: tuple[str, list[tuple[int, float, int, int, int, bool, int, float]]]) -> Packed:
    dialect, rows = task
    return pack(build(rows, stemmed=dialect == "sqlite"), dialect)


# -- writing -------------------------------------------------------------------------------------

_ARTICLE_COLUMNS = ("id", "source_id", "url", "canonical_url", "guid", "title", "author", "published_at",
                    "fetched_at", "sort_at", "language", "image_url", "image_caption", "summary", "html", "text",
                    "status", "error", "updated_at", "section", "image_credit")
_STORY_COLUMNS = ("id", "title", "first_seen", "last_seen", "size", "merged_into", "locked")
_MEMBER_COLUMNS = ("article_id", "story_id", "how", "score", "shared_entities", "shared_terms", "duplicate_of",
                   "duplicate_how", "assigned_at")
_FINGERPRINT_COLUMNS = ("article_id", "canonical_url", "content_hash")


#: per table, the rows of one chunk as tuples in column order, ready for executemany or COPY (made
#: in the builder processes, so the one writer only writes)
Packed = dict[str, list[tuple[Any, ...]]]


def pack(built: list[dict[str, Any]], dialect: str) -> Packed:
    fix = _sqlite_time if dialect == "sqlite" else (lambda value: value)
    packed: Packed = {
        "articles": [tuple(fix(b["values"][c]) for c in _ARTICLE_COLUMNS) for b in built],
        "pages": [(b["values"]["id"], b["page"]) for b in built],
        "stories": [tuple(fix(b["story"][c]) for c in _STORY_COLUMNS) for b in built if b["story"]],
        "story_articles": [tuple(fix(b["member"][c]) for c in _MEMBER_COLUMNS) for b in built],
        "article_fingerprints": [tuple(b["fingerprint"][c] for c in _FINGERPRINT_COLUMNS) for b in built],
    }
    if dialect == "sqlite":
        packed["article_search"] = [(b["values"]["id"], b["stems_title"], b["stems_body"]) for b in built]
    else:
        vectors = search_vectors([(text_search_config(b["values"]["language"]), b["search_title"], b["search_body"])
                                  for b in built])
        packed["articles"] = [(*row, vector) for row, vector in zip(packed["articles"], vectors, strict=True)]
    return packed


def _sqlite_time(value: Any) -> Any:
    # what storage.schema.UTCDateTime stores on SQLite: naive UTC, fixed-width text
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class SqliteWriter:
    """Bulk load through the plain sqlite3 module: the same rows storage writes, with pragmas for a
    one-off load (no fsync, a big page cache) that the app's own connections do not use."""

    def __init__(self, path: str) -> None:
        import sqlite3

        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("PRAGMA busy_timeout=60000", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF",
                       "PRAGMA cache_size=-400000", "PRAGMA temp_store=MEMORY", "PRAGMA foreign_keys=OFF"):
            self.conn.execute(pragma)

    def count(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0])

    def write(self, chunks: list[Packed]) -> None:
        def insert(table: str, columns: tuple[str, ...]) -> None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            self.conn.executemany(sql, [row for chunk in chunks for row in chunk[table]])

        self.conn.execute("BEGIN IMMEDIATE")
        insert("articles", _ARTICLE_COLUMNS)
        insert("article_search", ("rowid", "title", "body"))
        insert("pages", ("article_id", "html_zlib"))
        insert("stories", _STORY_COLUMNS)
        insert("story_articles", _MEMBER_COLUMNS)
        insert("article_fingerprints", _FINGERPRINT_COLUMNS)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("PRAGMA optimize")
        self.conn.close()


class PostgresWriter:
    """COPY per table and batch, in one transaction. Each article row carries its search vector, which
    a builder had the server compute with storage/postgres.py's search_vector expression (title 'A',
    body 'B', in the article's language's configuration; SEARCH_VECTORS): the text form of a tsvector
    reads back as the same tsvector.

    A bulk load into (nearly) empty tables defers their secondary indexes: every non-unique index of
    the tables it writes (the GIN search index, the listing and story indexes) is dropped before the
    first batch and built once at the end, sorted, instead of being updated row by row on every batch.
    The build itself reads only the primary key (max(id)), and unique indexes stay, so duplicates
    still fail. The dropped definitions are kept in a table (DEFERRED) until they are built again, so
    an interrupted build that is resumed still ends with every index the migrations made."""

    #: what the load writes; their non-unique indexes are deferred
    TABLES = ("articles", "pages", "stories", "story_articles", "article_fingerprints")
    #: the dropped index definitions of an unfinished deferred load
    DEFERRED = "archive_deferred_indexes"

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False),
                                    autocommit=False)
        # this session only: a crash loses at most the last batches, which a resumed run writes again
        self.conn.execute("SET synchronous_commit = off")
        # sorts of the deferred index builds in memory (the server default is 64 MB)
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        self.conn.commit()

    def count(self) -> int:
        row = self.conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()
        self.conn.commit()
        return int(row[0]) if row else 0

    def secondary_indexes(self) -> dict[str, str]:
        """name -> CREATE INDEX statement of every non-unique index on TABLES."""
        rows = self.conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = current_schema()::regnamespace "
            "AND t.relname = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary",
            (list(self.TABLES),)).fetchall()
        self.conn.commit()
        return {name: definition for name, definition in rows}

    def deferring(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (self.DEFERRED,)).fetchone()
        self.conn.commit()
        return bool(row and row[0])

    def defer_indexes(self) -> list[str]:
        """Drop the secondary indexes, keeping their definitions in DEFERRED (in one transaction)."""
        indexes = self.secondary_indexes()
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {self.DEFERRED} "
                          "(name text PRIMARY KEY, definition text NOT NULL)")
        for name, definition in indexes.items():
            self.conn.execute(f"INSERT INTO {self.DEFERRED} VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, definition))
            self.conn.execute(f'DROP INDEX "{name}"')
        self.conn.commit()
        return sorted(indexes)

    def build_deferred(self) -> list[tuple[str, float]]:
        """CREATE each deferred index (those a crashed finish built already are skipped), then forget
        them; (name, seconds) per index."""
        built = []
        rows = self.conn.execute(f"SELECT name, definition FROM {self.DEFERRED} ORDER BY name").fetchall()
        self.conn.commit()
        for name, definition in rows:
            started = time.monotonic()
            self.conn.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            self.conn.commit()
            built.append((name, time.monotonic() - started))
        self.conn.execute(f"DROP TABLE {self.DEFERRED}")
        self.conn.commit()
        return built

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, chunks: list[Packed]) -> None:
        def rows(table: str) -> list[tuple[Any, ...]]:
            return [row for chunk in chunks for row in chunk[table]]

        # the builders computed the search vectors (search_vectors); the rows carry them as text
        self._copy("articles", (*_ARTICLE_COLUMNS, "search"), rows("articles"))
        self._copy("pages", ("article_id", "html_zlib"), rows("pages"))
        self._copy("stories", _STORY_COLUMNS, rows("stories"))
        self._copy("story_articles", _MEMBER_COLUMNS, rows("story_articles"))
        self._copy("article_fingerprints", _FINGERPRINT_COLUMNS, rows("article_fingerprints"))
        self.conn.commit()

    def close(self) -> None:
        # serial ids were given explicitly: move the sequences past them, or the next add fails
        for table in ("articles", "stories"):
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}))")
        self.conn.commit()
        if self.deferring():
            for name, seconds in self.build_deferred():
                print(f"index {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")
        self.conn.close()


# -- sources, and the two modes ------------------------------------------------------------------

def add_sources(storage: SqlStorage, count: int) -> list[int]:
    now = datetime.now(UTC)
    existing = [s.id for s in storage.list_sources()]
    if len(existing) < count:
        rows = [{"url": f"https://s{n}.example/feed.xml", "kind": "feed", "title": f"Outlet {n}",
                 "site_url": f"https://s{n}.example/", "category": None, "paused": False, "created_at": now,
                 "next_fetch_at": now + timedelta(days=1), "error_count": 0} for n in range(len(existing), count)]
        with storage._write() as conn:
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(sources), rows[start:start + 1000])
        existing = [s.id for s in storage.list_sources()]
    return sorted(existing)[:count]


def chunks(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    for at in range(start, stop, size):
        yield at, min(stop, at + size)


def _bounded(pool: Any, tasks: Iterator[Any], ahead: int) -> Iterator[Packed]:
    """The chunks in order, at most `ahead` in flight: Pool.imap reads every task at once and
    queues every result the writer has not taken yet (2.6 GB at 550,000 articles)."""
    from collections import deque

    pending: deque[Any] = deque()
    for task in tasks:
        pending.append(pool.apply_async(_build_chunk, (task,)))
        if len(pending) >= ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def build_archive(args: argparse.Namespace, storage: SqlStorage, bases: list[Base], n_english: int,
                  source_ids: list[int]) -> None:
    plan = Plan(args.articles, len(source_ids), n_english, len(bases) - n_english, args.seed)
    sizes = plan.story_size
    print(f"plan: {args.articles:,} articles, {len(sizes):,} stories (mean {sizes.mean():.2f}, "
          f"median {np.median(sizes):.0f}, max {sizes.max()}, {(sizes == 1).mean():.0%} single)",
          file=sys.stderr, flush=True)
    url = args.database_url
    writer: SqliteWriter | PostgresWriter
    if url.startswith("sqlite"):
        writer = SqliteWriter(str(Path(sa.make_url(url).database or "").expanduser().resolve()))
    else:
        writer = PostgresWriter(url)
    have = writer.count()
    if isinstance(writer, PostgresWriter) and (writer.deferring() or (args.defer and args.articles - have >= have)):
        # building the indexes once at the end costs about what the rows already stored cost again:
        # worth it when at least as many are still to come (always on a fresh load)
        print(f"deferred indexes: {', '.join(writer.defer_indexes()) or 'none left'}", file=sys.stderr, flush=True)
    started, cpu = time.monotonic(), time.process_time()
    writing = 0.0
    done = have
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    tasks = ((dialect, plan.rows(a, b)) for a, b in chunks(have, args.articles, args.batch // max(1, args.jobs)))
    pending: list[Packed] = []
    waiting = 0
    if args.jobs > 1:
        pool = Pool(args.jobs, initializer=_init, initargs=(bases, source_ids, args.seed, url))
        results = _bounded(pool, tasks, 2 * args.jobs)
    else:
        _init(bases, source_ids, args.seed, url)
        results = map(_build_chunk, tasks)
    for packed in results:
        pending.append(packed)
        waiting += len(packed["articles"])
        if waiting >= args.batch:
            at = time.monotonic()
            writer.write(pending)
            writing += time.monotonic() - at
            done += waiting
            pending, waiting = [], 0
            elapsed = time.monotonic() - started
            # "writing" is wall time inside write() (on PostgreSQL, the server's work included): near
            # 100 % the writer is the bottleneck, well below it the builders are
            print(f"\r{done:,} articles ({(done - have) / elapsed:,.0f}/s, writer CPU "
                  f"{1000 * (time.process_time() - cpu) / (done - have):.2f} ms/article, writing "
                  f"{100 * writing / elapsed:.0f} % of the time, load {os.getloadavg()[0]:.1f})",
                  end="", file=sys.stderr, flush=True)
    if pending:
        writer.write(pending)
        done += waiting
    if args.jobs > 1:
        # the builders' own server sessions (search_vectors) end with them
        pool.close()
        pool.join()
    print(f"\nrows written in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    writer.close()
    print(f"{done:,} articles ({done - have:,} new) in {time.monotonic() - started:.0f} s (indexes and "
          "ANALYZE included)", file=sys.stderr)


def append(args: argparse.Namespace, storage: SqlStorage, bases: list[Base], source_ids: list[int]) -> None:
    """New articles, published now, through the ingest's own add_articles: an ingest load."""
    rng = random.Random(time.time_ns())
    tag = f"{rng.getrandbits(32):x}"
    cumulative = list(np.cumsum([1.0 / (rank + 1) ** 0.8 for rank in range(len(source_ids))]))
    batch: list[NewArticle] = []
    for n in range(args.articles):
        base = rng.choice(bases)
        title, sentences = perturb(rng, base)
        text = " ".join(sentences)
        source_id = rng.choices(source_ids, cum_weights=cumulative)[0]
        published = datetime.now(UTC) - timedelta(seconds=rng.randrange(3600))
        body_html, raw_zlib = page_html(base.language, title, sentences)
        batch.append(NewArticle(source_id=source_id, url=f"https://s{source_id}.example/new/{tag}/{n}", title=title,
                                fetched_at=datetime.now(UTC), published_at=published, language=base.language,
                                status=ArticleStatus.OK, summary=text[:200], html=body_html, text=text,
                                author="Redactie", raw_html=zlib.decompress(raw_zlib)))
        if len(batch) >= args.batch:
            storage.add_articles(batch)
            batch = []
    if batch:
        storage.add_articles(batch)


def verify_search(database_url: str, sample: int) -> int:
    """Recompute the search vector of `sample` stored articles (spread over the archive) with
    storage/postgres.py's own search_vector expression; the number that differ (0 expected)."""
    from newsdesk.storage.postgres import search_vector
    from newsdesk.storage.schema import articles

    engine = sa.create_engine(sa.make_url(database_url).set(drivername="postgresql+psycopg"))
    differ = 0
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(articles.c.id))).scalar() or 0
        ids = sorted({1 + (top - 1) * k // max(1, sample - 1) for k in range(sample)}) if top else []
        rows = conn.execute(sa.select(articles.c.id, articles.c.title, articles.c.summary, articles.c.text,
                                      articles.c.language, sa.literal_column("search::text"))
                            .where(articles.c.id.in_(ids))).all()
        for row in rows:
            new = NewArticle(source_id=0, url="", title=row.title, fetched_at=END, summary=row.summary,
                             text=row.text, language=row.language)
            title, body = _search_document(new)
            expected = conn.execute(sa.select(search_vector(title, body, row.language).cast(sa.Text))).scalar()
            differ += expected != row[-1]
    engine.dispose()
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2000, help="articles per transaction")
    parser.add_argument("--jobs", type=int, default=2, help="processes building articles (the writer is one more)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-defer", dest="defer", action="store_false",
                        help="PostgreSQL: keep every index up to date during the load (the old, slow way)")
    parser.add_argument("--append", action="store_true",
                        help="add new articles (new URLs, published now) through add_articles: an ingest load")
    parser.add_argument("--verify", type=int, metavar="SAMPLE",
                        help="PostgreSQL: only recompute SAMPLE stored search vectors with the backend's expression")
    args = parser.parse_args()
    if args.verify:
        differ = verify_search(args.database_url, args.verify)
        print(f"search vectors: {differ} of {args.verify} sampled differ from the backend's own", file=sys.stderr)
        raise SystemExit(1 if differ else 0)
    english, dutch = load_texts()
    storage = SqlStorage(args.database_url)
    storage.migrate()
    source_ids = add_sources(storage, args.sources)
    if args.append:
        append(args, storage, english + dutch, source_ids)
    else:
        storage.close()
        build_archive(args, storage, english + dutch, len(english), source_ids)
    storage.close()


if __name__ == "__main__":
    main()
