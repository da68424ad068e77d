"""bench/poll: feed polling and full-article ingest, newsdesk against lemon24/reader in the same run.

usage: python bench/poll.py [--feeds 1000] [--items 25] [--article-feeds 40] [--write-docs]

Generates N RSS feeds of ITEMS entries, serves them from a separate process on 50 loopback addresses
(so per-host politeness, 2 connections a host, applies as it would across real sites), and measures in
fresh subprocesses:
  - first poll: every feed fetched, parsed, its entries stored (newsdesk without fetching article pages,
    the same work reader does);
  - re-poll: every feed answers 304 to a conditional GET;
  - peak RSS of the measuring process;
  - full articles per second (fetch page + extract + store + index) on generated article pages and on
    the bundled demo site.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import ipaddress
import json
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from benchdocs import write_section  # noqa: E402

HOSTS = 50
WORDS = (
    "groenland", "navo", "heffing", "kabinet", "minister", "rutte", "trump", "europa",
    "verkiezing", "storm", "overstroming", "tariff", "greenland", "nato", "cabinet", "election",
    "flood", "railway", "market", "inflation", "bank", "court", "ruling", "parliament", "vote",
    "climate", "energy", "price", "strike", "union", "hospital", "school", "police", "city",
    "council",
)


def sentence(rnd: random.Random, n: int | None = None) -> str:
    words = [rnd.choice(WORDS) for _ in range(n or rnd.randint(8, 20))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def generate(out: Path, port: int, feeds: int, items: int, pages: bool) -> list[str]:
    rnd = random.Random(42)
    now = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
    urls = []
    for f in range(feeds):
        base = f"http://127.0.0.{1 + f % HOSTS}:{port}"
        entries = []
        for i in range(items):
            title = sentence(rnd, rnd.randint(5, 10))[:-1]
            link = f"{base}/a/f{f:05d}/i{i:03d}.html"
            date = (now - timedelta(minutes=37 * i + f)).strftime("%a, %d %b %Y %H:%M:%S +0000")
            desc = " ".join(sentence(rnd) for _ in range(3))
            entries.append(f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                           f"<pubDate>{date}</pubDate><description>{html.escape(desc)}</description></item>")
            if pages:
                body = "\n".join(f"<p>{' '.join(sentence(rnd) for _ in range(4))}</p>" for _ in range(8))
                head = (f'<!doctype html><html lang="nl"><head><meta charset="utf-8">'
                        f"<title>{html.escape(title)} | Krant {f}</title></head>")
                chrome = '<header><nav><a href="/">Home</a> <a href="/e">Economie</a></nav></header>'
                page = (f"{head}<body>{chrome}<main><article><h1>{html.escape(title)}</h1>"
                        f'<figure><img src="/i.jpg"><figcaption>{sentence(rnd)}</figcaption></figure>{body}</article>'
                        "<aside>Schrijf je in voor de nieuwsbrief</aside></main>"
                        "<footer>Alle rechten voorbehouden</footer></body></html>")
                path = out / "a" / f"f{f:05d}" / f"i{i:03d}.html"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(page)
        (out / "feeds").mkdir(parents=True, exist_ok=True)
        (out / "feeds" / f"f{f:05d}.xml").write_text(
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Krant {f}</title>'
            f"<link>{base}/</link><description>Nieuws</description>{''.join(entries)}</channel></rss>")
        urls.append(f"{base}/feeds/f{f:05d}.xml")
    return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "feedserver.py"), str(root), str(port), str(HOSTS)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("bench server did not start")


# ------------------------------------------------------------------------------------------ children


def child_newsdesk(urls: list[str], db: str, fetch_pages: bool, discover: bool = False) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from newsdesk.ingest.fetch import Fetcher, FetchPolicy
    from newsdesk.models import NewSource
    from newsdesk.services.refresh import RefreshContext, refresh_pass
    from newsdesk.services.sources import add_source
    from newsdesk.storage import open_storage

    storage = open_storage(f"sqlite:///{db}")
    policy = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout=30.0,
                         max_bytes=10_000_000, max_redirects=5, per_host_connections=2, concurrency=100,
                         user_agent="newsdesk-bench")

    async def follow() -> None:
        async with Fetcher(policy) as fetcher:
            for url in urls:
                await add_source(storage, fetcher, url)

    if discover:  # site home pages: feed, sitemap or home-page links, as `newsdesk sources add` finds them
        asyncio.run(follow())
    else:
        now = datetime.now(UTC)
        for url in urls:
            storage.add_source(NewSource(url), now)

    async def one_pass() -> tuple[float, float, int]:
        async with Fetcher(policy) as fetcher:
            # Feed polling is measured as reader does it, without story clustering (its cost is in the
            # Stories sections); full-article runs include it.
            ctx = RefreshContext(storage=storage, fetcher=fetcher, fetch_pages=fetch_pages, articles_per_feed=1000,
                                 assign_stories=fetch_pages)
            start = time.perf_counter()
            # Polled = fetched, parsed, stored and indexed; story assignment runs behind (as in the
            # scheduler) and is timed on its own.
            summary = await refresh_pass(ctx, due_only=False, wait_for_stories=False)
            polled = time.perf_counter() - start
            if ctx.stories is not None and fetch_pages:
                await asyncio.to_thread(ctx.stories.wait)
            return polled, time.perf_counter() - start, summary.not_modified

    first, with_stories, _ = asyncio.run(one_pass())
    stored = storage.count_articles()
    second, _, not_modified = asyncio.run(one_pass()) if not fetch_pages else (0.0, 0.0, 0)
    return {"first_s": first, "first_with_stories_s": with_stories, "repoll_s": second, "entries": stored,
            "not_modified": not_modified, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_reader(urls: list[str], db: str) -> dict[str, float]:
    from reader import make_reader

    reader = make_reader(db)
    for url in urls:
        reader.add_feed(url)
    start = time.perf_counter()
    reader.update_feeds(workers=4)
    first = time.perf_counter() - start
    start = time.perf_counter()
    # scheduled=False: poll every feed again now (reader would otherwise skip feeds not yet due).
    reader.update_feeds(workers=4, scheduled=False)
    second = time.perf_counter() - start
    return {"first_s": first, "repoll_s": second, "entries": reader.get_entry_counts().total,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_demo(db: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from newsdesk.demo.server import DemoSite

    site = DemoSite()
    site.start()
    try:
        return child_newsdesk(site.homepage_urls(), db, fetch_pages=True, discover=True)
    finally:
        site.stop()


def run_child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{args[0]} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--article-feeds", type=int, default=40)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "newsdesk":
            result = child_newsdesk(Path(rest[0]).read_text().split(), rest[1], rest[2] == "pages")
        elif kind == "reader":
            result = child_reader(Path(rest[0]).read_text().split(), rest[1])
        else:
            result = child_demo(rest[0])
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        urls = generate(work / "site", port, args.feeds, args.items, pages=False)
        page_urls = generate(work / "pages", port + 1, args.article_feeds, 10, pages=True)
        (work / "urls.txt").write_text("\n".join(urls))
        (work / "page_urls.txt").write_text("\n".join(page_urls))
        server = serve(work / "site", port)
        pages_server = serve(work / "pages", port + 1)
        try:
            nd = run_child(["newsdesk", str(work / "urls.txt"), str(work / "nd.sqlite"), "feeds"])
            rd = run_child(["reader", str(work / "urls.txt"), str(work / "reader.sqlite")])
            art = run_child(["newsdesk", str(work / "page_urls.txt"), str(work / "art.sqlite"), "pages"])
            demo = run_child(["demo", str(work / "demo.sqlite")])
        finally:
            server.kill()
            pages_server.kill()
    n = args.feeds
    rows = [
        ("newsdesk", n / nd["first_s"], n / nd["repoll_s"], nd["entries"], nd["peak_rss_mb"]),
        ("reader (update_feeds(workers=4))", n / rd["first_s"], n / rd["repoll_s"], rd["entries"], rd["peak_rss_mb"]),
    ]
    cmd = f"python bench/poll.py --feeds {args.feeds} --items {args.items} --article-feeds {args.article_feeds}"
    lines = [
        f"## Polling: {args.feeds} feeds x {args.items} items from 127.0.0.1 (bench/poll.py)", "",
        f"Command: `{cmd}` (measured {datetime.now(UTC):%Y-%m-%d}, {sys.platform}, 2 cores; feeds served by a "
        f"separate process on {HOSTS} loopback addresses, 2 connections per host).", "",
        "| system | first poll (feeds/s) | re-poll, all 304 (feeds/s) | entries stored | peak RSS (MB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {a:,.0f} | {b:,.0f} | {e:,} | {m:,.0f} |" for name, a, b, e, m in rows]
    lines += [
        "", f"Speed-up over reader: first poll {rows[0][1] / rows[1][1]:.1f}x, re-poll {rows[0][2] / rows[1][2]:.1f}x.",
        "", "The feed figures are polling alone, as reader does it (fetch, parse, store, index); newsdesk's story "
        "clustering, which runs behind the poll in its own thread, is measured in the Stories sections. The "
        "full-article figures below include it: they end when every article is in a story.",
        "", "Full articles (fetch page + extract + store + index + story), newsdesk:", "",
        "| pages | articles | seconds | articles/s |", "| --- | --- | --- | --- |",
        f"| generated ({args.article_feeds} feeds x 10 pages) | {art['entries']:,} | "
        f"{art['first_with_stories_s']:.1f} | {art['entries'] / art['first_with_stories_s']:.1f} |",
        f"| bundled demo site | {demo['entries']:,} | {demo['first_with_stories_s']:.1f} | "
        f"{demo['entries'] / demo['first_with_stories_s']:.1f} |",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write_docs:
        write_section("bench/poll", section)


if __name__ == "__main__":
    main()
