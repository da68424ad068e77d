"""bench/storycost: the cost of putting one new article into a story, on a big archive.

usage: PYTHONPATH=src python bench/storycost.py DATABASE_URL [--new 2000] [--per-day 2740]
                                                [--profile FILE] [--explain]

DATABASE_URL is a big archive (bench/archive.py builds them). The bench runs the product's code:

1. **Warm the window** as a worker does on start: services.stories.sweep_unassigned assigns the
   articles stored within the window that are in no story. The archive's own articles are older
   than the window (bench/archive.py spreads them over a year), so the window is then topped up to
   PER_DAY x window days articles (default 2,740 a day: a million a year), stored by the bench's
   own source (storycost-window.bench) with times spread over the window and assigned one by one
   through assign_article. A second run finds them assigned already and tops up only the shortfall.
2. **Rebuild**: the clusterer is dropped and rebuilt from the window (services.stories.rebuild_window),
   as a restarted worker does; wall and CPU time, RSS before and after.
3. **Stream**: NEW perturbed copies (bench/archive.perturb: sentences reordered, numbers changed,
   words swapped) of real archive articles, half of them picked from the window (other outlets
   reporting what is in the news) and half from the whole archive, Dutch and English as the
   archive holds them, with new URLs (source storycost.bench) and current times, are stored with
   add_article and assigned with assign_article, like the ingest. Per article: assignment wall and
   CPU time (p50, p95, mean), store time apart.

CPU time is this process's (time.thread_time): on SQLite it includes the database's work, on
PostgreSQL the server's share is not in it. With --explain the statements that assignment runs are
listed with their query plans (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from archive import Base, perturb  # noqa: E402

from newsdesk.models import ArticleStatus, NewArticle, NewSource  # noqa: E402
from newsdesk.services import stories as story_service  # noqa: E402
from newsdesk.storage.schema import articles, sources  # noqa: E402
from newsdesk.storage.sql import SqlStorage  # noqa: E402
from newsdesk.storage.stories import story_articles  # noqa: E402
from newsdesk.stories.cluster import ClusterConfig  # noqa: E402

WINDOW_SOURCE = "https://storycost-window.bench/"
STREAM_SOURCE = "https://storycost.bench/"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def source_id(storage: SqlStorage, url: str, title: str) -> int:
    with storage._read() as conn:
        found = conn.execute(sa.select(sources.c.id).where(sources.c.url == url)).scalar()
    if found is not None:
        return int(found)
    return storage.add_source(NewSource(url=url, title=title), datetime.now(UTC)).id


def sample_texts(storage: SqlStorage, rng: random.Random, count: int,
                 since: datetime | None = None) -> list[tuple[str, str, str]]:
    """(language, title, text) of `count` random stored articles: by random ids over the whole
    archive (an index lookup each), or among those assigned since `since` (the window)."""
    with storage._read() as conn:
        if since is not None:
            ids = list(conn.execute(sa.select(story_articles.c.article_id)
                                    .where(story_articles.c.assigned_at >= since)).scalars())
            picks = [rng.choice(ids) for _ in range(count)] if ids else []
        else:
            low, high = conn.execute(sa.select(sa.func.min(articles.c.id), sa.func.max(articles.c.id))).one()
            picks = [rng.randint(low, high) for _ in range(count * 2)]
        rows: list[tuple[str, str, str]] = []
        for start in range(0, len(picks), 500):
            chunk = picks[start:start + 500]
            found = {r.id: r for r in conn.execute(
                sa.select(articles.c.id, articles.c.language, articles.c.title, articles.c.text)
                .where(articles.c.id.in_(chunk), articles.c.text.is_not(None)))}
            rows += [(found[i].language or "en", found[i].title or "", found[i].text) for i in chunk if i in found]
    return rows[:count]


def new_article(rng: random.Random, source: int, url: str, base: tuple[str, str, str], at: datetime) -> NewArticle:
    language, title, text = base
    title, sentences = perturb(rng, Base(language, title, text))
    text = " ".join(sentences)
    return NewArticle(source_id=source, url=url, title=title, fetched_at=at, published_at=at - timedelta(minutes=5),
                      language=language, status=ArticleStatus.OK, summary=text[:200], text=text)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def explain(storage: SqlStorage, statements: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    out = []
    sqlite = storage._backend.name == "sqlite"
    with storage._backend.engine.connect() as conn:
        for statement, parameters in statements:
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            out.append((statement, [str(r[-1] if sqlite else r[0]) for r in rows]))
        conn.rollback()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database_url")
    parser.add_argument("--new", type=int, default=2000, help="articles streamed through the ingest path")
    parser.add_argument("--per-day", type=int, default=2740, help="articles a day in the warmed window")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", help="write a cProfile of the stream's assignments here and print its top")
    parser.add_argument("--explain", action="store_true", help="print the query plans of one assignment")
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the start-up sweep (an archive that others append to without assigning)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cfg = ClusterConfig()
    print(f"# storycost {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load()}, pid {os.getpid()}")
    print(f"rss at start: {rss_mb():.0f} MB")

    storage = SqlStorage(args.database_url)
    storage.migrate()
    stored = storage.count_articles()
    print(f"archive: {stored:,} articles ({storage._backend.name})")

    # 1. warm the window: the sweep a starting worker runs, then a top-up to PER_DAY a day
    now = datetime.now(UTC)
    if not args.no_sweep:
        t0, c0 = time.perf_counter(), time.thread_time()
        swept = story_service.sweep_unassigned(storage, cfg)
        print(f"sweep on start: {swept} articles in no story assigned in {time.perf_counter() - t0:.1f} s wall, "
              f"{time.thread_time() - c0:.1f} s CPU")
    since = now - cfg.window
    with storage._read() as conn:
        in_window = conn.execute(sa.select(sa.func.count()).select_from(story_articles)
                                 .where(story_articles.c.assigned_at >= since)).scalar_one()
    target = int(args.per_day * cfg.window.total_seconds() / 86400)
    todo = max(0, target - in_window)
    print(f"window: {in_window:,} articles assigned in the last {cfg.window}; target {target:,}; adding {todo:,}")
    if todo:
        window_source = source_id(storage, WINDOW_SOURCE, "storycost window")
        bases = sample_texts(storage, rng, todo)
        span = cfg.window.total_seconds()
        times = sorted(now - timedelta(seconds=rng.uniform(0, span)) for _ in bases)
        tag = f"{now:%Y%m%d%H%M%S}-{rng.getrandbits(24):x}"
        t0, c0 = time.perf_counter(), time.thread_time()
        for n, (base, at) in enumerate(zip(bases, times, strict=True)):
            article_id = storage.add_article(new_article(rng, window_source, f"{WINDOW_SOURCE}{tag}/{n}", base, at))
            if article_id is not None:
                story_service.assign_article(storage, article_id, cfg)
            if n % 500 == 499:
                print(f"\r  {n + 1:,} / {todo:,}", end="", file=sys.stderr, flush=True)
        wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
        print(f"\nwindow top-up: {todo:,} articles stored and assigned in {wall:.0f} s wall, {cpu:.0f} s CPU "
              f"({1000 * wall / todo:.1f} ms wall per article)")

    # 2. rebuild, as a restarted worker does
    story_service.forget_engines()
    rss_before = rss_mb()
    t0, c0 = time.perf_counter(), time.thread_time()
    replayed = story_service.rebuild_window(storage, cfg)
    rebuild_wall, rebuild_cpu = time.perf_counter() - t0, time.thread_time() - c0
    print(f"rebuild: {replayed:,} window articles replayed in {rebuild_wall:.1f} s wall, {rebuild_cpu:.1f} s CPU; "
          f"rss {rss_before:.0f} -> {rss_mb():.0f} MB")

    # 3. stream new articles through the ingest path
    stream_source = source_id(storage, STREAM_SOURCE, "storycost stream")
    half = args.new // 2
    bases = sample_texts(storage, rng, half, since=since) + sample_texts(storage, rng, args.new - half)
    rng.shuffle(bases)
    tag = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{rng.getrandbits(24):x}"
    store_ms: list[float] = []
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    how: Counter[str] = Counter()
    languages: Counter[str] = Counter(b[0] for b in bases)
    profiler = cProfile.Profile() if args.profile else None
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE")):
            captured.append((statement, parameters))

    # a product with prepare_article: its share (outside the lock) is timed apart from the rest
    split = hasattr(story_service, "prepare_article")
    prep_wall_ms: list[float] = []
    prep_cpu_ms: list[float] = []
    for n, base in enumerate(bases):
        t0 = time.perf_counter()
        article_id = storage.add_article(new_article(rng, stream_source, f"{STREAM_SOURCE}{tag}/{n}", base,
                                                     datetime.now(UTC)))
        store_ms.append(1000 * (time.perf_counter() - t0))
        if article_id is None:
            continue
        if args.explain and n in (10, 11, 12):
            sa.event.listen(storage._backend.engine, "before_cursor_execute", capture)
        if profiler is not None:
            profiler.enable()
        t0, c0 = time.perf_counter(), time.thread_time()
        if split:
            # the article-only part, outside the assignment lock (services.stories.prepare_article)
            prepared = story_service.prepare_article(storage.get_article(article_id), cfg)
            prep_wall_ms.append(1000 * (time.perf_counter() - t0))
            prep_cpu_ms.append(1000 * (time.thread_time() - c0))
            t0, c0 = time.perf_counter(), time.thread_time()
            result = story_service.assign_article(storage, article_id, cfg, prepared=prepared)
        else:
            result = story_service.assign_article(storage, article_id, cfg)
        wall_ms.append(1000 * (time.perf_counter() - t0))
        cpu_ms.append(1000 * (time.thread_time() - c0))
        if profiler is not None:
            profiler.disable()
        if args.explain and n in (10, 11, 12):
            sa.event.remove(storage._backend.engine, "before_cursor_execute", capture)
        how[result.how] += 1
    print(f"stream: {len(wall_ms):,} new articles ({dict(languages)}): {dict(how)}")
    print(f"  assignment wall ms: p50 {pct(wall_ms, 0.5):.2f}  p95 {pct(wall_ms, 0.95):.2f}  "
          f"mean {statistics.fmean(wall_ms):.2f}  max {max(wall_ms):.1f}")
    print(f"  assignment CPU ms:  p50 {pct(cpu_ms, 0.5):.2f}  p95 {pct(cpu_ms, 0.95):.2f}  "
          f"mean {statistics.fmean(cpu_ms):.2f}  max {max(cpu_ms):.1f}")
    if prep_cpu_ms:
        total = [a + b for a, b in zip(prep_cpu_ms, cpu_ms, strict=True)]
        print("  (assignment above = the serialised part: assign_article given the prepared article)")
        print(f"  outside the lock (get_article + prepare_article) CPU ms: p50 {pct(prep_cpu_ms, 0.5):.2f}  "
              f"p95 {pct(prep_cpu_ms, 0.95):.2f}  mean {statistics.fmean(prep_cpu_ms):.2f}; "
              f"wall p50 {pct(prep_wall_ms, 0.5):.2f}")
        print(f"  both together CPU ms: p50 {pct(total, 0.5):.2f}  p95 {pct(total, 0.95):.2f}  "
              f"mean {statistics.fmean(total):.2f}")
    print(f"  store (add_article) wall ms: p50 {pct(store_ms, 0.5):.2f}  p95 {pct(store_ms, 0.95):.2f}  "
          f"mean {statistics.fmean(store_ms):.2f}")
    print(f"rss after the stream: {rss_mb():.0f} MB (peak {peak_mb():.0f} MB); "
          f"archive now {storage.count_articles():,} articles; load {load()}")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    if captured:
        seen: set[str] = set()
        print("query plans of the statements of three assignments:")
        for statement, plan in explain(storage, captured):
            key = " ".join(statement.split())
            if key in seen:
                continue
            seen.add(key)
            print(f"- {key[:300]}")
            for line in plan:
                print(f"    {line}")
    storage.close()


if __name__ == "__main__":
    main()
