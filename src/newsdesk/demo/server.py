"""Serves the bundled demo news site on 127.0.0.1, so `newsdesk demo` needs no network.

The site (site/, built by newsdesk.demo.build) is plain files whose URLs are written as {{BASE}};
each text response gets the server's real address there, so the site works on any port. The server
answers like a polite real site would want to be polled: Content-Types that say what a feed is,
ETag and Last-Modified validators, and 304 to a conditional GET. It only ever serves files inside
the site folder: no directory listings, no dotfiles, no way out with `..` in any spelling.

    python -m newsdesk.demo.server --port 8800     # serve it by hand
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import socket
import threading
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

__all__ = ["FEED_PATHS", "HOMEPAGE_PATHS", "SITE_DIR", "DemoSite", "main", "resolve_path"]

logger = logging.getLogger(__name__)

#: the bundled site; a real folder because setuptools installs package data as files
SITE_DIR = Path(__file__).resolve().with_name("site")
PLACEHOLDER = b"{{BASE}}"

#: the three outlets that have a feed, one of each kind (RSS 2.0, Atom 1.0, JSON Feed 1.1)
FEED_PATHS = ("dagkrant/rss.xml", "avondblad/atom.xml", "ledger/feed.json")
#: every outlet's home page; Harbour Herald has no feed, only a news sitemap named in robots.txt
HOMEPAGE_PATHS = ("dagkrant/", "avondblad/", "ledger/", "harbour/")

# Feeds get their specific types so content-type sniffing is exercised the way real sites need it.
_TYPES_BY_NAME = {
    "rss.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json; charset=utf-8",
}
_TYPES_BY_SUFFIX = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".opml": "text/x-opml; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: the largest file the server reads; the bundled files are all far smaller
MAX_FILE_BYTES = 2 * 1024 * 1024


def content_type(path: Path) -> str:
    return _TYPES_BY_NAME.get(path.name) or _TYPES_BY_SUFFIX.get(path.suffix, "application/octet-stream")


def resolve_path(root: Path, target: str) -> Path | None:
    """The file or folder inside root that a request target names, or None if it names none.

    Refuses rather than normalises: any `.`/`..` segment (after percent-decoding), dotfiles,
    backslashes and NUL bytes give None, and the resolved path must still lie under root, which
    also catches symlinks that lead out.
    """
    path = urlsplit(target).path  # also handles the absolute form "http://host/path"
    if not path.startswith("/"):
        return None
    decoded = unquote(path, errors="strict")
    if "\x00" in decoded or "\\" in decoded:
        return None
    parts = [p for p in decoded.split("/") if p]
    if any(p.startswith(".") for p in parts):  # ".", "..", ".git", ".env"
        return None
    root = root.resolve()
    candidate = root.joinpath(*parts).resolve()
    if not candidate.is_relative_to(root):
        return None
    return candidate


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # one bad client must not stop a test run's server from closing
    block_on_close = False

    def __init__(self, address: tuple[str, int], site_dir: Path) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.site_dir = site_dir
        self.base = ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "newsdesk-demo/1.0"
    #: seconds a client may take to send its request before the connection is dropped
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        logger.debug("%s %s", self.address_string(), format % args)

    def _serve(self, send_body: bool) -> None:
        try:
            target = resolve_path(self.server.site_dir, self.path)
        except UnicodeDecodeError:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request path")
            return
        if target is None:
            if not urlsplit(self.path).path.startswith("/"):
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad request path")
            else:
                self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        if target.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                # like any web server: /dagkrant → /dagkrant/, so relative links resolve
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", self.server.base + urlsplit(self.path).path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = target / "index.html"  # a folder without one is a 404, never a listing
        if not target.is_file() or target.stat().st_size > MAX_FILE_BYTES:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return

        ctype = content_type(target)
        body = target.read_bytes()
        if ctype != "application/octet-stream":
            body = body.replace(PLACEHOLDER, self.server.base.encode("ascii"))
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        mtime = int(target.stat().st_mtime)
        last_modified = formatdate(mtime, usegmt=True)

        if self._not_modified(etag, mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Cache-Control", "max-age=60")
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.send_header("Cache-Control", "max-age=60")
        self.send_header("X-Content-Type-Options", "nosniff")
        if ctype == "image/svg+xml":
            # an SVG opened on its own must not run anything
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        # RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only counts without it
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                return False
            return mtime <= int(since.timestamp())
        return False


class DemoSite:
    """The bundled sample news site, served from a background thread.

    >>> with DemoSite() as site:          # port 0: the OS picks a free port
    ...     urls = site.feed_urls()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, site_dir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.site_dir = (site_dir or SITE_DIR).resolve()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, without a trailing slash; only while started."""
        if self._server is None:
            raise RuntimeError("the demo site is not running; call start() first")
        return self._server.base

    def start(self) -> str:
        """Bind, serve in a daemon thread, and return the base URL."""
        if self._server is not None:
            raise RuntimeError("the demo site is already running")
        if not (self.site_dir / "index.html").is_file():
            raise FileNotFoundError(f"no demo site in {self.site_dir}")
        server = _Server((self.host, self.port), self.site_dir)
        port = server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        server.base = f"http://{host}:{port}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name=f"newsdesk-demo-{port}", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        logger.info("demo site serving %s at %s", self.site_dir, server.base)
        return server.base

    def stop(self) -> None:
        """Stop serving and free the port; stopping a stopped site does nothing."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def url(self, path: str) -> str:
        """The full URL of a path inside the site, e.g. url("dagkrant/rss.xml")."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def feed_urls(self) -> list[str]:
        """The three outlets' feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1."""
        return [self.url(p) for p in FEED_PATHS]

    def homepage_urls(self) -> list[str]:
        """All four outlets' home pages (Harbour Herald is followed through its home page)."""
        return [self.url(p) for p in HOMEPAGE_PATHS]

    def opml(self) -> str:
        """sources.opml (the three feeds and Harbour Herald's home page) with real URLs."""
        text = (self.site_dir / "sources.opml").read_text(encoding="utf-8")
        return text.replace(PLACEHOLDER.decode("ascii"), self.base_url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m newsdesk.demo.server",
                                     description="Serve the bundled newsdesk demo news site.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="port (default 8800; 0 picks a free one)")
    args = parser.parse_args(argv)
    site = DemoSite(args.host, args.port)
    base = site.start()
    print(f"Serving the newsdesk demo site at {base}/  (Ctrl-C stops)")
    for url in site.feed_urls():
        print(f"  feed: {url}")
    print(f"  no feed, news sitemap: {site.url('harbour/news-sitemap.xml')}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
