"""bench/archive: a realistic synthetic archive, written straight into newsdesk's storage.

usage: python bench/archive.py DATABASE_URL [--articles 100000] [--sources 20000] [--seed 7]

Articles are perturbed copies of real texts: the 2,225 English BBC articles of
/work/shared/data/corpus/bbc-news and the Dutch articles of the bundled demo site, about 30 % Dutch.
Each copy gets its sentences partly reordered, a sentence dropped or repeated, numbers changed and a
few words swapped, so no two bodies are equal (search, stemming and page sizes stay realistic).
They are spread over a year and over SOURCES sources (a Zipf-like spread: a few big outlets, a
long tail), each stored with its raw page (zlib) and indexed for search, in batched transactions
through the same backend code as add_article.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsdesk.models import ArticleStatus, NewArticle  # noqa: E402
from newsdesk.storage.schema import pages, sources  # noqa: E402
from newsdesk.storage.sql import SqlStorage, _search_document, sort_time  # noqa: E402

BBC = Path("/work/shared/data/corpus/bbc-news/bbc_news.jsonl")
DUTCH = ROOT / "src/newsdesk/demo/content"
END = datetime(2026, 11, 1, tzinfo=UTC)
SWAPS_EN = ["council", "minister", "company", "union", "court", "market", "report", "government", "team", "city"]
SWAPS_NL = ["gemeente", "minister", "bedrijf", "vakbond", "rechter", "markt", "rapport", "kabinet", "ploeg", "stad"]


def load_texts() -> list[tuple[str, str, str]]:
    """(language, title, body) of every base text."""
    texts = []
    for line in BBC.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts.append(("en", row["title"], row["text"]))
    dutch = []
    for file in sorted(DUTCH.glob("*.txt")):
        for block in re.split(r"\n(?=slug: )", file.read_text(encoding="utf-8")):
            head, _, body = block.partition("\n\n")
            title = re.search(r"^title: (.+)$", head, re.M)
            lang = "nl" if file.stem in ("dagkrant", "avondblad") else "en"
            if title and body.strip():
                (dutch if lang == "nl" else texts).append((lang, title.group(1), body.strip()))
    # Dutch is a first-class language: weight its few base texts up to about 30 % of the archive.
    weight = max(1, int(len(texts) * 0.43 / max(1, len(dutch))))
    return texts + dutch * weight


def perturb(rng: random.Random, language: str, title: str, body: str) -> tuple[str, str]:
    sentences = re.split(r"(?<=[.!?])\s+", body.replace("\n", " "))
    if len(sentences) > 4:
        i = rng.randrange(1, len(sentences) - 1)
        sentences[i], sentences[i + 1] = sentences[i + 1], sentences[i]
        if rng.random() < 0.5:
            del sentences[rng.randrange(1, len(sentences))]
        else:
            sentences.append(sentences[rng.randrange(len(sentences))])
    text = " ".join(sentences)
    text = re.sub(r"\d+", lambda m: str(max(1, int(m.group()) + rng.randint(-3, 9))), text)
    swaps = SWAPS_NL if language == "nl" else SWAPS_EN
    a, b = rng.sample(swaps, 2)
    text = re.sub(rf"\b{a}\b", b, text, count=2)
    new_title = re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), title)
    if rng.random() < 0.3:
        new_title = f"{new_title} ({rng.choice(swaps)})"
    return new_title, text


def paragraphs(text: str, size: int = 3) -> list[str]:
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return [" ".join(sentences[i:i + size]) for i in range(0, len(sentences), size)]


def generate(texts: list[tuple[str, str, str]], count: int, source_ids: list[int],
             rng: random.Random, suffix: str = "") -> Iterator[NewArticle]:
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(source_ids))]
    picks = rng.choices(source_ids, weights=weights, k=count)
    for n in range(count):
        language, base_title, base_body = texts[rng.randrange(len(texts))]
        title, text = perturb(rng, language, base_title, base_body)
        published = END - timedelta(seconds=rng.randrange(365 * 86400))
        source_id = picks[n]
        url = f"https://s{source_id}.example/{published:%Y/%m/%d}/{n}{suffix}"
        body_html = "".join(f"<p>{escape(p)}</p>" for p in paragraphs(text))
        raw = (f"<!doctype html><html lang={language}><head><title>{escape(title)}</title></head><body>"
               f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body_html}</article>"
               f"<footer>© outlet</footer></body></html>").encode()
        yield NewArticle(source_id=source_id, url=url, title=title, fetched_at=published + timedelta(minutes=5),
                         published_at=published, language=language, status=ArticleStatus.OK,
                         summary=text[:200], html=body_html, text=text, author="Redactie", raw_html=raw)


def bulk_add(storage: SqlStorage, batch: list[NewArticle]) -> None:
    """add_article's writes for a whole batch in one transaction (the per-article code path, batched)."""
    backend = storage._backend
    with storage._write() as conn:
        for new in batch:
            values = {
                "source_id": new.source_id, "url": new.url, "canonical_url": None, "guid": None,
                "title": new.title, "author": new.author, "published_at": new.published_at,
                "fetched_at": new.fetched_at, "sort_at": sort_time(new.published_at, new.fetched_at),
                "language": new.language, "image_url": None, "image_caption": None, "summary": new.summary,
                "html": new.html, "text": new.text, "status": new.status.value, "error": None,
            }
            title, body = _search_document(new)
            article_id = backend.insert_article(conn, values, title, body, new.language)
            if article_id is not None and new.raw_html is not None:
                conn.execute(sa.insert(pages).values(article_id=article_id, html_zlib=zlib.compress(new.raw_html)))


def add_sources(storage: SqlStorage, count: int) -> list[int]:
    now = datetime.now(UTC)
    existing = [s.id for s in storage.list_sources()]
    if len(existing) >= count:
        return existing[:count]
    rows = [{"url": f"https://s{n}.example/feed.xml", "kind": "feed", "title": f"Outlet {n}",
             "site_url": f"https://s{n}.example/", "category": None, "paused": False, "created_at": now,
             "next_fetch_at": now + timedelta(days=1), "error_count": 0} for n in range(len(existing), count)]
    with storage._write() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(sa.insert(sources), rows[start:start + 1000])
    return [s.id for s in storage.list_sources()][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--append", action="store_true",
                        help="add new articles (new URLs) instead of completing the archive: an ingest load")
    args = parser.parse_args()
    storage = SqlStorage(args.database_url)
    storage.migrate()
    rng = random.Random(args.seed)
    texts = load_texts()
    source_ids = add_sources(storage, args.sources)
    have = 0 if args.append else storage.count_articles()
    if args.append:
        rng = random.Random(time.time_ns())
    started = time.monotonic()
    batch: list[NewArticle] = []
    done = 0
    for article in generate(texts, args.articles, source_ids, rng,
                                              suffix=f"-{rng.getrandbits(32):x}" if args.append else ""):
        if done < have:  # resumable: the same seed regenerates the same articles; skip those stored
            done += 1
            continue
        batch.append(article)
        if len(batch) >= args.batch:
            bulk_add(storage, batch)
            done += len(batch)
            batch.clear()
            rate = (done - have) / (time.monotonic() - started)
            print(f"\r{done:,} articles ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    if batch:
        bulk_add(storage, batch)
        done += len(batch)
    print(f"\n{done:,} articles in {time.monotonic() - started:.0f} s", file=sys.stderr)
    storage.close()


if __name__ == "__main__":
    main()
