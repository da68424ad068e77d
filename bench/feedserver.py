"""A fast static server for benchmarks: every file of a folder held in memory, with ETag and 304.

Runs in its own process (uvicorn, one worker) so that the system being measured has the other core.
usage: python bench/feedserver.py DIR PORT [HOSTS]
With HOSTS, it listens on 127.0.0.1 ... 127.0.0.HOSTS, so a client sees that many distinct hosts.
"""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import sys
from pathlib import Path

import uvicorn


def make_app(root: Path):  # type: ignore[no-untyped-def]
    files: dict[str, tuple[bytes, bytes, bytes]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            etag = b'"' + hashlib.sha1(body).hexdigest().encode() + b'"'  # noqa: S324 - an ETag
            ctype = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").encode()
            if path.suffix == ".xml":
                ctype = b"application/rss+xml"
            files["/" + path.relative_to(root).as_posix()] = (body, etag, ctype)

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        found = files.get(scope["path"])
        if found is None:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        body, etag, ctype = found
        if dict(scope["headers"]).get(b"if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", ctype), (b"etag", etag), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    root, port = Path(sys.argv[1]), int(sys.argv[2])
    hosts = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    sockets = []
    for h in range(hosts):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((f"127.0.0.{h + 1}", port))
        sockets.append(sock)
    config = uvicorn.Config(make_app(root), log_level="error", access_log=False)
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    main()
