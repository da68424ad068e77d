"""The app served for real: uvicorn on a loopback port, in a thread of the test's own process, so that
the test speaks real HTTP to it and can still look into its storage and patch its classes.

For `newsdesk serve` as a process of its own, see tests/api/test_web_processes.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

#: how long uvicorn may take to start, and to stop once asked
SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(app: ASGIApp, *, port: int | None = None, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends; yields its base URL.

    `port` is for a test that needs the URL before it builds the app (a `public_url` setting); by
    default a free one. `lifespan="on"` runs the app's lifespan, which sets the request thread pool to
    `web_threads` (one by default); off, requests get anyio's default pool of 40 threads.
    """
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:  # not alive: it gave up (port taken?)
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=SECONDS)
