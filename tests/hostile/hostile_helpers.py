"""Helpers of the hostile-input suite (fixtures in conftest.py): a pass over real storage with the real Fetcher, hostile
servers on 127.0.0.x, and small builders for feeds and article pages.

Everything here proves properties at the level users meet them: a whole collection pass
(services.refresh.refresh_pass) against real SQLite or PostgreSQL, or the web app. The lower-level
proofs (fetcher, parser, sanitizer) live in tests/ingest and tests/extract.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import lxml.html
import psycopg
import pytest

from newsdesk.ingest.fetch import Fetcher, FetchPolicy, Resolver
from newsdesk.services.refresh import PassSummary, RefreshContext, refresh_pass
from newsdesk.storage.base import Storage

ROOT = Path(__file__).resolve().parents[2]
# <repo>/../shared; a git worktree two levels down finds it one level further up
SHARED = Path(os.environ.get("NEWSDESK_SHARED_DATA") or next(
    (p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.is_dir()), ROOT.parent / "shared"))
DATA = ROOT / "tests" / "data" / "hostile"
PG_URL = os.environ.get("NEWSDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)

PARAGRAPHS = [
    "De gemeenteraad heeft dinsdagavond na een lang debat ingestemd met het plan om de binnenstad autoluw "
    "te maken. Winkeliers reageren verdeeld: sommigen vrezen minder klanten, anderen verwachten juist meer.",
    "Het plan gaat in het voorjaar in. Bewoners krijgen een ontheffing voor hun eigen straat, en voor "
    "bevoorrading komen er vaste venstertijden in de ochtend, zodat vrachtverkeer de drukte ontloopt.",
    "Volgens de wethouder is het plan een antwoord op de klachten over luchtkwaliteit en verkeersveiligheid. "
    "Een evaluatie volgt na een jaar, waarna de raad opnieuw kan besluiten over de grenzen van het gebied.",
]


def policy(**changes: Any) -> FetchPolicy:
    """Small limits so that every hostile case ends quickly; the loopback range is opened explicitly."""
    base: dict[str, Any] = {"allowed_networks": LOOPBACK, "timeout": 2.0, "max_bytes": 2_000_000,
                            "max_redirects": 3, "per_host_connections": 2, "concurrency": 32,
                            "user_agent": "newsdesk-hostile-test"}
    base.update(changes)
    return FetchPolicy(**base)


async def pass_over(storage: Storage, *, fetch_policy: FetchPolicy | None = None, resolver: Resolver | None = None,
                    due_only: bool = False, **ctx: Any) -> PassSummary:
    async with Fetcher(fetch_policy or policy(), resolver=resolver) as fetcher:
        context = RefreshContext(storage=storage, fetcher=fetcher, **ctx)
        return await refresh_pass(context, due_only=due_only)


def run_pass(storage: Storage, **kwargs: Any) -> PassSummary:
    return asyncio.run(pass_over(storage, **kwargs))


def article_page(title: str, i: int = 0, extra: str = "") -> str:
    body = "\n".join(f"<p>{escape(p)} ({i})</p>" for p in PARAGRAPHS)
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><main><article><h1>{escape(title)}</h1>{extra}{body}</article></main></body></html>")


def rss(base: str, items: list[tuple[str, str]], extra_item: str = "") -> str:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>{(NOW - timedelta(hours=n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>Samenvatting van {escape(t)}</description>{extra_item}</item>"
        for n, (t, p) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Testkrant</title>'
            f"<link>{base}/</link><description>Nieuws</description>{entries}</channel></rss>")


def add_feed_site(site: Any, prefix: str, n: int) -> str:
    """n article pages and an RSS feed of them on a tests/localsite.LocalSite; returns the feed URL."""
    items = []
    for i in range(n):
        title = f"Bericht {prefix} {i}"
        path = f"/{prefix}/a{i}.html"
        site.add(path, article_page(title, i))
        items.append((title, path))
    return site.add(f"/{prefix}/feed.xml", rss(site.base, items), content_type="application/rss+xml")


class ConnectionCounter:
    """A TCP listener that counts every connection made to it and answers nothing useful.

    SSRF tests point forbidden addresses here: the figure is `connections == 0`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            body = b"<rss version='2.0'><channel><title>leaked</title></channel></rss>"
            try:
                conn.settimeout(1.0)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def postgres_schema_url() -> tuple[str, str]:
    """A fresh schema on the test PostgreSQL (skips when the server is not there): (url, schema)."""
    try:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as admin:
            schema = f"newsdesk_hostile_{uuid.uuid4().hex[:12]}"
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0]}")
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}", schema


def drop_postgres_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


_FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "input", "button", "svg", "math",
                   "meta", "base", "link", "frame", "frameset", "applet", "template", "textarea"}


def assert_harmless(html: str) -> None:
    """What a browser would build from `html` has no script, handler, style or non-http(s) URL."""
    if not html.strip():
        return
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag.lower() not in _FORBIDDEN_TAGS, html[:300]
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on") and name.lower() not in {"style", "srcdoc", "formaction"}, name
            if name.lower() in {"href", "src", "cite", "action", "background", "poster"}:
                assert value.startswith(("https://", "http://", "mailto:")), value[:200]
