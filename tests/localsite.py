"""A real HTTP server on 127.0.0.1 for tests: routes are set per test, hits are counted.

Tests never reach the internet; they fetch from this server through the real fetcher.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: answer conditional GETs with 304 when the ETag matches
    etag: bool = True


class LocalSite:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.hits[self.path] += 1
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path)
                if route is None:
                    self._send(404, {"content-type": "text/plain"}, b"not found")
                elif callable(route):
                    route(self)
                else:
                    tag = '"' + hashlib.sha1(route.body).hexdigest() + '"'  # noqa: S324 - an ETag, not security
                    headers = dict(route.headers)
                    if route.etag and route.status == 200:
                        headers["etag"] = tag
                        if self.headers.get("if-none-match") == tag:
                            self._send(304, {"etag": tag}, b"")
                            return
                    self._send(route.status, headers, route.body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None, etag: bool = True) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, status, {"content-type": content_type, **(headers or {})}, etag)
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
