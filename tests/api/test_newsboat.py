"""Debian's newsboat (2.21) against the Miniflux API, headless: `urls-source "miniflux"`, then
`-x reload` and `-x print-unread`; read state travels both ways (server -> newsboat on reload, and
newsboat -> server when a feed is marked read in its interface, driven through a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from api_fixtures import READER, READER_PASSWORD, Server

from newsdesk.models_accounts import ReadFilter
from newsdesk.storage.users import EntryQuery

NEWSBOAT = shutil.which("newsboat")
pytestmark = pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (scripts/ensure-test-services)")


def _config(tmp_path: Path, server: Server) -> list[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = tmp_path / "config"
    config.write_text(
        'urls-source "miniflux"\n'
        f'miniflux-url "{server.url}"\n'
        f'miniflux-login "{READER}"\n'
        f'miniflux-password "{READER_PASSWORD}"\n'
        "download-timeout 10\n"
        "reload-threads 2\n"
    )
    urls = tmp_path / "urls"
    urls.write_text("")
    return [str(NEWSBOAT), "-C", str(config), "-u", str(urls), "-c", str(tmp_path / "cache.db")]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path / "home"), "TERM": "xterm", "LANG": "C.UTF-8"}


def _unread(tmp_path: Path, base: list[str]) -> int:
    subprocess.run([*base, "-x", "reload"], env=_env(tmp_path), check=True, timeout=60, capture_output=True)
    out = subprocess.run([*base, "-x", "print-unread"], env=_env(tmp_path), check=True, timeout=60,
                         capture_output=True, text=True).stdout
    match = re.search(r"(\d+) unread articles", out)
    assert match, out
    return int(match.group(1))


def _server_unread(server: Server) -> int:
    return server.storage.count_user_articles(EntryQuery(user_id=server.reader.id, read=ReadFilter.UNREAD))


def _press(tmp_path: Path, base: list[str], keys: list[bytes], wait: float = 1.0) -> None:
    """Run newsboat's interface in a pseudo-terminal and type `keys`, pausing between them."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: newsboat on the terminal
        os.execvpe(base[0], base, _env(tmp_path))  # noqa: S606 - a fixed argv, no shell
    try:
        def drain(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    try:
                        os.read(fd, 65536)
                    except OSError:
                        return

        drain(2.0)
        for key in keys:
            os.write(fd, key)
            drain(wait)
    finally:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)


def test_newsboat_counts_and_read_state_both_ways(tmp_path: Path, server: Server) -> None:
    base = _config(tmp_path, server)
    assert _unread(tmp_path, base) == _server_unread(server) == len(server.articles)

    # Server side: three read through the API's storage, newsboat sees it on its next reload.
    server.storage.set_article_state(server.reader.id, server.articles[:3], server.admin.created_at, read=True)
    assert _unread(tmp_path, base) == _server_unread(server) == len(server.articles) - 3

    # newsboat side: mark the first feed of its list read ("A"), quit ("q"); the server follows.
    _press(tmp_path, base, [b"A", b"q"])
    deadline = time.monotonic() + 10
    while _server_unread(server) > len(server.articles) - 10 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _server_unread(server) <= len(server.articles) - 10
    assert _unread(tmp_path, base) == _server_unread(server)
    # Alice's state is her own.
    assert server.storage.count_user_articles(EntryQuery(user_id=server.admin.id, read=ReadFilter.UNREAD)) == 30
