"""Figure 8 of docs/reliability.md: the reader under load while a pass ingests (SQLite).

    PYTHONPATH=src python bench/load.py [--feeds 100] [--per-feed 100] [--clients 8]

A generated site of feeds x per-feed article pages is served from 127.0.0.1; `newsdesk serve` and
`newsdesk fetch --all` run as two processes over one SQLite file; a load generator in a third process
hits the home page, source pages, article pages, search and the APIs (own `/api/v1/articles`,
Miniflux `/v1/entries?limit=100`, Google Reader `stream/items/ids` n=1000, with a user and API key made
up front) with `clients` concurrent clients for as long as the pass runs. Prints p50/p95 per page
kind, 5xx responses and 'database is locked' errors (in responses and in both processes' logs), and
how many articles the pass stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "hostile")]

import httpx  # noqa: E402
from crash_safety import build_site, child_env  # noqa: E402
from hostile_helpers import NOW  # noqa: E402

from localsite import LocalSite  # noqa: E402
from newsdesk.models import NewSource  # noqa: E402
from newsdesk.services.accounts import Accounts  # noqa: E402
from newsdesk.storage import open_storage  # noqa: E402

LOCKED = "database is locked"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _generate(base: str, sources: int, clients: int, stop_file: str, results_file: str,
                    user: str, key: str) -> None:
    latencies: dict[str, list[float]] = {"home": [], "source": [], "article": [], "search": [],
                                         "api": [], "miniflux": [], "greader": []}
    statuses: dict[str, int] = {}
    locked = 0
    rng = random.Random(7)
    words = ["gemeenteraad", "binnenstad", "winkeliers", "wethouder", "luchtkwaliteit", "bericht"]
    max_id = [1]

    reading_list = "user/-/state/com.google/reading-list"
    api_headers = {"api": {"x-api-key": key}, "miniflux": {"X-Auth-Token": key}}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal locked
        while not os.path.exists(stop_file):
            kind = rng.choice(["home", "home", "source", "article", "article", "search",
                               "api", "miniflux", "greader"])
            headers = api_headers.get(kind, {})
            if kind == "api":
                path = "/api/v1/articles"
            elif kind == "miniflux":
                path = "/v1/entries?limit=100"
            elif kind == "greader":
                path = f"/reader/api/0/stream/items/ids?s={reading_list}&n=1000"
                headers = greader_headers
            elif kind == "home":
                path = "/"
            elif kind == "source":
                path = f"/sources/{rng.randint(1, sources)}"
            elif kind == "article":
                path = f"/articles/{rng.randint(1, max_id[0])}"
            else:
                path = f"/search?q={rng.choice(words)}"
            started = time.perf_counter()
            try:
                response = await http.get(path, headers=headers)
            except httpx.HTTPError as exc:
                statuses[f"error {type(exc).__name__}"] = statuses.get(f"error {type(exc).__name__}", 0) + 1
                continue
            elapsed = time.perf_counter() - started
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            if LOCKED in response.text:
                locked += 1
            if response.status_code == 200:
                latencies[kind].append(elapsed)
                if kind == "home":
                    found = [int(x) for x in __import__("re").findall(r'/articles/(\d+)', response.text)]
                    if found:
                        max_id[0] = max(max_id[0], *found)

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = await http.post("/accounts/ClientLogin", data={"Email": user, "Passwd": key})
        login.raise_for_status()
        greader_headers = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].strip()}
        await asyncio.gather(*(client(http) for _ in range(clients)))
    Path(results_file).write_text(json.dumps({"latencies": latencies, "statuses": statuses, "locked": locked}))


def _generator_process(base: str, sources: int, clients: int, stop_file: str, results_file: str,
                       user: str, key: str) -> None:
    asyncio.run(_generate(base, sources, clients, stop_file, results_file, user, key))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_load(feeds: int, per_feed: int, clients: int, log: Any = print) -> dict[str, Any]:
    site = LocalSite()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/load.sqlite"
        storage = open_storage(url)
        for feed in build_site(site, feeds, per_feed):
            storage.add_source(NewSource(feed), NOW)
        # the API clients' user and key, as `newsdesk users add` and `newsdesk apikeys create` make them
        accounts = Accounts(storage, "bench/load.py")
        user = accounts.create_user("load", "load-password-123")
        _, key = accounts.create_api_key(user.id, "bench/load.py")
        storage.close()
        port = _free_port()
        env = child_env()
        server_log = open(f"{tmp}/serve.log", "w+")  # noqa: SIM115 - read back below
        fetch_log = open(f"{tmp}/fetch.log", "w+")  # noqa: SIM115
        server = subprocess.Popen([sys.executable, "-m", "newsdesk", "serve", "--database-url", url,
                                   "--port", str(port)], env=env, stdout=server_log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("newsdesk serve did not start")
            time.sleep(0.2)
        stop_file, results_file = f"{tmp}/stop", f"{tmp}/results.json"
        generator = multiprocessing.get_context("spawn").Process(
            target=_generator_process, args=(base, feeds, clients, stop_file, results_file, user.name, key))
        generator.start()
        started = time.monotonic()
        fetch = subprocess.run([sys.executable, "-m", "newsdesk", "fetch", "--all", "--database-url", url,
                                "--allowed-networks", "127.0.0.0/8", "--per-host-connections", "8",
                                "--articles-per-feed", str(per_feed)],
                               env=env, stdout=fetch_log, stderr=subprocess.STDOUT, check=False)
        seconds = time.monotonic() - started
        Path(stop_file).touch()
        generator.join(60)
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        site.close()
        results = json.loads(Path(results_file).read_text())
        server_log.seek(0)
        fetch_log.seek(0)
        logs = server_log.read() + fetch_log.read()
        check = open_storage(url)
        from newsdesk.storage import ArticleFilter

        stored = check.count_articles(ArticleFilter())
        check.close()
    latencies = results["latencies"]
    every = [v for values in latencies.values() for v in values]
    report = {
        "articles": stored, "expected": feeds * per_feed, "pass_seconds": round(seconds, 1),
        "fetch_exit": fetch.returncode, "requests": sum(results["statuses"].values()),
        "statuses": results["statuses"],
        "p50_ms": round(_pct(every, 0.5), 1), "p95_ms": round(_pct(every, 0.95), 1),
        "p95_by_page_ms": {k: round(_pct(v, 0.95), 1) for k, v in latencies.items()},
        "median_by_page_ms": {k: round(statistics.median(v) * 1000, 1) if v else None for k, v in latencies.items()},
        "server_errors": sum(n for s, n in results["statuses"].items() if s.startswith("5")),
        "locked": results["locked"] + logs.count(LOCKED),
    }
    log(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--per-feed", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    run_load(args.feeds, args.per_feed, args.clients)


if __name__ == "__main__":
    main()
