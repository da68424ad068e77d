"""bench/workers: full ingest throughput (fetch -> extract -> store -> index) with 1, 2, 4 workers.

usage: python bench/workers.py [--feeds 400] [--workers 1 2 4] [--database-url postgresql://...]

A farm of local news sites (tests/scale/farm.py: 40 loopback hosts, one article per feed, article
pages of ~2 kB of text) and N `newsdesk worker` processes against one PostgreSQL database (a fresh
schema per run). The sources stay paused until every worker has started (imports, the language
model: ~7 s of CPU each, reported apart as startup_s); throughput is counted from then to the last
stored article.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests/scale")]

from farm import Farm, start_worker, stop_workers  # noqa: E402

from newsdesk.storage.sql import SqlStorage  # noqa: E402


def run(base_url: str, feeds: int, workers: int) -> dict[str, float]:
    schema = f"bench_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base_url}?options=-csearch_path%3D{schema}"
    hosts = [f"127.0.0.{n}" for n in range(50, 90)]
    farm = Farm(hosts, feeds_per_host=feeds // len(hosts))
    storage = SqlStorage(url)
    storage.migrate()
    farm.add_sources(storage)
    import sqlalchemy as sa

    from newsdesk.storage.schema import sources

    # The sources are paused until every worker has started (imports, the language model), so
    # that no worker's start-up falls inside the timed window.
    with storage._write() as conn:
        conn.execute(sa.update(sources).values(paused=True))
    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    started = time.monotonic()
    procs = [start_worker(url, tmp / f"w{n}.log", lease_batch=20, per_host=2) for n in range(workers)]
    first = last = None
    try:
        while not all("started" in (tmp / f"w{n}.log").read_text() for n in range(workers)):
            if time.monotonic() - started > 300:
                raise SystemExit("the workers did not start")
            time.sleep(0.1)
        ready = time.monotonic()
        with storage._write() as conn:
            conn.execute(sa.update(sources).values(paused=False))
        first = (ready, 0)
        while time.monotonic() - started < 900:
            count = storage.count_articles()
            now = time.monotonic()
            if count >= len(farm.article_urls):
                last = (now, count)
                break
            time.sleep(0.1)
    finally:
        stop_workers(procs)
        farm.close()
        storage.close()
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if first is None or last is None:
        raise SystemExit("not collected in time")
    rate = (last[1] - first[1]) / max(0.001, last[0] - first[0])
    return {"workers": workers, "articles": last[1], "startup_s": round(first[0] - started, 1),
            "collect_s": round(last[0] - first[0], 1), "articles_per_s": round(rate, 1),
            "loadavg": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for n in args.workers:
        print(json.dumps(run(args.database_url, args.feeds, n)), flush=True)


if __name__ == "__main__":
    main()
