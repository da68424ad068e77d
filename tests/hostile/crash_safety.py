"""Figure 6: kill -9 during ingest. Shared by tests/hostile/test_hostile_crash.py (a few kills per
backend in CI) and bench/crash.py (the full 50).

`newsdesk fetch --all` runs in a subprocess against a local site of many feeds and pages and is
SIGKILLed at seeded random moments. After each kill the database must be intact, hold no duplicate,
and still hold every article seen before; a last, unkilled pass must complete and store everything.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hostile_helpers import article_page, rss

ROOT = Path(__file__).resolve().parents[2]


def build_site(site: Any, feeds: int, per_feed: int) -> list[str]:
    """feeds x per_feed article pages and their feeds on a tests/localsite.LocalSite; the feed URLs."""
    urls = []
    for f in range(feeds):
        items = []
        for i in range(per_feed):
            title = f"Bericht {f}-{i} over de gemeenteraad"
            path = f"/c{f}/a{i}.html"
            site.add(path, article_page(title, f * 1000 + i))
            items.append((title, path))
        urls.append(site.add(f"/c{f}/feed.xml", rss(site.base, items), content_type="application/rss+xml"))
    return urls


def fetch_command(database_url: str) -> list[str]:
    return [sys.executable, "-m", "newsdesk", "fetch", "--all", "--database-url", database_url,
            "--allowed-networks", "127.0.0.0/8", "--fetch-timeout", "20", "--per-host-connections", "8"]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class Check:
    articles: int
    urls: set[str]
    problems: list[str] = field(default_factory=list)


def check_database(database_url: str) -> Check:
    """Integrity, no duplicates, no orphans; returns what is stored."""
    problems: list[str] = []
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                problems.append(f"integrity_check: {result[:5]}")
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                problems.append(f"foreign_key_check: {fk[:5]}")
            try:
                conn.execute("INSERT INTO article_search(article_search) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as exc:
                problems.append(f"fts5 integrity-check: {exc}")
            indexed = conn.execute("SELECT count(*) FROM article_search").fetchone()[0]
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            if indexed != stored:
                problems.append(f"search index has {indexed} rows for {stored} articles")
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            dupes = conn.execute(sa.text("SELECT url, count(*) FROM articles GROUP BY url HAVING count(*) > 1")).all()
            if dupes:
                problems.append(f"duplicate URLs: {dupes[:5]}")
            orphans = conn.execute(sa.text("SELECT count(*) FROM articles a LEFT JOIN sources s "
                                           "ON s.id = a.source_id WHERE s.id IS NULL")).scalar()
            if orphans:
                problems.append(f"{orphans} articles without their source")
            urls = {row[0] for row in conn.execute(sa.text("SELECT url FROM articles"))}
    finally:
        engine.dispose()
    return Check(len(urls), urls, problems)


def _count(database_url: str) -> int:
    try:
        if database_url.startswith("sqlite:///"):
            with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1) as conn:
                return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() or 0)
        finally:
            engine.dispose()
    except (sqlite3.Error, sa.exc.SQLAlchemyError):
        return 0  # not created yet, or busy: ask again


@dataclass
class CrashReport:
    kills: int = 0
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    counts: list[int] = field(default_factory=list)
    final_articles: int = 0
    final_seconds: float = 0.0


def crash_trial(database_url: str, kills: int, seed: int, expected: int, window: tuple[float, float] = (1.5, 6.0),
                log: Any = None) -> CrashReport:
    """Kill `newsdesk fetch --all` `kills` times at seeded random moments, checking after each; then run it out."""
    rng = random.Random(seed)
    report = CrashReport()
    seen: set[str] = set()
    for n in range(kills):
        delay = rng.uniform(*window)
        before = report.counts[-1] if report.counts else 0
        child = subprocess.Popen(fetch_command(database_url), env=child_env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd=ROOT)
        # Start the clock once the pass is storing (interpreter start-up takes seconds on a busy machine),
        # unless everything is stored already: then the kill lands on a re-poll.
        waited = time.monotonic()
        while before < expected and child.poll() is None and time.monotonic() - waited < 60:
            if _count(database_url) > before:
                break
            time.sleep(0.05)
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            report.kills += 1
        check = check_database(database_url)
        report.problems += [f"after kill {n} at {delay:.2f} s: {p}" for p in check.problems]
        lost = seen - check.urls
        report.lost += len(lost)
        if lost:
            report.problems.append(f"after kill {n}: {len(lost)} stored articles lost")
        seen |= check.urls
        report.counts.append(check.articles)
        if log:
            log(f"kill {n + 1}/{kills} at {delay:.2f} s: {check.articles} articles, {len(check.problems)} problems")
    started = time.monotonic()
    final = subprocess.run(fetch_command(database_url), env=child_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, cwd=ROOT, timeout=600, check=False)
    report.final_seconds = time.monotonic() - started
    if final.returncode != 0:
        report.problems.append(f"the last pass failed: {final.stderr.decode(errors='replace')[-500:]}")
    check = check_database(database_url)
    report.problems += [f"after the last pass: {p}" for p in check.problems]
    report.lost += len(seen - check.urls)
    report.final_articles = check.articles
    return report
