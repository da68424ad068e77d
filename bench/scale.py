"""bench/scale: the reader's hot paths on a big archive, and polling many feeds with leases.

usage:
  python bench/scale.py pages DATABASE_URL [--rounds 40] [--ingest]
      Starts `newsdesk serve` on the archive (made by bench/archive.py) in its own process and
      measures, from this second process, the latency of home, next page, article (Previous/Next),
      source, source next page, story, search, and the API listings (own API, Miniflux entries,
      Google Reader ids and contents, with a user and API key it creates), sequentially (one
      request at a time, after a warm-up); beside it the server process's CPU per request.
      With --ingest, bench/archive.py --append writes new articles into the same database meanwhile.
  python bench/scale.py poll [--feeds 20000] [--hosts 200] [--workers 1] [--skip-first] [--profile]
      Serves FEEDS small RSS feeds from bench/feedserver.py (a separate process) on HOSTS loopback
      addresses; a fresh SQLite database (or --database-url) follows them all. Pass 1 fetches and
      stores every entry (--skip-first: their ETags are stored up front instead); then every source
      is made due again and pass 2 (all answer 304) is timed: the full polling cycle. Uses the
      leased pass of `newsdesk worker`; with --workers N, N processes share pass 2 through the
      leases, started together after their imports. Reports CPU per poll and peak RSS.
  python bench/scale.py calls DATABASE_URL [--rounds 10]
      In-process: median wall and CPU ms of the storage and use-case calls behind each page.
  python bench/scale.py size DATABASE_URL
      Database size per article (SQLite file incl. WAL, or pg_database_size).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
SEARCH_TERMS = ["government", "election", "profits", "music", "football", "kabinet", "gemeente", "heffingen",
                "storm", "minister", "broadband", "film"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _bench_user(storage: Any) -> tuple[str, str]:
    """A user and an API key for the API listings (services/accounts.py, as `newsdesk users add`
    and `newsdesk apikeys create` do); the key is new each run, the user is reused."""
    from newsdesk.services.accounts import Accounts

    accounts = Accounts(storage, "bench")
    user = storage.find_user("bench") or accounts.create_user("bench", "bench-password-123")
    _, key = accounts.create_api_key(user.id, "bench/scale.py")
    return user.name, key


def _article_count(database_url: str) -> int:
    from newsdesk.storage.sql import SqlStorage

    storage = SqlStorage(database_url)
    try:
        return storage.count_articles()
    finally:
        storage.close()


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, from /proc (the server's, the feed server's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pages(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from newsdesk.storage.schema import articles
    from newsdesk.storage.sql import SqlStorage
    from newsdesk.storage.stories import stories

    storage = SqlStorage(args.database_url)
    storage.migrate()
    count = storage.count_articles()
    newest = storage.list_articles(limit=1)[0].id
    rng = random.Random(3)
    with storage._read() as conn:
        big = conn.execute(sa.select(articles.c.source_id, sa.func.count()).group_by(articles.c.source_id)
                           .order_by(sa.func.count().desc()).limit(5)).all()
        # the story page: the 5 biggest stories and 15 random ones (most stories have 1 or 2 articles)
        top_stories = conn.execute(sa.select(stories.c.id).order_by(stories.c.size.desc()).limit(5)).scalars().all()
        last_story = conn.execute(sa.select(sa.func.max(stories.c.id))).scalar() or 0
    source_ids = [row[0] for row in big] + [rng.randint(1, 20_000) for _ in range(5)]
    story_ids = list(top_stories) + [rng.randint(1, last_story) for _ in range(15)] if last_story else []
    user_name, api_key = _bench_user(storage)
    storage.close()
    port = free_port()
    data = tempfile.mkdtemp(prefix="bench-scale-")
    server = subprocess.Popen([PYTHON, "-m", "newsdesk", "serve", "--database-url", args.database_url,
                               "--port", str(port), "--data-dir", data], env=ENV, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    ingest = None
    ingest_from: tuple[int, float] | None = None
    ingest_rate: float | None = None
    by_word: dict[str, dict[str, list[float]]] = {}  # search kinds: each word's times
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {}
    server_cpu_ms: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(300):
                try:
                    client.get("/")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            login = client.post("/accounts/ClientLogin", data={"Email": user_name, "Passwd": api_key})
            login.raise_for_status()
            greader_token = login.text.split("Auth=")[1].strip()
            if args.ingest:
                ingest = subprocess.Popen([PYTHON, str(ROOT / "bench/archive.py"), args.database_url, "--append",
                                           "--articles", "1000000", "--batch", "50"], env=ENV, cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # measure only once ingest is writing (its start-up, loading the corpus and the
                # 20,000 sources, takes longer than a short run of rounds)
                deadline = time.monotonic() + 300
                while _article_count(args.database_url) <= count:
                    if ingest.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("--ingest: bench/archive.py --append stored nothing")
                    time.sleep(1)
                ingest_from = (_article_count(args.database_url), time.monotonic())
            home = client.get("/").text
            before = _first_link(home, "?before=")
            own = {"x-api-key": api_key}
            miniflux = {"X-Auth-Token": api_key}
            greader = {"Authorization": f"GoogleLogin auth={greader_token}"}
            reading_list = "user/-/state/com.google/reading-list"
            targets: dict[str, tuple[list[str], dict[str, str]]] = {
                "home": (["/"], {}),
                "home, next page": ([f"/{before}"] if before else ["/"], {}),
                "article": ([f"/articles/{rng.randint(1, newest)}" for _ in range(args.rounds)], {}),
                "source": ([f"/sources/{s}" for s in source_ids], {}),
                "story": ([f"/stories/{s}" for s in story_ids], {}),
                "search": ([f"/search?q={t}" for t in SEARCH_TERMS], {}),
                "search, page 2": ([f"/search?q={t}&page=2" for t in SEARCH_TERMS], {}),
                "api: /api/v1/articles": (["/api/v1/articles"], own),
                "api: /api/v1/search": ([f"/api/v1/search?q={t}" for t in SEARCH_TERMS], own),
                "miniflux: /v1/entries?limit=100": (["/v1/entries?limit=100"], miniflux),
                "greader: stream/items/ids n=1000": ([f"/reader/api/0/stream/items/ids?s={reading_list}&n=1000"],
                                                     greader),
                "greader: stream/contents n=50": ([f"/reader/api/0/stream/contents/{reading_list}?n=50"], greader),
            }
            if not story_ids:
                del targets["story"]
            source_page = client.get(f"/sources/{source_ids[0]}").text
            older = _first_link(source_page, "?before=")
            if older:
                targets["source, next page"] = ([f"/sources/{source_ids[0]}{older}"], {})
            for name, (paths, headers) in targets.items():
                for path in paths[:3]:  # warm-up
                    client.get(path, headers=headers)
                times = []
                cpu = _cpu_seconds(server.pid)
                for n in range(args.rounds):
                    path = paths[n % len(paths)]
                    start = time.perf_counter()
                    response = client.get(path, headers=headers)
                    times.append((time.perf_counter() - start) * 1000)
                    if "search" in name:
                        by_word.setdefault(name, {}).setdefault(path.split("q=")[1].split("&")[0], []).append(times[-1])
                    if response.status_code not in (200, 404):
                        raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:200]}")
                server_cpu_ms[name] = 1000 * (_cpu_seconds(server.pid) - cpu) / args.rounds
                results[name] = times
            status = Path(f"/proc/{server.pid}/status").read_text()
            server_peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
            if ingest_from is not None:
                stored = _article_count(args.database_url) - ingest_from[0]
                ingest_rate = round(stored / (time.monotonic() - ingest_from[1]), 1)
    finally:
        if ingest is not None:
            ingest.terminate()
            ingest.wait()
        server.terminate()
        server.wait()
    print(json.dumps({"articles": count, "ingest": bool(args.ingest), "rounds": args.rounds,
                      "ingest_articles_per_s_while_measuring": ingest_rate,
                      "p50_ms": {k: round(statistics.median(v), 1) for k, v in results.items()},
                      "p95_ms": {k: round(pct(v, 95), 1) for k, v in results.items()},
                      # the server process's CPU per request (mean): what the page costs, without
                      # the time it waited for a core on a shared machine
                      "server_cpu_ms": {k: round(v, 1) for k, v in server_cpu_ms.items()},
                      "server_peak_rss_mb": round(server_peak_mb, 1),
                      # p50 / p95 ms of each search word (ROUNDS / 12 requests each)
                      "search_by_word": {kind: {word: [round(statistics.median(v), 1), round(pct(v, 95), 1)]
                                                for word, v in words.items()} for kind, words in by_word.items()},
                      "loadavg": os.getloadavg()}, indent=1))


def _first_link(page: str, marker: str) -> str | None:
    at = page.find(marker)
    if at < 0:
        return None
    end = page.find('"', at)
    return page[at:end].replace("&amp;", "&")


def poll(args: argparse.Namespace) -> None:
    from newsdesk.ingest.fetch import Fetcher, FetchPolicy
    from newsdesk.services.refresh import RefreshContext, refresh_pass
    from newsdesk.storage.sql import SqlStorage

    folder = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    now = datetime.now(UTC)
    stamp = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    etags = []
    for n in range(args.feeds):
        items = "".join(f"<item><title>Item {n}-{k}</title><link>http://x.example/{n}/{k}</link>"
                        f"<description>Item {k} of feed {n}.</description><pubDate>{stamp}</pubDate></item>"
                        for k in range(3))
        (folder / f"f{n}.xml").write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}'
                                          f"</title><link>http://x.example/</link>{items}</channel></rss>")
        etags.append('"' + hashlib.sha1((folder / f"f{n}.xml").read_bytes()).hexdigest() + '"')  # noqa: S324
    port = free_port()
    server = subprocess.Popen([PYTHON, str(ROOT / "bench/feedserver.py"), str(folder), str(port), str(args.hosts)],
                              env=ENV, cwd=ROOT)
    time.sleep(3)
    db = folder / "poll.sqlite"
    storage = SqlStorage(args.database_url or f"sqlite:///{db}")
    storage.migrate()
    import sqlalchemy as sa

    from newsdesk.storage.schema import sources
    rows = [{"url": f"http://127.0.0.{1 + n % args.hosts}:{port}/f{n}.xml", "kind": "feed", "title": "",
             "paused": False, "created_at": now, "next_fetch_at": now, "error_count": 0,
             # --skip-first: as if pass 1 had run, so the timed pass is all 304s at once
             "etag": etags[n] if args.skip_first else None}
            for n in range(args.feeds)]
    with storage._write() as conn:
        conn.execute(sa.insert(sources), rows)
    policy = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout=30.0,
                         per_host_connections=2, concurrency=100, user_agent="newsdesk-bench")

    cpu_seconds: list[float] = []

    feed_errors: dict[str, int] = {}

    async def one_pass() -> tuple[float, int, int]:
        async with Fetcher(policy) as fetcher:
            ctx = RefreshContext(storage=storage, fetcher=fetcher, fetch_pages=False, worker_id="bench:1",
                                 lease_batch=args.batch, lease_seconds=120)
            start, cpu = time.perf_counter(), time.process_time()
            summary = await refresh_pass(ctx)
            cpu_seconds.append(time.process_time() - cpu)
            feed_errors.clear()
            feed_errors.update(summary.feed_errors)
            return time.perf_counter() - start, summary.feeds, summary.not_modified

    try:
        first = (0.0, 0, 0) if args.skip_first else asyncio.run(one_pass())
        rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with storage._write() as conn:
            conn.execute(sa.update(sources).values(next_fetch_at=datetime.now(UTC)))
        server_cpu = _cpu_seconds(server.pid)
        if args.workers > 1:
            _poll_with_processes(args, storage.url, folder, first, server, server_cpu)
            return
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            second = profiler.runcall(asyncio.run, one_pass())
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
            if args.profile_out:
                profiler.dump_stats(args.profile_out)
        else:
            second = asyncio.run(one_pass())
        server_cpu = _cpu_seconds(server.pid) - server_cpu
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({"feeds": args.feeds, "hosts": args.hosts, "batch": args.batch,
                      "first_pass_s": round(first[0], 1), "first_pass_feeds": first[1],
                      "entries_stored": storage.count_articles(),
                      "repoll_s": round(second[0], 1), "repoll_feeds": second[1], "not_modified": second[2],
                      "feed_errors": feed_errors,
                      "feeds_per_s": round(second[1] / second[0]),
                      # CPU of the polling process: on a shared machine the wall time mostly waits for a core
                      "repoll_cpu_s": round(cpu_seconds[-1], 1),
                      "repoll_cpu_ms_per_feed": round(1000 * cpu_seconds[-1] / max(1, second[1]), 2),
                      "feed_server_cpu_s": round(server_cpu, 1),
                      "peak_rss_mb_after_pass1": round(rss_first, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "loadavg": os.getloadavg()[0]}, indent=1))


def calls(args: argparse.Namespace) -> None:
    """The storage and use-case calls behind each page, in this process: median wall and CPU ms
    (CPU is what the call costs; wall adds the wait for a core on a shared machine)."""
    import sqlalchemy as sa

    from newsdesk.services import feedreader, reading
    from newsdesk.services import stories as story_service
    from newsdesk.services.reading import ListContext
    from newsdesk.storage.sql import SqlStorage
    from newsdesk.storage.stories import stories
    from newsdesk.storage.users import EntryQuery

    storage = SqlStorage(args.database_url)
    rng = random.Random(5)
    newest = storage.list_articles(limit=1)[0].id
    with storage._read() as conn:
        biggest = conn.execute(sa.select(stories.c.id).order_by(stories.c.size.desc()).limit(1)).scalar() or 1
    user = storage.find_user("bench")
    directory = feedreader.SourceDirectory(storage)
    todo: dict[str, Any] = {
        "list_articles(limit=30)": lambda: storage.list_articles(limit=30),
        "reading.home_page": lambda: reading.home_page(storage),
        "reading.article_page (Previous/Next)": lambda: reading.article_page(
            storage, rng.randint(1, newest), ListContext.home()),
        "story_page (biggest story)": lambda: story_service.story_page(storage, biggest),
        "count_articles": lambda: storage.count_articles(),
    }
    for term in ("government", "kabinet", "broadband"):
        todo[f"search_articles({term!r}, limit=30)"] = lambda t=term: storage.search_articles(t, limit=30)
        todo[f"count_search({term!r})"] = lambda t=term: storage.count_search(t)
        todo[f"reading.search_page({term!r})"] = lambda t=term: reading.search_page(storage, t)
    if user is not None:
        query = EntryQuery(user_id=user.id, limit=100)
        todo["feedreader.entries(limit=100)"] = lambda: feedreader.entries(storage, query)
        todo["feedreader.count_entries (miniflux total)"] = lambda: feedreader.count_entries(storage, user, query)
        todo["SourceDirectory.sources() (all 20,000)"] = lambda: (directory.invalidate(), directory.sources())
    out = {}
    for name, call in todo.items():
        call()
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            call()
            walls.append(1000 * (time.perf_counter() - wall))
            cpus.append(1000 * (time.process_time() - cpu))
        out[name] = {"wall_ms": round(statistics.median(walls), 1), "cpu_ms": round(statistics.median(cpus), 1)}
        print(f"{name}: {out[name]}", file=sys.stderr, flush=True)
    storage.close()
    print(json.dumps({"articles": storage.count_articles(), "median_of": args.rounds, "calls": out,
                      "loadavg": os.getloadavg()}, indent=1))


def _poll_with_processes(args: argparse.Namespace, database_url: str, folder: Path, first: tuple[float, int, int],
                         server: subprocess.Popen[bytes], server_cpu: float) -> None:
    """The timed pass by `args.workers` processes sharing the feeds through leases, started together
    once every one of them has finished its imports."""
    go = folder / "go"
    procs = [subprocess.Popen([PYTHON, str(ROOT / "bench/scale.py"), "poll-worker", database_url,
                               "--worker-id", f"bench:{n}", "--batch", str(args.batch), "--ready",
                               str(folder / f"ready{n}"), "--go", str(go)],
                              env=ENV, cwd=ROOT, stdout=subprocess.PIPE)
             for n in range(args.workers)]
    while not all((folder / f"ready{n}").exists() for n in range(args.workers)):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a polling worker failed to start")
        time.sleep(0.05)
    start = time.time()
    go.touch()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        results.append(json.loads(out))
    wall = max(r["end"] for r in results) - start
    feeds = sum(r["feeds"] for r in results)
    cpu = sum(r["cpu_s"] for r in results)
    print(json.dumps({"feeds": args.feeds, "hosts": args.hosts, "batch": args.batch, "workers": args.workers,
                      "first_pass_s": round(first[0], 1),
                      "repoll_s": round(wall, 1), "repoll_feeds": feeds,
                      "not_modified": sum(r["not_modified"] for r in results),
                      "feed_errors": [r["errors"] for r in results],
                      "feeds_per_worker": [r["feeds"] for r in results],
                      "feeds_per_s": round(feeds / wall),
                      "repoll_cpu_s": round(cpu, 1), "repoll_cpu_ms_per_feed": round(1000 * cpu / max(1, feeds), 2),
                      "feed_server_cpu_s": round(_cpu_seconds(server.pid) - server_cpu, 1),
                      "peak_rss_mb_per_worker": [r["peak_rss_mb"] for r in results],
                      "loadavg": os.getloadavg()[0]}, indent=1))


def poll_worker(args: argparse.Namespace) -> None:
    """One process of `poll --workers N`: one leased pass over whatever it can lease, then a JSON line."""
    from newsdesk.ingest.fetch import Fetcher, FetchPolicy
    from newsdesk.services.refresh import RefreshContext, refresh_pass
    from newsdesk.storage.sql import SqlStorage

    storage = SqlStorage(args.database_url)
    policy = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout=30.0,
                         per_host_connections=2, concurrency=100, user_agent="newsdesk-bench")

    async def one_pass() -> dict[str, object]:
        async with Fetcher(policy) as fetcher:
            ctx = RefreshContext(storage=storage, fetcher=fetcher, fetch_pages=False, worker_id=args.worker_id,
                                 lease_batch=args.batch, lease_seconds=120)
            Path(args.ready).touch()
            while not Path(args.go).exists():
                await asyncio.sleep(0.01)
            cpu = time.process_time()
            feeds = not_modified = 0
            errors: Counter[str] = Counter()
            # As the scheduler does: a pass ends when nothing more can be leased (the due sources
            # left may be on hosts another worker holds); try again shortly until none is due.
            while True:
                summary = await refresh_pass(ctx)
                feeds += summary.feeds
                not_modified += summary.not_modified
                errors.update(summary.feed_errors)
                if not storage.due_sources(datetime.now(UTC), limit=1):
                    break
                if not summary.feeds:
                    await asyncio.sleep(0.1)
            return {"end": time.time(), "cpu_s": time.process_time() - cpu, "feeds": feeds,
                    "not_modified": not_modified, "errors": dict(errors)}

    result = asyncio.run(one_pass())
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def size(args: argparse.Namespace) -> None:
    from newsdesk.storage.sql import SqlStorage

    storage = SqlStorage(args.database_url)
    count = storage.count_articles()
    if args.database_url.startswith("sqlite"):
        path = Path(args.database_url.removeprefix("sqlite:///"))
        total = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    else:
        with storage._read() as conn:
            import sqlalchemy as sa
            total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    with storage._read() as conn:
        import sqlalchemy as sa
        raw = conn.execute(sa.text("SELECT coalesce(sum(length(html_zlib)), 0) FROM pages")).scalar_one()
    print(json.dumps({"articles": count, "bytes": total, "bytes_per_article": round(total / max(1, count)),
                      "raw_page_bytes_per_article": round(raw / max(1, count))}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pages")
    p.add_argument("database_url")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--ingest", action="store_true")
    q = sub.add_parser("poll")
    q.add_argument("--feeds", type=int, default=20_000)
    q.add_argument("--hosts", type=int, default=200)
    q.add_argument("--batch", type=int, default=500)
    q.add_argument("--database-url", default="")
    q.add_argument("--profile", action="store_true", help="print a cProfile of pass 2 to stderr")
    q.add_argument("--profile-out", default="", help="with --profile, also save the profile (pstats) here")
    q.add_argument("--skip-first", action="store_true",
                   help="store the feeds' ETags up front instead of running pass 1 (which only sets up)")
    q.add_argument("--workers", type=int, default=1,
                   help="processes sharing the timed pass through leases (1: in this process)")
    w = sub.add_parser("poll-worker")
    w.add_argument("database_url")
    w.add_argument("--worker-id", required=True)
    w.add_argument("--batch", type=int, default=500)
    w.add_argument("--ready", required=True)
    w.add_argument("--go", required=True)
    c = sub.add_parser("calls")
    c.add_argument("database_url")
    c.add_argument("--rounds", type=int, default=10)
    s = sub.add_parser("size")
    s.add_argument("database_url")
    args = parser.parse_args()
    {"pages": pages, "poll": poll, "poll-worker": poll_worker, "calls": calls, "size": size}[args.command](args)


if __name__ == "__main__":
    main()
