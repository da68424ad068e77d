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
with bulk-load pragmas (synchronous=OFF, a large page cache), on PostgreSQL with COPY into a staging
table and one INSERT ... SELECT that computes the tsvectors. Resumable: the same seed regenerates
the same plan and the articles stored already are skipped.

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


def _init(bases: list[Base], source_ids: list[int], seed: int) -> None:
    global _bases, _source_ids, _seed
    _bases, _source_ids, _seed = bases, source_ids, seed


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


def build(rows: list[tuple[int, float, int, int, int, bool, int, float]]) -> list[dict[str, Any]]:
    """The stored form of each planned article: row values, search text, page, story row."""
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
            "stems_title": stems(search_title, base.language), "stems_body": stems(search_body, base.language),
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
    return pack(build(rows), dialect)


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
        packed["search"] = [(text_search_config(b["values"]["language"]), b["search_title"], b["search_body"])
                            for b in built]
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
    """COPY into an unlogged staging table, then one INSERT ... SELECT per batch that computes each
    article's tsvector exactly as storage/postgres.py's search_vector does (title 'A', body 'B', in
    the article's language's configuration)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False),
                                    autocommit=False)
        self.conn.execute("SET synchronous_commit = off")
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS archive_staging (LIKE articles INCLUDING DEFAULTS)")
        self.conn.execute("ALTER TABLE archive_staging DROP COLUMN IF EXISTS search")
        self.conn.execute("ALTER TABLE archive_staging ADD COLUMN IF NOT EXISTS search_config text, "
                          "ADD COLUMN IF NOT EXISTS search_title text, ADD COLUMN IF NOT EXISTS search_body text")
        self.conn.commit()

    def count(self) -> int:
        row = self.conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()
        self.conn.commit()
        return int(row[0]) if row else 0

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, chunks: list[Packed]) -> None:
        def rows(table: str) -> list[tuple[Any, ...]]:
            return [row for chunk in chunks for row in chunk[table]]

        staging = (*_ARTICLE_COLUMNS, "search_config", "search_title", "search_body")
        self._copy("archive_staging", staging,
                   [(*article, *search) for chunk in chunks
                    for article, search in zip(chunk["articles"], chunk["search"], strict=True)])
        columns = ", ".join(_ARTICLE_COLUMNS)
        self.conn.execute(
            f"INSERT INTO articles ({columns}, search) SELECT {columns}, "
            "setweight(to_tsvector(search_config::regconfig, search_title), 'A') || "
            "setweight(to_tsvector(search_config::regconfig, search_body), 'B') FROM archive_staging")
        self.conn.execute("TRUNCATE archive_staging")
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
    started, cpu = time.monotonic(), time.process_time()
    done = have
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    tasks = ((dialect, plan.rows(a, b)) for a, b in chunks(have, args.articles, args.batch // max(1, args.jobs)))
    pending: list[Packed] = []
    waiting = 0
    if args.jobs > 1:
        pool = Pool(args.jobs, initializer=_init, initargs=(bases, source_ids, args.seed))
        results = _bounded(pool, tasks, 2 * args.jobs)
    else:
        _init(bases, source_ids, args.seed)
        results = map(_build_chunk, tasks)
    for packed in results:
        pending.append(packed)
        waiting += len(packed["articles"])
        if waiting >= args.batch:
            writer.write(pending)
            done += waiting
            pending, waiting = [], 0
            elapsed = time.monotonic() - started
            print(f"\r{done:,} articles ({(done - have) / elapsed:,.0f}/s, writer CPU "
                  f"{1000 * (time.process_time() - cpu) / (done - have):.2f} ms/article, load "
                  f"{os.getloadavg()[0]:.1f})", end="", file=sys.stderr, flush=True)
    if pending:
        writer.write(pending)
        done += waiting
    writer.close()
    print(f"\n{done:,} articles ({done - have:,} new) in {time.monotonic() - started:.0f} s", file=sys.stderr)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2000, help="articles per transaction")
    parser.add_argument("--jobs", type=int, default=2, help="processes building articles (the writer is one more)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--append", action="store_true",
                        help="add new articles (new URLs, published now) through add_articles: an ingest load")
    args = parser.parse_args()
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
