"""A farm of small news sites for the worker tests and benchmarks: one HTTP server per address
(so each address is its own host for per-host politeness), every request counted, in-flight
requests per host tracked, and `newsdesk worker` processes started against a shared database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from newsdesk.models import NewSource
from newsdesk.storage.sql import SqlStorage

ROOT = Path(__file__).resolve().parents[2]
PARAGRAPH = ("The harbour authority said on Tuesday that the new quay would open in the spring, after two "
             "years of work that cost more than planned. Fishermen welcomed the news but asked for more "
             "berths, and the council promised to look at the plans again before the summer season begins.")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a killed worker resets its connections; that is the test, not an error


class Farm:
    def __init__(self, addresses: Sequence[str], feeds_per_host: int, articles_per_feed: int = 1,
                 delay: float = 0.0) -> None:
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.servers: list[_QuietServer] = []
        self.feed_urls: list[str] = []
        self.article_urls: list[str] = []
        self.pages: dict[str, bytes] = {}
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                host = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
                url = f"http://{host}{self.path}"
                with farm.lock:
                    farm.hits[url] += 1
                    farm.in_flight[host] += 1
                    farm.max_in_flight[host] = max(farm.max_in_flight[host], farm.in_flight[host])
                try:
                    if farm.delay and not self.path.startswith("/robots"):
                        time.sleep(farm.delay)
                    body = farm.pages.get(url)
                finally:
                    # Counted out before the answer is written, not after: the worker has the answer
                    # as soon as it is written and may hand the host on to another worker while this
                    # thread still waits for the GIL to count out, which can read as two requests at
                    # once (seen once in CI, where no lease had lapsed and every URL was fetched once).
                    # The 50 ms this request is served for stay counted, so a real overlap still shows.
                    with farm.lock:
                        farm.in_flight[host] -= 1
                if body is None:
                    self._send(404, "text/plain", b"not found")
                else:
                    kind = "application/rss+xml" if url.endswith(".xml") else "text/html; charset=utf-8"
                    self._send(200, kind, body)

            def _send(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        published = datetime.now(UTC) - timedelta(hours=1)
        for address in addresses:
            server = _QuietServer((address, 0), Handler)
            self.servers.append(server)
            base = f"http://{address}:{server.server_address[1]}"
            for f in range(feeds_per_host):
                items = []
                for a in range(articles_per_feed):
                    article = f"{base}/f{f}/a{a}.html"
                    title = f"Quay news {address} feed {f} article {a}"
                    self.pages[article] = (
                        f"<!doctype html><html lang=en><head><title>{title}</title></head><body><article>"
                        f"<h1>{title}</h1>" + "".join(f"<p>{PARAGRAPH} ({address} {f} {a} {n})</p>"
                                                     for n in range(4)) + "</article></body></html>"
                    ).encode()
                    self.article_urls.append(article)
                    items.append(f"<item><title>{title}</title><link>{article}</link><guid>{article}</guid>"
                                 f"<pubDate>{format_datetime(published)}</pubDate></item>")
                feed = f"{base}/f{f}.xml"
                self.pages[feed] = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {f}</title>'
                                    f"<link>{base}/</link>{''.join(items)}</channel></rss>").encode()
                self.feed_urls.append(feed)
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def add_sources(self, storage: SqlStorage) -> None:
        now = datetime.now(UTC) - timedelta(minutes=1)
        for url in self.feed_urls:
            storage.add_source(NewSource(url=url), now)

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def start_worker(database_url: str, log: Path, *, prefix: Sequence[str] = (), networks: str = "127.0.0.0/8",
                 lease_seconds: int = 3, lease_batch: int = 5, per_host: int = 1,
                 env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`newsdesk worker` in a process of its own (optionally inside `ip netns exec NS`)."""
    command = [*prefix, sys.executable, "-m", "newsdesk", "worker", "--database-url", database_url,
               "--allowed-networks", networks, "--lease-seconds", str(lease_seconds),
               "--lease-batch", str(lease_batch), "--scheduler-tick", "1",
               "--per-host-connections", str(per_host), "--fetch-timeout", "10"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "XDG_DATA_HOME": str(log.parent),
                   **(env or {})}
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=ROOT)


def wait_until_collected(storage: SqlStorage, farm: Farm, timeout: float) -> None:
    """Until every source has been polled successfully, no lease is held, and every article is in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sources = storage.list_sources()
        polled = all(s.state.last_success_at is not None for s in sources)
        if polled and storage.count_articles() == len(farm.article_urls) and not leased(storage):
            return
        time.sleep(0.3)
    raise AssertionError(f"not collected within {timeout} s: {storage.count_articles()} of "
                         f"{len(farm.article_urls)} articles")


def leased(storage: SqlStorage, owner_like: str = "%") -> list[int]:
    import sqlalchemy as sa

    from newsdesk.storage.schema import sources

    with storage._read() as conn:
        return [int(i) for i in conn.execute(
            sa.select(sources.c.id).where(sources.c.lease_owner.like(owner_like))).scalars()]


def stop_workers(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.terminate()
    for w in workers:
        try:
            w.wait(10)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait(10)
