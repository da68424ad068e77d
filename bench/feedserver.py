"""A fast static server for benchmarks: every file of a folder held in memory, with ETag and 304.

Runs in its own process (uvicorn, one worker) so that the system being measured has the other core.
usage: python bench/feedserver.py DIR PORT
"""

from __future__ import annotations

import hashlib
import mimetypes
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
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype), (b"etag", etag), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    uvicorn.run(make_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="error",
                access_log=False)
